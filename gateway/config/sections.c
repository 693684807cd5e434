/* Reading the file line by line, section headers and keys (parser.h): every section
 * header starts its section (an empty [feed x] still counts), every key goes to its
 * section's handler in keys.c. */
#include "config/parser.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int cfg_key_index(const char *const *keys, const char *name)
{
    for (int i = 0; keys[i] != NULL; i++)
        if (strcmp(keys[i], name) == 0)
            return i;
    return -1;
}

int gw_cfg_handler(void *user, const char *section, const char *name, const char *value)
{
    cfg_parser *p = user;
    (void)section; /* the reader tracks sections itself, without inih's length limit */
    if (p->failed)
        return 0;
    const char *const *keys = gw_cfg_section_keys(p->kind);
    if (keys == NULL) {
        custos_error_set(p->err, CUSTOS_ERR_INVALID,
                         "%s:%d: %s: every key belongs in a [gateway], [feed NAME], "
                         "[signer LABEL], [evm], [metrics], [tls], [client NAME] or [limits] "
                         "section",
                         p->path, p->line, name);
        p->failed = true;
        return 0;
    }
    int idx = cfg_key_index(keys, name);
    if (idx < 0) {
        gw_cfg_fail(p, p->line, name, "unknown key");
        return 0;
    }
    /* A line holds two account ids at most (inih's 200 characters): [feed] accounts may
     * be given on as many lines as needed. */
    bool repeatable = p->kind == SEC_FEED && strcmp(name, "accounts") == 0;
    if (!repeatable && (p->seen & (1u << idx))) {
        gw_cfg_fail(p, p->line, name, "set twice in the same section");
        return 0;
    }
    p->seen |= 1u << idx;
    gw_cfg_apply_key(p, idx, value);
    return p->failed ? 0 : 1;
}

static bool cfg_grow(cfg_parser *p, void **arr, size_t elem, void **lines, size_t line_elem,
                     size_t *cap, size_t n)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap == 0 ? 8 : *cap * 2;
    void *a = realloc(*arr, ncap * elem);
    if (a == NULL)
        goto nomem;
    *arr = a;
    void *l = realloc(*lines, ncap * line_elem);
    if (l == NULL)
        goto nomem;
    *lines = l;
    *cap = ncap;
    return true;
nomem:
    custos_error_set(p->err, CUSTOS_ERR_NOMEM, "%s:%d: out of memory", p->path, p->line);
    p->failed = true;
    return false;
}

static void cfg_begin_feed(cfg_parser *p, const char *name)
{
    gw_config *c = p->cfg;
    if (!gw_cfg_valid_feed_name(name)) {
        gw_cfg_fail(p, p->line, NULL, "a feed name is 1 to %d printable characters without blanks",
                    CUSTOS_FEED_MAX);
        return;
    }
    for (size_t i = 0; i < c->n_feeds; i++) {
        if (strcmp(c->feeds[i].name, name) == 0) {
            gw_cfg_fail(p, p->line, NULL, "feed '%s' is already defined at line %d", name,
                        p->feed_lines[i].header);
            return;
        }
    }
    if (!cfg_grow(p, (void **)&c->feeds, sizeof *c->feeds, (void **)&p->feed_lines,
                  sizeof *p->feed_lines, &p->feeds_cap, c->n_feeds))
        return;
    gw_feed *f = &c->feeds[c->n_feeds];
    memset(f, 0, sizeof *f);
    memcpy(f->name, name, strlen(name) + 1);
    f->max_age = CFG_DEFAULT_MAX_AGE;
    f->max_skew = CFG_DEFAULT_MAX_SKEW;
    f->max_ttl = CFG_DEFAULT_MAX_TTL;
    f->threshold = 1;
    f->max_sequence_step = CFG_DEFAULT_MAX_SEQUENCE_STEP;
    p->feed_lines[c->n_feeds] = (cfg_feed_lines){.header = p->line};
    c->n_feeds++;
}

static void cfg_begin_signer(cfg_parser *p)
{
    gw_config *c = p->cfg;
    if (!cfg_grow(p, (void **)&c->signers, sizeof *c->signers, (void **)&p->signer_lines,
                  sizeof *p->signer_lines, &p->signers_cap, c->n_signers))
        return;
    gw_signer *s = &c->signers[c->n_signers];
    memset(s, 0, sizeof *s);
    s->role = GW_ROLE_CUSTODIAN;
    s->active = true;
    cfg_signer_lines *sl = &p->signer_lines[c->n_signers];
    memset(sl, 0, sizeof *sl);
    memcpy(sl->section, p->section, sizeof sl->section);
    sl->header = p->line;
    c->n_signers++;
}

/* Names are certificate common names: printable, no blanks at either end. */
static void cfg_begin_client(cfg_parser *p, const char *name)
{
    gw_config *c = p->cfg;
    size_t len = strlen(name);
    bool ok = len > 0 && len <= GW_CLIENT_NAME_MAX && name[len - 1] != ' ';
    for (size_t i = 0; ok && i < len; i++)
        ok = isprint((unsigned char)name[i]) != 0;
    if (!ok) {
        gw_cfg_fail(p, p->line, NULL, "a client name is the certificate's common name: 1 to %d "
                    "printable characters", GW_CLIENT_NAME_MAX);
        return;
    }
    for (size_t i = 0; i < c->n_clients; i++) {
        if (strcmp(c->clients[i].name, name) == 0) {
            gw_cfg_fail(p, p->line, NULL, "client '%s' is already defined at line %d", name,
                        p->client_lines[i].header);
            return;
        }
    }
    if (!cfg_grow(p, (void **)&c->clients, sizeof *c->clients, (void **)&p->client_lines,
                  sizeof *p->client_lines, &p->clients_cap, c->n_clients))
        return;
    gw_client *cl = &c->clients[c->n_clients];
    memset(cl, 0, sizeof *cl);
    memcpy(cl->name, name, len + 1);
    p->client_lines[c->n_clients] = (cfg_client_lines){.header = p->line};
    c->n_clients++;
}

