/* Batch-signed records (publisher_internal.h, docs/publishing.md §14). Their signatures
 * cover the batch's root, not their own attestation, so the adapter takes them only in a
 * submitBatch that carries every leaf of their batch. When the first record of a batch
 * reaches the publisher, every record of the batch without a fate is decided at once:
 * when one of them is due by the policy of §3, the whole batch goes out as one call, its
 * records stored together (the transaction on one row, the others its members) before
 * the broadcast; otherwise they are skipped. What a whole call cannot carry goes in
 * submitBatchPart calls, each its records and their multiproof: a batch beyond [evm]
 * batch_max_accounts or the block's gas limit, split; and the records of a batch already
 * sent, accepted since (a rise the breaker held, released). Each call is tracked as any
 * publication (nonces, receipts, reorganisations, fee bumps, re-queues, failover); at its
 * final receipt each account the adapter refused (its AccountRefused event) fails alone,
 * naming the reason, but for a replay of its own sequence: on-chain already. */
#include "evm/publisher_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/keccak.h"

#include "evm/evm_abi.h"
#include "evm/publish_batch.h"
#include "log.h"

#define PUB_BATCH_REPLAY "BatchReplay(uint64,uint64)"
#define PUB_ACCOUNT_REFUSED "AccountRefused(bytes32,bytes32,uint64,bytes)"
#define PUB_ACCOUNT_REPLAY "Replay(uint64,uint64)"

static custos_rc pub_load_batch(gw_publisher *p, const uint8_t digest[CUSTOS_HASH_LEN],
                                gw_store_batch *b, custos_error *err)
{
    memset(b, 0, sizeof *b);
    return gw_engine_get_batch(p->engine, digest, b, err);
}

/* The stored batch as the encoders take it; *atts (malloc'd, every member's attestation)
 * is the caller's to free. */
static custos_rc pub_batch_view(const gw_store_batch *b, gw_pub_batch *pb,
                                custos_attestation **atts, custos_error *err)
{
    *atts = malloc((b->n_members + 1) * sizeof **atts);
    if (*atts == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "batch calldata: out of memory");
    for (size_t i = 0; i < b->n_members; i++)
        (*atts)[i] = b->members[i].acct.att;
    *pb = (gw_pub_batch){.batch = b->batch,
                         .atts = *atts,
                         .n_atts = b->n_members,
                         .sigs = b->sigs,
                         .signers = (const uint8_t(*)[CUSTOS_ADDRESS_LEN])b->signers,
                         .n_sigs = b->n_sigs};
    return CUSTOS_OK;
}

/* submitBatch's calldata: every account of the batch, those the gateway refused too (the
 * adapter rebuilds the signed root from every leaf, and judges each account alone). */
static custos_rc pub_batch_calldata(const gw_store_batch *b, uint8_t **data, size_t *len,
                                    custos_error *err)
{
    if (b->n_members == 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "batch without accounts");
    gw_pub_batch pb;
    custos_attestation *atts = NULL;
    custos_rc rc = pub_batch_view(b, &pb, &atts, err);
    if (rc == CUSTOS_OK)
        rc = gw_pub_batch_encode(&pb, data, len, err);
    free(atts);
    return rc;
}

/* A member of a stored batch by its record's cursor: the batch's accepted members sorted
 * once by cursor, so that each record of a send finds its member with bsearch. */
typedef struct pub_by_cursor {
    uint64_t cursor;
    size_t member;
} pub_by_cursor;

static int pub_by_cursor_cmp(const void *a, const void *b)
{
    uint64_t x = ((const pub_by_cursor *)a)->cursor, y = ((const pub_by_cursor *)b)->cursor;
    return (x > y) - (x < y);
}

/* *ix (malloc'd, *n entries): b's members that have a record (cursor not 0), by cursor. */
static custos_rc pub_cursor_index(const gw_store_batch *b, pub_by_cursor **ix, size_t *n,
                                  custos_error *err)
{
    *n = 0;
    if ((*ix = malloc((b->n_members + 1) * sizeof **ix)) == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "batch part calldata: out of memory");
    for (size_t i = 0; i < b->n_members; i++)
        if (b->members[i].cursor != 0)
            (*ix)[(*n)++] = (pub_by_cursor){b->members[i].cursor, i};
    qsort(*ix, *n, sizeof **ix, pub_by_cursor_cmp);
    return CUSTOS_OK;
}

/* The member whose record is at cursor, or SIZE_MAX. */
static size_t pub_member_of(const pub_by_cursor *ix, size_t n, uint64_t cursor)
{
    pub_by_cursor key = {cursor, 0};
    const pub_by_cursor *at = bsearch(&key, ix, n, sizeof *ix, pub_by_cursor_cmp);
    return at != NULL ? at->member : SIZE_MAX;
}

