/* Protobuf bytes of a WatchEvent as a gateway streams them: the client library's decoder
 * (pb_to_watch_event, docs/attestation.md §19). A decoded record encodes and decodes again
 * to the same record; a decoded notice has its place in the log and is the event's; every
 * refusal says why. */
#include <stdlib.h>
#include <string.h>

#include "custos/v1/gateway.pb-c.h"
#include "pb_convert.h"
#include "pb_notice.h"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* rec encodes, and the bytes decode to rec again. */
static void round_trip(const custos_record *rec)
{
    custos_error err;
    Custos__V1__Record *m = NULL;
    if (pb_from_record(rec, &m, &err) != CUSTOS_OK)
        return; /* more signers than a stored record may keep: not encodable, as intended */
    size_t len = custos__v1__record__get_packed_size(m);
    uint8_t *buf = malloc(len + 1);
    if (buf == NULL)
        abort();
    custos__v1__record__pack(m, buf);
    pb_record_free(m);
    Custos__V1__Record *back = custos__v1__record__unpack(NULL, len, buf);
    free(buf);
    custos_record again;
    if (back == NULL || pb_to_record(back, &again, &err) != CUSTOS_OK)
        abort();
    custos__v1__record__free_unpacked(back, NULL);
    if (again.cursor != rec->cursor || again.n_signers != rec->n_signers ||
        memcmp(again.digest, rec->digest, sizeof again.digest) != 0 ||
        memcmp(again.chain_hash, rec->chain_hash, sizeof again.chain_hash) != 0)
        abort();
    custos_record_clear(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Custos__V1__WatchEvent *m = custos__v1__watch_event__unpack(NULL, size, data);
    if (m == NULL)
        return 0;
    custos_record rec;
    custos_stored_notice notice;
    custos_watch_event ev;
    custos_error err;
    memset(&err, 0, sizeof err);
    custos_rc rc = pb_to_watch_event(m, &rec, &notice, &ev, &err);
    custos__v1__watch_event__free_unpacked(m, NULL);
    if (rc != CUSTOS_OK) {
        if (err.message[0] == '\0')
            abort(); /* every refusal says why */
        return 0;
    }
    if (ev.kind == CUSTOS_CHAIN_RECORD) {
        if (ev.record != &rec || ev.notice != NULL || ev.cursor != rec.cursor)
            abort();
        round_trip(&rec);
    } else if (ev.kind != CUSTOS_CHAIN_NOTICE || ev.notice != &notice || ev.record != NULL ||
               ev.cursor == 0 || ev.cursor != notice.cursor ||
               notice.notice.state > CUSTOS_LOAN_STATE_MAX) {
        abort();
    }
    custos_record_clear(&rec);
    return 0;
}
