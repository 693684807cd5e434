/* The gateway's configuration file.
 *
 * inih splits lines into key = value pairs and strips comments; this file does the
 * rest. It reads the file through its own line reader so that it always knows the
 * current line number and sees every section header (inih reports neither), which is
 * what lets every message name the file, the line, the section and the key, and lets
 * an empty [feed x] section still count as a feed. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "custos/sig.h"


#define CFG_DEFAULT_LISTEN "127.0.0.1:50051"
#define CFG_DEFAULT_MAX_MESSAGE (1024u * 1024u)
#define CFG_DEFAULT_BATCH 512u
#define CFG_DEFAULT_DELAY_US 500u
#define CFG_DEFAULT_REPLICA_POLL_MS 200u
/* RotateSigner overlaps: a day by default, at most thirty days. */
#define CFG_DEFAULT_ROTATION_OVERLAP 86400u
#define CFG_MAX_ROTATION_OVERLAP 2592000u
#define CFG_DEFAULT_MAX_AGE 86400u
#define CFG_DEFAULT_MAX_SKEW 300u
#define CFG_DEFAULT_MAX_TTL 604800u
/* Time limits beyond ~136 years are typos, and keeping them below 2^32 keeps the
 * freshness arithmetic far from overflow. */
#define CFG_MAX_SECONDS 4294967295u
/* Beyond a bond-market month a business-day age is a typo. */
#define CFG_MAX_BUSINESS_DAYS 31u
/* A rise bound beyond 100x is a typo. */
#define CFG_MAX_BREAKER_BPS 1000000u
/* [evm] defaults. */
#define CFG_EVM_CONFIRMATIONS 1u
#define CFG_EVM_POLL_MS 500u
#define CFG_EVM_LEADER_RETRY_MS 2000u
#define CFG_EVM_UNREACHABLE_MS 10000u
#define CFG_EVM_HEARTBEAT 86400u
#define CFG_EVM_DEVIATION_BPS 50u
#define CFG_EVM_FEE_BUMP_AFTER 60u
#define CFG_EVM_MAX_FEE_GWEI 500u
#define CFG_EVM_PRIORITY_GWEI 1u
#define CFG_EVM_GAS_MARGIN_BPS 2000u
#define CFG_EVM_STATE_SUFFIX "-publisher.db"
/* [limits] defaults: far above what one attestor needs (a bank's whole book revalued in
 * seconds), low enough that one client cannot monopolise the committer. */
#define CFG_LIMITS_RATE 20000u
#define CFG_LIMITS_BURST 40000u
#define CFG_LIMITS_STREAMS 64u
#define CFG_LIMITS_CLIENTS 4096u
#define CFG_LIMITS_IDLE 300u

typedef enum cfg_section_kind {
    SEC_NONE,
    SEC_GATEWAY,
    SEC_FEED,
    SEC_SIGNER,
    SEC_EVM,
    SEC_METRICS,
    SEC_TLS,
    SEC_CLIENT,
    SEC_LIMITS
} cfg_section_kind;

/* Where each signer's and feed's keys were written, for messages after parsing. */
typedef struct cfg_feed_lines {
    int header;
    int threshold;
    int max_age, max_age_business_days;
    int breaker_rise_bps, breaker_release_threshold;
} cfg_feed_lines;

typedef struct cfg_signer_lines {
    char section[256];
    int header;
    int address;
    int feed;
    bool has_address, has_feed;
} cfg_signer_lines;

typedef struct cfg_client_lines {
    int header;
    int feeds;
    bool has_role;
} cfg_client_lines;

typedef struct cfg_parser {
    const char *path;
    FILE *file;
    int line;
    gw_config *cfg;
    custos_error *err;
    bool failed;

    cfg_section_kind kind;
    char section[256];       /* the header's text, for messages */
    int section_line;
    unsigned seen;           /* bit per key already set in the current section */

    bool have_gateway;
    int gateway_line;
    bool has_store, has_chain_id, has_contract;
    int calendar_line;

    bool have_evm;
    int evm_line, evm_adapter_line;
    bool has_rpc_url, has_relayer_key, has_adapter, has_state;

    bool have_metrics, has_metrics_listen;
    int metrics_line;

    bool have_tls;
    int tls_line, tls_insecure_line;

    bool have_limits;
    int limits_line;

    cfg_feed_lines *feed_lines;
    cfg_signer_lines *signer_lines;
    cfg_client_lines *client_lines;
    size_t feeds_cap, signers_cap, clients_cap;
} cfg_parser;

static const char *const role_names[GW_ROLE_COUNT] = {
    [GW_ROLE_CUSTODIAN] = "custodian",
    [GW_ROLE_VALUATION_AGENT] = "valuation_agent",
    [GW_ROLE_FUND_ADMINISTRATOR] = "fund_administrator",
    [GW_ROLE_AUDITOR] = "auditor",
};

static const char *const client_role_names[GW_CLIENT_ROLE_COUNT] = {
    [GW_CLIENT_ATTESTOR] = "attestor",
    [GW_CLIENT_ADMIN] = "admin",
    [GW_CLIENT_READER] = "reader",
};

const char *gw_client_role_name(gw_client_role r)
{
    if ((unsigned)r >= GW_CLIENT_ROLE_COUNT)
        return "unknown";
    return client_role_names[r];
}

const char *gw_role_name(gw_role r)
{
    if ((unsigned)r >= GW_ROLE_COUNT)
        return "unknown";
    return role_names[r];
}