/* submitBatchPart's calldata for the n members of the batch prepared once for the send;
 * SIZE_MAX names a record the batch does not hold. */
static custos_rc pub_part_data(const gw_store_batch *b, const gw_pub_prepared *pp,
                               const size_t *members, size_t n, uint8_t **data, size_t *len,
                               custos_error *err)
{
    size_t missing = 0;
    for (size_t k = 0; k < n; k++)
        missing += members[k] == SIZE_MAX;
    if (missing > 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "batch part: %zu of its %zu records are not in batch %" PRIu64,
                                missing, n, b->batch.sequence);
    return gw_pub_prepared_part_encode(pp, members, n, data, len, err);
}

/* submitBatchPart's calldata for one call rebuilt alone (a re-queue, a fee bump): the
 * batch prepared for it, its records (n cursors) found through the index by cursor. */
static custos_rc pub_part_calldata(const gw_store_batch *b, const uint64_t *cursors, size_t n,
                                   uint8_t **data, size_t *len, custos_error *err)
{
    gw_pub_batch pb;
    custos_attestation *atts = NULL;
    pub_by_cursor *ix = NULL;
    size_t n_ix = 0;
    gw_pub_prepared *pp = NULL;
    size_t *members = malloc((n + 1) * sizeof *members);
    custos_rc rc = members != NULL ? pub_batch_view(b, &pb, &atts, err)
                                   : custos_error_set(err, CUSTOS_ERR_NOMEM,
                                                      "batch part calldata: out of memory");
    if (rc == CUSTOS_OK)
        rc = pub_cursor_index(b, &ix, &n_ix, err);
    if (rc == CUSTOS_OK)
        rc = gw_pub_prepared_new(&pb, &pp, err);
    if (rc == CUSTOS_OK) {
        for (size_t k = 0; k < n; k++)
            members[k] = pub_member_of(ix, n_ix, cursors[k]);
        rc = pub_part_data(b, pp, members, n, data, len, err);
    }
    gw_pub_prepared_free(pp);
    free(members);
    free(ix);
    free(atts);
    return rc;
}

/* The cursors of the part call row holds: its own, then its members' (*cursors
 * malloc'd). */
