/* The allow-list in force being composed from the config file and the audit log
 * (admin_list.h). */
#include "admin_list.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/hex.h"
#include "custos/sig.h"

void admin_list_clear(admin_list *l)
{
    free(l->feeds);
    free(l->signers);
    free(l->accounts);
    memset(l, 0, sizeof *l);
}

custos_rc admin_list_from(admin_list *l, const admin_base *b, custos_error *err)
{
    memset(l, 0, sizeof *l);
    l->cap = b->n_signers + 8;
    l->accounts_cap = b->n_accounts + 8;
    l->feeds = calloc(b->n_feeds > 0 ? b->n_feeds : 1, sizeof *l->feeds);
    l->signers = calloc(l->cap, sizeof *l->signers);
    l->accounts = calloc(l->accounts_cap, sizeof *l->accounts);
    if (l->feeds == NULL || l->signers == NULL || l->accounts == NULL) {
        admin_list_clear(l);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "admin: out of memory");
    }
    if (b->n_feeds > 0)
        memcpy(l->feeds, b->feeds, b->n_feeds * sizeof *b->feeds);
    if (b->n_signers > 0)
        memcpy(l->signers, b->signers, b->n_signers * sizeof *b->signers);
    if (b->n_accounts > 0)
        memcpy(l->accounts, b->accounts, b->n_accounts * sizeof *b->accounts);
    l->n_feeds = b->n_feeds;
    l->n_signers = b->n_signers;
    l->n_accounts = b->n_accounts;
    return CUSTOS_OK;
}

bool admin_list_register(admin_list *l, const uint8_t account[CUSTOS_HASH_LEN],
                         const char *feed)
{
    if (l->n_accounts == l->accounts_cap) {
        size_t cap = l->accounts_cap * 2;
        gw_account *grown = realloc(l->accounts, cap * sizeof *grown);
        if (grown == NULL)
            return false;
        l->accounts = grown;
        l->accounts_cap = cap;
    }
    gw_account *acct = &l->accounts[l->n_accounts++];
    memset(acct, 0, sizeof *acct);
    memcpy(acct->account, account, CUSTOS_HASH_LEN);
    snprintf(acct->feed, sizeof acct->feed, "%s", feed);
    return true;
}

custos_rc admin_list_finish(admin_list *l, custos_error *err)
{
    gw_accounts_sort(l->accounts, l->n_accounts);
    size_t kept = 0;
    for (size_t i = 0; i < l->n_accounts; i++) {
        if (kept > 0 &&
            memcmp(l->accounts[kept - 1].account, l->accounts[i].account, CUSTOS_HASH_LEN) == 0) {
            if (strcmp(l->accounts[kept - 1].feed, l->accounts[i].feed) == 0)
                continue;
            char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
            if (custos_hex_encode(l->accounts[i].account, CUSTOS_HASH_LEN, hex, sizeof hex) !=
                CUSTOS_OK)
                hex[0] = '\0';
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "account %s is registered to feed '%s' and to feed '%s' "
                                    "(the config file and the audit log's register_account "
                                    "entries): an account belongs to one feed (rule 9)",
                                    hex, l->accounts[kept - 1].feed, l->accounts[i].feed);
        }
        l->accounts[kept++] = l->accounts[i];
    }
    l->n_accounts = kept;
    return CUSTOS_OK;
}

gw_signer *admin_list_find(admin_list *l, const uint8_t address[CUSTOS_ADDRESS_LEN],
                           const char *feed)
{
    for (size_t i = 0; i < l->n_signers; i++)
        if (strcmp(l->signers[i].feed, feed) == 0 &&
            memcmp(l->signers[i].address, address, CUSTOS_ADDRESS_LEN) == 0)
            return &l->signers[i];
    return NULL;
}

const gw_feed *admin_list_feed(const admin_list *l, const char *name)
{
    for (size_t i = 0; i < l->n_feeds; i++)
        if (strcmp(l->feeds[i].name, name) == 0)
            return &l->feeds[i];
    return NULL;
}

bool admin_list_add(admin_list *l, const uint8_t address[CUSTOS_ADDRESS_LEN],
                    const char *feed, gw_role role)
{
    gw_signer *s = admin_list_find(l, address, feed);
    if (s == NULL) {
        if (l->n_signers == l->cap) {
            size_t cap = l->cap * 2;
            gw_signer *grown = realloc(l->signers, cap * sizeof *grown);
            if (grown == NULL)
                return false;
            l->signers = grown;
            l->cap = cap;
        }
        s = &l->signers[l->n_signers++];
        memset(s, 0, sizeof *s);
        memcpy(s->address, address, CUSTOS_ADDRESS_LEN);
        snprintf(s->feed, sizeof s->feed, "%s", feed);
    }
    s->role = role;
    s->active = true;
    s->not_after = 0;
    s->rotated = false;
    return true;
}

bool admin_role_parse(const char *name, gw_role *out)
{
    for (int r = 0; r < GW_ROLE_COUNT; r++) {
        if (strcmp(name, gw_role_name((gw_role)r)) == 0) {
            *out = (gw_role)r;
            return true;
        }
    }
    return false;
}

