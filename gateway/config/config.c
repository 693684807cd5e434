/* The gateway's configuration file.
 *
 * inih splits lines into key = value pairs and strips comments; the files of config/ do
 * the rest (parser.h). They read the file through their own line reader so that they
 * always know the current line number and see every section header (inih reports
 * neither), which is what lets every message name the file, the line, the section and
 * the key, and lets an empty [feed x] section still count as a feed. */
#include "config/parser.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

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
    [GW_CLIENT_AUDITOR] = "auditor",
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
    out->evm.exposure_timeout_ms = CFG_EVM_EXPOSURE_TIMEOUT_MS;
    out->evm.heartbeat_seconds = CFG_EVM_HEARTBEAT;
    out->evm.deviation_bps = CFG_EVM_DEVIATION_BPS;
    out->evm.fee_bump_after_seconds = CFG_EVM_FEE_BUMP_AFTER;
    out->evm.max_fee_gwei = CFG_EVM_MAX_FEE_GWEI;
    out->evm.priority_fee_gwei = CFG_EVM_PRIORITY_GWEI;
    out->evm.gas_limit_margin_bps = CFG_EVM_GAS_MARGIN_BPS;
    out->evm.expiry_lead_seconds = CFG_EVM_EXPIRY_LEAD;
    out->evm.low_balance_gwei = CFG_EVM_LOW_BALANCE_GWEI;
    out->evm.drift_check_seconds = CFG_EVM_DRIFT_CHECK;
    out->evm.max_lag_records = CFG_EVM_MAX_LAG_RECORDS;
    out->evm.batch_max_accounts = CFG_EVM_BATCH_MAX_ACCOUNTS;
    out->limits.rate_per_second = CFG_LIMITS_RATE;
    out->limits.burst = CFG_LIMITS_BURST;
    out->limits.max_streams_per_client = CFG_LIMITS_STREAMS;
    out->limits.max_clients = CFG_LIMITS_CLIENTS;
    out->limits.stream_idle_seconds = CFG_LIMITS_IDLE;
    snprintf(out->tls.client_identity_header, sizeof out->tls.client_identity_header, "%s",
             GW_IDENTITY_HEADER_DEFAULT);
    out->limits.max_concurrent_streams = CFG_LIMITS_H2_STREAMS;
    out->limits.max_metadata_bytes = CFG_LIMITS_METADATA;
    out->limits.memory_limit_mib = CFG_LIMITS_MEMORY_MIB;
    out->limits.max_connection_idle_seconds = CFG_LIMITS_CONN_IDLE;
    out->limits.max_connection_age_seconds = CFG_LIMITS_CONN_AGE;
    out->limits.max_pending_per_signer = CFG_LIMITS_PENDING_SIGNER;
    out->limits.max_pending_bytes_per_signer = CFG_LIMITS_PENDING_SIGNER_BYTES;
    out->limits.max_pending_per_feed = CFG_LIMITS_PENDING_FEED;
    out->limits.max_pending_bytes_per_feed = CFG_LIMITS_PENDING_FEED_BYTES;
    out->limits.pending_max_age_seconds = CFG_LIMITS_PENDING_AGE;
    out->limits.max_connection_age_grace_seconds = CFG_LIMITS_CONN_AGE_GRACE;
    out->limits.keepalive_time_seconds = CFG_LIMITS_KEEPALIVE_TIME;
    out->limits.keepalive_timeout_seconds = CFG_LIMITS_KEEPALIVE_TIMEOUT;

    cfg_parser p;
    memset(&p, 0, sizeof p);
    p.path = path;
    p.cfg = out;
    p.err = err;
    p.file = fopen(path, "r");
    if (p.file == NULL)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot open: %s", path,
                                strerror(errno));
    int rc = ini_parse_stream(gw_cfg_read_line, &p, gw_cfg_handler, &p);
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
        gw_cfg_validate(&p);
    free(p.feed_lines);
    free(p.signer_lines);
    free(p.client_lines);
    if (p.failed) {
        gw_config_clear(out);
        return err != NULL && err->code != CUSTOS_OK ? err->code : CUSTOS_ERR_INVALID;
    }
    return CUSTOS_OK;
}

void gw_config_drop_accounts(gw_config *cfg)
{
    free(cfg->accounts);
    cfg->accounts = NULL;
    cfg->n_accounts = 0;
}

void gw_config_clear(gw_config *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->feeds);
    free(cfg->signers);
    free(cfg->accounts);
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

size_t gw_config_workers(const gw_config *cfg, long cores)
{
    if (cfg->workers > 0)
        return cfg->workers;
    /* These threads decode and dispatch; verification has a thread per core of its own, and
     * over a stream of singles a verifier spends four to five times their CPU on each
     * attestation. A second thread waiting on gRPC's one epoll set is woken to poll in the
     * first one's place whenever the first takes an event back to its queue: a wake-up and a
     * switch per call (bench/README.md, "A sixth step"). */
    return cores > 4 ? ((size_t)cores + 3) / 4 : 1;
}