static custos_rc pub_part_cursors(gw_publisher *p, const gw_pub_row *row, uint64_t **cursors,
                                  size_t *n, custos_error *err)
{
    gw_pub_row *sent = NULL;
    size_t n_sent = 0;
    *cursors = NULL;
    *n = 0;
    custos_rc rc = gw_pubstate_list_sent(p->state, &sent, &n_sent, err);
    if (rc == CUSTOS_OK && (*cursors = malloc((n_sent + 1) * sizeof **cursors)) == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher: out of memory");
    if (rc == CUSTOS_OK) {
        (*cursors)[(*n)++] = row->cursor;
        for (size_t i = 0; i < n_sent; i++)
            if (sent[i].call == row->cursor)
                (*cursors)[(*n)++] = sent[i].cursor;
    }
    for (size_t i = 0; i < n_sent; i++)
        gw_pub_row_clear(&sent[i]);
    free(sent);
    return rc;
}

custos_rc gw_pub_row_calldata(gw_publisher *p, const gw_pub_row *row, uint8_t **data,
                              size_t *len, const char **replay_error, uint64_t *sequence,
                              custos_error *err)
{
    custos_rc rc;
    if (row->batched && row->part) {
        gw_store_batch b;
        uint64_t *cursors = NULL;
        size_t n = 0;
        if ((rc = pub_load_batch(p, row->batch_digest, &b, err)) != CUSTOS_OK)
            return rc;
        if ((rc = pub_part_cursors(p, row, &cursors, &n, err)) == CUSTOS_OK)
            rc = pub_part_calldata(&b, cursors, n, data, len, err);
        *replay_error = NULL;
        *sequence = b.batch.sequence;
        free(cursors);
        gw_store_batch_clear(&b);
        return rc;
    }
    if (row->batched) {
        gw_store_batch b;
        if ((rc = pub_load_batch(p, row->batch_digest, &b, err)) != CUSTOS_OK)
            return rc;
        rc = pub_batch_calldata(&b, data, len, err);
        *replay_error = PUB_BATCH_REPLAY;
        *sequence = b.batch.sequence;
        gw_store_batch_clear(&b);
        return rc;
    }
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    if ((rc = gw_pub_read_record(p, row->cursor, &rec, err)) != CUSTOS_OK)
        return rc;
    rc = gw_publisher_encode_submit(&rec, data, len, err);
    custos_record_clear(&rec);
    *replay_error = "Replay(uint64,uint64)";
    *sequence = row->sequence;
    return rc;
}

/* The row of an accepted account of batch b. */
static void pub_row_of_member(const gw_store_batch *b, const gw_store_batch_member *m,
                              gw_pub_row *row)
{
    gw_pub_row_from_att(&m->acct.att, m->cursor, b->feed, b->digest, row);
}

static void pub_log_fate(const gw_pub_row *row, gw_pub_fate fate, const char *detail)
{
    char account[2 + 64 + 1];
    gw_pub_hex(row->account, CUSTOS_HASH_LEN, account, sizeof account);
    gw_log(fate == GW_PUB_FAILED ? GW_LOG_ERROR : GW_LOG_INFO, "publisher.fate",
           "cursor %" PRIu64 " account %s sequence %" PRIu64 ": %s (%s)", row->cursor, account,
           row->sequence, gw_pub_fate_name(fate), detail);
}

/* Ends one sent row of a call (member or the row with the transaction). */
static custos_rc pub_end(gw_publisher *p, const gw_pub_row *row, gw_pub_fate fate,
                         const char *detail, bool refused, custos_error *err)
{
    custos_rc rc = gw_pubstate_finish(p->state, row->cursor, fate, detail, err);
    if (rc != CUSTOS_OK)
        return rc;
    pthread_mutex_lock(&p->lock);
    if (fate == GW_PUB_FAILED) {
        p->status.failed++;
        p->status.accounts_refused += refused;
    } else {
        p->status.published++;
        if (row->cursor > p->status.last_published_cursor)
            p->status.last_published_cursor = row->cursor;
    }
    pthread_mutex_unlock(&p->lock);
    pub_log_fate(row, fate, detail);
    return CUSTOS_OK;
}

custos_rc gw_pub_finish_call(gw_publisher *p, const gw_pub_row *row, gw_pub_fate fate,
                             const char *detail, custos_error *err)
{
    gw_pub_row *sent = NULL;
    size_t n = 0;
    custos_rc rc = gw_pubstate_list_sent(p->state, &sent, &n, err);
    for (size_t i = 0; i < n && rc == CUSTOS_OK; i++)
        if (sent[i].call == row->cursor)
            rc = pub_end(p, &sent[i], fate, detail, false, err);
    for (size_t i = 0; i < n; i++)
        gw_pub_row_clear(&sent[i]);
    free(sent);
    return rc == CUSTOS_OK ? pub_end(p, row, fate, detail, false, err) : rc;
}

/* The AccountRefused event of account among logs, or NULL. */
static const evm_log *pub_refusal_of(const evm_log *logs, size_t n,
                                     const uint8_t account[CUSTOS_HASH_LEN])
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(logs[i].topic1, account, CUSTOS_HASH_LEN) == 0)
            return &logs[i];
    return NULL;
}

