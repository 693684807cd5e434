/* The JSON custos prints: values in the encodings of the attestation export, records, and
 * writing a document to stdout. Every builder returns NULL only when out of memory. */
#ifndef CLI_JSONOUT_H
#define CLI_JSONOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/u256.h"

/* json_int_t is signed 64-bit; larger values go out as decimal strings. */
json_t *jo_u64(uint64_t v);
/* 0x-prefixed hex of at most CUSTOS_SIGNATURE_LEN bytes. */
json_t *jo_hex(const uint8_t *data, size_t len);
/* EIP-55 checksummed address. */
json_t *jo_address(const uint8_t addr[CUSTOS_ADDRESS_LEN]);
/* "2026-01-02T03:04:05Z", or null when t is not a representable time. */
json_t *jo_iso_time(uint64_t t);
/* A raw fixed-point amount as a decimal string. */
json_t *jo_raw(const custos_u256 *v);
/* A money amount in USD with its decimals. */
json_t *jo_usd(const custos_u256 *v);

/* Adds key: v (consumed) to o; a NULL v (allocation failure) makes the whole object fail. */
bool jo_put(json_t *o, const char *key, json_t *v) __attribute__((warn_unused_result));
/* The attestation fields shared by a gateway record and an offline verification. */
bool jo_put_submission(json_t *o, const custos_submission *s) __attribute__((warn_unused_result));
/* A gateway record: cursor, state, digest, chain hash, the attestation and its signers;
 * a batch-signed one also its batch (fields, digest, signatures, the account's leaf proof). */
json_t *jo_record(const custos_record *r);

/* Prints v (consumed) and a newline; false (after saying why) when v is NULL (out of
 * memory) or stdout failed. flags: JSON_INDENT(2) for one document, JSON_COMPACT per line. */
bool jo_emit(json_t *v, size_t flags) __attribute__((warn_unused_result));

#endif
