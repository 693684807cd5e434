/* A collateral notice as custos prints it (notice_json.h). */
#include "notice_json.h"

#include <stdlib.h>
#include <string.h>

#include "custos/ltv.h"
#include "custos/notice.h"
#include "jsonout.h"

/* Whether the notice's digest and signature are what the gateway says. */
static bool notice_verified(custos_secp *ctx, const custos_domain *d,
                            const custos_stored_notice *s)
{
    uint8_t digest[CUSTOS_HASH_LEN], signer[CUSTOS_ADDRESS_LEN];
    custos_error err;
    custos_notice_digest(d, &s->notice, digest);
    return memcmp(digest, s->digest, sizeof digest) == 0 &&
           custos_recover_address(ctx, digest, &s->sig, signer, &err) == CUSTOS_OK &&
           memcmp(signer, s->signer, sizeof signer) == 0;
}

json_t *cli_notice_json(custos_secp *ctx, const custos_domain *d, const custos_stored_notice *s,
                        bool *verified)
{
    const custos_notice *n = &s->notice;
    *verified = notice_verified(ctx, d, s);
    char *td = NULL;
    custos_error err;
    json_t *typed = NULL;
    if (custos_notice_typeddata_export(d, n, &s->sig, &td, &err) == CUSTOS_OK) {
        typed = json_loads(td, 0, NULL);
        free(td);
    }
    json_t *o = json_object();
    bool ok = o != NULL && typed != NULL && jo_put(o, "feed", json_string(s->feed)) &&
              jo_put(o, "account", jo_hex(n->account, CUSTOS_HASH_LEN)) &&
              jo_put(o, "lender", jo_address(n->lender)) &&
              jo_put(o, "state", json_string(custos_loan_state_name(
                                     (custos_loan_state)n->state))) &&
              jo_put(o, "ltvBps", jo_u64(n->ltv_bps)) &&
              jo_put(o, "exposure", jo_usd(&n->exposure)) &&
              jo_put(o, "collateralValue", jo_usd(&n->collateral_value)) &&
              jo_put(o, "deadline", n->deadline != 0 ? jo_iso_time(n->deadline) : json_null()) &&
              jo_put(o, "sequence", jo_u64(n->sequence)) &&
              jo_put(o, "signer", jo_address(s->signer)) &&
              jo_put(o, "acceptedAt", jo_iso_time(s->accepted_at)) &&
              jo_put(o, "verified", json_boolean(*verified)) &&
              (s->cursor == 0 ||
               (jo_put(o, "cursor", jo_u64(s->cursor)) &&
                jo_put(o, "chainHash", jo_hex(s->chain_hash, CUSTOS_HASH_LEN))));
    if (ok) {
        ok = json_object_set_new(o, "signed", typed) == 0;
        typed = NULL;
    }
    json_decref(typed);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}
