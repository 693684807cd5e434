/* Every section's keys and what each accepts (parser.h). */
#include "config/parser.h"
#include "rpc/proxy_identity.h"

#include "custos/batch.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Keys of each section kind; the index is the key's bit in parser.seen. */
static const char *const gateway_keys[] = {"listen", "store", "chain_id", "verifying_contract",
                                           "max_message_bytes", "workers", "commit_batch_max",
                                           "commit_delay_us", "port_file", "replica_poll_ms",
                                           "calendar", "max_rotation_overlap", "public_proofs",
                                           "release_without_exposure_check", "audit_anchor",
                                           NULL};
static const char *const feed_keys[] = {"max_age", "max_skew", "max_ttl", "threshold",
                                        "distinct_roles", "max_age_business_days",
                                        "breaker_rise_bps", "breaker_release_threshold",
                                        "max_sequence_step", "reserves_quorum", "accounts",
                                        "accounts_file", NULL};
static const char *const signer_keys[] = {"address", "feed", "role", "status", "not_after",
                                          "replaced_by", NULL};
static const char *const evm_keys[] = {"rpc_url", "relayer_key", "adapter", "confirmations",
                                       "poll_interval_ms", "heartbeat_seconds", "deviation_bps",
                                       "fee_bump_after_seconds", "max_fee_gwei",
                                       "priority_fee_gwei", "gas_limit_margin_bps", "state",
                                       "leader_retry_ms", "unreachable_after_ms",
                                       "expiry_lead_seconds", "low_balance_gwei",
                                       "relayer_pkcs11_module", "relayer_pkcs11_token",
                                       "relayer_pkcs11_key", "relayer_pkcs11_pin_file",
                                       "exposure_timeout_ms", "max_lag_records",
                                       "drift_check_seconds", "batch_max_accounts",
                                       "drift_from_block", NULL};
static const char *const metrics_keys[] = {"listen", "port_file", NULL};
static const char *const tls_keys[] = {"cert", "key", "client_ca", "insecure",
                                       "client_identity", "client_identity_header", NULL};
static const char *const client_keys[] = {"feeds", "role", NULL};
static const char *const limits_keys[] = {"rate_per_second", "burst", "max_streams_per_client",
                                          "max_clients", "stream_idle_seconds",
                                          "max_concurrent_streams", "max_metadata_bytes",
                                          "memory_limit_mib", "max_connection_idle_seconds",
                                          "max_connection_age_seconds", "max_pending_per_signer",
                                          "max_pending_bytes_per_signer", "max_pending_per_feed",
                                          "max_pending_bytes_per_feed", "pending_max_age_seconds",
                                          "max_connection_age_grace_seconds",
                                          "keepalive_time_seconds", "keepalive_timeout_seconds",
                                          NULL};

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
        gw_cfg_fail(p, p->line, key, "the PostgreSQL URI carries a password; remove it and give "
                                  "it in PGPASSWORD or a password file (PGPASSFILE)");
}