static void cfg_fail(cfg_parser *p, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records the first error only: later ones are usually consequences of it. */
static void cfg_fail(cfg_parser *p, int line, const char *key, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (key != NULL)
        custos_error_set(p->err, CUSTOS_ERR_INVALID, "%s:%d: [%s] %s: %s", p->path, line,
                         p->section, key, what);
    else
        custos_error_set(p->err, CUSTOS_ERR_INVALID, "%s:%d: [%s]: %s", p->path, line,
                         p->section, what);
}

/* Digits only, no sign, no blanks, no trailing text, within [min, max]. */
static bool cfg_parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    if (text[0] < '0' || text[0] > '9')
        return false;
    uint64_t v = 0;
    for (const char *c = text; *c != '\0'; c++) {
        if (*c < '0' || *c > '9')
            return false;
        unsigned d = (unsigned)(*c - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool cfg_uint_key(cfg_parser *p, const char *key, const char *value, uint64_t min,
                         uint64_t max, uint64_t *out)
{
    if (cfg_parse_uint(value, min, max, out))
        return true;
    cfg_fail(p, p->line, key, "must be an integer from %" PRIu64 " to %" PRIu64 ", got '%s'",
             min, max, value);
    return false;
}

static bool cfg_copy_key(cfg_parser *p, const char *key, const char *value, char *dst,
                         size_t cap, bool allow_empty)
{
    size_t len = strlen(value);
    if (len == 0 && !allow_empty) {
        cfg_fail(p, p->line, key, "must not be empty");
        return false;
    }
    if (len >= cap) {
        cfg_fail(p, p->line, key, "longer than %zu bytes", cap - 1);
        return false;
    }
    memcpy(dst, value, len + 1);
    return true;
}

static bool cfg_address_key(cfg_parser *p, const char *key, const char *value,
                            uint8_t addr[CUSTOS_ADDRESS_LEN])
{
    custos_error e;
    custos_error_clear(&e);
    if (custos_address_from_hex(value, addr, &e) == CUSTOS_OK)
        return true;
    cfg_fail(p, p->line, key, "must be a 0x-prefixed 20-byte address (EIP-55 or lowercase), "
             "got '%s' (%s)", value, e.message);
    return false;
}

/* Feed names travel on the wire and in logs: printable ASCII without blanks. */
static bool cfg_valid_feed_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > CUSTOS_FEED_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isgraph((unsigned char)name[i]))
            return false;
    return true;
}

/* Keys of each section kind; the index is the key's bit in parser.seen. */
static const char *const gateway_keys[] = {"listen", "store", "chain_id", "verifying_contract",
                                           "max_message_bytes", "workers", "commit_batch_max",
                                           "commit_delay_us", "port_file", "replica_poll_ms",
                                           "calendar", "max_rotation_overlap", "public_proofs",
                                           NULL};
static const char *const feed_keys[] = {"max_age", "max_skew", "max_ttl", "threshold",
                                        "distinct_roles", "max_age_business_days", "breaker_rise_bps",
                                        "breaker_release_threshold", NULL};
static const char *const signer_keys[] = {"address", "feed", "role", "status", "not_after",
                                          NULL};
static const char *const evm_keys[] = {"rpc_url", "relayer_key", "adapter", "confirmations",
                                       "poll_interval_ms", "heartbeat_seconds", "deviation_bps",
                                       "fee_bump_after_seconds", "max_fee_gwei",
                                       "priority_fee_gwei", "gas_limit_margin_bps", "state",
                                       "leader_retry_ms", "unreachable_after_ms", NULL};
static const char *const metrics_keys[] = {"listen", "port_file", NULL};
static const char *const tls_keys[] = {"cert", "key", "client_ca", "insecure", NULL};
static const char *const client_keys[] = {"feeds", "role", NULL};
static const char *const limits_keys[] = {"rate_per_second", "burst", "max_streams_per_client",
                                          "max_clients", "stream_idle_seconds", NULL};

static int cfg_key_index(const char *const *keys, const char *name)
{
    for (int i = 0; keys[i] != NULL; i++)
        if (strcmp(keys[i], name) == 0)
            return i;
    return -1;
}

/* A postgresql:// or postgres:// URI selects PostgreSQL. Its password stays out of the
 * file (and so out of the logs that name the store): libpq reads it from PGPASSWORD or a
 * password file. */
static void cfg_store_key(cfg_parser *p, const char *key, gw_config *c)
{
    const char *rest = NULL;
    if (strncmp(c->store_path, "postgresql://", 13) == 0)
        rest = c->store_path + 13;
    else if (strncmp(c->store_path, "postgres://", 11) == 0)
        rest = c->store_path + 11;
    c->store_backend = rest != NULL ? GW_STORE_POSTGRESQL : GW_STORE_SQLITE;
    if (rest == NULL)
        return;
    size_t authority = strcspn(rest, "/?");
    const char *at = memchr(rest, '@', authority);
    bool in_user = at != NULL && memchr(rest, ':', (size_t)(at - rest)) != NULL;
    const char *query = strchr(rest, '?');
    bool in_query = query != NULL && (strncmp(query + 1, "password=", 9) == 0 ||
                                      strstr(query, "&password=") != NULL);
    if (in_user || in_query)
        cfg_fail(p, p->line, key, "the PostgreSQL URI carries a password; remove it and give "
                                  "it in PGPASSWORD or a password file (PGPASSFILE)");
}

static void cfg_gateway_key(cfg_parser *p, int idx, const char *value)
{
    gw_config *c = p->cfg;
    const char *key = gateway_keys[idx];
    uint64_t v;
    switch (idx) {
    case 0:
        cfg_copy_key(p, key, value, c->listen, sizeof c->listen, false);
        break;
    case 1:
        p->has_store = cfg_copy_key(p, key, value, c->store_path, sizeof c->store_path, false);
        if (p->has_store)
            cfg_store_key(p, key, c);
        break;
    case 2:
        if (cfg_uint_key(p, key, value, 1, UINT64_MAX, &v)) {
            c->domain.chain_id = v;
            p->has_chain_id = true;
        }
        break;
    case 3:
        p->has_contract = cfg_address_key(p, key, value, c->domain.verifying_contract);
        break;
    case 4:
        if (cfg_uint_key(p, key, value, 1, 2147483647u, &v))
            c->max_message_bytes = (size_t)v;
        break;
    case 5:
        if (cfg_uint_key(p, key, value, 0, 1024, &v))
            c->workers = (unsigned)v;
        break;
    case 6:
        if (cfg_uint_key(p, key, value, 1, 65536, &v))
            c->commit_batch_max = (unsigned)v;
        break;
    case 7:
        if (cfg_uint_key(p, key, value, 0, 1000000, &v))
            c->commit_delay_us = (unsigned)v;
        break;
    case 8:
        cfg_copy_key(p, key, value, c->port_file, sizeof c->port_file, true);
        break;
    case 9:
        if (cfg_uint_key(p, key, value, 1, 60000, &v))
            c->replica_poll_ms = (unsigned)v;
        break;
    case 10:
        if (cfg_copy_key(p, key, value, c->calendar_path, sizeof c->calendar_path, false))
            p->calendar_line = p->line;
        break;
    case 11:
        cfg_uint_key(p, key, value, 1, CFG_MAX_ROTATION_OVERLAP, &c->max_rotation_overlap);
        break;
    case 12:
        if (strcmp(value, "true") == 0)
            c->public_proofs = true;
        else if (strcmp(value, "false") == 0)
            c->public_proofs = false;
        else
            cfg_fail(p, p->line, key, "must be true or false, got '%s'", value);
        break;
    }
}

static void cfg_feed_key(cfg_parser *p, int idx, const char *value)
{
    gw_feed *f = &p->cfg->feeds[p->cfg->n_feeds - 1];
    const char *key = feed_keys[idx];
    uint64_t v;
    switch (idx) {
    case 0:
        if (cfg_uint_key(p, key, value, 1, CFG_MAX_SECONDS, &v)) {
            f->max_age = v;
            p->feed_lines[p->cfg->n_feeds - 1].max_age = p->line;
        }
        break;
    case 1:
        if (cfg_uint_key(p, key, value, 0, CFG_MAX_SECONDS, &v))
            f->max_skew = v;
        break;
    case 2:
        if (cfg_uint_key(p, key, value, 1, CFG_MAX_SECONDS, &v))
            f->max_ttl = v;
        break;
    case 3:
        if (cfg_uint_key(p, key, value, 1, CUSTOS_MAX_SIGNATURES, &v)) {
            f->threshold = (uint32_t)v;
            p->feed_lines[p->cfg->n_feeds - 1].threshold = p->line;
        }
        break;
    case 4:
        if (strcmp(value, "true") == 0)
            f->distinct_roles = true;
        else if (strcmp(value, "false") == 0)
            f->distinct_roles = false;
        else
            cfg_fail(p, p->line, key, "must be true or false, got '%s'", value);
        break;
    case 5:
        if (cfg_uint_key(p, key, value, 1, CFG_MAX_BUSINESS_DAYS, &v)) {
            f->max_age_business_days = (uint32_t)v;
            p->feed_lines[p->cfg->n_feeds - 1].max_age_business_days = p->line;
        }
        break;
    case 6:
        if (cfg_uint_key(p, key, value, 0, CFG_MAX_BREAKER_BPS, &v)) {
            f->breaker_rise_bps = (uint32_t)v;
            p->feed_lines[p->cfg->n_feeds - 1].breaker_rise_bps = p->line;
        }
        break;
    case 7:
        if (cfg_uint_key(p, key, value, 1, CUSTOS_MAX_SIGNATURES, &v)) {
            f->breaker_release_threshold = (uint32_t)v;
            p->feed_lines[p->cfg->n_feeds - 1].breaker_release_threshold = p->line;
        }
        break;
    }
}

static void cfg_signer_key(cfg_parser *p, int idx, const char *value)
{
    gw_signer *s = &p->cfg->signers[p->cfg->n_signers - 1];
    cfg_signer_lines *sl = &p->signer_lines[p->cfg->n_signers - 1];
    const char *key = signer_keys[idx];
    switch (idx) {
    case 0:
        sl->has_address = cfg_address_key(p, key, value, s->address);
        sl->address = p->line;
        break;
    case 1:
        sl->has_feed = cfg_copy_key(p, key, value, s->feed, sizeof s->feed, false);
        sl->feed = p->line;
        break;
    case 2:
        for (int r = 0; r < GW_ROLE_COUNT; r++) {
            if (strcmp(value, role_names[r]) == 0) {
                s->role = (gw_role)r;
                return;
            }
        }
        cfg_fail(p, p->line, key,
                 "must be custodian, valuation_agent, fund_administrator or auditor, got '%s'",
                 value);
        break;
    case 3:
        if (strcmp(value, "active") == 0)
            s->active = true;
        else if (strcmp(value, "revoked") == 0)
            s->active = false;
        else
            cfg_fail(p, p->line, key, "must be active or revoked, got '%s'", value);
        break;
    case 4:
        cfg_uint_key(p, key, value, 1, UINT64_MAX, &s->not_after);
        break;
    }
}

static void cfg_evm_key(cfg_parser *p, int idx, const char *value)
{
    gw_evm_config *e = &p->cfg->evm;
    const char *key = evm_keys[idx];
    uint64_t v;
    switch (idx) {
    case 0:
        if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) {
            /* The value is not echoed: node URLs often carry an API key. */
            cfg_fail(p, p->line, key, "must be an http:// or https:// URL");
            break;
        }
        p->has_rpc_url = cfg_copy_key(p, key, value, e->rpc_url, sizeof e->rpc_url, false);
        break;
    case 1:
        p->has_relayer_key =
            cfg_copy_key(p, key, value, e->relayer_key, sizeof e->relayer_key, false);
        break;
    case 2:
        p->has_adapter = cfg_address_key(p, key, value, e->adapter);
        p->evm_adapter_line = p->line;
        break;
    case 3:
        if (cfg_uint_key(p, key, value, 1, 1000, &v))
            e->confirmations = v;
        break;
    case 4:
        if (cfg_uint_key(p, key, value, 10, 3600000, &v))
            e->poll_interval_ms = v;
        break;
    case 5:
        if (cfg_uint_key(p, key, value, 1, CFG_MAX_SECONDS, &v))
            e->heartbeat_seconds = v;
        break;
    case 6:
        if (cfg_uint_key(p, key, value, 0, 10000, &v))
            e->deviation_bps = (uint32_t)v;
        break;
    case 7:
        if (cfg_uint_key(p, key, value, 1, 86400, &v))
            e->fee_bump_after_seconds = v;
        break;
    case 8:
        if (cfg_uint_key(p, key, value, 1, 1000000, &v))
            e->max_fee_gwei = v;
        break;
    case 9:
        if (cfg_uint_key(p, key, value, 0, 1000000, &v))
            e->priority_fee_gwei = v;
        break;
    case 10:
        if (cfg_uint_key(p, key, value, 0, 100000, &v))
            e->gas_limit_margin_bps = (uint32_t)v;
        break;
    case 11:
        p->has_state = cfg_copy_key(p, key, value, e->state_path, sizeof e->state_path, false);
        break;
    case 12:
        if (cfg_uint_key(p, key, value, 100, 600000, &v))
            e->leader_retry_ms = v;
        break;
    case 13:
        if (cfg_uint_key(p, key, value, 100, 3600000, &v))
            e->unreachable_after_ms = v;
        break;
    }
}