int admin_change_text(char *out, size_t cap, const uint8_t address[CUSTOS_ADDRESS_LEN],
                      const char *feed, const char *role)
{
    char hex[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(address, hex);
    return role != NULL ? snprintf(out, cap, "signer %s feed=%s role=%s\n", hex, feed, role)
                        : snprintf(out, cap, "signer %s feed=%s\n", hex, feed);
}

int admin_rotate_text(char *out, size_t cap, const uint8_t old_address[CUSTOS_ADDRESS_LEN],
                      const uint8_t new_address[CUSTOS_ADDRESS_LEN], const char *feed,
                      const char *role, uint64_t not_after)
{
    char old_hex[CUSTOS_ADDRESS_HEX_LEN], new_hex[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(old_address, old_hex);
    custos_address_to_hex(new_address, new_hex);
    return snprintf(out, cap, "rotate %s %s feed=%s role=%s not_after=%" PRIu64 "\n", old_hex,
                    new_hex, feed, role, not_after);
}

bool admin_list_rotate(admin_list *l, const uint8_t old_address[CUSTOS_ADDRESS_LEN],
                       const uint8_t new_address[CUSTOS_ADDRESS_LEN], const char *feed,
                       gw_role role, uint64_t not_after)
{
    if (!admin_list_add(l, new_address, feed, role))
        return false;
    gw_signer *old = admin_list_find(l, old_address, feed);
    if (old != NULL) {
        /* Rule 2: the new key takes the old one's place, one signing party. */
        old->not_after = not_after;
        old->rotated = true;
        memcpy(old->replaced_by, new_address, CUSTOS_ADDRESS_LEN);
    }
    return true;
}

static custos_rc list_apply_rotate(admin_list *l, const custos_audit_entry *e, char *text,
                                   custos_error *err)
{
    /* text: "rotate OLD NEW feed=NAME role=ROLE not_after=N", newline removed. */
    char *na = strstr(text, " not_after=");
    char *role_at = strstr(text, " role=");
    if (strncmp(text, "rotate ", 7) != 0 || na == NULL || role_at == NULL || role_at > na)
        goto bad;
    *na = '\0';
    *role_at = '\0';
    char *sp1 = strchr(text + 7, ' ');
    if (sp1 == NULL)
        goto bad;
    *sp1 = '\0';
    char *sp2 = strchr(sp1 + 1, ' ');
    if (sp2 == NULL || strncmp(sp2, " feed=", 6) != 0)
        goto bad;
    *sp2 = '\0';
    uint8_t old_address[CUSTOS_ADDRESS_LEN], new_address[CUSTOS_ADDRESS_LEN];
    gw_role role;
    char *end = NULL;
    unsigned long long not_after = strtoull(na + 11, &end, 10);
    if (custos_address_from_hex(text + 7, old_address, NULL) != CUSTOS_OK ||
        custos_address_from_hex(sp1 + 1, new_address, NULL) != CUSTOS_OK ||
        !admin_role_parse(role_at + 6, &role) || end == na + 11 || *end != '\0')
        goto bad;
    if (!admin_list_rotate(l, old_address, new_address, sp2 + 6, role, (uint64_t)not_after))
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "admin: out of memory");
    return CUSTOS_OK;
bad:
    return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                            "audit entry %" PRIu64 " (%s) does not parse: the audit log is "
                            "damaged", e->seq, e->action);
}

int admin_feed_text(char *out, size_t cap, const gw_feed *f)
{
    return snprintf(out, cap,
                    "feed %s max_age=%" PRIu64 " max_skew=%" PRIu64 " max_ttl=%" PRIu64
                    " threshold=%" PRIu32 " distinct_roles=%s\n",
                    f->name, f->max_age, f->max_skew, f->max_ttl, f->threshold,
                    f->distinct_roles ? "true" : "false");
}

custos_rc admin_list_apply_feed(admin_list *l, const custos_audit_entry *e, char *text,
                                custos_error *err)
{
    /* text: "feed NAME max_age=.. max_skew=.. max_ttl=.. threshold=.. distinct_roles=..". */
    char *tail = strstr(text, " max_age=");
    if (strncmp(text, "feed ", 5) != 0 || tail == NULL)
        goto bad;
    *tail = '\0';
    unsigned long long age, skew, ttl;
    unsigned threshold;
    char roles[8];
    int used = 0;
    if (sscanf(tail + 1, "max_age=%llu max_skew=%llu max_ttl=%llu threshold=%u "
                         "distinct_roles=%7s%n",
               &age, &skew, &ttl, &threshold, roles, &used) != 5 ||
        tail[1 + used] != '\0' || (strcmp(roles, "true") != 0 && strcmp(roles, "false") != 0))
        goto bad;
    for (size_t i = 0; i < l->n_feeds; i++) {
        gw_feed *f = &l->feeds[i];
        if (strcmp(f->name, text + 5) != 0)
            continue;
        f->max_age = age;
        f->max_skew = skew;
        f->max_ttl = ttl;
        f->threshold = threshold;
        f->distinct_roles = strcmp(roles, "true") == 0;
    }
    return CUSTOS_OK;
bad:
    return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                            "audit entry %" PRIu64 " (%s) does not parse: the audit log is "
                            "damaged", e->seq, e->action);
}