static void cfg_gateway_key(cfg_parser *p, int idx, const char *value)
{
    gw_config *c = p->cfg;
    const char *key = gateway_keys[idx];
    uint64_t v;
    switch (idx) {
    case 0:
        gw_cfg_copy_key(p, key, value, c->listen, sizeof c->listen, false);
        break;
    case 1:
        p->has_store = gw_cfg_copy_key(p, key, value, c->store_path, sizeof c->store_path, false);
        if (p->has_store)
            cfg_store_key(p, key, c);
        break;
    case 2:
        if (gw_cfg_uint_key(p, key, value, 1, UINT64_MAX, &v)) {
            c->domain.chain_id = v;
            p->has_chain_id = true;
        }
        break;
    case 3:
        p->has_contract = gw_cfg_address_key(p, key, value, c->domain.verifying_contract);
        break;
    case 4:
        if (gw_cfg_uint_key(p, key, value, 1, 2147483647u, &v))
            c->max_message_bytes = (size_t)v;
        break;
    case 5:
        if (gw_cfg_uint_key(p, key, value, 0, 1024, &v))
            c->workers = (unsigned)v;
        break;
    case 6:
        if (gw_cfg_uint_key(p, key, value, 1, 65536, &v))
            c->commit_batch_max = (unsigned)v;
        break;
    case 7:
        if (gw_cfg_uint_key(p, key, value, 0, 1000000, &v))
            c->commit_delay_us = (unsigned)v;
        break;
    case 8:
        gw_cfg_copy_key(p, key, value, c->port_file, sizeof c->port_file, true);
        break;
    case 9:
        if (gw_cfg_uint_key(p, key, value, 1, 60000, &v))
            c->replica_poll_ms = (unsigned)v;
        break;
    case 10:
        if (gw_cfg_copy_key(p, key, value, c->calendar_path, sizeof c->calendar_path, false))
            p->calendar_line = p->line;
        break;
    case 11:
        gw_cfg_uint_key(p, key, value, 1, CFG_MAX_ROTATION_OVERLAP, &c->max_rotation_overlap);
        break;
    case 12:
        if (strcmp(value, "true") == 0)
            c->public_proofs = true;
        else if (strcmp(value, "false") == 0)
            c->public_proofs = false;
        else
            gw_cfg_fail(p, p->line, key, "must be true or false, got '%s'", value);
        break;
    case 13:
        if (strcmp(value, "true") == 0)
            c->release_unchecked = true;
        else if (strcmp(value, "false") == 0)
            c->release_unchecked = false;
        else
            gw_cfg_fail(p, p->line, key, "must be true or false, got '%s'", value);
        p->release_unchecked_line = p->line;
        break;
    case 14:
        gw_cfg_copy_key(p, key, value, c->audit_anchor, sizeof c->audit_anchor, false);
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
        if (gw_cfg_uint_key(p, key, value, 1, CFG_MAX_SECONDS, &v)) {
            f->max_age = v;
            p->feed_lines[p->cfg->n_feeds - 1].max_age = p->line;
        }
        break;
    case 1:
        if (gw_cfg_uint_key(p, key, value, 0, CFG_MAX_SECONDS, &v))
            f->max_skew = v;
        break;
    case 2:
        if (gw_cfg_uint_key(p, key, value, 1, CFG_MAX_SECONDS, &v))
            f->max_ttl = v;
        break;
    case 3:
        if (gw_cfg_uint_key(p, key, value, 1, CUSTOS_MAX_SIGNATURES, &v)) {
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
            gw_cfg_fail(p, p->line, key, "must be true or false, got '%s'", value);
        break;
    case 5:
        if (gw_cfg_uint_key(p, key, value, 1, CFG_MAX_BUSINESS_DAYS, &v)) {
            f->max_age_business_days = (uint32_t)v;
            p->feed_lines[p->cfg->n_feeds - 1].max_age_business_days = p->line;
        }
        break;
    case 6:
        if (gw_cfg_uint_key(p, key, value, 0, CFG_MAX_BREAKER_BPS, &v)) {
            f->breaker_rise_bps = (uint32_t)v;
            p->feed_lines[p->cfg->n_feeds - 1].breaker_rise_bps = p->line;
        }
        break;
    case 7:
        if (gw_cfg_uint_key(p, key, value, 1, CUSTOS_MAX_SIGNATURES, &v)) {
            f->breaker_release_threshold = (uint32_t)v;
            p->feed_lines[p->cfg->n_feeds - 1].breaker_release_threshold = p->line;
        }
        break;
    case 8:
        if (gw_cfg_uint_key(p, key, value, 1, CFG_MAX_SECONDS, &v))
            f->max_sequence_step = (uint32_t)v;
        break;
    case 9:
        if (strcmp(value, "true") == 0)
            f->reserves_quorum = true;
        else if (strcmp(value, "false") == 0)
            f->reserves_quorum = false;
        else
            gw_cfg_fail(p, p->line, key, "must be true or false, got '%s'", value);
        break;
    case 10:
        gw_cfg_feed_accounts(p, key, value);
        break;
    case 11:
        gw_cfg_feed_accounts_file(p, key, value);
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
        sl->has_address = gw_cfg_address_key(p, key, value, s->address);
        sl->address = p->line;
        break;
    case 1:
        sl->has_feed = gw_cfg_copy_key(p, key, value, s->feed, sizeof s->feed, false);
        sl->feed = p->line;
        break;
    case 2:
        for (int r = 0; r < GW_ROLE_COUNT; r++) {
            if (strcmp(value, gw_role_name((gw_role)r)) == 0) {
                s->role = (gw_role)r;
                return;
            }
        }
        gw_cfg_fail(p, p->line, key,
                    "must be custodian, valuation_agent, fund_administrator or auditor, got '%s'",
                    value);
        break;
    case 3:
        if (strcmp(value, "active") == 0)
            s->active = true;
        else if (strcmp(value, "revoked") == 0)
            s->active = false;
        else
            gw_cfg_fail(p, p->line, key, "must be active or revoked, got '%s'", value);
        break;
    case 4:
        gw_cfg_uint_key(p, key, value, 1, UINT64_MAX, &s->not_after);
        sl->not_after = p->line;
        break;
    case 5:
        s->rotated = gw_cfg_address_key(p, key, value, s->replaced_by);
        sl->replaced_by = p->line;
        break;
    }
}

/* rpc_url: one or more node URLs separated by blanks, in order of preference (URLs hold
 * no blanks). Messages name a URL by its position, never echo it: node URLs often carry
 * an API key. */
static void cfg_rpc_urls(cfg_parser *p, const char *key, const char *value)
{
    gw_evm_config *e = &p->cfg->evm;
    e->n_rpc_urls = 0;
    const char *s = value;
    for (;;) {
        s += strspn(s, " \t");
        if (*s == '\0')
            break;
        size_t len = strcspn(s, " \t");
        size_t n = e->n_rpc_urls + 1;
        if (n > GW_EVM_MAX_NODES) {
            gw_cfg_fail(p, p->line, key, "more than %d URLs", GW_EVM_MAX_NODES);
            return;
        }
        if (!(len > 7 && strncmp(s, "http://", 7) == 0) &&
            !(len > 8 && strncmp(s, "https://", 8) == 0)) {
            gw_cfg_fail(p, p->line, key, "URL %zu must be an http:// or https:// URL", n);
            return;
        }
        if (len >= GW_EVM_URL_MAX) {
            gw_cfg_fail(p, p->line, key, "URL %zu is longer than %d bytes", n,
                        GW_EVM_URL_MAX - 1);
            return;
        }
        memcpy(e->rpc_urls[e->n_rpc_urls], s, len);
        e->rpc_urls[e->n_rpc_urls][len] = '\0';
        e->n_rpc_urls = n;
        s += len;
    }
    if (e->n_rpc_urls == 0) {
        gw_cfg_fail(p, p->line, key, "must not be empty");
        return;
    }
    p->has_rpc_url = true;
}

static void cfg_evm_key(cfg_parser *p, int idx, const char *value)
{
    gw_evm_config *e = &p->cfg->evm;
    const char *key = evm_keys[idx];
    uint64_t v;
    switch (idx) {
    case 0:
        cfg_rpc_urls(p, key, value);
        break;
    case 1:
        p->has_relayer_key =
            gw_cfg_copy_key(p, key, value, e->relayer_key, sizeof e->relayer_key, false);
        break;
    case 2:
        p->has_adapter = gw_cfg_address_key(p, key, value, e->adapter);
        p->evm_adapter_line = p->line;
        break;
    case 3:
        if (gw_cfg_uint_key(p, key, value, 1, 1000, &v))
            e->confirmations = v;
        break;
    case 4:
        if (gw_cfg_uint_key(p, key, value, 10, 3600000, &v))
            e->poll_interval_ms = v;
        break;
    case 5:
        if (gw_cfg_uint_key(p, key, value, 1, CFG_MAX_SECONDS, &v))
            e->heartbeat_seconds = v;
        break;
    case 6:
        if (gw_cfg_uint_key(p, key, value, 0, 10000, &v))
            e->deviation_bps = (uint32_t)v;
        break;
    case 7:
        if (gw_cfg_uint_key(p, key, value, 1, 86400, &v))
            e->fee_bump_after_seconds = v;
        break;
    case 8:
        if (gw_cfg_uint_key(p, key, value, 1, 1000000, &v))
            e->max_fee_gwei = v;
        break;
    case 9:
        if (gw_cfg_uint_key(p, key, value, 0, 1000000, &v))
            e->priority_fee_gwei = v;
        break;
    case 10:
        if (gw_cfg_uint_key(p, key, value, 0, 100000, &v))
            e->gas_limit_margin_bps = (uint32_t)v;
        break;
    case 11:
        p->has_state = gw_cfg_copy_key(p, key, value, e->state_path, sizeof e->state_path, false);
        break;
    case 12:
        if (gw_cfg_uint_key(p, key, value, 100, 600000, &v))
            e->leader_retry_ms = v;
        break;
    case 13:
        if (gw_cfg_uint_key(p, key, value, 100, 3600000, &v))
            e->unreachable_after_ms = v;
        break;
    case 14:
        /* At least a minute: a lead shorter than a block or two cannot land in time. */
        if (gw_cfg_uint_key(p, key, value, 60, 604800, &v))
            e->expiry_lead_seconds = v;
        break;
    case 15:
        if (gw_cfg_uint_key(p, key, value, 0, 1000000000000ull, &v))
            e->low_balance_gwei = v;
        break;
    case 16:
        gw_cfg_copy_key(p, key, value, e->relayer_pkcs11_module, sizeof e->relayer_pkcs11_module,
                        false);
        p->relayer_pkcs11_line = p->line;
        break;
    case 17:
        gw_cfg_copy_key(p, key, value, e->relayer_pkcs11_token, sizeof e->relayer_pkcs11_token,
                        false);
        p->relayer_pkcs11_line = p->line;
        break;
    case 18:
        gw_cfg_copy_key(p, key, value, e->relayer_pkcs11_key, sizeof e->relayer_pkcs11_key, false);
        p->relayer_pkcs11_line = p->line;
        break;
    case 19:
        gw_cfg_copy_key(p, key, value, e->relayer_pkcs11_pin_file,
                        sizeof e->relayer_pkcs11_pin_file, false);
        p->relayer_pkcs11_line = p->line;
        break;
    case 20:
        if (gw_cfg_uint_key(p, key, value, 100, 60000, &v))
            e->exposure_timeout_ms = v;
        break;
    case 21:
        if (gw_cfg_uint_key(p, key, value, 0, 1000000000u, &v))
            e->max_lag_records = v;
        break;
    case 22:
        gw_cfg_uint_key(p, key, value, 0, CFG_EVM_MAX_DRIFT_CHECK, &e->drift_check_seconds);
        break;
    case 23:
        gw_cfg_uint_key(p, key, value, 0, CUSTOS_BATCH_MAX_ACCOUNTS, &e->batch_max_accounts);
        break;
    case 24:
        gw_cfg_uint_key(p, key, value, 0, UINT64_MAX / 2, &e->drift_from_block);
        break;
    }
}

/* "IP:PORT" or "[IPv6]:PORT" with a numeric port; the address itself is checked when
 * the endpoint binds (it must be numeric: no name lookup at start-up). */
static bool cfg_host_port(const char *value)
{
    const char *colon = strrchr(value, ':');
    uint64_t port;
    return colon != NULL && colon != value && gw_cfg_parse_uint(colon + 1, 0, 65535, &port);
}

static void cfg_metrics_key(cfg_parser *p, int idx, const char *value)
{
    gw_metrics_config *m = &p->cfg->metrics;
    const char *key = metrics_keys[idx];
    switch (idx) {
    case 0:
        if (!cfg_host_port(value)) {
            gw_cfg_fail(p, p->line, key, "must be IP:PORT (e.g. 127.0.0.1:9464), got '%s'", value);
            break;
        }
        p->has_metrics_listen = gw_cfg_copy_key(p, key, value, m->listen, sizeof m->listen, false);
        break;
    case 1:
        gw_cfg_copy_key(p, key, value, m->port_file, sizeof m->port_file, true);
        break;
    }
}

static void cfg_tls_key(cfg_parser *p, int idx, const char *value)
{
    gw_tls_config *t = &p->cfg->tls;
    const char *key = tls_keys[idx];
    switch (idx) {
    case 0:
        gw_cfg_copy_key(p, key, value, t->cert, sizeof t->cert, false);
        break;
    case 1:
        gw_cfg_copy_key(p, key, value, t->key, sizeof t->key, false);
        break;
    case 2:
        gw_cfg_copy_key(p, key, value, t->client_ca, sizeof t->client_ca, false);
        break;
    case 3:
        p->tls_insecure_line = p->line;
        if (strcmp(value, "true") == 0)
            t->insecure = true;
        else if (strcmp(value, "false") == 0)
            t->insecure = false;
        else
            gw_cfg_fail(p, p->line, key, "must be true or false, got '%s'", value);
        break;
    case 4:
        p->tls_identity_line = p->line;
        if (strcmp(value, "certificate") == 0)
            t->client_identity = GW_IDENTITY_CERTIFICATE;
        else if (strcmp(value, "proxy-header") == 0)
            t->client_identity = GW_IDENTITY_PROXY_HEADER;
        else
            gw_cfg_fail(p, p->line, key, "must be certificate or proxy-header, got '%s'",
                        value);
        break;
    case 5:
        p->tls_header_line = p->line;
        if (!gw_proxy_identity_header_valid(value))
            gw_cfg_fail(p, p->line, key, "must be a lower-case header name of letters, digits "
                        "and '-', 1 to %d characters, not starting with grpc-, got '%s'",
                        GW_IDENTITY_HEADER_MAX, value);
        else
            gw_cfg_copy_key(p, key, value, t->client_identity_header,
                            sizeof t->client_identity_header, false);
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
            gw_cfg_fail(p, p->line, "feeds", "a comma-separated list of feed names, got '%s'",
                        value);
            return;
        }
        memcpy(name, c, end);
        name[end] = '\0';
        if (!gw_cfg_valid_feed_name(name)) {
            gw_cfg_fail(p, p->line, "feeds", "'%s' is not a feed name", name);
            return;
        }
        for (size_t i = 0; i < cl->n_feeds; i++) {
            if (strcmp(cl->feeds[i], name) == 0) {
                gw_cfg_fail(p, p->line, "feeds", "'%s' is listed twice", name);
                return;
            }
        }
        if (cl->n_feeds == GW_CLIENT_FEEDS_MAX) {
            gw_cfg_fail(p, p->line, "feeds", "more than %d feeds", GW_CLIENT_FEEDS_MAX);
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
            if (strcmp(value, gw_client_role_name((gw_client_role)r)) == 0) {
                cl->role = (gw_client_role)r;
                ll->has_role = true;
                return;
            }
        }
        gw_cfg_fail(p, p->line, client_keys[idx], "must be attestor, admin, reader or auditor, got '%s'",
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
        if (gw_cfg_uint_key(p, key, value, 1, 1000000000u, &v))
            l->rate_per_second = v;
        break;
    case 1:
        if (gw_cfg_uint_key(p, key, value, 1, 1000000000u, &v))
            l->burst = v;
        break;
    case 2:
        if (gw_cfg_uint_key(p, key, value, 1, 1000000, &v))
            l->max_streams_per_client = (uint32_t)v;
        break;
    case 3:
        if (gw_cfg_uint_key(p, key, value, 1, 1000000, &v))
            l->max_clients = (uint32_t)v;
        break;
    case 4:
        if (gw_cfg_uint_key(p, key, value, 1, 86400, &v))
            l->stream_idle_seconds = (uint32_t)v;
        break;
    case 5:
        if (gw_cfg_uint_key(p, key, value, 1, 10000, &v))
            l->max_concurrent_streams = (uint32_t)v;
        break;
    case 6:
        if (gw_cfg_uint_key(p, key, value, 1024, 1048576, &v))
            l->max_metadata_bytes = (uint32_t)v;
        break;
    case 7:
        if (gw_cfg_uint_key(p, key, value, 16, 65536, &v))
            l->memory_limit_mib = (uint32_t)v;
        break;
    case 8:
        if (gw_cfg_uint_key(p, key, value, 1, 2000000, &v))
            l->max_connection_idle_seconds = (uint32_t)v;
        break;
    case 9:
        if (gw_cfg_uint_key(p, key, value, 1, 2000000, &v))
            l->max_connection_age_seconds = (uint32_t)v;
        break;
    case 10:
        gw_cfg_uint_key(p, key, value, 1, 100000000u, &l->max_pending_per_signer);
        break;
    case 11:
        gw_cfg_uint_key(p, key, value, 4096, 1ull << 40, &l->max_pending_bytes_per_signer);
        break;
    case 12:
        gw_cfg_uint_key(p, key, value, 1, 1000000000u, &l->max_pending_per_feed);
        break;
    case 13:
        gw_cfg_uint_key(p, key, value, 4096, 1ull << 44, &l->max_pending_bytes_per_feed);
        break;
    case 14:
        gw_cfg_uint_key(p, key, value, 1, 31536000u, &l->pending_max_age_seconds);
        break;
    case 15:
        if (gw_cfg_uint_key(p, key, value, 1, 86400, &v))
            l->max_connection_age_grace_seconds = (uint32_t)v;
        break;
    case 16:
        if (gw_cfg_uint_key(p, key, value, 10, 86400, &v))
            l->keepalive_time_seconds = (uint32_t)v;
        break;
    case 17:
        if (gw_cfg_uint_key(p, key, value, 1, 3600, &v))
            l->keepalive_timeout_seconds = (uint32_t)v;
        break;
    }
}

const char *const *gw_cfg_section_keys(cfg_section_kind kind)
{
    switch (kind) {
    case SEC_GATEWAY: return gateway_keys;
    case SEC_FEED: return feed_keys;
    case SEC_SIGNER: return signer_keys;
    case SEC_EVM: return evm_keys;
    case SEC_METRICS: return metrics_keys;
    case SEC_TLS: return tls_keys;
    case SEC_CLIENT: return client_keys;
    case SEC_LIMITS: return limits_keys;
    case SEC_NONE: break;
    }
    return NULL;
}

void gw_cfg_apply_key(cfg_parser *p, int idx, const char *value)
{
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
}
