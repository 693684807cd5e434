/* A feed's registered accounts (rule 9): [feed] accounts and accounts_file (parser.h). */
#include "config/parser.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "custos/hex.h"

/* Longest line of an accounts file: an id, blanks and a comment. */
#define ACCOUNTS_LINE_MAX 512

static int account_cmp(const void *a, const void *b)
{
    return memcmp(((const gw_account *)a)->account, ((const gw_account *)b)->account,
                  CUSTOS_HASH_LEN);
}

void gw_accounts_sort(gw_account *accounts, size_t n)
{
    if (n > 1)
        qsort(accounts, n, sizeof *accounts, account_cmp);
}

const gw_account *gw_accounts_find(const gw_account *accounts, size_t n,
                                   const uint8_t account[CUSTOS_HASH_LEN])
{
    if (n == 0)
        return NULL;
    gw_account key;
    memcpy(key.account, account, CUSTOS_HASH_LEN);
    return bsearch(&key, accounts, n, sizeof *accounts, account_cmp);
}

/* Appends one account id (text, len bytes) to the current feed's registrations. */
static bool cfg_add_account(cfg_parser *p, const char *key, int line, const char *text,
                            size_t len)
{
    gw_config *c = p->cfg;
    char id[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    uint8_t account[CUSTOS_HASH_LEN];
    bool ok = len < sizeof id;
    if (ok) {
        memcpy(id, text, len);
        id[len] = '\0';
        ok = custos_hex_decode(id, account, CUSTOS_HASH_LEN, NULL) == CUSTOS_OK;
    }
    if (!ok) {
        gw_cfg_fail(p, line, key, "'%.*s' is not an account id (0x and 64 hex digits)",
                    (int)(len > 80 ? 80 : len), text);
        return false;
    }
    if (c->n_accounts == GW_ACCOUNTS_MAX) {
        gw_cfg_fail(p, line, key, "more than %u registered accounts", GW_ACCOUNTS_MAX);
        return false;
    }
    if (c->n_accounts == p->accounts_cap) {
        size_t cap = p->accounts_cap == 0 ? 64 : p->accounts_cap * 2;
        gw_account *grown = realloc(c->accounts, cap * sizeof *grown);
        if (grown == NULL) {
            gw_cfg_fail(p, line, key, "out of memory for %zu accounts", cap);
            return false;
        }
        c->accounts = grown;
        p->accounts_cap = cap;
    }
    gw_account *a = &c->accounts[c->n_accounts++];
    memset(a, 0, sizeof *a);
    memcpy(a->account, account, CUSTOS_HASH_LEN);
    memcpy(a->feed, c->feeds[c->n_feeds - 1].name, sizeof a->feed);
    return true;
}

void gw_cfg_feed_accounts(cfg_parser *p, const char *key, const char *value)
{
    const char *s = value;
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        size_t len = strcspn(s, ", \t");
        const char *after = s + len;
        while (*after == ' ' || *after == '\t')
            after++;
        if (len == 0 || (*after != ',' && *after != '\0')) {
            gw_cfg_fail(p, p->line, key, "a comma-separated list of account ids, got '%.80s'",
                        value);
            return;
        }
        if (!cfg_add_account(p, key, p->line, s, len))
            return;
        if (*after == '\0')
            return;
        s = after + 1;
    }
}

void gw_cfg_feed_accounts_file(cfg_parser *p, const char *key, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        gw_cfg_fail(p, p->line, key, "cannot open '%.200s': %s", path, strerror(errno));
        return;
    }
    char line[ACCOUNTS_LINE_MAX];
    unsigned long n = 0;
    while (!p->failed && fgets(line, sizeof line, f) != NULL) {
        n++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            gw_cfg_fail(p, p->line, key, "%.200s:%lu: line longer than %d bytes", path, n,
                        ACCOUNTS_LINE_MAX - 2);
            break;
        }
        line[strcspn(line, "#\r\n")] = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        len = strcspn(s, " \t");
        const char *rest = s + len + strspn(s + len, " \t");
        if (len == 0)
            continue;
        if (*rest != '\0') {
            gw_cfg_fail(p, p->line, key, "%.200s:%lu: one account id per line", path, n);
            break;
        }
        char what[64];
        snprintf(what, sizeof what, "%s (line %lu)", key, n);
        if (!cfg_add_account(p, what, p->line, s, len))
            break;
    }
    if (!p->failed && ferror(f))
        gw_cfg_fail(p, p->line, key, "read error in '%.200s'", path);
    fclose(f);
}

void gw_cfg_validate_accounts(cfg_parser *p)
{
    gw_config *c = p->cfg;
    gw_accounts_sort(c->accounts, c->n_accounts);
    for (size_t i = 1; i < c->n_accounts; i++) {
        const gw_account *a = &c->accounts[i - 1], *b = &c->accounts[i];
        if (memcmp(a->account, b->account, CUSTOS_HASH_LEN) != 0)
            continue;
        char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
        if (custos_hex_encode(a->account, CUSTOS_HASH_LEN, hex, sizeof hex) != CUSTOS_OK)
            hex[0] = '\0';
        snprintf(p->section, sizeof p->section, "feed %s", b->feed);
        int line = 0;
        for (size_t f = 0; f < c->n_feeds; f++)
            if (strcmp(c->feeds[f].name, b->feed) == 0)
                line = p->feed_lines[f].header;
        if (strcmp(a->feed, b->feed) == 0)
            gw_cfg_fail(p, line, "accounts", "account %s is listed twice", hex);
        else
            gw_cfg_fail(p, line, "accounts",
                        "account %s is registered to feed '%s' and to feed '%s': an account "
                        "belongs to one feed (rule 9)", hex, a->feed, b->feed);
        return;
    }
}