/* A header line "[kind rest]": starts the section it names. */
static void cfg_begin_section(cfg_parser *p, const char *start)
{
    const char *close = strchr(start, ']');
    size_t len = close == NULL ? 0 : (size_t)(close - start - 1);
    if (close == NULL || len >= sizeof p->section) {
        snprintf(p->section, sizeof p->section, "%s", "?");
        gw_cfg_fail(p, p->line, NULL, "a section header is '[name]' on one line");
        return;
    }
    memcpy(p->section, start + 1, len);
    p->section[len] = '\0';
    const char *rest = close + 1;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (*rest != '\0' && *rest != ';' && *rest != '#' && *rest != '\r' && *rest != '\n') {
        gw_cfg_fail(p, p->line, NULL, "unexpected text after ']'");
        return;
    }
    p->section_line = p->line;
    p->seen = 0;
    if (strcmp(p->section, "gateway") == 0) {
        if (p->have_gateway) {
            gw_cfg_fail(p, p->line, NULL, "section already defined at line %d", p->gateway_line);
            return;
        }
        p->have_gateway = true;
        p->gateway_line = p->line;
        p->kind = SEC_GATEWAY;
    } else if (strncmp(p->section, "feed ", 5) == 0) {
        p->kind = SEC_FEED;
        const char *name = p->section + 5;
        while (*name == ' ')
            name++;
        cfg_begin_feed(p, name);
    } else if (strncmp(p->section, "signer ", 7) == 0 && p->section[7] != '\0') {
        p->kind = SEC_SIGNER;
        cfg_begin_signer(p);
    } else if (strcmp(p->section, "evm") == 0) {
        if (p->have_evm) {
            gw_cfg_fail(p, p->line, NULL, "section already defined at line %d", p->evm_line);
            return;
        }
        p->have_evm = true;
        p->evm_line = p->line;
        p->kind = SEC_EVM;
        p->cfg->evm.enabled = true;
    } else if (strcmp(p->section, "metrics") == 0) {
        if (p->have_metrics) {
            gw_cfg_fail(p, p->line, NULL, "section already defined at line %d", p->metrics_line);
            return;
        }
        p->have_metrics = true;
        p->metrics_line = p->line;
        p->kind = SEC_METRICS;
        p->cfg->metrics.enabled = true;
    } else if (strcmp(p->section, "tls") == 0) {
        if (p->have_tls) {
            gw_cfg_fail(p, p->line, NULL, "section already defined at line %d", p->tls_line);
            return;
        }
        p->have_tls = true;
        p->tls_line = p->line;
        p->kind = SEC_TLS;
    } else if (strncmp(p->section, "client ", 7) == 0) {
        p->kind = SEC_CLIENT;
        const char *name = p->section + 7;
        while (*name == ' ')
            name++;
        cfg_begin_client(p, name);
    } else if (strcmp(p->section, "limits") == 0) {
        if (p->have_limits) {
            gw_cfg_fail(p, p->line, NULL, "section already defined at line %d", p->limits_line);
            return;
        }
        p->have_limits = true;
        p->limits_line = p->line;
        p->kind = SEC_LIMITS;
    } else {
        p->kind = SEC_NONE;
        gw_cfg_fail(p, p->line, NULL, "unknown section (expected [gateway], [feed NAME], "
                                   "[signer LABEL], [evm], [metrics], [tls], [client NAME] "
                                   "or [limits])");
    }
}

/* inih's line source: one whole line per call, so the count is exact; a line too long
 * for inih's buffer is an error rather than being split in two. */
char *gw_cfg_read_line(char *str, int num, void *stream)
{
    cfg_parser *p = stream;
    if (p->failed || fgets(str, num, p->file) == NULL)
        return NULL;
    p->line++;
    size_t len = strlen(str);
    if (len == (size_t)num - 1 && str[len - 1] != '\n' && !feof(p->file)) {
        gw_cfg_fail(p, p->line, NULL, "line longer than %d characters", num - 3);
        return NULL;
    }
    const char *s = str;
    if (p->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        s += 3;
    if (*s == ' ' || *s == '\t') {
        const char *t = s + strspn(s, " \t\r\n");
        if (*t != '\0' && *t != ';' && *t != '#') {
            gw_cfg_fail(p, p->line, NULL, "indented line (values cannot continue on a new line)");
            return NULL;
        }
        return str;
    }
    if (*s == '[')
        cfg_begin_section(p, s);
    else if (*s != ';' && *s != '#' && *s != '\r' && *s != '\n' && *s != '\0' &&
             strcspn(s, "=:") >= strcspn(s, ";"))
        gw_cfg_fail(p, p->line, NULL, "expected 'key = value', got '%.*s'",
                    (int)(strcspn(s, "\r\n") < 40 ? strcspn(s, "\r\n") : 40), s);
    return p->failed ? NULL : str;
}
