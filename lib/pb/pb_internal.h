/* Shared by the files of lib/pb only: the field checks and builders pb_convert.c defines,
 * used by pb_batch.c too. */
#ifndef CUSTOS_PB_INTERNAL_H
#define CUSTOS_PB_INTERNAL_H

#include "pb_convert.h"

/* Longest field path we name in a message, e.g. "positions[4095].asset_id". */
#define PB_FIELD_MAX 48

/* 1..max bytes of printable ASCII (0x20..0x7e). */
CUSTOS_MUST_USE
custos_rc pb_check_text(const char *s, size_t max, const char *field, custos_error *err);
/* Exactly len bytes into out. */
CUSTOS_MUST_USE
custos_rc pb_to_fixed(const ProtobufCBinaryData *b, uint8_t *out, size_t len,
                      const char *field, custos_error *err);
CUSTOS_MUST_USE
custos_rc pb_to_attestation(const Custos__V1__Attestation *m, custos_attestation *a,
                            custos_error *err);
/* Position i of a list (i names it in an error). */
CUSTOS_MUST_USE
custos_rc pb_to_position(const Custos__V1__Position *m, size_t i, custos_position *p,
                         custos_error *err);
/* Copies len bytes into a fresh malloc'd buffer. */
CUSTOS_MUST_USE
custos_rc pb_set_bytes(ProtobufCBinaryData *dst, const uint8_t *src, size_t len,
                       custos_error *err);
/* A malloc'd message tree (*out is set as soon as it is allocated, for the free path). */
CUSTOS_MUST_USE
custos_rc pb_build_attestation(const custos_attestation *a, Custos__V1__Attestation **out,
                               custos_error *err);
CUSTOS_MUST_USE
custos_rc pb_build_position(const custos_position *p, size_t i, Custos__V1__Position **out,
                            custos_error *err);

/* A record's batch (Record.batch) both ways (pb_batch.c). */
CUSTOS_MUST_USE
custos_rc pb_fill_batch_inclusion(const Custos__V1__BatchInclusion *m, custos_record_batch *out,
                                  custos_error *err);
CUSTOS_MUST_USE
custos_rc pb_build_batch_inclusion(const custos_record_batch *b,
                                   Custos__V1__BatchInclusion **out, custos_error *err);

#endif