/* "IP:PORT" or "[IPv6]:PORT" with a numeric port; the address itself is checked when
 * the endpoint binds (it must be numeric: no name lookup at start-up). */
static bool cfg_host_port(const char *value)
{
    const char *colon = strrchr(value, ':');
    uint64_t port;
    return colon != NULL && colon != value && cfg_parse_uint(colon + 1, 0, 65535, &port);
}

static void cfg_metrics_key(cfg_parser *p, int idx, const char *value)
{
    gw_metrics_config *m = &p->cfg->metrics;
    const char *key = metrics_keys[idx];
    switch (idx) {
    case 0:
        if (!cfg_host_port(value)) {
            cfg_fail(p, p->line, key, "must be IP:PORT (e.g. 127.0.0.1:9464), got '%s'", value);
            break;
        }
        p->has_metrics_listen = cfg_copy_key(p, key, value, m->listen, sizeof m->listen, false);
        break;
    case 1:
        cfg_copy_key(p, key, value, m->port_file, sizeof m->port_file, true);
        break;
    }
}

static void cfg_tls_key(cfg_parser *p, int idx, const char *value)
{
    gw_tls_config *t = &p->cfg->tls;
    const char *key = tls_keys[idx];
    switch (idx) {
    case 0:
        cfg_copy_key(p, key, value, t->cert, sizeof t->cert, false);
        break;
    case 1:
        cfg_copy_key(p, key, value, t->key, sizeof t->key, false);
        break;
    case 2:
        cfg_copy_key(p, key, value, t->client_ca, sizeof t->client_ca, false);
        break;
    case 3:
        p->tls_insecure_line = p->line;
        if (strcmp(value, "true") == 0)
            t->insecure = true;
        else if (strcmp(value, "false") == 0)
            t->insecure = false;
        else
            cfg_fail(p, p->line, key, "must be true or false, got '%s'", value);
        break;
    }
}

