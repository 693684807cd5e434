/* Collateral notices from their protobuf-c messages (pb_notice.h). */
#include "pb_notice.h"

#include <stdio.h>
#include <string.h>

#include "pb_convert.h"

custos_rc pb_to_stored_notice(const Custos__V1__StoredNotice *m, custos_stored_notice *out,
                              custos_error *err)
{
    memset(out, 0, sizeof *out);
    const Custos__V1__CollateralNotice *n = m != NULL ? m->notice : NULL;
    if (n == NULL || n->account.len != CUSTOS_HASH_LEN || n->lender.len != CUSTOS_ADDRESS_LEN ||
        n->exposure.len != CUSTOS_U256_LEN || n->collateral_value.len != CUSTOS_U256_LEN ||
        n->state > CUSTOS_LOAN_STATE_MAX || m->signature.len != CUSTOS_SIGNATURE_LEN ||
        m->signer.len != CUSTOS_ADDRESS_LEN || m->digest.len != CUSTOS_HASH_LEN ||
        m->feed == NULL || strlen(m->feed) > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "a notice with a field of the wrong size");
    if (m->chain_hash.len != (m->cursor != 0 ? CUSTOS_HASH_LEN : 0))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "a notice's chain_hash must be 32 bytes with its cursor, "
                                "empty without (got %zu)", m->chain_hash.len);
    snprintf(out->feed, sizeof out->feed, "%s", m->feed);
    memcpy(out->notice.account, n->account.data, CUSTOS_HASH_LEN);
    memcpy(out->notice.lender, n->lender.data, CUSTOS_ADDRESS_LEN);
    out->notice.state = (uint8_t)n->state;
    out->notice.ltv_bps = n->ltv_bps;
    custos_u256_from_be(&out->notice.exposure, n->exposure.data);
    custos_u256_from_be(&out->notice.collateral_value, n->collateral_value.data);
    out->notice.deadline = n->deadline;
    out->notice.sequence = n->sequence;
    memcpy(out->sig.bytes, m->signature.data, CUSTOS_SIGNATURE_LEN);
    memcpy(out->signer, m->signer.data, CUSTOS_ADDRESS_LEN);
    memcpy(out->digest, m->digest.data, CUSTOS_HASH_LEN);
    out->accepted_at = m->accepted_at;
    out->cursor = m->cursor;
    if (m->cursor != 0)
        memcpy(out->chain_hash, m->chain_hash.data, CUSTOS_HASH_LEN);
    return CUSTOS_OK;
}

custos_rc pb_to_watch_event(const Custos__V1__WatchEvent *m, custos_record *rec,
                            custos_stored_notice *notice, custos_watch_event *ev,
                            custos_error *err)
{
    memset(ev, 0, sizeof *ev);
    memset(rec, 0, sizeof *rec);
    memset(notice, 0, sizeof *notice);
    if (m == NULL || (m->record == NULL) == (m->notice == NULL))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "bad event: neither one record nor one notice");
    if (m->record != NULL) {
        custos_rc rc = pb_to_record(m->record, rec, err);
        if (rc != CUSTOS_OK)
            return rc;
        ev->kind = CUSTOS_CHAIN_RECORD;
        ev->cursor = rec->cursor;
        ev->record = rec;
        return CUSTOS_OK;
    }
    if (m->domain == NULL || m->domain->verifying_contract.len != CUSTOS_ADDRESS_LEN)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "a notice event without its domain");
    custos_rc rc = pb_to_stored_notice(m->notice, notice, err);
    if (rc == CUSTOS_OK && notice->cursor == 0)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "a notice event without its cursor");
    if (rc != CUSTOS_OK)
        return rc;
    ev->kind = CUSTOS_CHAIN_NOTICE;
    ev->cursor = notice->cursor;
    ev->notice = notice;
    ev->domain.chain_id = m->domain->chain_id;
    memcpy(ev->domain.verifying_contract, m->domain->verifying_contract.data,
           CUSTOS_ADDRESS_LEN);
    return CUSTOS_OK;
}
