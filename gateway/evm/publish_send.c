/* Sending publications (publisher_internal.h, docs/publishing.md §4): the adapter's
 * submit calldata with the signatures ordered by signer address, eth_estimateGas (a revert
 * is the chain refusing the record: stored as failed with its revert data and never
 * retried), EIP-1559 fees, signing with the relayer key (a file or a token), and storing
 * the fate row with the raw transaction BEFORE eth_sendRawTransaction, so that after a
 * crash the same bytes are broadcast again. A fee bump replaces a stuck transaction with
 * the same nonce and fees raised by at least 12.5%, capped, stored before it is sent; a
 * re-queue builds the publication again under a new nonce when another transaction took
 * its own (§6). */
#include "evm/publisher_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/keccak.h"

#include "evm/evm_abi.h"
#include "evm/evm_tx.h"
#include "evm/relayer.h"
#include "log.h"

#define PUB_SUBMIT_SIGNATURE                                                                \
    "submit(bytes32,(bytes32,address,uint8,uint256,uint256,bytes32,uint64,uint64,uint64),"  \
    "bytes)"

void gw_publisher_feed_id(const char *feed, uint8_t out[CUSTOS_HASH_LEN])
{
    custos_keccak256((const uint8_t *)feed, strlen(feed), out);
}

custos_rc gw_publisher_pack_sorted(const custos_signature *sigs,
                                   const uint8_t (*signers)[CUSTOS_ADDRESS_LEN], size_t n,
                                   uint8_t out[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN],
                                   size_t *len, custos_error *err)
{
    if (n == 0 || n > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%zu signatures: 1 to %d", n,
                                CUSTOS_MAX_SIGNATURES);
    size_t order[CUSTOS_MAX_SIGNATURES];
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        /* Insertion sort: at most 16 entries. Big-endian bytes compare as numbers. */
        while (j > 0 && memcmp(signers[order[j - 1]], signers[i], CUSTOS_ADDRESS_LEN) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && memcmp(signers[order[i - 1]], signers[order[i]], CUSTOS_ADDRESS_LEN) == 0)
            return custos_error_set(err, CUSTOS_ERR_INVALID, "one signer signed twice");
        memcpy(out + i * CUSTOS_SIGNATURE_LEN, sigs[order[i]].bytes, CUSTOS_SIGNATURE_LEN);
    }
    *len = n * CUSTOS_SIGNATURE_LEN;
    return CUSTOS_OK;
}

custos_rc gw_publisher_pack_signatures(const custos_record *rec,
                                       uint8_t out[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN],
                                       size_t *len, custos_error *err)
{
    size_t n = rec->sub.n_sigs;
    if (n == 0 || n > CUSTOS_MAX_SIGNATURES || n != rec->n_signers)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "record %" PRIu64 ": %zu signatures for %zu signers",
                                rec->cursor, n, rec->n_signers);
    custos_error why;
    custos_rc rc = gw_publisher_pack_sorted(rec->sub.sigs, rec->signers, n, out, len, &why);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, rc, "record %" PRIu64 ": %s", rec->cursor, why.message);
    return CUSTOS_OK;
}

custos_rc gw_publisher_encode_submit(const custos_record *rec, uint8_t **out, size_t *len,
                                     custos_error *err)
{
    uint8_t sigs[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN];
    size_t sigs_len;
    custos_rc rc = gw_publisher_pack_signatures(rec, sigs, &sigs_len, err);
    if (rc != CUSTOS_OK)
        return rc;
    const custos_attestation *a = &rec->sub.att;
    uint8_t feed_id[CUSTOS_HASH_LEN];
    gw_publisher_feed_id(rec->sub.feed, feed_id);
    evm_abi_value fields[9] = {
        evm_abi_bytes32(a->account),
        evm_abi_address(a->beneficiary),
        evm_abi_uint64(a->kind),
        evm_abi_u256(&a->gross_value),
        evm_abi_u256(&a->collateral_value),
        evm_abi_bytes32(a->positions_root),
        evm_abi_uint64(a->as_of),
        evm_abi_uint64(a->valid_until),
        evm_abi_uint64(a->sequence),
    };
    evm_abi_value args[3] = {
        evm_abi_bytes32(feed_id),
        evm_abi_tuple(fields, 9),
        evm_abi_dynamic_bytes(sigs, sigs_len),
    };
    return evm_abi_encode(PUB_SUBMIT_SIGNATURE, args, 3, out, len, err);
}

