/* The collateral manager's state file (manage_state.h): a small JSON object,
 *   {"state": "margin_call", "deadline": "1767715200", "sequence": "3",
 *    "pending": null | {"state": 2, "ltvBps": 8000, "exposure": "...", "collateralValue":
 *                       "...", "deadline": "...", "sequence": "...", "account": "0x..",
 *                       "lender": "0x..", "signature": "0x.."}}
 * with uint64 and uint256 values as decimal strings, and while a liquidation is under way
 *    "liquidation": {"step": "repay_sent", "nonce": "7", "repayHash": "0x..",
 *                    "repayBlock": "0", "approveTx": "0x..", "repayTx": "0x..",
 *                    "releaseSequence": "0", "releaseAsOf": "0", "releaseValidUntil": "0",
 *                    "releaseSignature": "0x..", "reverts": "0", "lastRevertHash": "0x..",
 *                    "lastRevertBlock": "0", "repaidAssets": "0", "bookRecorded": false}
 * (the last five may be absent: a file written before they were kept has no revert, no
 * repaid assets and no sale in the book),
 * and with --notices-contract "published": "2" (the newest sequence known on-chain) and,
 * while a notice is not yet known on-chain,
 *    "publication": {"notice": {as pending}, "nonce": "4", "txHash": "0x..", "tx": "0x.."}
 * ("tx" empty until its transaction is signed). Files without them are read as none. */
#include "manage_state.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/hex.h"
#include "custos/sig.h"
#include "fileio.h"

#define MS_MAX_BYTES (64u * 1024u)

