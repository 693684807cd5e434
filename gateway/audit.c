/* The audit log's writer (audit.h). */
#include "audit.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/attestation.h"
#include "custos/sig.h"

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

typedef struct text_buf {
    char *data;
    size_t len, cap;
    bool failed;
} text_buf;

static void text_add(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(text_buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->failed = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
}

custos_rc gw_audit_policy_text(const gw_config *cfg, char **out, size_t *len,
                               custos_error *err)
{
    *out = NULL;
    *len = 0;
    text_buf b = {.data = malloc(256), .cap = 256};
    if (b.data == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "audit: out of memory");
    b.data[0] = '\0';
    for (size_t i = 0; i < cfg->n_feeds; i++) {
        const gw_feed *f = &cfg->feeds[i];
        text_add(&b,
                 "feed %s max_age=%" PRIu64 " max_skew=%" PRIu64 " max_ttl=%" PRIu64
                 " threshold=%" PRIu32 " distinct_roles=%s\n",
                 f->name, f->max_age, f->max_skew, f->max_ttl, f->threshold,
                 f->distinct_roles ? "true" : "false");
    }
    for (size_t i = 0; i < cfg->n_signers; i++) {
        const gw_signer *s = &cfg->signers[i];
        char addr[CUSTOS_ADDRESS_HEX_LEN];
        custos_address_to_hex(s->address, addr);
        text_add(&b, "signer %s feed=%s role=%s status=%s not_after=%" PRIu64 "\n", addr,
                 s->feed, gw_role_name(s->role), s->active ? "active" : "revoked",
                 s->not_after);
    }
    if (b.failed) {
        free(b.data);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "audit: out of memory");
    }
    *out = b.data;
    *len = b.len;
    return CUSTOS_OK;
}
