#include "jsonout.h"

#include <stdio.h>
#include <time.h>

#include "cli.h"
#include "custos/hex.h"
#include "custos/chain.h"
#include "custos/sig.h"

json_t *jo_u64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return json_string(buf);
}

json_t *jo_hex(const uint8_t *data, size_t len)
{
    char buf[2 + 2 * CUSTOS_SIGNATURE_LEN + 1];
    if (len > CUSTOS_SIGNATURE_LEN || custos_hex_encode(data, len, buf, sizeof buf) != CUSTOS_OK)
        return NULL;
    return json_string(buf);
}

json_t *jo_address(const uint8_t addr[CUSTOS_ADDRESS_LEN])
{
    char buf[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(addr, buf);
    return json_string(buf);
}

json_t *jo_iso_time(uint64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    char buf[32];
    if ((uint64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return json_null();
    return json_string(buf);
}

json_t *jo_raw(const custos_u256 *v)
{
    char buf[CUSTOS_U256_DEC_MAX];
    if (custos_u256_to_dec(v, buf, sizeof buf) != CUSTOS_OK)
        return NULL;
    return json_string(buf);
}

json_t *jo_usd(const custos_u256 *v)
{
    char buf[CUSTOS_U256_DEC_MAX];
    if (custos_fixed_format(v, CUSTOS_MONEY_DECIMALS, buf, sizeof buf) != CUSTOS_OK)
        return NULL;
    return json_string(buf);
}

static const char *kind_name(uint8_t kind)
{
    switch (kind) {
    case CUSTOS_KIND_VALUATION: return "valuation";
    case CUSTOS_KIND_RELEASE: return "release";
    case CUSTOS_KIND_FREEZE: return "freeze";
    }
    return "unknown";
}

static const char *state_name(custos_state s)
{
    switch (s) {
    case CUSTOS_STATE_PENDING: return "PENDING";
    case CUSTOS_STATE_ACCEPTED: return "ACCEPTED";
    case CUSTOS_STATE_HELD: return "HELD";
    case CUSTOS_STATE_UNSPECIFIED: break;
    }
    return "UNSPECIFIED";
}

bool jo_put(json_t *o, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(o, key, v) == 0;
}

bool jo_put_submission(json_t *o, const custos_submission *s)
{
    const custos_attestation *a = &s->att;
    return jo_put(o, "feed", json_string(s->feed)) &&
           jo_put(o, "chainId", jo_u64(s->domain.chain_id)) &&
           jo_put(o, "verifyingContract", jo_address(s->domain.verifying_contract)) &&
           jo_put(o, "account", jo_hex(a->account, CUSTOS_HASH_LEN)) &&
           jo_put(o, "beneficiary", jo_address(a->beneficiary)) &&
           jo_put(o, "kind", json_string(kind_name(a->kind))) &&
           jo_put(o, "grossValue", jo_raw(&a->gross_value)) &&
           jo_put(o, "grossValueUsd", jo_usd(&a->gross_value)) &&
           jo_put(o, "collateralValue", jo_raw(&a->collateral_value)) &&
           jo_put(o, "collateralValueUsd", jo_usd(&a->collateral_value)) &&
           jo_put(o, "asOf", jo_u64(a->as_of)) && jo_put(o, "asOfIso", jo_iso_time(a->as_of)) &&
           jo_put(o, "validUntil", jo_u64(a->valid_until)) &&
           jo_put(o, "validUntilIso", jo_iso_time(a->valid_until)) &&
           jo_put(o, "sequence", jo_u64(a->sequence)) &&
           jo_put(o, "positionsRoot", jo_hex(a->positions_root, CUSTOS_HASH_LEN)) &&
           jo_put(o, "positions", jo_u64(s->n_positions));
}

/* A batch-signed record's batch (docs/attestation.md §16): the batch's fields, digest and
 * signatures, and the account's leaf proof, what verifies the account alone. */
static json_t *jo_record_batch(const custos_record_batch *rb)
{
    json_t *o = json_object();
    json_t *proof = json_array();
    json_t *sigs = json_array();
    bool ok = o != NULL && proof != NULL && sigs != NULL;
    for (size_t i = 0; ok && i < rb->n_proof; i++)
        ok = json_array_append_new(proof, jo_hex(rb->proof[i], CUSTOS_HASH_LEN)) == 0;
    for (size_t i = 0; ok && i < rb->n_sigs; i++)
        ok = json_array_append_new(sigs, jo_hex(rb->sigs[i].bytes, CUSTOS_SIGNATURE_LEN)) == 0;
    const custos_batch *b = &rb->batch;
    ok = ok && jo_put(o, "digest", jo_hex(rb->digest, CUSTOS_HASH_LEN)) &&
         jo_put(o, "feedId", jo_hex(b->feed_id, CUSTOS_HASH_LEN)) &&
         jo_put(o, "accountsRoot", jo_hex(b->accounts_root, CUSTOS_HASH_LEN)) &&
         jo_put(o, "count", jo_u64(b->count)) && jo_put(o, "asOf", jo_u64(b->as_of)) &&
         jo_put(o, "validUntil", jo_u64(b->valid_until)) &&
         jo_put(o, "sequence", jo_u64(b->sequence)) &&
         jo_put(o, "proof", json_incref(proof)) && jo_put(o, "signatures", json_incref(sigs));
    json_decref(proof);
    json_decref(sigs);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *jo_record(const custos_record *r)
{
    json_t *o = json_object();
    json_t *signers = json_array();
    bool ok = o != NULL && signers != NULL;
    for (size_t i = 0; ok && i < r->n_signers; i++)
        ok = json_array_append_new(signers, jo_address(r->signers[i])) == 0;
    ok = ok && jo_put(o, "cursor", jo_u64(r->cursor)) &&
         jo_put(o, "state", json_string(state_name(r->state))) &&
         jo_put(o, "digest", jo_hex(r->digest, 32)) &&
         jo_put(o, "acceptedAt", jo_u64(r->accepted_at)) &&
         jo_put(o, "chainHash", jo_hex(r->chain_hash, CUSTOS_CHAIN_HASH_LEN)) &&
         jo_put_submission(o, &r->sub) && jo_put(o, "signers", json_incref(signers)) &&
         /* Not a count of 0: the gateway kept them from this caller. */
         (!r->positions_withheld || jo_put(o, "positions", json_string("withheld"))) &&
         (!r->batched || jo_put(o, "batch", jo_record_batch(&r->batch)));
    json_decref(signers);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

bool jo_emit(json_t *v, size_t flags)
{
    if (v == NULL) {
        cli_fail("out of memory");
        return false;
    }
    int rc = json_dumpf(v, stdout, flags);
    json_decref(v);
    if (rc != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        cli_fail("cannot write to standard output");
        return false;
    }
    return true;
}