static custos_rc ms_u64(const char *path, json_t *o, const char *key, uint64_t *out,
                        custos_error *err)
{
    const char *s = json_string_value(json_object_get(o, key));
    custos_u256 v;
    custos_error perr;
    if (s == NULL || custos_u256_from_dec(&v, s, strlen(s), &perr) != CUSTOS_OK ||
        v.limb[1] != 0 || v.limb[2] != 0 || v.limb[3] != 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s: %s is not a decimal uint64 string", path, key);
    *out = v.limb[0];
    return CUSTOS_OK;
}

static custos_rc ms_u256(const char *path, json_t *o, const char *key, custos_u256 *out,
                         custos_error *err)
{
    const char *s = json_string_value(json_object_get(o, key));
    custos_error perr;
    if (s == NULL || custos_u256_from_dec(out, s, strlen(s), &perr) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: %s is not a decimal string",
                                path, key);
    return CUSTOS_OK;
}

static custos_rc ms_hex(const char *path, json_t *o, const char *key, uint8_t *out,
                        size_t len, custos_error *err)
{
    const char *s = json_string_value(json_object_get(o, key));
    custos_error herr;
    if (s == NULL || custos_hex_decode(s, out, len, &herr) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: %s is not %zu bytes of hex",
                                path, key, len);
    return CUSTOS_OK;
}

static custos_rc ms_notice(const char *path, json_t *p, custos_notice *n,
                           custos_signature *sig, custos_error *err)
{
    json_t *state = json_object_get(p, "state"), *ltv = json_object_get(p, "ltvBps");
    if (!json_is_integer(state) || json_integer_value(state) < 0 ||
        json_integer_value(state) > CUSTOS_LOAN_STATE_MAX || !json_is_integer(ltv) ||
        json_integer_value(ltv) < 0 || json_integer_value(ltv) > (json_int_t)UINT32_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: pending state or ltvBps", path);
    n->state = (uint8_t)json_integer_value(state);
    n->ltv_bps = (uint32_t)json_integer_value(ltv);
    custos_rc rc = ms_u256(path, p, "exposure", &n->exposure, err);
    if (rc == CUSTOS_OK)
        rc = ms_u256(path, p, "collateralValue", &n->collateral_value, err);
    if (rc == CUSTOS_OK)
        rc = ms_u64(path, p, "deadline", &n->deadline, err);
    if (rc == CUSTOS_OK)
        rc = ms_u64(path, p, "sequence", &n->sequence, err);
    if (rc == CUSTOS_OK)
        rc = ms_hex(path, p, "account", n->account, CUSTOS_HASH_LEN, err);
    if (rc == CUSTOS_OK)
        rc = ms_hex(path, p, "lender", n->lender, CUSTOS_ADDRESS_LEN, err);
    if (rc == CUSTOS_OK)
        rc = ms_hex(path, p, "signature", sig->bytes, CUSTOS_SIGNATURE_LEN, err);
    if (rc == CUSTOS_OK)
        rc = custos_notice_check(n, err);
    return rc;
}

static const char *const liq_names[] = {"none", "decided", "repay_sent", "repay_mined",
                                        "release_signed", "release_accepted"};

const char *at_liq_step_name(at_liq_step step)
{
    return (unsigned)step <= AT_LIQ_STEP_MAX ? liq_names[step] : "unknown";
}

/* A signed transaction of variable length, at most AT_LIQ_RAW_MAX bytes. */
static custos_rc ms_raw(const char *path, json_t *o, const char *key, uint8_t *out,
                        size_t *len, custos_error *err)
{
    const char *s = json_string_value(json_object_get(o, key));
    size_t n = s != NULL && strncmp(s, "0x", 2) == 0 ? (strlen(s) - 2) / 2 : 0;
    *len = n;
    if (n > AT_LIQ_RAW_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: %s is longer than %u bytes",
                                path, key, AT_LIQ_RAW_MAX);
    return n == 0 ? CUSTOS_OK : ms_hex(path, o, key, out, n, err);
}

static custos_rc ms_liq(const char *path, json_t *l, at_liq_log *out, custos_error *err)
{
    const char *name = json_string_value(json_object_get(l, "step"));
    custos_rc rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: unknown liquidation step",
                                    path);
    for (unsigned s = AT_LIQ_DECIDED; name != NULL && s <= AT_LIQ_STEP_MAX; s++)
        if (strcmp(name, liq_names[s]) == 0) {
            out->step = (at_liq_step)s;
            rc = CUSTOS_OK;
        }
    if (rc == CUSTOS_OK)
        rc = ms_u64(path, l, "nonce", &out->nonce, err);
    if (rc == CUSTOS_OK)
        rc = ms_u64(path, l, "repayBlock", &out->repay_block, err);
    if (rc == CUSTOS_OK)
        rc = ms_hex(path, l, "repayHash", out->repay_hash, CUSTOS_HASH_LEN, err);
    if (rc == CUSTOS_OK)
        rc = ms_raw(path, l, "approveTx", out->approve_raw, &out->approve_len, err);
    if (rc == CUSTOS_OK)
        rc = ms_raw(path, l, "repayTx", out->repay_raw, &out->repay_len, err);
    if (rc == CUSTOS_OK)
        rc = ms_u64(path, l, "releaseSequence", &out->release_sequence, err);
    if (rc == CUSTOS_OK)
        rc = ms_u64(path, l, "releaseAsOf", &out->release_as_of, err);
    if (rc == CUSTOS_OK)
        rc = ms_u64(path, l, "releaseValidUntil", &out->release_valid_until, err);
    if (rc == CUSTOS_OK)
        rc = ms_hex(path, l, "releaseSignature", out->release_sig.bytes, CUSTOS_SIGNATURE_LEN,
                    err);
    if (rc == CUSTOS_OK && json_object_get(l, "reverts") != NULL) {
        rc = ms_u64(path, l, "reverts", &out->reverts, err);
        if (rc == CUSTOS_OK)
            rc = ms_hex(path, l, "lastRevertHash", out->revert_hash, CUSTOS_HASH_LEN, err);
        if (rc == CUSTOS_OK)
            rc = ms_u64(path, l, "lastRevertBlock", &out->revert_block, err);
    }
    if (rc == CUSTOS_OK && json_object_get(l, "repaidAssets") != NULL)
        rc = ms_u256(path, l, "repaidAssets", &out->repaid_assets, err);
    json_t *book = json_object_get(l, "bookRecorded");
    if (rc == CUSTOS_OK && book != NULL && !json_is_boolean(book))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: bookRecorded is not a boolean",
                              path);
    out->book_recorded = json_is_true(book);
    if (rc == CUSTOS_OK && out->step == AT_LIQ_REPAY_SENT &&
        (out->approve_len == 0 || out->repay_len == 0))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "%s: a repay sent without its signed transactions", path);
    return rc;
}