custos_rc gw_pub_finalise_call(gw_publisher *p, const gw_pub_row *row, const evm_receipt *r,
                               const uint8_t hash[CUSTOS_HASH_LEN], const gw_pub_row *sent,
                               size_t n_sent, custos_error *err)
{
    /* Room for one refusal per sent row at first; the adapter also refuses accounts that
     * have no row here (those the gateway refused, or skipped as not-newer), so when the
     * receipt holds more, they are read again with room for all. */
    size_t max = n_sent + 1, n_logs = 0;
    evm_log *logs = NULL;
    custos_rc rc = CUSTOS_OK;
    uint8_t topic0[CUSTOS_HASH_LEN];
    custos_keccak256((const uint8_t *)PUB_ACCOUNT_REFUSED, strlen(PUB_ACCOUNT_REFUSED), topic0);
    for (int attempt = 0; r->success && attempt < 2 && rc == CUSTOS_OK; attempt++) {
        free(logs);
        if ((logs = calloc(max, sizeof *logs)) == NULL) {
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher: out of memory");
            break;
        }
        bool found = false;
        rc = gw_pub_node(p, evm_rpc_receipt_logs(p->rpc, hash, p->cfg->evm.adapter, topic0,
                                                 logs, max, &n_logs, &found, err));
        if (rc == CUSTOS_OK && !found)
            rc = custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                                  "the receipt of a final batch call is gone");
        if (rc != CUSTOS_OK || n_logs <= max)
            break;
        max = n_logs;
    }
    if (rc == CUSTOS_OK && n_logs > max)
        rc = custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                              "the receipt of a batch call changed while it was read");
    char tx[2 + 64 + 1], mined[200];
    gw_pub_hex(hash, CUSTOS_HASH_LEN, tx, sizeof tx);
    snprintf(mined, sizeof mined, "%s in block %" PRIu64 ", tx %s, gas %" PRIu64 " (batch call)",
             r->success ? "mined" : "reverted", r->block_number, tx, r->gas_used);
    for (size_t i = 0; i <= n_sent && rc == CUSTOS_OK; i++) {
        /* Every member first, the row holding the transaction last: the call stays
         * tracked until all of them are final. */
        const gw_pub_row *m = i < n_sent ? &sent[i] : row;
        if (i < n_sent && m->call != row->cursor)
            continue;
        const evm_log *refusal = r->success ? pub_refusal_of(logs, n_logs, m->account) : NULL;
        if (refusal == NULL) {
            rc = pub_end(p, m, r->success ? GW_PUB_CONFIRMED : GW_PUB_FAILED, mined, false, err);
            continue;
        }
        /* The event's data is abi.encode(bytes reason): offset, length, then the bytes. */
        char why[120] = "reverted ?", detail[200];
        uint64_t reason_len = 0;
        size_t room = refusal->data_len > 2 * EVM_ABI_WORD ? refusal->data_len - 2 * EVM_ABI_WORD
                                                             : 0;
        if (evm_abi_get_uint64(refusal->data, refusal->data_len, 1, 64, &reason_len, NULL) !=
                CUSTOS_OK ||
            reason_len > room)
            reason_len = room;
        const uint8_t *reason = refusal->data + 2 * EVM_ABI_WORD;
        if (gw_pub_is_own_replay(PUB_ACCOUNT_REPLAY, reason, (size_t)reason_len, m->sequence)) {
            /* This very attestation is on-chain: another call carried it (a copy sent by
             * someone else, or a part sent again). */
            snprintf(detail, sizeof detail, "already on-chain (its sequence, block %" PRIu64 ")",
                     r->block_number);
            rc = pub_end(p, m, GW_PUB_CONFIRMED, detail, false, err);
            continue;
        }
        if (reason_len > 0)
            gw_pub_describe_revert(reason, (size_t)reason_len, why, sizeof why);
        snprintf(detail, sizeof detail, "refused by the adapter in block %" PRIu64 ": %.150s",
                 r->block_number, why);
        rc = pub_end(p, m, GW_PUB_FAILED, detail, true, err);
    }
    free(logs);
    return rc;
}

/* The records of one batch this pass decides: rows[i] with the reason the policy gave. */
typedef struct pub_call {
    gw_pub_row *rows;
    gw_pub_reason *why;
    size_t n;
    /* Deciding new records: the batch's records skipped before, which a call of the batch
     * publishes too (the adapter writes every leaf that passes its checks). */
    gw_pub_row *before;
    size_t n_before;
    bool out;          /* a record of the batch already has a fate other than skipped: the
                        * batch was sent before */
} pub_call;

static void pub_call_free(pub_call *c)
{
    for (size_t i = 0; i < c->n; i++)
        gw_pub_row_clear(&c->rows[i]);
    free(c->rows);
    free(c->why);
    free(c->before);
}

/* Collects the batch's accepted records: without a fate (promote false), or skipped ones
 * (promote), and whether the batch was sent before. */
static custos_rc pub_collect(gw_publisher *p, const gw_store_batch *b, bool promote,
                             pub_call *c, custos_error *err)
{
    memset(c, 0, sizeof *c);
    c->rows = calloc(b->n_members, sizeof *c->rows);
    c->why = calloc(b->n_members, sizeof *c->why);
    c->before = calloc(b->n_members, sizeof *c->before);
    if (c->rows == NULL || c->why == NULL || c->before == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher: out of memory");
    for (size_t i = 0; i < b->n_members; i++) {
        const gw_store_batch_member *m = &b->members[i];
        if (m->state != CUSTOS_STATE_ACCEPTED || m->cursor == 0)
            continue;
        gw_pub_row known;
        custos_rc rc = gw_pubstate_get(p->state, m->cursor, &known, err);
        if (rc == CUSTOS_OK) {
            bool skipped = known.fate == GW_PUB_SKIPPED;
            c->out = c->out || !skipped;
            gw_pub_row_clear(&known);
            if (skipped && !promote)
                pub_row_of_member(b, m, &c->before[c->n_before++]);
            if (!skipped || !promote)
                continue;
        } else if (rc != CUSTOS_ERR_NOT_FOUND) {
            return rc;
        } else {
            custos_error_clear(err);
            if (promote)
                continue; /* the follow cursor has not reached it: decided there */
        }
        pub_row_of_member(b, m, &c->rows[c->n++]);
    }
    return CUSTOS_OK;
}

/* Stores every record of the call skipped for `all`, or for its own reason when `all` is
 * GW_PUB_REASONS; with detail when given, else the reason's name. */
static custos_rc pub_skip_all(gw_publisher *p, pub_call *c, gw_pub_reason all,
                              const char *detail, custos_error *err)
{
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < c->n && rc == CUSTOS_OK; i++) {
        gw_pub_reason why = all == GW_PUB_REASONS ? c->why[i] : all;
        rc = gw_pub_skip(p, &c->rows[i], why, detail != NULL ? detail : gw_pub_reason_name(why),
                         err);
    }
    return rc;
}