void gw_publisher_bump_fee(const custos_u256 *old, const custos_u256 *floor,
                           const custos_u256 *cap, custos_u256 *out)
{
    custos_u256 one, eight, eighth, back, bumped;
    custos_u256_from_u64(&one, 1);
    custos_u256_from_u64(&eight, 8);
    /* Round the eighth up, and raise by at least 1 wei: a replacement must be higher. Any
     * overflow on the way means a fee beyond every cap: the cap. */
    bool fits = custos_u256_mul_div(&eighth, old, &one, &eight) == CUSTOS_OK;
    if (fits && (custos_u256_mul(&back, &eighth, &eight) != CUSTOS_OK ||
                 custos_u256_cmp(&back, old) != 0 || custos_u256_is_zero(&eighth)))
        fits = custos_u256_add(&eighth, &eighth, &one) == CUSTOS_OK;
    if (!fits || custos_u256_add(&bumped, old, &eighth) != CUSTOS_OK)
        bumped = *cap;
    if (custos_u256_cmp(&bumped, floor) < 0)
        bumped = *floor;
    if (custos_u256_cmp(&bumped, cap) > 0)
        bumped = *cap;
    *out = bumped;
}

static void pub_min(custos_u256 *v, const custos_u256 *cap)
{
    if (custos_u256_cmp(v, cap) > 0)
        *v = *cap;
}

/* The adapter's errors that submit can revert with, to name them in logs. */
static const char *const pub_submit_errors[] = {
    "UnknownFeed(bytes32)",
    "UnknownAccount(bytes32)",
    "AccountOfOtherFeed(bytes32,bytes32)",
    "UnknownKind(uint8)",
    "ValueOutOfRange(uint256)",
    "Stale(uint64,uint256)",
    "FromFuture(uint64,uint256)",
    "Expired(uint64,uint256)",
    "InvalidWindow(uint64,uint64)",
    "TtlTooLong(uint64,uint64)",
    "Replay(uint64,uint64)",
    "PledgedElsewhere(address)",
    "MalformedSignatures(uint256)",
    "NonCanonicalSignature(uint256)",
    "BadSignature(uint256)",
    "DuplicateOrUnsortedSigner(uint256)",
    "UnknownSigner(address)",
    "RevokedSigner(address)",
    "RotatedOut(address,uint64)",
    "DuplicateSignerSlot(address)",
    "BelowThreshold(uint256,uint256)",
    "TooFewRoles(uint256,uint256)",
    "FreezeNeedsCustodian()",
    "SequenceJump(uint64,uint64,uint32)",
    "BreakerHeld(uint256,uint256,uint256,uint256)",
    "BatchOfOtherFeed(bytes32,bytes32)",
    "BatchCountMismatch(uint32,uint256)",
    "BatchReplay(uint64,uint64)",
    "LeavesNotSorted(uint256)",
    "DuplicateAccount(bytes32)",
    "WrongRoot(bytes32,bytes32)",
    "KindNotInBatch(uint8)",
    "NotBatchTime(uint64,uint64)",
};

/* "Stale(uint64,uint256) 0x<data>" (data cut to fit). */
void gw_pub_describe_revert(const uint8_t *data, size_t len, char *out, size_t cap)
{
    const char *name = "unknown error";
    if (len >= EVM_ABI_SELECTOR_LEN) {
        for (size_t i = 0; i < sizeof pub_submit_errors / sizeof pub_submit_errors[0]; i++) {
            uint8_t sel[EVM_ABI_SELECTOR_LEN];
            evm_abi_selector(pub_submit_errors[i], sel);
            if (memcmp(sel, data, EVM_ABI_SELECTOR_LEN) == 0) {
                name = pub_submit_errors[i];
                break;
            }
        }
    }
    char hex[2 + 2 * 68 + 1];
    size_t shown = len < 68 ? len : 68;
    gw_pub_hex(data, shown, hex, sizeof hex);
    snprintf(out, cap, "reverted %s %s%s", name, hex, shown < len ? "..." : "");
}

bool gw_pub_is_own_replay(const char *error, const uint8_t *data, size_t len,
                          uint64_t sequence)
{
    if (error == NULL)
        return false;
    uint8_t sel[EVM_ABI_SELECTOR_LEN];
    evm_abi_selector(error, sel);
    if (len != EVM_ABI_SELECTOR_LEN + 2 * EVM_ABI_WORD ||
        memcmp(data, sel, EVM_ABI_SELECTOR_LEN) != 0)
        return false;
    uint64_t last, got;
    const uint8_t *args = data + EVM_ABI_SELECTOR_LEN;
    size_t args_len = len - EVM_ABI_SELECTOR_LEN;
    return evm_abi_get_uint64(args, args_len, 0, 64, &last, NULL) == CUSTOS_OK &&
           evm_abi_get_uint64(args, args_len, 1, 64, &got, NULL) == CUSTOS_OK &&
           last == sequence && got == sequence;
}