static custos_rc ms_pub(const char *path, json_t *o, at_pub_log *out, custos_error *err)
{
    json_t *n = json_object_get(o, "notice");
    custos_rc rc = json_is_object(n) ? ms_notice(path, n, &out->notice, &out->sig, err)
                                     : custos_error_set(err, CUSTOS_ERR_INVALID,
                                                        "%s: publication without its notice",
                                                        path);
    if (rc == CUSTOS_OK)
        rc = ms_u64(path, o, "nonce", &out->nonce, err);
    if (rc == CUSTOS_OK)
        rc = ms_hex(path, o, "txHash", out->tx_hash, CUSTOS_HASH_LEN, err);
    if (rc == CUSTOS_OK)
        rc = ms_raw(path, o, "tx", out->tx_raw, &out->tx_len, err);
    out->has_notice = rc == CUSTOS_OK;
    return rc;
}

custos_rc at_manage_state_load(const char *path, at_manage_state *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    out->status.state = CUSTOS_LOAN_HEALTHY;
    char *text = NULL;
    size_t len = 0;
    custos_rc rc = at_file_read(path, MS_MAX_BYTES, &text, &len, err);
    if (rc == CUSTOS_ERR_NOT_FOUND)
        return CUSTOS_OK;
    if (rc != CUSTOS_OK)
        return rc;
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: not a JSON object", path);
    }
    const char *name = json_string_value(json_object_get(doc, "state"));
    rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: unknown state", path);
    for (unsigned s = 0; name != NULL && s <= CUSTOS_LOAN_STATE_MAX; s++)
        if (strcmp(name, custos_loan_state_name((custos_loan_state)s)) == 0) {
            out->status.state = (custos_loan_state)s;
            rc = CUSTOS_OK;
        }
    if (rc == CUSTOS_OK)
        rc = ms_u64(path, doc, "deadline", &out->status.deadline, err);
    if (rc == CUSTOS_OK)
        rc = ms_u64(path, doc, "sequence", &out->sequence, err);
    json_t *p = json_object_get(doc, "pending");
    if (rc == CUSTOS_OK && json_is_object(p))
        rc = ms_notice(path, p, &out->pending, &out->pending_sig, err);
    else if (rc == CUSTOS_OK && p != NULL && !json_is_null(p))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: pending is not an object", path);
    out->has_pending = rc == CUSTOS_OK && json_is_object(p);
    json_t *l = json_object_get(doc, "liquidation");
    if (rc == CUSTOS_OK && json_is_object(l))
        rc = ms_liq(path, l, &out->liq, err);
    else if (rc == CUSTOS_OK && l != NULL && !json_is_null(l))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: liquidation is not an object",
                              path);
    json_t *published = json_object_get(doc, "published");
    if (rc == CUSTOS_OK && published != NULL)
        rc = ms_u64(path, doc, "published", &out->pub.published, err);
    json_t *pub = json_object_get(doc, "publication");
    if (rc == CUSTOS_OK && json_is_object(pub))
        rc = ms_pub(path, pub, &out->pub, err);
    else if (rc == CUSTOS_OK && pub != NULL && !json_is_null(pub))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: publication is not an object",
                              path);
    json_decref(doc);
    return rc;
}

static json_t *ms_dec64(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return json_string(buf);
}

static json_t *ms_dec(const custos_u256 *v)
{
    char buf[CUSTOS_U256_DEC_MAX];
    return custos_u256_to_dec(v, buf, sizeof buf) == CUSTOS_OK ? json_string(buf) : NULL;
}