/* Stores every record of the call with a final fate and no transaction. */
static custos_rc pub_end_all(gw_publisher *p, pub_call *c, gw_pub_fate fate, const char *detail,
                             bool promote, custos_error *err)
{
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < c->n && rc == CUSTOS_OK; i++)
        rc = gw_pub_put_plain(p, &c->rows[i], fate, detail, promote, err);
    return rc;
}

/* Whether the batch fits one call: [evm] batch_max_accounts and the block's gas limit, by
 * the plan of publish_batch.h. *reason says why not. *part_cap: the most accounts a
 * submitBatchPart may carry under both (0: none). */
static custos_rc pub_fits(gw_publisher *p, const gw_store_batch *b, bool *fits,
                          size_t *part_cap, char *reason, size_t cap, custos_error *err)
{
    uint64_t gas_limit = 0;
    custos_rc rc = gw_pub_node(p, evm_rpc_block_gas_limit(p->rpc, &gas_limit, err));
    if (rc != CUSTOS_OK)
        return rc;
    uint64_t by_gas = gas_limit > GW_PUB_BATCH_BASE_GAS
                          ? (gas_limit - GW_PUB_BATCH_BASE_GAS) / GW_PUB_PART_ACCOUNT_GAS
                          : 0;
    uint64_t most = p->cfg->evm.batch_max_accounts < by_gas ? p->cfg->evm.batch_max_accounts
                                                             : by_gas;
    *part_cap = (size_t)(most < CUSTOS_BATCH_MAX_ACCOUNTS ? most : CUSTOS_BATCH_MAX_ACCOUNTS);
    gw_pub_due due = {.kind = CUSTOS_KIND_VALUATION, .batched = true,
                      .batch_count = b->batch.count};
    memcpy(due.batch_digest, b->digest, CUSTOS_HASH_LEN);
    size_t order[1], n_calls = 0;
    gw_pub_call call;
    uint64_t cap_accounts = p->cfg->evm.batch_max_accounts;
    if ((rc = gw_pub_batch_plan(&due, 1, cap_accounts > UINT32_MAX ? UINT32_MAX
                                                                   : (uint32_t)cap_accounts,
                                gas_limit, order, &call, &n_calls, err)) != CUSTOS_OK)
        return rc;
    *fits = n_calls == 1 && call.kind == GW_PUB_CALL_BATCH;
    snprintf(reason, cap,
             "batch-too-large: %" PRIu32 " accounts, planned gas %" PRIu64
             " (batch_max_accounts %" PRIu64 ", block gas limit %" PRIu64 ")",
             b->batch.count,
             (uint64_t)GW_PUB_BATCH_BASE_GAS + (uint64_t)b->batch.count * GW_PUB_BATCH_ACCOUNT_GAS,
             cap_accounts, gas_limit);
    return CUSTOS_OK;
}

/* Decides each record of the call by the policy of §3; *due: one of them is published. */
static custos_rc pub_decide_all(gw_publisher *p, pub_call *c, bool *due, custos_error *err)
{
    *due = false;
    for (size_t i = 0; i < c->n; i++) {
        gw_pub_row *row = &c->rows[i];
        gw_pub_last last;
        custos_rc rc = gw_pub_last_of(p, row->account, &last, err);
        uint64_t max_age = 0;
        if (rc == CUSTOS_OK && last.has)
            rc = gw_pub_max_age(p, row->feed, &max_age, err);
        if (rc != CUSTOS_OK)
            return rc;
        custos_attestation a;
        memset(&a, 0, sizeof a);
        memcpy(a.account, row->account, CUSTOS_HASH_LEN);
        memcpy(a.beneficiary, row->beneficiary, CUSTOS_ADDRESS_LEN);
        a.kind = row->kind;
        a.collateral_value = row->value;
        a.as_of = row->as_of;
        a.valid_until = row->valid_until;
        a.sequence = row->sequence;
        c->why[i] = gw_publisher_decide(&p->policy, &last, &a, max_age,
                                        gw_pub_breaker(p, row->feed), gw_pub_now());
        *due = *due || gw_pub_reason_publishes(c->why[i]);
    }
    return CUSTOS_OK;
}