/* "a, b,c": feed names separated by commas, blanks around them ignored. */
static void cfg_client_feeds(cfg_parser *p, gw_client *cl, const char *value)
{
    const char *c = value;
    for (;;) {
        while (*c == ' ' || *c == '\t')
            c++;
        size_t len = strcspn(c, ",");
        size_t end = len;
        while (end > 0 && (c[end - 1] == ' ' || c[end - 1] == '\t'))
            end--;
        char name[CUSTOS_FEED_MAX + 2];
        if (end == 0 || end > CUSTOS_FEED_MAX) {
            cfg_fail(p, p->line, "feeds", "a comma-separated list of feed names, got '%s'",
                     value);
            return;
        }
        memcpy(name, c, end);
        name[end] = '\0';
        if (!cfg_valid_feed_name(name)) {
            cfg_fail(p, p->line, "feeds", "'%s' is not a feed name", name);
            return;
        }
        for (size_t i = 0; i < cl->n_feeds; i++) {
            if (strcmp(cl->feeds[i], name) == 0) {
                cfg_fail(p, p->line, "feeds", "'%s' is listed twice", name);
                return;
            }
        }
        if (cl->n_feeds == GW_CLIENT_FEEDS_MAX) {
            cfg_fail(p, p->line, "feeds", "more than %d feeds", GW_CLIENT_FEEDS_MAX);
            return;
        }
        memcpy(cl->feeds[cl->n_feeds++], name, end + 1);
        if (c[len] == '\0')
            return;
        c += len + 1;
    }
}

static void cfg_client_key(cfg_parser *p, int idx, const char *value)
{
    gw_client *cl = &p->cfg->clients[p->cfg->n_clients - 1];
    cfg_client_lines *ll = &p->client_lines[p->cfg->n_clients - 1];
    switch (idx) {
    case 0:
        ll->feeds = p->line;
        cfg_client_feeds(p, cl, value);
        break;
    case 1:
        for (int r = 0; r < GW_CLIENT_ROLE_COUNT; r++) {
            if (strcmp(value, client_role_names[r]) == 0) {
                cl->role = (gw_client_role)r;
                ll->has_role = true;
                return;
            }
        }
        cfg_fail(p, p->line, client_keys[idx], "must be attestor, admin or reader, got '%s'",
                 value);
        break;
    }
}

