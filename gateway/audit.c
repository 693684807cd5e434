/* The audit log's writer (audit.h). */
#include "audit.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/sig.h"

#include "textbuf.h"

custos_rc gw_audit_append(gw_store *s, const char *actor, const char *action,
                          const uint8_t *payload, size_t len, uint64_t now, uint64_t *seq,
                          custos_error *err)
{
    custos_audit_entry e;
    memset(&e, 0, sizeof e);
    custos_rc rc = gw_store_audit_head(s, &e.seq, e.prev_hash, err);
    if (rc != CUSTOS_OK)
        return rc;
    e.seq++;
    e.time = now;
    snprintf(e.actor, sizeof e.actor, "%s", actor);
    snprintf(e.action, sizeof e.action, "%s", action);
    e.payload = (uint8_t *)payload; /* borrowed: e is never cleared */
    e.payload_len = len;
    custos_audit_hash(e.prev_hash, &e, e.hash);
    rc = gw_store_append_audit(s, &e, err);
    if (rc == CUSTOS_OK && seq != NULL)
        *seq = e.seq;
    return rc;
}

custos_rc gw_audit_policy_text(const gw_config *cfg, char **out, size_t *len,
                               custos_error *err)
{
    *out = NULL;
    *len = 0;
    gw_textbuf b;
    if (!gw_textbuf_init(&b, 256, SIZE_MAX))
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "audit: out of memory");
    for (size_t i = 0; i < cfg->n_feeds; i++) {
        const gw_feed *f = &cfg->feeds[i];
        gw_textbuf_add(&b,
                 "feed %s max_age=%" PRIu64 " max_skew=%" PRIu64 " max_ttl=%" PRIu64
                 " threshold=%" PRIu32 " distinct_roles=%s breaker_rise_bps=%" PRIu32
                 " breaker_release_threshold=%" PRIu32 " max_sequence_step=%" PRIu32 "\n",
                 f->name, f->max_age, f->max_skew, f->max_ttl, f->threshold,
                 f->distinct_roles ? "true" : "false", f->breaker_rise_bps,
                 f->breaker_release_threshold, gw_feed_max_sequence_step(f));
    }
    for (size_t i = 0; i < cfg->n_signers; i++) {
        const gw_signer *s = &cfg->signers[i];
        char addr[CUSTOS_ADDRESS_HEX_LEN];
        custos_address_to_hex(s->address, addr);
        char successor[CUSTOS_ADDRESS_HEX_LEN] = "none";
        if (s->rotated)
            custos_address_to_hex(s->replaced_by, successor);
        gw_textbuf_add(&b,
                 "signer %s feed=%s role=%s status=%s not_after=%" PRIu64 " replaced_by=%s\n",
                 addr, s->feed, gw_role_name(s->role), s->active ? "active" : "revoked",
                 s->not_after, successor);
    }
    for (size_t i = 0; i < cfg->n_accounts; i++) {
        char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
        if (custos_hex_encode(cfg->accounts[i].account, CUSTOS_HASH_LEN, hex, sizeof hex) !=
            CUSTOS_OK)
            b.failed = true;
        else
            gw_textbuf_add(&b, "account %s feed=%s\n", hex, cfg->accounts[i].feed);
    }
    if (b.failed) {
        free(b.data);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "audit: out of memory");
    }
    *out = b.data;
    *len = b.len;
    return CUSTOS_OK;
}