/* Stores the call's fates (the first record not refused as not-newer holds the
 * transaction) and broadcasts it. */
static custos_rc pub_store_call(gw_publisher *p, const gw_store_batch *b, pub_call *c,
                                gw_pub_tx *tx, bool promote, bool part, custos_error *err)
{
    size_t lead = c->n;
    for (size_t i = 0; i < c->n; i++)
        if ((promote || c->why[i] != GW_PUB_NOT_NEWER) &&
            (lead == c->n || c->rows[i].cursor < c->rows[lead].cursor))
            lead = i;
    if (lead == c->n)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "batch call without a record");
    gw_pub_row *rows = calloc(c->n + c->n_before, sizeof *rows);
    if (rows == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher: out of memory");
    size_t n = 0;
    rows[n] = c->rows[lead];
    rows[n].fate = GW_PUB_SENT;
    rows[n].has_tx = true;
    rows[n].tx = *tx;
    snprintf(rows[n].detail, sizeof rows[n].detail, "%s", gw_pub_reason_name(c->why[lead]));
    n++;
    uint64_t first = rows[0].cursor, last = rows[0].cursor;
    for (size_t i = 0; i < c->n; i++) {
        if (i == lead)
            continue;
        gw_pub_row *r = &rows[n++];
        *r = c->rows[i];
        if (!promote && c->why[i] == GW_PUB_NOT_NEWER) {
            /* The adapter refuses an account's sequence at or below its last one. */
            r->fate = GW_PUB_SKIPPED;
            snprintf(r->detail, sizeof r->detail, "%s", gw_pub_reason_name(GW_PUB_NOT_NEWER));
            continue;
        }
        r->fate = GW_PUB_SENT;
        r->call = rows[0].cursor;
        snprintf(r->detail, sizeof r->detail, "%s, in the batch call of cursor %" PRIu64,
                 gw_pub_reason_name(c->why[i]), rows[0].cursor);
        first = r->cursor < first ? r->cursor : first;
        last = r->cursor > last ? r->cursor : last;
    }
    /* The records skipped before go out with the call: promoted to members. */
    size_t first_promoted = promote ? 0 : n;
    for (size_t i = 0; i < c->n_before; i++) {
        gw_pub_row *r = &rows[n++];
        *r = c->before[i];
        r->fate = GW_PUB_SENT;
        r->call = rows[0].cursor;
        snprintf(r->detail, sizeof r->detail, "skipped before, in the batch call of cursor %" PRIu64,
                 rows[0].cursor);
        first = r->cursor < first ? r->cursor : first;
        last = r->cursor > last ? r->cursor : last;
    }
    for (size_t i = 0; i < n; i++)
        rows[i].part = part;
    custos_rc rc = gw_pubstate_put_call(p->state, rows, n, first_promoted, err);
    if (rc == CUSTOS_OK) {
        p->next_nonce++;
        pthread_mutex_lock(&p->lock);
        p->status.nonce = p->next_nonce;
        p->status.pending++;
        p->status.batches_sent++;
        for (size_t i = 0; i < c->n; i++) {
            if (gw_pub_reason_publishes(c->why[i])) {
                p->status.decisions[c->why[i]]++;
            } else if (!promote && c->why[i] == GW_PUB_NOT_NEWER) {
                p->status.decisions[GW_PUB_NOT_NEWER]++;
                p->status.skipped++;
            }
        }
        pthread_mutex_unlock(&p->lock);
        char hash[2 + 64 + 1];
        gw_pub_hex(tx->hash, CUSTOS_HASH_LEN, hash, sizeof hash);
        gw_log(GW_LOG_INFO, "publisher.sent",
               "%s batch %" PRIu64 " of feed %s (%zu of its %" PRIu32 " accounts, cursors %" PRIu64
               " to %" PRIu64 ", held by cursor %" PRIu64 "): nonce %" PRIu64
               ", gas limit %" PRIu64 ", tx %s",
               part ? "part of" : "whole", b->batch.sequence, b->feed, part ? n : b->n_members,
               b->batch.count, first, last, rows[0].cursor, tx->nonce, tx->gas_limit, hash);
        custos_error berr;
        custos_error_clear(&berr);
        if (gw_pub_broadcast(p, &rows[0], &berr) != CUSTOS_OK)
            gw_log(GW_LOG_WARN, "publisher.broadcast", "tx %s stored, not yet broadcast: %s",
                   hash, berr.message);
    }
    free(rows);
    return rc;
}