static void cfg_limits_key(cfg_parser *p, int idx, const char *value)
{
    gw_limits_config *l = &p->cfg->limits;
    const char *key = limits_keys[idx];
    uint64_t v;
    switch (idx) {
    case 0:
        if (cfg_uint_key(p, key, value, 1, 1000000000u, &v))
            l->rate_per_second = v;
        break;
    case 1:
        if (cfg_uint_key(p, key, value, 1, 1000000000u, &v))
            l->burst = v;
        break;
    case 2:
        if (cfg_uint_key(p, key, value, 1, 1000000, &v))
            l->max_streams_per_client = (uint32_t)v;
        break;
    case 3:
        if (cfg_uint_key(p, key, value, 1, 1000000, &v))
            l->max_clients = (uint32_t)v;
        break;
    case 4:
        if (cfg_uint_key(p, key, value, 1, 86400, &v))
            l->stream_idle_seconds = (uint32_t)v;
        break;
    }
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
    cfg_parser *p = user;
    (void)section; /* the reader tracks sections itself, without inih's length limit */
    if (p->failed)
        return 0;
    const char *const *keys = NULL;
    switch (p->kind) {
    case SEC_GATEWAY: keys = gateway_keys; break;
    case SEC_FEED: keys = feed_keys; break;
    case SEC_SIGNER: keys = signer_keys; break;
    case SEC_EVM: keys = evm_keys; break;
    case SEC_METRICS: keys = metrics_keys; break;
    case SEC_TLS: keys = tls_keys; break;
    case SEC_CLIENT: keys = client_keys; break;
    case SEC_LIMITS: keys = limits_keys; break;
    case SEC_NONE:
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
        cfg_fail(p, p->line, name, "unknown key");
        return 0;
    }
    if (p->seen & (1u << idx)) {
        cfg_fail(p, p->line, name, "set twice in the same section");
        return 0;
    }
    p->seen |= 1u << idx;
    switch (p->kind) {
    case SEC_GATEWAY: cfg_gateway_key(p, idx, value); break;
    case SEC_FEED: cfg_feed_key(p, idx, value); break;
    case SEC_SIGNER: cfg_signer_key(p, idx, value); break;
    case SEC_EVM: cfg_evm_key(p, idx, value); break;
    case SEC_METRICS: cfg_metrics_key(p, idx, value); break;
    case SEC_TLS: cfg_tls_key(p, idx, value); break;
    case SEC_CLIENT: cfg_client_key(p, idx, value); break;
    case SEC_LIMITS: cfg_limits_key(p, idx, value); break;
    case SEC_NONE: break;
    }
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
    if (!cfg_valid_feed_name(name)) {
        cfg_fail(p, p->line, NULL, "a feed name is 1 to %d printable characters without blanks",
                 CUSTOS_FEED_MAX);
        return;
    }
    for (size_t i = 0; i < c->n_feeds; i++) {
        if (strcmp(c->feeds[i].name, name) == 0) {
            cfg_fail(p, p->line, NULL, "feed '%s' is already defined at line %d", name,
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
        cfg_fail(p, p->line, NULL, "a client name is the certificate's common name: 1 to %d "
                 "printable characters", GW_CLIENT_NAME_MAX);
        return;
    }
    for (size_t i = 0; i < c->n_clients; i++) {
        if (strcmp(c->clients[i].name, name) == 0) {
            cfg_fail(p, p->line, NULL, "client '%s' is already defined at line %d", name,
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
        cfg_fail(p, p->line, NULL, "a section header is '[name]' on one line");
        return;
    }
    memcpy(p->section, start + 1, len);
    p->section[len] = '\0';
    const char *rest = close + 1;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (*rest != '\0' && *rest != ';' && *rest != '#' && *rest != '\r' && *rest != '\n') {
        cfg_fail(p, p->line, NULL, "unexpected text after ']'");
        return;
    }
    p->section_line = p->line;
    p->seen = 0;
    if (strcmp(p->section, "gateway") == 0) {
        if (p->have_gateway) {
            cfg_fail(p, p->line, NULL, "section already defined at line %d", p->gateway_line);
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
            cfg_fail(p, p->line, NULL, "section already defined at line %d", p->evm_line);
            return;
        }
        p->have_evm = true;
        p->evm_line = p->line;
        p->kind = SEC_EVM;
        p->cfg->evm.enabled = true;
    } else if (strcmp(p->section, "metrics") == 0) {
        if (p->have_metrics) {
            cfg_fail(p, p->line, NULL, "section already defined at line %d", p->metrics_line);
            return;
        }
        p->have_metrics = true;
        p->metrics_line = p->line;
        p->kind = SEC_METRICS;
        p->cfg->metrics.enabled = true;
    } else if (strcmp(p->section, "tls") == 0) {
        if (p->have_tls) {
            cfg_fail(p, p->line, NULL, "section already defined at line %d", p->tls_line);
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
            cfg_fail(p, p->line, NULL, "section already defined at line %d", p->limits_line);
            return;
        }
        p->have_limits = true;
        p->limits_line = p->line;
        p->kind = SEC_LIMITS;
    } else {
        p->kind = SEC_NONE;
        cfg_fail(p, p->line, NULL, "unknown section (expected [gateway], [feed NAME], "
                                   "[signer LABEL], [evm], [metrics], [tls], [client NAME] "
                                   "or [limits])");
    }
}

/* inih's line source: one whole line per call, so the count is exact; a line too long
 * for inih's buffer is an error rather than being split in two. */
static char *cfg_read_line(char *str, int num, void *stream)
{
    cfg_parser *p = stream;
    if (p->failed || fgets(str, num, p->file) == NULL)
        return NULL;
    p->line++;
    size_t len = strlen(str);
    if (len == (size_t)num - 1 && str[len - 1] != '\n' && !feof(p->file)) {
        cfg_fail(p, p->line, NULL, "line longer than %d characters", num - 3);
        return NULL;
    }
    const char *s = str;
    if (p->line == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF)
        s += 3;
    if (*s == ' ' || *s == '\t') {
        const char *t = s + strspn(s, " \t\r\n");
        if (*t != '\0' && *t != ';' && *t != '#') {
            cfg_fail(p, p->line, NULL, "indented line (values cannot continue on a new line)");
            return NULL;
        }
        return str;
    }
    if (*s == '[')
        cfg_begin_section(p, s);
    else if (*s != ';' && *s != '#' && *s != '\r' && *s != '\n' && *s != '\0' &&
             strcspn(s, "=:") >= strcspn(s, ";"))
        cfg_fail(p, p->line, NULL, "expected 'key = value', got '%.*s'",
                 (int)(strcspn(s, "\r\n") < 40 ? strcspn(s, "\r\n") : 40), s);
    return p->failed ? NULL : str;
}

/* Runs after [gateway] is known complete: the adapter defaults to, and must equal, the
 * EIP-712 verifying contract (attestations signed for one adapter only verify there). */
static void cfg_validate_evm(cfg_parser *p)
{
    gw_evm_config *e = &p->cfg->evm;
    snprintf(p->section, sizeof p->section, "evm");
    if (!p->has_rpc_url) {
        cfg_fail(p, p->evm_line, "rpc_url", "required (the Ethereum node's JSON-RPC URL)");
        return;
    }
    if (!p->has_relayer_key) {
        cfg_fail(p, p->evm_line, "relayer_key", "required (key file of the account paying gas)");
        return;
    }
    if (!p->has_adapter) {
        memcpy(e->adapter, p->cfg->domain.verifying_contract, CUSTOS_ADDRESS_LEN);
    } else if (memcmp(e->adapter, p->cfg->domain.verifying_contract, CUSTOS_ADDRESS_LEN) != 0) {
        cfg_fail(p, p->evm_adapter_line, "adapter",
                 "differs from [gateway] verifying_contract: attestations signed for one "
                 "adapter are refused by any other");
        return;
    }
    if (p->has_state && p->cfg->store_backend == GW_STORE_POSTGRESQL) {
        cfg_fail(p, p->evm_line, "state",
                 "not used with a PostgreSQL store: the publisher keeps its state in the same "
                 "database, shared by the replicas; remove the key (see README, Upgrading)");
    } else if (!p->has_state && p->cfg->store_backend == GW_STORE_SQLITE) {
        int n = snprintf(e->state_path, sizeof e->state_path, "%s%s", p->cfg->store_path,
                         CFG_EVM_STATE_SUFFIX);
        if (n < 0 || (size_t)n >= sizeof e->state_path)
            cfg_fail(p, p->evm_line, "state", "default path (store + \"%s\") is too long; set it",
                     CFG_EVM_STATE_SUFFIX);
    }
}

/* Contradictions only: whether the gateway may start without TLS is decided at start
 * (gw_tls_server_credentials), where the files are read too. */
static void cfg_validate_tls(cfg_parser *p)
{
    const gw_config *c = p->cfg;
    const gw_tls_config *t = &c->tls;
    snprintf(p->section, sizeof p->section, "tls");
    bool has_cert = t->cert[0] != '\0', has_key = t->key[0] != '\0';
    if (has_cert != has_key) {
        cfg_fail(p, p->tls_line, has_cert ? "key" : "cert",
                 "required with %s (the server's PEM certificate chain and its private key)",
                 has_cert ? "cert" : "key");
        return;
    }
    if (t->insecure && (has_cert || t->client_ca[0] != '\0')) {
        cfg_fail(p, p->tls_insecure_line, "insecure",
                 "true contradicts cert/key/client_ca: remove insecure to serve TLS");
        return;
    }
    if (t->client_ca[0] != '\0' && !has_cert) {
        cfg_fail(p, p->tls_line, "client_ca", "needs cert and key (client certificates "
                 "only exist over TLS)");
        return;
    }
    for (size_t i = 0; i < c->n_clients && !p->failed; i++) {
        const gw_client *cl = &c->clients[i];
        const cfg_client_lines *ll = &p->client_lines[i];
        snprintf(p->section, sizeof p->section, "client %s", cl->name);
        if (t->client_ca[0] == '\0') {
            cfg_fail(p, ll->header, NULL, "[client] entries need [tls] client_ca: without "
                     "client certificates no caller can be identified");
        } else if (!ll->has_role) {
            cfg_fail(p, ll->header, "role", "required (attestor, admin or reader)");
        } else if (cl->role == GW_CLIENT_ATTESTOR && cl->n_feeds == 0) {
            cfg_fail(p, ll->header, "feeds", "required for an attestor (the feeds it may "
                     "submit for)");
        } else if (cl->role == GW_CLIENT_ADMIN && cl->n_feeds > 0) {
            cfg_fail(p, ll->feeds, "feeds", "an admin reads every feed: remove feeds");
        }
        for (size_t j = 0; j < cl->n_feeds && !p->failed; j++)
            if (gw_config_find_feed(c, cl->feeds[j]) == NULL)
                cfg_fail(p, ll->feeds, "feeds", "no [feed %s] section defines this feed",
                         cl->feeds[j]);
    }
}

static void cfg_validate(cfg_parser *p)
{
    gw_config *c = p->cfg;
    if (!p->have_gateway) {
        custos_error_set(p->err, CUSTOS_ERR_INVALID, "%s: the [gateway] section is missing",
                         p->path);
        p->failed = true;
        return;
    }
    snprintf(p->section, sizeof p->section, "gateway");
    if (!p->has_store)
        cfg_fail(p, p->gateway_line, "store",
                 "required (path of the SQLite database, or a postgresql:// URI)");
    if (!p->has_chain_id)
        cfg_fail(p, p->gateway_line, "chain_id", "required");
    if (!p->has_contract)
        cfg_fail(p, p->gateway_line, "verifying_contract", "required (the adapter's address)");

    if (p->have_evm && !p->failed)
        cfg_validate_evm(p);
    if (p->have_metrics && !p->has_metrics_listen && !p->failed) {
        snprintf(p->section, sizeof p->section, "metrics");
        cfg_fail(p, p->metrics_line, "listen", "required (e.g. 127.0.0.1:9464)");
    }

    if (!p->failed)
        cfg_validate_tls(p);

    for (size_t i = 0; i < c->n_signers && !p->failed; i++) {
        gw_signer *s = &c->signers[i];
        cfg_signer_lines *sl = &p->signer_lines[i];
        snprintf(p->section, sizeof p->section, "%s", sl->section);
        if (!sl->has_address) {
            cfg_fail(p, sl->header, "address", "required");
            break;
        }
        if (!sl->has_feed) {
            cfg_fail(p, sl->header, "feed", "required");
            break;
        }
        if (gw_config_find_feed(c, s->feed) == NULL) {
            cfg_fail(p, sl->feed, "feed", "no [feed %s] section defines this feed", s->feed);
            break;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->signers[j].feed, s->feed) == 0 &&
                memcmp(c->signers[j].address, s->address, CUSTOS_ADDRESS_LEN) == 0) {
                cfg_fail(p, sl->address, "address",
                         "already listed for feed '%s' in [%s] at line %d", s->feed,
                         p->signer_lines[j].section, p->signer_lines[j].header);
                break;
            }
        }
    }

    for (size_t i = 0; i < c->n_feeds && !p->failed; i++) {
        const gw_feed *f = &c->feeds[i];
        bool roles[GW_ROLE_COUNT] = {false};
        uint32_t signers = 0, distinct = 0;
        for (size_t j = 0; j < c->n_signers; j++) {
            const gw_signer *s = &c->signers[j];
            if (!s->active || strcmp(s->feed, f->name) != 0)
                continue;
            signers++;
            if (!roles[s->role]) {
                roles[s->role] = true;
                distinct++;
            }
        }
        uint32_t reachable = f->distinct_roles ? distinct : signers;
        if (reachable < f->threshold) {
            snprintf(p->section, sizeof p->section, "feed %s", f->name);
            int line = p->feed_lines[i].threshold ? p->feed_lines[i].threshold
                                                  : p->feed_lines[i].header;
            cfg_fail(p, line, "threshold",
                     "%" PRIu32 " can never be reached: the feed has %" PRIu32
                     " active signer%s%s", f->threshold, reachable, reachable == 1 ? "" : "s",
                     f->distinct_roles ? " with distinct roles" : "");
        }
    }
}

/* A breaker needs its larger quorum, and a larger quorum means nothing without a breaker. */
static void cfg_validate_breaker(cfg_parser *p)
{
    gw_config *c = p->cfg;
    for (size_t i = 0; i < c->n_feeds && !p->failed; i++) {
        const gw_feed *f = &c->feeds[i];
        const cfg_feed_lines *fl = &p->feed_lines[i];
        snprintf(p->section, sizeof p->section, "feed %s", f->name);
        if (f->breaker_rise_bps == 0 && fl->breaker_release_threshold != 0)
            cfg_fail(p, fl->breaker_release_threshold, "breaker_release_threshold",
                     "has no effect without breaker_rise_bps above 0");
        else if (f->breaker_rise_bps != 0 && fl->breaker_release_threshold == 0)
            cfg_fail(p, fl->breaker_rise_bps, "breaker_rise_bps",
                     "needs breaker_release_threshold (the signers that publish a held rise)");
        else if (f->breaker_rise_bps != 0 && f->breaker_release_threshold <= f->threshold)
            cfg_fail(p, fl->breaker_release_threshold, "breaker_release_threshold",
                     "must exceed threshold (%" PRIu32 "), got %" PRIu32, f->threshold,
                     f->breaker_release_threshold);
    }
}

/* max_age or max_age_business_days, not both; the calendar is loaded (and its errors
 * reported) only when a feed counts business days, so a feed in seconds needs none. */
static void cfg_validate_age(cfg_parser *p)
{
    gw_config *c = p->cfg;
    bool in_days = false;
    for (size_t i = 0; i < c->n_feeds && !p->failed; i++) {
        const cfg_feed_lines *fl = &p->feed_lines[i];
        if (fl->max_age_business_days == 0)
            continue;
        in_days = true;
        if (fl->max_age != 0) {
            snprintf(p->section, sizeof p->section, "feed %s", c->feeds[i].name);
            cfg_fail(p, fl->max_age_business_days, "max_age_business_days",
                     "give max_age (line %d) or max_age_business_days, not both", fl->max_age);
        }
    }
    if (p->failed || !in_days) {
        if (!p->failed && p->calendar_line != 0) {
            snprintf(p->section, sizeof p->section, "gateway");
            cfg_fail(p, p->calendar_line, "calendar",
                     "no feed sets max_age_business_days, so no calendar is used");
        }
        return;
    }
    c->calendar = calloc(1, sizeof *c->calendar);
    if (c->calendar == NULL) {
        custos_error_set(p->err, CUSTOS_ERR_NOMEM, "%s: out of memory", p->path);
        p->failed = true;
        return;
    }
    custos_error e;
    custos_error_clear(&e);
    custos_rc rc = c->calendar_path[0] != '\0'
                       ? custos_calendar_load(c->calendar_path, c->calendar, &e)
                       : custos_calendar_load_builtin(c->calendar, &e);
    if (rc != CUSTOS_OK) {
        snprintf(p->section, sizeof p->section, "gateway");
        if (p->calendar_line != 0)
            cfg_fail(p, p->calendar_line, "calendar", "%s", e.message);
        else
            custos_error_set(p->err, rc, "%s: the built-in calendar: %s", p->path, e.message);
        p->failed = true;
        return;
    }
    for (size_t i = 0; i < c->n_feeds; i++)
        if (c->feeds[i].max_age_business_days != 0)
            c->feeds[i].calendar = c->calendar;
}

custos_rc gw_config_load(const char *path, gw_config *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    custos_error_clear(err);
    snprintf(out->listen, sizeof out->listen, "%s", CFG_DEFAULT_LISTEN);
    out->max_message_bytes = CFG_DEFAULT_MAX_MESSAGE;
    out->commit_batch_max = CFG_DEFAULT_BATCH;
    out->commit_delay_us = CFG_DEFAULT_DELAY_US;
    out->replica_poll_ms = CFG_DEFAULT_REPLICA_POLL_MS;
    out->max_rotation_overlap = CFG_DEFAULT_ROTATION_OVERLAP;
    out->evm.confirmations = CFG_EVM_CONFIRMATIONS;
    out->evm.poll_interval_ms = CFG_EVM_POLL_MS;
    out->evm.leader_retry_ms = CFG_EVM_LEADER_RETRY_MS;
    out->evm.unreachable_after_ms = CFG_EVM_UNREACHABLE_MS;
    out->evm.heartbeat_seconds = CFG_EVM_HEARTBEAT;
    out->evm.deviation_bps = CFG_EVM_DEVIATION_BPS;
    out->evm.fee_bump_after_seconds = CFG_EVM_FEE_BUMP_AFTER;
    out->evm.max_fee_gwei = CFG_EVM_MAX_FEE_GWEI;
    out->evm.priority_fee_gwei = CFG_EVM_PRIORITY_GWEI;
    out->evm.gas_limit_margin_bps = CFG_EVM_GAS_MARGIN_BPS;
    out->limits.rate_per_second = CFG_LIMITS_RATE;
    out->limits.burst = CFG_LIMITS_BURST;
    out->limits.max_streams_per_client = CFG_LIMITS_STREAMS;
    out->limits.max_clients = CFG_LIMITS_CLIENTS;
    out->limits.stream_idle_seconds = CFG_LIMITS_IDLE;

    cfg_parser p;
    memset(&p, 0, sizeof p);
    p.path = path;
    p.cfg = out;
    p.err = err;
    p.file = fopen(path, "r");
    if (p.file == NULL)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot open: %s", path,
                                strerror(errno));
    int rc = ini_parse_stream(cfg_read_line, &p, cfg_handler, &p);
    bool read_error = ferror(p.file) != 0;
    fclose(p.file);
    if (!p.failed && read_error) {
        custos_error_set(err, CUSTOS_ERR_IO, "%s:%d: read error", path, p.line);
        p.failed = true;
    }
    if (!p.failed && rc != 0) {
        /* inih's own syntax errors: a line that is neither a header nor key = value. */
        int line = rc > 0 ? rc : p.line;
        custos_error_set(err, CUSTOS_ERR_INVALID, "%s:%d: [%s]: expected 'key = value'", path,
                         line, p.section);
        p.failed = true;
    }
    if (!p.failed)
        cfg_validate(&p);
    if (!p.failed)
        cfg_validate_age(&p);
    if (!p.failed)
        cfg_validate_breaker(&p);
    free(p.feed_lines);
    free(p.signer_lines);
    free(p.client_lines);
    if (p.failed) {
        gw_config_clear(out);
        return err != NULL && err->code != CUSTOS_OK ? err->code : CUSTOS_ERR_INVALID;
    }
    return CUSTOS_OK;
}

void gw_config_clear(gw_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->feeds);
    free(cfg->signers);
    free(cfg->clients);
    if (cfg->calendar != NULL) {
        custos_calendar_free(cfg->calendar);
        free(cfg->calendar);
    }
    memset(cfg, 0, sizeof *cfg);
}

const gw_feed *gw_config_find_feed(const gw_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_feeds; i++)
        if (strcmp(cfg->feeds[i].name, name) == 0)
            return &cfg->feeds[i];
    return NULL;
}

const gw_signer *gw_config_find_signer(const gw_config *cfg, const char *feed,
                                       const uint8_t address[CUSTOS_ADDRESS_LEN])
{
    for (size_t i = 0; i < cfg->n_signers; i++) {
        const gw_signer *s = &cfg->signers[i];
        if (memcmp(s->address, address, CUSTOS_ADDRESS_LEN) == 0 && strcmp(s->feed, feed) == 0)
            return s;
    }
    return NULL;
}

const gw_signer *gw_config_find_signer_any(const gw_config *cfg,
                                           const uint8_t address[CUSTOS_ADDRESS_LEN])
{
    for (size_t i = 0; i < cfg->n_signers; i++)
        if (memcmp(cfg->signers[i].address, address, CUSTOS_ADDRESS_LEN) == 0)
            return &cfg->signers[i];
    return NULL;
}

const gw_client *gw_config_find_client(const gw_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_clients; i++)
        if (strcmp(cfg->clients[i].name, name) == 0)
            return &cfg->clients[i];
    return NULL;
}
