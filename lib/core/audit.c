/* The audit log's hash chain (custos/audit.h). */
#include "custos/audit.h"

#include <stdlib.h>
#include <string.h>

#include "custos/keccak.h"

static void audit_be(custos_keccak *k, uint64_t v, int bytes)
{
    uint8_t buf[8];
    for (int i = 0; i < bytes; i++)
        buf[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    custos_keccak_update(k, buf, (size_t)bytes);
}

/* be32(len) || bytes. Lengths above 2^32 - 1 cannot occur: actor and action are bounded,
 * and the store refuses payloads that large. */
static void audit_field(custos_keccak *k, const uint8_t *data, size_t len)
{
    audit_be(k, (uint64_t)len, 4);
    if (len > 0)
        custos_keccak_update(k, data, len);
}

void custos_audit_hash(const uint8_t prev[CUSTOS_AUDIT_HASH_LEN], const custos_audit_entry *e,
                       uint8_t out[CUSTOS_AUDIT_HASH_LEN])
{
    custos_keccak k;
    custos_keccak_init(&k);
    custos_keccak_update(&k, prev, CUSTOS_AUDIT_HASH_LEN);
    audit_be(&k, e->seq, 8);
    audit_be(&k, e->time, 8);
    audit_field(&k, (const uint8_t *)e->actor, strnlen(e->actor, sizeof e->actor));
    audit_field(&k, (const uint8_t *)e->action, strnlen(e->action, sizeof e->action));
    audit_field(&k, e->payload, e->payload_len);
    custos_keccak_final(&k, out);
}

size_t custos_audit_verify(uint64_t after_seq, const uint8_t after_hash[CUSTOS_AUDIT_HASH_LEN],
                           const custos_audit_entry *entries, size_t n)
{
    uint64_t seq = after_seq;
    uint8_t prev[CUSTOS_AUDIT_HASH_LEN];
    memcpy(prev, after_hash, sizeof prev);
    for (size_t i = 0; i < n; i++) {
        const custos_audit_entry *e = &entries[i];
        uint8_t h[CUSTOS_AUDIT_HASH_LEN];
        custos_audit_hash(prev, e, h);
        if (e->seq != seq + 1 || memcmp(e->prev_hash, prev, sizeof prev) != 0 ||
            memcmp(e->hash, h, sizeof h) != 0)
            return i;
        seq = e->seq;
        memcpy(prev, h, sizeof prev);
    }
    return n;
}

void custos_audit_entry_clear(custos_audit_entry *e)
{
    if (e == NULL)
        return;
    free(e->payload);
    memset(e, 0, sizeof *e);
}

void custos_audit_entry_list_free(custos_audit_entry *list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        custos_audit_entry_clear(&list[i]);
    free(list);
}