/* A record of a send in parts (its row in the call), its member in the stored batch
 * (SIZE_MAX: none) and that account's place in the tree's leaf order. */
typedef struct pub_by_rank {
    size_t rank;
    size_t row;
    size_t member;
} pub_by_rank;

static int pub_by_rank_cmp(const void *a, const void *b)
{
    const pub_by_rank *x = a, *y = b;
    if (x->rank != y->rank)
        return (x->rank > y->rank) - (x->rank < y->rank);
    return (x->row > y->row) - (x->row < y->row);
}

/* Sends the call's records that publish (a refused-as-not-newer one is skipped) in
 * submitBatchPart calls of at most part_cap accounts, neighbours in the tree together (a
 * shorter multiproof), each call stored before its broadcast. The batch's leaves and tree
 * are built once for all its parts, and each record finds its member through an index by
 * cursor. */
static custos_rc pub_send_parts(gw_publisher *p, const gw_store_batch *b, pub_call *c,
                                size_t part_cap, bool promote, custos_error *err)
{
    pub_by_rank *go = malloc((c->n + 1) * sizeof *go);
    size_t *members = malloc((c->n + 1) * sizeof *members);
    gw_pub_row *rows = malloc((c->n + 1) * sizeof *rows);
    gw_pub_reason *why = malloc((c->n + 1) * sizeof *why);
    custos_attestation *atts = NULL;
    pub_by_cursor *ix = NULL;
    gw_pub_prepared *pp = NULL;
    gw_pub_batch pb;
    custos_rc rc = CUSTOS_OK;
    size_t n_go = 0, n_ix = 0;
    char unencodable[200] = "";
    if (go == NULL || members == NULL || rows == NULL || why == NULL) {
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher: out of memory");
        goto done;
    }
    if ((rc = pub_batch_view(b, &pb, &atts, err)) != CUSTOS_OK ||
        (rc = pub_cursor_index(b, &ix, &n_ix, err)) != CUSTOS_OK)
        goto done;
    if (gw_pub_prepared_new(&pb, &pp, err) != CUSTOS_OK) {
        /* The gateway accepted what it cannot encode: no retry can fix that. Every part
         * fails with the reason. */
        snprintf(unencodable, sizeof unencodable, "cannot encode: %.180s", err->message);
        custos_error_clear(err);
    }
    for (size_t i = 0; i < c->n && rc == CUSTOS_OK; i++) {
        if (!promote && c->why[i] == GW_PUB_NOT_NEWER) {
            /* The adapter refuses an account's sequence at or below its last one. */
            rc = gw_pub_skip(p, &c->rows[i], GW_PUB_NOT_NEWER,
                             gw_pub_reason_name(GW_PUB_NOT_NEWER), err);
            continue;
        }
        size_t m = pub_member_of(ix, n_ix, c->rows[i].cursor);
        size_t rank = pp != NULL && m != SIZE_MAX ? gw_pub_prepared_rank(pp, m) : SIZE_MAX;
        go[n_go++] = (pub_by_rank){.rank = rank, .row = i, .member = m};
    }
    qsort(go, n_go, sizeof *go, pub_by_rank_cmp);
    for (size_t first = 0; first < n_go && rc == CUSTOS_OK; first += part_cap) {
        size_t n = n_go - first < part_cap ? n_go - first : part_cap;
        for (size_t k = 0; k < n; k++) {
            rows[k] = c->rows[go[first + k].row];
            why[k] = c->why[go[first + k].row];
            members[k] = go[first + k].member;
        }
        uint8_t *data = NULL;
        size_t data_len = 0;
        char reason[200] = "";
        bool encoded = false;
        if (pp == NULL) {
            snprintf(reason, sizeof reason, "%s", unencodable);
        } else if (pub_part_data(b, pp, members, n, &data, &data_len, err) !=
                   CUSTOS_OK) {
            /* The gateway accepted what it cannot encode: no retry can fix that. */
            snprintf(reason, sizeof reason, "cannot encode: %.180s", err->message);
            custos_error_clear(err);
        } else {
            encoded = true;
        }
        if (!encoded) {
            pub_call chunk = {.rows = rows, .why = why, .n = n};
            rc = pub_end_all(p, &chunk, GW_PUB_FAILED, reason, promote, err);
            continue;
        }
        gw_pub_tx tx;
        memset(&tx, 0, sizeof tx);
        gw_pub_built what = GW_PUB_REFUSED;
        rc = gw_pub_build_call(p, data, data_len, p->next_nonce, NULL, b->batch.sequence, &tx,
                               &what, reason, err);
        free(data);
        pub_call chunk = {.rows = rows, .why = why, .n = n};
        if (rc == CUSTOS_OK && what == GW_PUB_REFUSED)
            rc = pub_end_all(p, &chunk, GW_PUB_FAILED, reason, promote, err);
        else if (rc == CUSTOS_OK)
            rc = pub_store_call(p, b, &chunk, &tx, promote, true, err);
        free(tx.raw);
    }
done:
    gw_pub_prepared_free(pp);
    free(ix);
    free(atts);
    free(go);
    free(members);
    free(rows);
    free(why);
    return rc;
}