/* Fees for a new transaction: tip from the node (or the configured fallback), max fee
 * 2 x latest base fee + tip (room for several full blocks of increases), both capped. */
static custos_rc pub_fees(gw_publisher *p, custos_u256 *max_fee, custos_u256 *tip,
                          custos_error *err)
{
    custos_u256 base;
    custos_rc rc;
    if ((rc = gw_pub_node(p, evm_rpc_base_fee(p->rpc, &base, err))) != CUSTOS_OK ||
        (rc = gw_pub_node(p, evm_rpc_max_priority_fee(p->rpc, tip, NULL, err))) != CUSTOS_OK)
        return rc;
    pub_min(tip, &p->fee_cap);
    if (custos_u256_add(max_fee, &base, &base) != CUSTOS_OK ||
        custos_u256_add(max_fee, max_fee, tip) != CUSTOS_OK)
        *max_fee = p->fee_cap;
    pub_min(max_fee, &p->fee_cap);
    return CUSTOS_OK;
}

static custos_rc pub_sign(gw_publisher *p, uint64_t nonce, const custos_u256 *max_fee,
                          const custos_u256 *tip, uint64_t gas_limit, const uint8_t *data,
                          size_t data_len, gw_pub_tx *out, custos_error *err)
{
    evm_tx tx = {.chain_id = p->cfg->domain.chain_id,
                 .nonce = nonce,
                 .max_priority_fee_per_gas = *tip,
                 .max_fee_per_gas = *max_fee,
                 .gas_limit = gas_limit,
                 .data = data,
                 .data_len = data_len};
    memcpy(tx.to, p->cfg->evm.adapter, CUSTOS_ADDRESS_LEN);
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_signature sig;
    evm_signed_tx signed_tx;
    custos_rc rc;
    if ((rc = evm_tx_signing_hash(&tx, digest, err)) != CUSTOS_OK ||
        (rc = gw_relayer_sign(p->relayer_key, digest, &sig, err)) != CUSTOS_OK ||
        (rc = evm_tx_encode_signed(&tx, &sig, &signed_tx, err)) != CUSTOS_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->nonce = nonce;
    out->max_fee = *max_fee;
    out->priority_fee = *tip;
    out->gas_limit = gas_limit;
    out->sent_at = gw_pub_now();
    memcpy(out->hash, signed_tx.hash, CUSTOS_HASH_LEN);
    out->raw = signed_tx.raw;
    out->raw_len = signed_tx.raw_len;
    return CUSTOS_OK;
}

/* Broadcasts a stored transaction. The node already having it, or having mined its
 * nonce, is success: receipts tell what happened. Other refusals are logged and left to
 * the next pass (the nonce stays reserved: later transactions queue behind it). */
custos_rc gw_pub_broadcast(gw_publisher *p, const gw_pub_row *row, custos_error *err)
{
    uint8_t hash[CUSTOS_HASH_LEN];
    custos_rc rc = evm_rpc_send_raw_transaction(p->rpc, row->tx.raw, row->tx.raw_len, hash, err);
    if (rc == CUSTOS_ERR_REFUSED) {
        const evm_rpc_fault *f = evm_rpc_last_fault(p->rpc);
        const char *msg = f != NULL && f->message != NULL ? f->message : "";
        if (strstr(msg, "already known") != NULL || strstr(msg, "nonce too low") != NULL ||
            strstr(msg, "already imported") != NULL) {
            custos_error_clear(err);
            return CUSTOS_OK;
        }
    }
    return gw_pub_node(p, rc);
}

custos_rc gw_pub_put_plain(gw_publisher *p, gw_pub_row *row, gw_pub_fate fate,
                           const char *detail, bool promote, custos_error *err)
{
    row->fate = fate;
    row->has_tx = false;
    snprintf(row->detail, sizeof row->detail, "%s", detail);
    custos_rc rc = promote ? gw_pubstate_promote(p->state, row, err)
                           : gw_pubstate_put(p->state, row, err);
    if (rc != CUSTOS_OK)
        return rc;
    char account[2 + 64 + 1];
    gw_pub_hex(row->account, CUSTOS_HASH_LEN, account, sizeof account);
    pthread_mutex_lock(&p->lock);
    if (fate == GW_PUB_SKIPPED)
        p->status.skipped++;
    else if (fate == GW_PUB_FAILED)
        p->status.failed++;
    else
        p->status.published++;
    pthread_mutex_unlock(&p->lock);
    gw_log(fate == GW_PUB_FAILED ? GW_LOG_ERROR : GW_LOG_INFO, "publisher.fate",
           "cursor %" PRIu64 " account %s sequence %" PRIu64 ": %s (%s)", row->cursor, account,
           row->sequence, gw_pub_fate_name(fate), detail);
    return CUSTOS_OK;
}

custos_rc gw_pub_build_call(gw_publisher *p, const uint8_t *data, size_t data_len,
                            uint64_t nonce, const char *replay_error, uint64_t sequence,
                            gw_pub_tx *tx, gw_pub_built *what, char detail[200],
                            custos_error *err)
{
    *what = GW_PUB_REFUSED;
    evm_call call = {.from = p->relayer, .data = data, .data_len = data_len};
    memcpy(call.to, p->cfg->evm.adapter, CUSTOS_ADDRESS_LEN);
    uint64_t gas = 0;
    custos_rc rc = evm_rpc_estimate_gas(p->rpc, &call, &gas, err);
    const evm_rpc_fault *f = rc == CUSTOS_ERR_REFUSED ? evm_rpc_last_fault(p->rpc) : NULL;
    /* A revert (with data, or JSON-RPC code 3) is the chain refusing this record;
     * anything else (no funds, node trouble) is retried. */
    if (f != NULL && (f->has_data || f->code == 3)) {
        if (f->has_data && gw_pub_is_own_replay(replay_error, f->data, f->data_len, sequence))
            *what = GW_PUB_ON_CHAIN;
        else if (f->has_data)
            gw_pub_describe_revert(f->data, f->data_len, detail, 200);
        else
            snprintf(detail, 200, "reverted: %.160s", f->message != NULL ? f->message : "");
        custos_error_clear(err);
        return CUSTOS_OK;
    }
    if ((rc = gw_pub_node(p, rc)) != CUSTOS_OK)
        return rc;
    uint64_t margin = gas / 10000 * p->cfg->evm.gas_limit_margin_bps +
                      gas % 10000 * p->cfg->evm.gas_limit_margin_bps / 10000;
    custos_u256 max_fee, tip;
    if ((rc = pub_fees(p, &max_fee, &tip, err)) == CUSTOS_OK)
        rc = pub_sign(p, nonce, &max_fee, &tip, gas + margin, data, data_len, tx, err);
    if (rc == CUSTOS_OK)
        *what = GW_PUB_BUILT;
    return rc;
}

/* Encodes rec's submit, estimates its gas, prices it and signs it under nonce. A revert
 * at estimation is an answer (*what), not an error: the chain will not take the record. */
static custos_rc pub_build(gw_publisher *p, const custos_record *rec, uint64_t nonce,
                           gw_pub_tx *tx, gw_pub_built *what, char detail[200],
                           custos_error *err)
{
    *what = GW_PUB_REFUSED;
    uint8_t *data = NULL;
    size_t data_len = 0;
    custos_rc rc = gw_publisher_encode_submit(rec, &data, &data_len, err);
    if (rc != CUSTOS_OK) {
        /* The gateway accepted something it cannot encode: no retry can fix that. */
        snprintf(detail, 200, "cannot encode: %.180s", err->message);
        custos_error_clear(err);
        return CUSTOS_OK;
    }
    rc = gw_pub_build_call(p, data, data_len, nonce, "Replay(uint64,uint64)",
                           rec->sub.att.sequence, tx, what, detail, err);
    free(data);
    return rc;
}

custos_rc gw_pub_send(gw_publisher *p, const custos_record *rec, gw_pub_reason why,
                      bool promote, custos_error *err)
{
    if (rec->batched)
        return gw_pub_batch_send(p, rec, why, promote, err);
    gw_pub_row row;
    gw_pub_row_from_record(rec, &row);
    gw_pub_built what = GW_PUB_REFUSED;
    char detail[200] = "";
    custos_rc rc = pub_build(p, rec, p->next_nonce, &row.tx, &what, detail, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (what == GW_PUB_REFUSED)
        return gw_pub_put_plain(p, &row, GW_PUB_FAILED, detail, promote, err);
    if (what == GW_PUB_ON_CHAIN)
        return gw_pub_put_plain(p, &row, GW_PUB_CONFIRMED, "already on-chain", promote, err);
    row.fate = GW_PUB_SENT;
    row.has_tx = true;
    snprintf(row.detail, sizeof row.detail, "%s", gw_pub_reason_name(why));
    rc = promote ? gw_pubstate_promote(p->state, &row, err) : gw_pubstate_put(p->state, &row, err);
    if (rc != CUSTOS_OK) {
        gw_pub_row_clear(&row);
        return rc;
    }
    p->next_nonce++;
    char account[2 + 64 + 1], hash[2 + 64 + 1];
    gw_pub_hex(row.account, CUSTOS_HASH_LEN, account, sizeof account);
    gw_pub_hex(row.tx.hash, CUSTOS_HASH_LEN, hash, sizeof hash);
    pthread_mutex_lock(&p->lock);
    p->status.nonce = p->next_nonce;
    p->status.pending++;
    p->status.decisions[why]++;
    pthread_mutex_unlock(&p->lock);
    gw_log(GW_LOG_INFO, "publisher.sent",
           "cursor %" PRIu64 " account %s sequence %" PRIu64 " (%s): nonce %" PRIu64
           ", gas limit %" PRIu64 ", tx %s", row.cursor, account, row.sequence,
           gw_pub_reason_name(why), row.tx.nonce, row.tx.gas_limit, hash);
    custos_error berr;
    custos_error_clear(&berr);
    if (gw_pub_broadcast(p, &row, &berr) != CUSTOS_OK)
        gw_log(GW_LOG_WARN, "publisher.broadcast", "tx %s stored, not yet broadcast: %s", hash,
               berr.message);
    gw_pub_row_clear(&row);
    return CUSTOS_OK;
}

/* Ends a sent publication without a final receipt of its own (re-queue found it refused
 * or already on-chain). */
static custos_rc pub_finish_plain(gw_publisher *p, const gw_pub_row *row, gw_pub_fate fate,
                                  const char *detail, custos_error *err)
{
    custos_rc rc = gw_pubstate_finish(p->state, row->cursor, fate, detail, err);
    if (rc != CUSTOS_OK)
        return rc;
    char account[2 + 64 + 1];
    gw_pub_hex(row->account, CUSTOS_HASH_LEN, account, sizeof account);
    pthread_mutex_lock(&p->lock);
    if (fate == GW_PUB_FAILED)
        p->status.failed++;
    else
        p->status.published++;
    pthread_mutex_unlock(&p->lock);
    gw_log(fate == GW_PUB_FAILED ? GW_LOG_ERROR : GW_LOG_INFO, "publisher.fate",
           "cursor %" PRIu64 " account %s sequence %" PRIu64 ": %s (%s)", row->cursor, account,
           row->sequence, gw_pub_fate_name(fate), detail);
    return CUSTOS_OK;
}

custos_rc gw_pub_requeue(gw_publisher *p, const gw_pub_row *row, custos_error *err)
{
    uint8_t *data = NULL;
    size_t data_len = 0;
    const char *replay_error = NULL;
    uint64_t sequence = 0;
    custos_rc rc = gw_pub_row_calldata(p, row, &data, &data_len, &replay_error, &sequence, err);
    if (rc != CUSTOS_OK)
        return rc;
    gw_pub_row next;
    memset(&next, 0, sizeof next);
    next.cursor = row->cursor;
    gw_pub_built what = GW_PUB_REFUSED;
    char detail[200] = "";
    rc = gw_pub_build_call(p, data, data_len, p->next_nonce, replay_error, sequence, &next.tx,
                           &what, detail, err);
    free(data);
    if (rc != CUSTOS_OK)
        return rc;
    if (what != GW_PUB_BUILT) {
        gw_pub_fate fate = what == GW_PUB_REFUSED ? GW_PUB_FAILED : GW_PUB_CONFIRMED;
        const char *why = what == GW_PUB_REFUSED ? detail : "already on-chain";
        return row->batched ? gw_pub_finish_call(p, row, fate, why, err)
                            : pub_finish_plain(p, row, fate, why, err);
    }
    next.has_tx = true;
    if ((rc = gw_pubstate_requeue_tx(p->state, row->cursor, &next.tx, err)) != CUSTOS_OK) {
        gw_pub_row_clear(&next);
        return rc;
    }
    p->next_nonce++;
    char hash[2 + 64 + 1], new_hash[2 + 64 + 1];
    gw_pub_hex(row->tx.hash, CUSTOS_HASH_LEN, hash, sizeof hash);
    gw_pub_hex(next.tx.hash, CUSTOS_HASH_LEN, new_hash, sizeof new_hash);
    pthread_mutex_lock(&p->lock);
    p->status.nonce = p->next_nonce;
    p->status.requeued++;
    pthread_mutex_unlock(&p->lock);
    gw_log(GW_LOG_WARN, "publisher.requeue",
           "cursor %" PRIu64 ": nonce %" PRIu64 " was taken by a transaction this publisher did "
           "not send; tx %s replaced by %s with nonce %" PRIu64,
           row->cursor, row->tx.nonce, hash, new_hash, next.tx.nonce);
    custos_error berr;
    custos_error_clear(&berr);
    if (gw_pub_broadcast(p, &next, &berr) != CUSTOS_OK)
        gw_log(GW_LOG_WARN, "publisher.broadcast", "tx %s stored, not yet broadcast: %s",
               new_hash, berr.message);
    gw_pub_row_clear(&next);
    return CUSTOS_OK;
}

/* Replaces a stuck transaction: same nonce and gas limit, both fees raised by at least
 * 12.5% (and to at least what a new transaction would pay), capped; stored first.
 * *bumped stays false when the fees are already at the cap. */
custos_rc gw_pub_bump(gw_publisher *p, const gw_pub_row *row, bool *bumped,
                      custos_error *err)
{
    *bumped = false;
    custos_u256 max_fee, tip, new_max, new_tip;
    custos_rc rc = pub_fees(p, &max_fee, &tip, err);
    if (rc != CUSTOS_OK)
        return rc;
    gw_publisher_bump_fee(&row->tx.priority_fee, &tip, &p->fee_cap, &new_tip);
    gw_publisher_bump_fee(&row->tx.max_fee, &max_fee, &p->fee_cap, &new_max);
    pub_min(&new_tip, &new_max);
    char hash[2 + 64 + 1];
    gw_pub_hex(row->tx.hash, CUSTOS_HASH_LEN, hash, sizeof hash);
    if (custos_u256_cmp(&new_max, &row->tx.max_fee) <= 0) {
        gw_log(GW_LOG_DEBUG, "publisher.bump", "tx %s: fees already at max_fee_gwei", hash);
        return CUSTOS_OK;
    }
    uint8_t *data = NULL;
    size_t data_len = 0;
    const char *replay_error = NULL;
    uint64_t sequence = 0;
    if ((rc = gw_pub_row_calldata(p, row, &data, &data_len, &replay_error, &sequence, err)) !=
        CUSTOS_OK)
        return rc;
    gw_pub_row next;
    memset(&next, 0, sizeof next);
    next.cursor = row->cursor;
    rc = pub_sign(p, row->tx.nonce, &new_max, &new_tip, row->tx.gas_limit, data, data_len,
                  &next.tx, err);
    free(data);
    if (rc != CUSTOS_OK)
        return rc;
    next.has_tx = true;
    if ((rc = gw_pubstate_replace_tx(p->state, row->cursor, &next.tx, err)) != CUSTOS_OK) {
        gw_pub_row_clear(&next);
        if (rc == CUSTOS_ERR_TOO_LARGE) {
            gw_log(GW_LOG_DEBUG, "publisher.bump", "tx %s: %s", hash, err->message);
            custos_error_clear(err);
            return CUSTOS_OK;
        }
        return rc;
    }
    *bumped = true;
    pthread_mutex_lock(&p->lock);
    p->status.fee_bumps++;
    pthread_mutex_unlock(&p->lock);
    char new_hash[2 + 64 + 1], fee[CUSTOS_U256_DEC_MAX];
    gw_pub_hex(next.tx.hash, CUSTOS_HASH_LEN, new_hash, sizeof new_hash);
    if (custos_u256_to_dec(&new_max, fee, sizeof fee) != CUSTOS_OK)
        snprintf(fee, sizeof fee, "%s", "?");
    gw_log(GW_LOG_INFO, "publisher.bump", "nonce %" PRIu64 ": tx %s replaced by %s, max fee %s wei",
           row->tx.nonce, hash, new_hash, fee);
    custos_error berr;
    custos_error_clear(&berr);
    if (gw_pub_broadcast(p, &next, &berr) != CUSTOS_OK)
        gw_log(GW_LOG_WARN, "publisher.broadcast", "tx %s stored, not yet broadcast: %s",
               new_hash, berr.message);
    gw_pub_row_clear(&next);
    return CUSTOS_OK;
}