static json_t *ms_hexj(const uint8_t *b, size_t len)
{
    char buf[CUSTOS_HEX_LEN(AT_LIQ_RAW_MAX)];
    return custos_hex_encode(b, len, buf, sizeof buf) == CUSTOS_OK ? json_string(buf) : NULL;
}

static json_t *ms_notice_json(const custos_notice *n, const custos_signature *sig)
{
    return json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "state",
                            (json_int_t)n->state, "ltvBps", (json_int_t)n->ltv_bps, "exposure",
                            ms_dec(&n->exposure), "collateralValue",
                            ms_dec(&n->collateral_value), "deadline", ms_dec64(n->deadline),
                            "sequence", ms_dec64(n->sequence), "account",
                            ms_hexj(n->account, CUSTOS_HASH_LEN), "lender",
                            ms_hexj(n->lender, CUSTOS_ADDRESS_LEN), "signature",
                            ms_hexj(sig->bytes, CUSTOS_SIGNATURE_LEN));
}

custos_rc at_manage_state_save(const char *path, const at_manage_state *s, custos_error *err)
{
    json_t *pending = s->has_pending ? ms_notice_json(&s->pending, &s->pending_sig) : json_null();
    json_t *pub = json_null();
    if (s->pub.has_notice) {
        json_decref(pub);
        pub = json_pack("{s:o, s:o, s:o, s:o}", "notice",
                        ms_notice_json(&s->pub.notice, &s->pub.sig), "nonce",
                        ms_dec64(s->pub.nonce), "txHash",
                        ms_hexj(s->pub.tx_hash, CUSTOS_HASH_LEN), "tx",
                        ms_hexj(s->pub.tx_raw, s->pub.tx_len));
    }
    json_t *liq = json_null();
    if (s->liq.step != AT_LIQ_NONE) {
        const at_liq_log *l = &s->liq;
        json_decref(liq);
        liq = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
                        "s:o, s:b}",
                        "step",
                        at_liq_step_name(l->step), "nonce", ms_dec64(l->nonce), "repayHash",
                        ms_hexj(l->repay_hash, CUSTOS_HASH_LEN), "repayBlock",
                        ms_dec64(l->repay_block), "approveTx",
                        ms_hexj(l->approve_raw, l->approve_len), "repayTx",
                        ms_hexj(l->repay_raw, l->repay_len), "releaseSequence",
                        ms_dec64(l->release_sequence), "releaseAsOf",
                        ms_dec64(l->release_as_of), "releaseValidUntil",
                        ms_dec64(l->release_valid_until), "releaseSignature",
                        ms_hexj(l->release_sig.bytes, CUSTOS_SIGNATURE_LEN), "reverts",
                        ms_dec64(l->reverts), "lastRevertHash",
                        ms_hexj(l->revert_hash, CUSTOS_HASH_LEN), "lastRevertBlock",
                        ms_dec64(l->revert_block), "repaidAssets", ms_dec(&l->repaid_assets),
                        "bookRecorded", l->book_recorded);
    }
    json_t *doc = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "state",
                            custos_loan_state_name(s->status.state), "deadline",
                            ms_dec64(s->status.deadline), "sequence", ms_dec64(s->sequence),
                            "pending", pending, "liquidation", liq, "published",
                            ms_dec64(s->pub.published), "publication", pub);
    char *text = doc != NULL ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    json_decref(doc);
    if (text == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", path);
    custos_rc rc = at_file_write_atomic(path, text, strlen(text), 0600, err);
    free(text);
    /* The crash tests' hook (docs/lending.md §10): killed right after the step is on disk
     * and before it is acted on, the worst moment for a restart. */
    const char *kill_at = getenv(AT_LIQ_KILL_ENV);
    if (rc == CUSTOS_OK && kill_at != NULL && s->liq.step != AT_LIQ_NONE &&
        strcmp(kill_at, at_liq_step_name(s->liq.step)) == 0)
        raise(SIGKILL);
    return rc;
}