int admin_register_text(char *out, size_t cap, const uint8_t account[CUSTOS_HASH_LEN],
                        const char *feed)
{
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    if (custos_hex_encode(account, CUSTOS_HASH_LEN, hex, sizeof hex) != CUSTOS_OK)
        return -1;
    return snprintf(out, cap, "account %s feed=%s\n", hex, feed);
}

static custos_rc list_apply_register(admin_list *l, const custos_audit_entry *e,
                                     custos_error *err)
{
    /* "account 0x<64 hex> feed=NAME\n" */
    char text[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN) + CUSTOS_FEED_MAX + 16];
    const size_t id_len = CUSTOS_HEX_LEN(CUSTOS_HASH_LEN) - 1;
    if (e->payload_len < 8 + id_len + 7 || e->payload_len >= sizeof text ||
        e->payload[e->payload_len - 1] != '\n')
        goto bad;
    memcpy(text, e->payload, e->payload_len - 1);
    text[e->payload_len - 1] = '\0';
    if (strncmp(text, "account ", 8) != 0 || strncmp(text + 8 + id_len, " feed=", 6) != 0)
        goto bad;
    text[8 + id_len] = '\0';
    uint8_t account[CUSTOS_HASH_LEN];
    const char *feed = text + 8 + id_len + 6;
    if (custos_hex_decode(text + 8, account, CUSTOS_HASH_LEN, NULL) != CUSTOS_OK ||
        feed[0] == '\0' || strlen(feed) > CUSTOS_FEED_MAX)
        goto bad;
    if (!admin_list_register(l, account, feed))
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "admin: out of memory");
    return CUSTOS_OK;
bad:
    return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                            "audit entry %" PRIu64 " (%s) does not parse: the audit log is "
                            "damaged", e->seq, e->action);
}

custos_rc admin_list_apply(admin_list *l, const custos_audit_entry *e, custos_error *err)
{
    if (strcmp(e->action, ACTION_FEED) == 0) {
        char text[320];
        if (e->payload_len == 0 || e->payload_len >= sizeof text ||
            e->payload[e->payload_len - 1] != '\n')
            return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                    "audit entry %" PRIu64 " (%s) does not parse: the audit "
                                    "log is damaged", e->seq, e->action);
        memcpy(text, e->payload, e->payload_len - 1);
        text[e->payload_len - 1] = '\0';
        return admin_list_apply_feed(l, e, text, err);
    }
    if (strcmp(e->action, ACTION_ROTATE) == 0) {
        char text[320];
        if (e->payload_len == 0 || e->payload_len >= sizeof text ||
            e->payload[e->payload_len - 1] != '\n')
            return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                    "audit entry %" PRIu64 " (%s) does not parse: the audit "
                                    "log is damaged", e->seq, e->action);
        memcpy(text, e->payload, e->payload_len - 1);
        text[e->payload_len - 1] = '\0';
        return list_apply_rotate(l, e, text, err);
    }
    if (strcmp(e->action, ACTION_REGISTER) == 0)
        return list_apply_register(l, e, err);
    bool add = strcmp(e->action, ACTION_ADD) == 0;
    if (!add && strcmp(e->action, ACTION_REVOKE) != 0)
        return CUSTOS_OK;
    char text[256];
    if (e->payload_len == 0 || e->payload_len >= sizeof text)
        goto bad;
    memcpy(text, e->payload, e->payload_len);
    text[e->payload_len] = '\0';
    if (strncmp(text, "signer ", 7) != 0 || text[e->payload_len - 1] != '\n')
        goto bad;
    text[e->payload_len - 1] = '\0';
    char *addr_end = strchr(text + 7, ' ');
    if (addr_end == NULL || strncmp(addr_end, " feed=", 6) != 0)
        goto bad;
    *addr_end = '\0';
    uint8_t address[CUSTOS_ADDRESS_LEN];
    if (custos_address_from_hex(text + 7, address, NULL) != CUSTOS_OK)
        goto bad;
    char *feed = addr_end + 6;
    gw_role role = GW_ROLE_CUSTODIAN;
    if (add) {
        char *r = strstr(feed, " role=");
        if (r == NULL)
            goto bad;
        *r = '\0';
        if (!admin_role_parse(r + 6, &role))
            goto bad;
    }
    if (add) {
        if (!admin_list_add(l, address, feed, role))
            return custos_error_set(err, CUSTOS_ERR_NOMEM, "admin: out of memory");
    } else {
        gw_signer *s = admin_list_find(l, address, feed);
        if (s != NULL)
            s->active = false;
    }
    return CUSTOS_OK;
bad:
    return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                            "audit entry %" PRIu64 " (%s) does not parse: the audit log is "
                            "damaged", e->seq, e->action);
}