custos_rc gw_pub_batch_send(gw_publisher *p, const custos_record *rec, gw_pub_reason why,
                            bool promote, custos_error *err)
{
    gw_store_batch b;
    custos_rc rc = pub_load_batch(p, rec->batch.digest, &b, err);
    if (rc != CUSTOS_OK)
        return rc;
    pub_call c;
    bool due = false, fits = false;
    size_t part_cap = 0;
    char reason[200] = "";
    if ((rc = pub_collect(p, &b, promote, &c, err)) != CUSTOS_OK || c.n == 0)
        goto done;
    if (promote) {
        for (size_t i = 0; i < c.n; i++)
            c.why[i] = why;
        due = true;
    } else if ((rc = pub_decide_all(p, &c, &due, err)) != CUSTOS_OK) {
        goto done;
    }
    if (!due) {
        rc = pub_skip_all(p, &c, GW_PUB_REASONS, NULL, err);
        goto done;
    }
    if ((rc = pub_fits(p, &b, &fits, &part_cap, reason, sizeof reason, err)) != CUSTOS_OK)
        goto done;
    if ((c.out || !fits) && part_cap > 0) {
        /* The adapter took this batch's sequence already (these records came after it),
         * or the batch is more than one call carries: its records go in parts. */
        if (!fits)
            gw_log(GW_LOG_INFO, "publisher.batch", "batch %" PRIu64 " of feed %s goes in parts "
                   "of at most %zu accounts: %s", b.batch.sequence, b.feed, part_cap, reason);
        rc = pub_send_parts(p, &b, &c, part_cap, promote, err);
        goto done;
    }
    if (c.out || !fits) {
        if (!c.out) {
            gw_log(GW_LOG_ERROR, "publisher.batch", "batch %" PRIu64 " of feed %s not sent: %s",
                   b.batch.sequence, b.feed, reason);
            pthread_mutex_lock(&p->lock);
            p->status.batches_too_large++;
            pthread_mutex_unlock(&p->lock);
        } else {
            snprintf(reason, sizeof reason, "%s", "its batch was sent before it, and "
                     "batch_max_accounts 0 sends no part: never sent");
        }
        /* Skipped records stay candidates of the expiry scan, which would meet the same
         * batch again: those end failed instead. */
        rc = promote || c.out ? pub_end_all(p, &c, GW_PUB_FAILED, reason, promote, err)
                              : pub_skip_all(p, &c, GW_PUB_BATCH_TOO_LARGE, reason, err);
        goto done;
    }
    uint8_t *data = NULL;
    size_t data_len = 0;
    if ((rc = pub_batch_calldata(&b, &data, &data_len, err)) != CUSTOS_OK) {
        /* The gateway accepted what it cannot encode: no retry can fix that. */
        snprintf(reason, sizeof reason, "cannot encode: %.180s", err->message);
        custos_error_clear(err);
        rc = pub_end_all(p, &c, GW_PUB_FAILED, reason, promote, err);
        goto done;
    }
    gw_pub_tx tx;
    memset(&tx, 0, sizeof tx);
    gw_pub_built what = GW_PUB_REFUSED;
    rc = gw_pub_build_call(p, data, data_len, p->next_nonce, PUB_BATCH_REPLAY, b.batch.sequence,
                           &tx, &what, reason, err);
    free(data);
    if (rc != CUSTOS_OK)
        goto done;
    if (what == GW_PUB_REFUSED)
        rc = pub_end_all(p, &c, GW_PUB_FAILED, reason, promote, err);
    else if (what == GW_PUB_ON_CHAIN)
        rc = pub_end_all(p, &c, GW_PUB_CONFIRMED, "already on-chain (its batch)", promote, err);
    else
        rc = pub_store_call(p, &b, &c, &tx, promote, false, err);
    free(tx.raw);
done:
    pub_call_free(&c);
    gw_store_batch_clear(&b);
    return rc;
}
