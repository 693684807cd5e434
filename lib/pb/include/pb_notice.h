/* Internal to libcustos: the collateral notices a gateway answers (ListNotices) and streams
 * (Watch, docs/attestation.md §19), decoded strictly from their protobuf-c messages. */
#ifndef CUSTOS_PB_NOTICE_H
#define CUSTOS_PB_NOTICE_H

#include "custos/client.h"
#include "custos/error.h"
#include "custos/v1/gateway.pb-c.h"

/* One StoredNotice into out (overwritten); CUSTOS_ERR_INVALID naming what is wrong: a
 * field of the wrong size, a state above 3, a chain_hash that is not 32 bytes with a cursor
 * or empty without one. */
CUSTOS_MUST_USE
custos_rc pb_to_stored_notice(const Custos__V1__StoredNotice *m, custos_stored_notice *out,
                              custos_error *err);

/* One WatchEvent into ev: exactly one of a record (decoded into *rec, which the caller
 * releases with custos_record_clear) or a notice with its cursor and the domain (decoded
 * into *notice); ev's pointers point at them. CUSTOS_ERR_INVALID, saying why, otherwise
 * (nothing to release then). */
CUSTOS_MUST_USE
custos_rc pb_to_watch_event(const Custos__V1__WatchEvent *m, custos_record *rec,
                            custos_stored_notice *notice, custos_watch_event *ev,
                            custos_error *err);

#endif
