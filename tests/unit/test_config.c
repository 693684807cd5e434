/* The gateway's configuration file: a complete good file, defaults, and a table of bad
 * files each refused with a message naming the line and the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <grpc/grpc.h>

#include "config/config.h"
#include "custos/sig.h"
#include "rpc/channel_args.h"
#include "testutil.h"

#define ADDR_A "0x5FbDB2315678afecb367f032d93F642f64180aa3"
#define ADDR_B "0x1111111111111111111111111111111111111111"
#define ADDR_C "0x2222222222222222222222222222222222222222"
#define ADDR_D "0x3333333333333333333333333333333333333333"
#define ADDR_E "0x4444444444444444444444444444444444444444"

static const char good_config[] =
    "; Custos gateway\n"
    "[gateway]\n"
    "listen = 0.0.0.0:6000\n"
    "store = /tmp/custos.db   ; the database\n"
    "chain_id = 31337\n"
    "verifying_contract = " ADDR_A "\n"
    "max_message_bytes = 65536\n"
    "workers = 4\n"
    "commit_batch_max = 64\n"
    "commit_delay_us = 0\n"
    "port_file = /tmp/port\n"
    "replica_poll_ms = 1000\n"
    "public_proofs = true\n"
    "\n"
    "[feed acme-custody]\n"
    "max_age = 3600\n"
    "max_skew = 10\n"
    "max_ttl = 7200\n"
    "threshold = 2\n"
    "distinct_roles = true\n"
    "breaker_rise_bps = 2500\n"
    "breaker_release_threshold = 3\n"
    "max_sequence_step = 5000\n"
    "\n"
    "[feed beta]\n"
    "\n"
    "[signer acme ops 1]\n"
    "address = " ADDR_B "\n"
    "feed = acme-custody\n"
    "role = custodian\n"
    "[signer acme valuation]\n"
    "address = " ADDR_C "\n"
    "feed = acme-custody\n"
    "role = valuation_agent\n"
    "[signer old key]\n"
    "address = " ADDR_D "\n"
    "feed = acme-custody\n"
    "role = auditor\n"
    "status = revoked\n"
    "not_after = 1700000000\n"
    "replaced_by = " ADDR_E "\n"
    "[signer new key]\n"
    "address = " ADDR_E "\n"
    "feed = acme-custody\n"
    "role = auditor\n"
    "[signer beta]\n"
    "address = " ADDR_D "\n"
    "feed = beta\n";

typedef struct fixture {
    char dir[4096];
    char path[4200];
} fixture;

static int setup(void **state)
{
    static fixture f;
    tu_mkdtemp(f.dir, sizeof f.dir);
    snprintf(f.path, sizeof f.path, "%s/gateway.ini", f.dir);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    return 0;
}

static void addr(const char *hex, uint8_t out[CUSTOS_ADDRESS_LEN])
{
    custos_error err;
    assert_int_equal(custos_address_from_hex(hex, out, &err), CUSTOS_OK);
}

static void test_good_config(void **state)
{
    fixture *f = *state;
    tu_write_file(f->path, good_config);
    gw_config cfg;
    custos_error err;
    custos_rc rc = gw_config_load(f->path, &cfg, &err);
    if (rc != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_string_equal(cfg.listen, "0.0.0.0:6000");
    assert_string_equal(cfg.store_path, "/tmp/custos.db");
    assert_true(cfg.public_proofs);
    assert_int_equal(cfg.domain.chain_id, 31337);
    uint8_t a[CUSTOS_ADDRESS_LEN];
    addr(ADDR_A, a);
    assert_memory_equal(cfg.domain.verifying_contract, a, CUSTOS_ADDRESS_LEN);
    assert_int_equal(cfg.max_message_bytes, 65536);
    assert_int_equal(cfg.workers, 4);
    assert_int_equal(cfg.commit_batch_max, 64);
    assert_int_equal(cfg.commit_delay_us, 0);
    assert_string_equal(cfg.port_file, "/tmp/port");
    assert_int_equal(cfg.replica_poll_ms, 1000);

    assert_int_equal(cfg.n_feeds, 2);
    const gw_feed *acme = gw_config_find_feed(&cfg, "acme-custody");
    assert_non_null(acme);
    assert_int_equal(acme->max_age, 3600);
    assert_int_equal(acme->max_skew, 10);
    assert_int_equal(acme->max_ttl, 7200);
    assert_int_equal(acme->threshold, 2);
    assert_true(acme->distinct_roles);
    assert_int_equal(acme->breaker_rise_bps, 2500);
    assert_int_equal(acme->breaker_release_threshold, 3);
    assert_int_equal(acme->max_sequence_step, 5000);
    const gw_feed *beta = gw_config_find_feed(&cfg, "beta");
    assert_non_null(beta);
    assert_int_equal(beta->max_age, 86400);
    assert_int_equal(beta->max_skew, 300);
    assert_int_equal(beta->max_ttl, 604800);
    assert_int_equal(beta->threshold, 1);
    assert_false(beta->distinct_roles);
    assert_int_equal(beta->breaker_rise_bps, 0);
    assert_int_equal(beta->breaker_release_threshold, 0);
    assert_int_equal(beta->max_sequence_step, 1000000);
    assert_null(gw_config_find_feed(&cfg, "gamma"));

    assert_int_equal(cfg.n_signers, 5);
    uint8_t b[CUSTOS_ADDRESS_LEN], c[CUSTOS_ADDRESS_LEN], d[CUSTOS_ADDRESS_LEN],
        e[CUSTOS_ADDRESS_LEN];
    addr(ADDR_B, b);
    addr(ADDR_C, c);
    addr(ADDR_D, d);
    addr(ADDR_E, e);
    /* The rotated-out key names the key that replaced it (rule 2). */
    const gw_signer *old = gw_config_find_signer(&cfg, "acme-custody", d);
    assert_non_null(old);
    assert_true(old->rotated);
    assert_memory_equal(old->replaced_by, e, CUSTOS_ADDRESS_LEN);
    assert_false(gw_config_find_signer(&cfg, "acme-custody", e)->rotated);
    addr(ADDR_D, d);
    const gw_signer *s = gw_config_find_signer(&cfg, "acme-custody", b);
    assert_non_null(s);
    assert_int_equal(s->role, GW_ROLE_CUSTODIAN);
    assert_true(s->active);
    s = gw_config_find_signer(&cfg, "acme-custody", c);
    assert_non_null(s);
    assert_int_equal(s->role, GW_ROLE_VALUATION_AGENT);
    s = gw_config_find_signer(&cfg, "acme-custody", d);
    assert_non_null(s);
    assert_int_equal(s->role, GW_ROLE_AUDITOR);
    assert_false(s->active);
    assert_int_equal(s->not_after, 1700000000);
    s = gw_config_find_signer(&cfg, "beta", d);
    assert_non_null(s);
    assert_true(s->active);
    assert_int_equal(s->not_after, 0);
    assert_null(gw_config_find_signer(&cfg, "beta", b));
    assert_non_null(gw_config_find_signer_any(&cfg, b));
    assert_null(gw_config_find_signer_any(&cfg, a));
    assert_string_equal(gw_role_name(GW_ROLE_FUND_ADMINISTRATOR), "fund_administrator");
    gw_config_clear(&cfg);
    assert_null(cfg.feeds);
}

static void test_defaults(void **state)
{
    fixture *f = *state;
    tu_write_file(f->path, "[gateway]\n"
                           "store = x.db\n"
                           "chain_id = 1\n"
                           "verifying_contract = " ADDR_B "\n"
                           "[feed f]\n"
                           "[signer s]\n"
                           "address = " ADDR_C "\n"
                           "feed = f\n");
    gw_config cfg;
    custos_error err;
    custos_rc rc = gw_config_load(f->path, &cfg, &err);
    if (rc != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_string_equal(cfg.listen, "127.0.0.1:50051");
    assert_int_equal(cfg.max_message_bytes, 1024 * 1024);
    assert_int_equal(cfg.workers, 0);
    assert_int_equal(cfg.commit_batch_max, 512);
    assert_int_equal(cfg.commit_delay_us, 500);
    assert_string_equal(cfg.port_file, "");
    assert_int_equal(cfg.replica_poll_ms, 200);
    assert_int_equal(cfg.signers[0].role, GW_ROLE_CUSTODIAN);
    assert_true(cfg.signers[0].active);
    assert_false(cfg.evm.enabled);
    assert_false(cfg.metrics.enabled);
    assert_int_equal(cfg.limits.rate_per_second, 20000);
    assert_int_equal(cfg.limits.burst, 40000);
    assert_int_equal(cfg.limits.max_streams_per_client, 64);
    assert_int_equal(cfg.limits.max_clients, 4096);
    assert_int_equal(cfg.limits.stream_idle_seconds, 300);
    assert_int_equal(cfg.limits.max_concurrent_streams, 100);
    assert_int_equal(cfg.limits.max_metadata_bytes, 8192);
    assert_int_equal(cfg.limits.memory_limit_mib, 128);
    assert_int_equal(cfg.limits.max_connection_idle_seconds, 900);
    assert_int_equal(cfg.limits.max_connection_age_seconds, 86400);
    assert_int_equal(cfg.limits.max_pending_per_signer, 10000);
    assert_int_equal(cfg.limits.max_pending_bytes_per_signer, 64 * 1024 * 1024);
    assert_int_equal(cfg.limits.max_pending_per_feed, 100000);
    assert_int_equal(cfg.limits.max_pending_bytes_per_feed, 1024ull * 1024 * 1024);
    assert_int_equal(cfg.limits.pending_max_age_seconds, 604800);
    assert_string_equal(cfg.audit_anchor, "");
    assert_int_equal(cfg.limits.max_connection_age_grace_seconds, 60);
    assert_int_equal(cfg.limits.keepalive_time_seconds, 60);
    assert_int_equal(cfg.limits.keepalive_timeout_seconds, 20);
    assert_int_equal(cfg.tls.client_identity, GW_IDENTITY_CERTIFICATE);
    assert_string_equal(cfg.tls.client_identity_header, "x-custos-client-cn");
    assert_false(cfg.public_proofs);
    assert_false(cfg.release_unchecked);
    assert_int_equal(cfg.evm.exposure_timeout_ms, 3000);
    gw_config_clear(&cfg);
}

/* max_age_business_days loads the built-in calendar, or the file [gateway] calendar names;
 * feeds counted in seconds get none. */
static void test_business_days(void **state)
{
    fixture *f = *state;
    static const char *const head = "[gateway]\nstore = x.db\nchain_id = 1\n"
                                    "verifying_contract = " ADDR_B "\n";
    static const char *const feeds = "[feed days]\nmax_age_business_days = 2\n"
                                     "[feed secs]\nmax_age = 60\n"
                                     "[signer s]\naddress = " ADDR_C "\nfeed = days\n"
                                     "[signer t]\naddress = " ADDR_C "\nfeed = secs\n";
    char text[5000], cal[4300];
    snprintf(text, sizeof text, "%s%s", head, feeds);
    tu_write_file(f->path, text);
    gw_config cfg;
    custos_error err;
    custos_rc rc = gw_config_load(f->path, &cfg, &err);
    if (rc != CUSTOS_OK)
        fail_msg("%s", err.message);
    const gw_feed *days = gw_config_find_feed(&cfg, "days");
    const gw_feed *secs = gw_config_find_feed(&cfg, "secs");
    assert_non_null(cfg.calendar);
    assert_int_equal(days->max_age_business_days, 2);
    assert_ptr_equal(days->calendar, cfg.calendar);
    assert_int_equal(secs->max_age_business_days, 0);
    assert_null(secs->calendar);
    assert_true(cfg.calendar->n_closes > 0);
    gw_config_clear(&cfg);

    snprintf(cal, sizeof cal, "%s/cal.txt", f->dir);
    tu_write_file(cal, "covers 2030 2031\n2030-12-25  # Christmas Day\n");
    snprintf(text, sizeof text, "%scalendar = %s\n%s", head, cal, feeds);
    tu_write_file(f->path, text);
    rc = gw_config_load(f->path, &cfg, &err);
    if (rc != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_string_equal(cfg.calendar_path, cal);
    assert_int_equal(cfg.calendar->first_year, 2030);
    assert_int_equal(cfg.calendar->n_closes, 1);
    gw_config_clear(&cfg);

    tu_write_file(cal, "covers 2030 2031\n2030-12-28\n");
    assert_int_not_equal(gw_config_load(f->path, &cfg, &err), CUSTOS_OK);
    assert_non_null(strstr(err.message, "[gateway] calendar"));
    assert_non_null(strstr(err.message, "cal.txt:2"));
    assert_null(cfg.calendar);
}

#define EVM_BASE "[gateway]\nstore = /var/lib/custos.db\nchain_id = 1\n" \
                 "verifying_contract = " ADDR_A "\n[feed f]\n" \
                 "[signer s]\naddress = " ADDR_C "\nfeed = f\n"

static void test_evm_section(void **state)
{
    fixture *f = *state;
    tu_write_file(f->path, EVM_BASE "[evm]\n"
                                    "rpc_url = https://node.example/v3/secret\n"
                                    "relayer_key = /etc/custos/relayer.key\n"
                                    "adapter = " ADDR_A "\n"
                                    "confirmations = 3\n"
                                    "poll_interval_ms = 250\n"
                                    "heartbeat_seconds = 3600\n"
                                    "deviation_bps = 0\n"
                                    "fee_bump_after_seconds = 30\n"
                                    "max_fee_gwei = 200\n"
                                    "priority_fee_gwei = 0\n"
                                    "gas_limit_margin_bps = 5000\n"
                                    "state = /var/lib/pub.db\n"
                                    "leader_retry_ms = 500\n"
                                    "unreachable_after_ms = 3000\n");
    gw_config cfg;
    custos_error err;
    custos_rc rc = gw_config_load(f->path, &cfg, &err);
    if (rc != CUSTOS_OK)
        fail_msg("%s", err.message);
    const gw_evm_config *e = &cfg.evm;
    assert_true(e->enabled);
    assert_int_equal(e->n_rpc_urls, 1);
    assert_string_equal(e->rpc_urls[0], "https://node.example/v3/secret");
    assert_string_equal(e->relayer_key, "/etc/custos/relayer.key");
    uint8_t a[CUSTOS_ADDRESS_LEN];
    addr(ADDR_A, a);
    assert_memory_equal(e->adapter, a, CUSTOS_ADDRESS_LEN);
    assert_int_equal(e->confirmations, 3);
    assert_int_equal(e->poll_interval_ms, 250);
    assert_int_equal(e->heartbeat_seconds, 3600);
    assert_int_equal(e->deviation_bps, 0);
    assert_int_equal(e->fee_bump_after_seconds, 30);
    assert_int_equal(e->max_fee_gwei, 200);
    assert_int_equal(e->priority_fee_gwei, 0);
    assert_int_equal(e->gas_limit_margin_bps, 5000);
    assert_string_equal(e->state_path, "/var/lib/pub.db");
    assert_int_equal(e->leader_retry_ms, 500);
    assert_int_equal(e->unreachable_after_ms, 3000);
    gw_config_clear(&cfg);
}

static void test_evm_defaults(void **state)
{
    fixture *f = *state;
    tu_write_file(f->path, EVM_BASE "[evm]\n"
                                    "rpc_url = http://127.0.0.1:8545\n"
                                    "relayer_key = relayer.key\n");
    gw_config cfg;
    custos_error err;
    custos_rc rc = gw_config_load(f->path, &cfg, &err);
    if (rc != CUSTOS_OK)
        fail_msg("%s", err.message);
    const gw_evm_config *e = &cfg.evm;
    assert_true(e->enabled);
    assert_memory_equal(e->adapter, cfg.domain.verifying_contract, CUSTOS_ADDRESS_LEN);
    assert_int_equal(e->confirmations, 1);
    assert_int_equal(e->poll_interval_ms, 500);
    assert_int_equal(e->heartbeat_seconds, 86400);
    assert_int_equal(e->deviation_bps, 50);
    assert_int_equal(e->fee_bump_after_seconds, 60);
    assert_int_equal(e->max_fee_gwei, 500);
    assert_int_equal(e->priority_fee_gwei, 1);
    assert_int_equal(e->gas_limit_margin_bps, 2000);
    assert_string_equal(e->state_path, "/var/lib/custos.db-publisher.db");
    assert_int_equal(e->leader_retry_ms, 2000);
    assert_int_equal(e->unreachable_after_ms, 10000);
    assert_int_equal(e->expiry_lead_seconds, 3600);
    assert_int_equal(e->low_balance_gwei, 100000000);
    assert_int_equal(e->max_lag_records, 10000);
    assert_int_equal(e->batch_max_accounts, 100);
    assert_int_equal(e->n_rpc_urls, 1);
    assert_string_equal(e->rpc_urls[0], "http://127.0.0.1:8545");
    assert_string_equal(e->relayer_pkcs11_module, "");
    gw_config_clear(&cfg);
}

/* Several nodes in order of preference, and the relayer's key in a token. */
static void test_evm_nodes_and_token(void **state)
{
    fixture *f = *state;
    tu_write_file(f->path, EVM_BASE "[evm]\n"
                                    "rpc_url = https://a.example/v3/k1\thttps://b.example/?key=k2 "
                                    " http://127.0.0.1:8545\n"
                                    "relayer_pkcs11_module = /usr/lib/softhsm/libsofthsm2.so\n"
                                    "relayer_pkcs11_token = relayers\n"
                                    "relayer_pkcs11_key = relayer-1\n"
                                    "relayer_pkcs11_pin_file = /run/credentials/pin\n"
                                    "expiry_lead_seconds = 7200\n"
                                    "low_balance_gwei = 0\n"
                                    "max_lag_records = 0\n"
                                    "batch_max_accounts = 0\n");
    gw_config cfg;
    custos_error err;
    custos_rc rc = gw_config_load(f->path, &cfg, &err);
    if (rc != CUSTOS_OK)
        fail_msg("%s", err.message);
    const gw_evm_config *e = &cfg.evm;
    assert_int_equal(e->n_rpc_urls, 3);
    assert_string_equal(e->rpc_urls[0], "https://a.example/v3/k1");
    assert_string_equal(e->rpc_urls[1], "https://b.example/?key=k2");
    assert_string_equal(e->rpc_urls[2], "http://127.0.0.1:8545");
    assert_string_equal(e->relayer_key, "");
    assert_string_equal(e->relayer_pkcs11_module, "/usr/lib/softhsm/libsofthsm2.so");
    assert_string_equal(e->relayer_pkcs11_token, "relayers");
    assert_string_equal(e->relayer_pkcs11_key, "relayer-1");
    assert_string_equal(e->relayer_pkcs11_pin_file, "/run/credentials/pin");
    assert_int_equal(e->expiry_lead_seconds, 7200);
    assert_int_equal(e->low_balance_gwei, 0);
    assert_int_equal(e->max_lag_records, 0);
    assert_int_equal(e->batch_max_accounts, 0);
    gw_config_clear(&cfg);
}

static void test_metrics_section(void **state)
{
    fixture *f = *state;
    tu_write_file(f->path, EVM_BASE "[metrics]\n"
                                    "listen = [::1]:0\n"
                                    "port_file = /run/custos/metrics.port\n");
    gw_config cfg;
    custos_error err;
    custos_rc rc = gw_config_load(f->path, &cfg, &err);
    if (rc != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_true(cfg.metrics.enabled);
    assert_string_equal(cfg.metrics.listen, "[::1]:0");
    assert_string_equal(cfg.metrics.port_file, "/run/custos/metrics.port");
    assert_false(cfg.evm.enabled);
    gw_config_clear(&cfg);
}

static void test_limits_section(void **state)
{
    fixture *f = *state;
    tu_write_file(f->path, EVM_BASE "[limits]\n"
                                    "rate_per_second = 5\n"
                                    "burst = 10\n"
                                    "max_streams_per_client = 2\n"
                                    "max_clients = 100\n"
                                    "stream_idle_seconds = 30\n"
                                    "max_concurrent_streams = 8\n"
                                    "max_metadata_bytes = 4096\n"
                                    "memory_limit_mib = 64\n"
                                    "max_connection_idle_seconds = 60\n"
                                    "max_connection_age_seconds = 3600\n"
                                    "max_pending_per_signer = 50\n"
                                    "max_pending_bytes_per_signer = 1048576\n"
                                    "max_pending_per_feed = 500\n"
                                    "max_pending_bytes_per_feed = 10485760\n"
                                    "pending_max_age_seconds = 3600\n"
                                    "max_connection_age_grace_seconds = 15\n"
                                    "keepalive_time_seconds = 30\n"
                                    "keepalive_timeout_seconds = 5\n");
    gw_config cfg;
    custos_error err;
    custos_rc rc = gw_config_load(f->path, &cfg, &err);
    if (rc != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_int_equal(cfg.limits.rate_per_second, 5);
    assert_int_equal(cfg.limits.burst, 10);
    assert_int_equal(cfg.limits.max_streams_per_client, 2);
    assert_int_equal(cfg.limits.max_clients, 100);
    assert_int_equal(cfg.limits.stream_idle_seconds, 30);
    assert_int_equal(cfg.limits.max_concurrent_streams, 8);
    assert_int_equal(cfg.limits.max_metadata_bytes, 4096);
    assert_int_equal(cfg.limits.memory_limit_mib, 64);
    assert_int_equal(cfg.limits.max_connection_idle_seconds, 60);
    assert_int_equal(cfg.limits.max_connection_age_seconds, 3600);
    assert_int_equal(cfg.limits.max_pending_per_signer, 50);
    assert_int_equal(cfg.limits.max_pending_bytes_per_signer, 1048576);
    assert_int_equal(cfg.limits.max_pending_per_feed, 500);
    assert_int_equal(cfg.limits.max_pending_bytes_per_feed, 10485760);
    assert_int_equal(cfg.limits.pending_max_age_seconds, 3600);
    assert_int_equal(cfg.limits.max_connection_age_grace_seconds, 15);
    assert_int_equal(cfg.limits.keepalive_time_seconds, 30);
    assert_int_equal(cfg.limits.keepalive_timeout_seconds, 5);
    /* And they reach gRPC core as its channel arguments. */
    grpc_init();
    gw_channel_args *args;
    if (gw_channel_args_new(&cfg, 1024, 1000, &args, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    const grpc_channel_args *ga = gw_channel_args_get(args);
    int grace = -1, ka_time = -1, ka_timeout = -1, age = -1;
    for (size_t i = 0; i < ga->num_args; i++) {
        const grpc_arg *g = &ga->args[i];
        if (g->type != GRPC_ARG_INTEGER)
            continue;
        if (strcmp(g->key, GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS) == 0)
            grace = g->value.integer;
        else if (strcmp(g->key, GRPC_ARG_KEEPALIVE_TIME_MS) == 0)
            ka_time = g->value.integer;
        else if (strcmp(g->key, GRPC_ARG_KEEPALIVE_TIMEOUT_MS) == 0)
            ka_timeout = g->value.integer;
        else if (strcmp(g->key, GRPC_ARG_MAX_CONNECTION_AGE_MS) == 0)
            age = g->value.integer;
    }
    assert_int_equal(grace, 15000);
    assert_int_equal(ka_time, 30000);
    assert_int_equal(ka_timeout, 5000);
    assert_int_equal(age, 3600000);
    gw_channel_args_free(args);
    grpc_shutdown();
    gw_config_clear(&cfg);
}

/* Behind the front proxy: identities from its header, [client] entries as under mTLS. */
static void test_proxy_identity(void **state)
{
    fixture *f = *state;
    static const char *const listens[] = {"unix:/run/custos/gateway.sock", "127.0.0.1:50051",
                                          "127.0.0.2:0", "[::1]:50051", "localhost:50051"};
    for (size_t i = 0; i < sizeof listens / sizeof listens[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "[gateway]\nlisten = %s\nstore = x.db\nchain_id = 1\nverifying_contract = "
                 ADDR_A "\n[feed f]\n[signer b]\naddress = " ADDR_B "\nfeed = f\n"
                 "[tls]\ninsecure = true\nclient_identity = proxy-header\n"
                 "client_identity_header = x-verified-cn\n"
                 "[client acme]\nrole = attestor\nfeeds = f\n",
                 listens[i]);
        tu_write_file(f->path, text);
        gw_config cfg;
        custos_error err;
        if (gw_config_load(f->path, &cfg, &err) != CUSTOS_OK)
            fail_msg("listen %s: %s", listens[i], err.message);
        assert_int_equal(cfg.tls.client_identity, GW_IDENTITY_PROXY_HEADER);
        assert_string_equal(cfg.tls.client_identity_header, "x-verified-cn");
        assert_int_equal(cfg.n_clients, 1);
        gw_config_clear(&cfg);
    }
}

static void test_missing_file(void **state)
{
    fixture *f = *state;
    char path[4300];
    snprintf(path, sizeof path, "%s/absent.ini", f->dir);
    gw_config cfg;
    custos_error err;
    assert_int_equal(gw_config_load(path, &cfg, &err), CUSTOS_ERR_IO);
    assert_non_null(strstr(err.message, "absent.ini"));
}

#define GW_HEAD "[gateway]\nstore = x.db\nchain_id = 1\nverifying_contract = " ADDR_A "\n"
#define FEED_F "[feed f]\n"
#define SIGNER_B "[signer b]\naddress = " ADDR_B "\nfeed = f\n"
#define EVM_OK "[evm]\nrpc_url = http://127.0.0.1:8545\nrelayer_key = k\n"
#define ACCT_1 "0x1111111111111111111111111111111111111111111111111111111111111111"
#define ACCT_2 "0x2222222222222222222222222222222222222222222222222222222222222222"
#define ACCT_3 "0x3333333333333333333333333333333333333333333333333333333333333333"

static const struct bad_case {
    const char *name;
    const char *text;
    const char *expect[3]; /* substrings the message must contain */
} bad_cases[] = {
    {"threshold not a number", GW_HEAD FEED_F "threshold = two\n" SIGNER_B,
     {":6: [feed f] threshold: must be an integer from 1 to 16, got 'two'"}},
    {"threshold zero", GW_HEAD FEED_F "threshold = 0\n" SIGNER_B, {":6:", "threshold"}},
    {"threshold too high", GW_HEAD FEED_F "threshold = 17\n" SIGNER_B, {":6:", "threshold"}},
    {"signed integer", GW_HEAD FEED_F "max_age = +5\n" SIGNER_B, {":6:", "max_age", "'+5'"}},
    {"trailing junk", GW_HEAD FEED_F "max_skew = 30s\n" SIGNER_B, {":6:", "max_skew"}},
    {"integer overflow", "[gateway]\nstore = x.db\nchain_id = 18446744073709551616\n"
     "verifying_contract = " ADDR_A "\n" FEED_F SIGNER_B, {":3:", "chain_id"}},
    {"chain id zero", "[gateway]\nstore = x.db\nchain_id = 0\n", {":3:", "chain_id"}},
    {"empty integer", GW_HEAD "workers =\n" FEED_F SIGNER_B, {":5:", "workers", "got ''"}},
    {"batch zero", GW_HEAD "commit_batch_max = 0\n", {":5:", "commit_batch_max"}},
    {"replica poll zero", GW_HEAD "replica_poll_ms = 0\n", {":5:", "replica_poll_ms"}},
    {"replica poll too long", GW_HEAD "replica_poll_ms = 60001\n", {":5:", "replica_poll_ms"}},
    {"rotation overlap zero", GW_HEAD "max_rotation_overlap = 0\n", {":5:", "max_rotation_overlap"}},
    {"rotation overlap over thirty days", GW_HEAD "max_rotation_overlap = 2592001\n",
     {":5:", "max_rotation_overlap", "2592000"}},
    {"unknown key", GW_HEAD "listen_addr = 1.2.3.4:5\n", {":5:", "[gateway] listen_addr", "unknown key"}},
    {"unknown feed key", GW_HEAD FEED_F "treshold = 2\n", {":6:", "[feed f] treshold"}},
    {"unknown section", GW_HEAD "[gatway]\nlisten = x\n", {":5:", "[gatway]", "unknown section"}},
    {"key outside a section", "store = x.db\n" GW_HEAD, {":1:", "store"}},
    {"not key = value", GW_HEAD "chain_id 5\n", {":5:", "expected 'key = value'"}},
    {"key set twice", GW_HEAD "chain_id = 2\n", {":5:", "chain_id", "twice"}},
    {"bad contract", "[gateway]\nstore = x.db\nchain_id = 1\nverifying_contract = 0x1234\n",
     {":4:", "verifying_contract"}},
    {"bad checksum", "[gateway]\nstore = x.db\nchain_id = 1\n"
     "verifying_contract = 0x5FbDB2315678afecb367f032d93F642f64180Aa3\n",
     {":4:", "verifying_contract"}},
    {"missing store", "[gateway]\nchain_id = 1\nverifying_contract = " ADDR_A "\n",
     {":1:", "[gateway] store", "required"}},
    {"missing chain id", "\n[gateway]\nstore = x.db\nverifying_contract = " ADDR_A "\n",
     {":2:", "chain_id", "required"}},
    {"missing gateway", FEED_F SIGNER_B, {"[gateway]", "missing"}},
    {"bad role", GW_HEAD FEED_F SIGNER_B "role = boss\n", {":9:", "[signer b] role", "'boss'"}},
    {"bad status", GW_HEAD FEED_F SIGNER_B "status = paused\n", {":9:", "status", "'paused'"}},
    {"not_after zero", GW_HEAD FEED_F SIGNER_B "not_after = 0\n", {":9:", "[signer b] not_after"}},
    {"not_after not a time", GW_HEAD FEED_F SIGNER_B "not_after = soon\n",
     {":9:", "not_after", "'soon'"}},
    {"not_after without replaced_by", GW_HEAD FEED_F SIGNER_B "not_after = 5\n",
     {":9:", "[signer b] not_after", "replaced_by"}},
    {"replaced_by without not_after", GW_HEAD FEED_F SIGNER_B "replaced_by = " ADDR_C
     "\n[signer c]\naddress = " ADDR_C "\nfeed = f\n", {":9:", "[signer b] replaced_by",
     "needs not_after"}},
    {"replaced_by itself", GW_HEAD FEED_F SIGNER_B "not_after = 5\nreplaced_by = " ADDR_B "\n",
     {":10:", "replaced_by", "itself"}},
    {"replaced_by not listed", GW_HEAD FEED_F SIGNER_B "not_after = 5\nreplaced_by = " ADDR_C
     "\n", {":10:", "replaced_by", "no [signer] section lists this address for feed 'f'"}},
    {"replaced_by of another role", GW_HEAD FEED_F SIGNER_B "not_after = 5\nreplaced_by = "
     ADDR_C "\n[signer c]\naddress = " ADDR_C "\nfeed = f\nrole = auditor\n",
     {":10:", "[signer c] is auditor", "keeps the role"}},
    {"one key replaces two", GW_HEAD FEED_F SIGNER_B "not_after = 5\nreplaced_by = " ADDR_C
     "\n[signer c]\naddress = " ADDR_C "\nfeed = f\n[signer d]\naddress = " ADDR_D
     "\nfeed = f\nnot_after = 5\nreplaced_by = " ADDR_C "\n",
     {":18:", "[signer d] replaced_by", "already replaces [signer b]"}},
    {"replacements in a cycle", GW_HEAD FEED_F SIGNER_B "not_after = 5\nreplaced_by = " ADDR_C
     "\n[signer c]\naddress = " ADDR_C "\nfeed = f\nnot_after = 5\nreplaced_by = " ADDR_B "\n",
     {":10:", "[signer b] replaced_by", "cycle"}},
    {"sequence step zero", GW_HEAD FEED_F "max_sequence_step = 0\n" SIGNER_B,
     {":6:", "[feed f] max_sequence_step", "from 1 to 4294967295"}},
    {"release threshold beyond the roles", GW_HEAD FEED_F "distinct_roles = true\n"
     "breaker_rise_bps = 100\nbreaker_release_threshold = 5\n" SIGNER_B,
     {":8:", "breaker_release_threshold", "at most 4"}},
    {"bad bool", GW_HEAD FEED_F "distinct_roles = yes\n" SIGNER_B, {":6:", "distinct_roles"}},
    {"signer without address", GW_HEAD FEED_F "[signer b]\nfeed = f\n",
     {":6:", "[signer b] address", "required"}},
    {"signer without feed", GW_HEAD FEED_F "[signer b]\naddress = " ADDR_B "\n",
     {":6:", "[signer b] feed", "required"}},
    {"signer of unknown feed", GW_HEAD FEED_F SIGNER_B "[signer c]\naddress = " ADDR_C
     "\nfeed = g\n", {":11:", "[signer c] feed", "[feed g]"}},
    {"duplicate feed", GW_HEAD FEED_F SIGNER_B "[feed f]\n", {":9:", "[feed f]", "line 5"}},
    {"duplicate gateway", GW_HEAD FEED_F SIGNER_B "[gateway]\n", {":9:", "[gateway]", "line 1"}},
    {"duplicate signer", GW_HEAD FEED_F SIGNER_B "[signer b again]\naddress = "
     "0x1111111111111111111111111111111111111111\nfeed = f\n",
     {":10:", "[signer b again] address", "line 6"}},
    {"threshold unreachable", GW_HEAD FEED_F "threshold = 2\n" SIGNER_B,
     {":6:", "[feed f] threshold", "never be reached"}},
    {"threshold unreachable by revoked", GW_HEAD FEED_F "threshold = 2\n" SIGNER_B
     "[signer c]\naddress = " ADDR_C "\nfeed = f\nstatus = revoked\n",
     {":6:", "threshold", "1 active signer"}},
    {"distinct roles unreachable", GW_HEAD FEED_F "threshold = 2\ndistinct_roles = true\n"
     SIGNER_B "[signer c]\naddress = " ADDR_C "\nfeed = f\nrole = custodian\n",
     {":6:", "threshold", "distinct roles"}},
    {"breaker bound not a number", GW_HEAD FEED_F "breaker_rise_bps = 5%\n" SIGNER_B,
     {":6:", "[feed f] breaker_rise_bps", "'5%'"}},
    {"breaker bound too high", GW_HEAD FEED_F "breaker_rise_bps = 1000001\n" SIGNER_B,
     {":6:", "breaker_rise_bps", "1000000"}},
    {"breaker without release quorum", GW_HEAD FEED_F "breaker_rise_bps = 500\n" SIGNER_B,
     {":6:", "[feed f] breaker_rise_bps", "needs breaker_release_threshold"}},
    {"release quorum without breaker", GW_HEAD FEED_F "breaker_release_threshold = 2\n"
     SIGNER_B, {":6:", "[feed f] breaker_release_threshold", "no effect"}},
    {"release quorum not above threshold", GW_HEAD FEED_F "breaker_rise_bps = 500\n"
     "breaker_release_threshold = 1\n" SIGNER_B,
     {":7:", "breaker_release_threshold", "must exceed threshold (1), got 1"}},
    {"release quorum zero", GW_HEAD FEED_F "breaker_release_threshold = 0\n" SIGNER_B,
     {":6:", "breaker_release_threshold"}},
    {"feed without signers", GW_HEAD FEED_F, {":5:", "[feed f] threshold", "0 active"}},
    {"indented continuation", GW_HEAD "  listen = x\n", {":5:", "indented"}},
    {"feed name too long", GW_HEAD "[feed "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n", {":5:", "feed name"}},
    {"junk after header", GW_HEAD "[feed f] x\n", {":5:", "after ']'"}},
    {"evm without rpc_url", GW_HEAD FEED_F SIGNER_B "[evm]\nrelayer_key = k\n",
     {":9:", "[evm] rpc_url", "required"}},
    {"evm without relayer key", GW_HEAD FEED_F SIGNER_B "[evm]\nrpc_url = http://n\n",
     {":9:", "[evm] relayer_key", "required"}},
    {"evm adapter mismatch", GW_HEAD FEED_F SIGNER_B EVM_OK "adapter = " ADDR_B "\n",
     {":12:", "[evm] adapter", "verifying_contract"}},
    {"evm url scheme", GW_HEAD FEED_F SIGNER_B "[evm]\nrpc_url = ws://n\n",
     {":10:", "[evm] rpc_url", "http://"}},
    {"evm deviation above 100%", GW_HEAD FEED_F SIGNER_B EVM_OK "deviation_bps = 10001\n",
     {":12:", "deviation_bps", "0 to 10000"}},
    {"evm zero confirmations", GW_HEAD FEED_F SIGNER_B EVM_OK "confirmations = 0\n",
     {":12:", "confirmations"}},
    {"evm unknown key", GW_HEAD FEED_F SIGNER_B EVM_OK "gas_price = 5\n",
     {":12:", "[evm] gas_price", "unknown key"}},
    {"evm twice", GW_HEAD FEED_F SIGNER_B EVM_OK "[evm]\n", {":12:", "[evm]", "line 9"}},
    {"evm leader retry too short", GW_HEAD FEED_F SIGNER_B EVM_OK "leader_retry_ms = 99\n",
     {":12:", "leader_retry_ms"}},
    /* Node URLs are named by position, never echoed: they may carry API keys. */
    {"evm second url scheme", GW_HEAD FEED_F SIGNER_B
     "[evm]\nrpc_url = https://a.example/k1 ws://b.example/SECRET\n",
     {":10:", "[evm] rpc_url", "URL 2 must be an http:// or https:// URL"}},
    {"evm nine urls", GW_HEAD FEED_F SIGNER_B
     "[evm]\nrpc_url = http://1 http://2 http://3 http://4 http://5 http://6 http://7 "
     "http://8 http://9\n",
     {":10:", "[evm] rpc_url", "more than 8 URLs"}},
    {"evm blank url list", GW_HEAD FEED_F SIGNER_B "[evm]\nrpc_url = \t \n",
     {":10:", "[evm] rpc_url"}},
    {"evm key file and token", GW_HEAD FEED_F SIGNER_B EVM_OK
     "relayer_pkcs11_module = /usr/lib/softhsm/libsofthsm2.so\n",
     {":12:", "relayer_pkcs11_module", "not both"}},
    {"evm token without its label", GW_HEAD FEED_F SIGNER_B
     "[evm]\nrpc_url = http://n\nrelayer_pkcs11_module = /p11.so\nrelayer_pkcs11_token = t\n",
     {":12:", "[evm] relayer_pkcs11_key", "required"}},
    {"evm token label too long", GW_HEAD FEED_F SIGNER_B
     "[evm]\nrpc_url = http://n\nrelayer_pkcs11_token = 123456789012345678901234567890123\n",
     {":11:", "relayer_pkcs11_token", "longer than 32 bytes"}},
    {"evm expiry lead under a minute", GW_HEAD FEED_F SIGNER_B EVM_OK
     "expiry_lead_seconds = 59\n",
     {":12:", "expiry_lead_seconds"}},
    {"evm low balance beyond bound", GW_HEAD FEED_F SIGNER_B EVM_OK
     "low_balance_gwei = 1000000000001\n",
     {":12:", "low_balance_gwei"}},
    {"evm lag bound beyond bound", GW_HEAD FEED_F SIGNER_B EVM_OK
     "max_lag_records = 1000000001\n",
     {":12:", "max_lag_records"}},
    {"evm batch cap beyond the protocol limit", GW_HEAD FEED_F SIGNER_B EVM_OK
     "batch_max_accounts = 4097\n",
     {":12:", "[evm] batch_max_accounts", "0 to 4096"}},
    {"evm state with a PostgreSQL store",
     "[gateway]\nstore = postgresql://db/custos\nchain_id = 1\nverifying_contract = " ADDR_A
     "\n" FEED_F SIGNER_B EVM_OK "state = /var/lib/pub.db\n",
     {"[evm] state", "PostgreSQL", "remove"}},
    {"metrics without listen", GW_HEAD FEED_F SIGNER_B "[metrics]\nport_file = p\n",
     {":9:", "[metrics] listen", "required"}},
    {"metrics listen without port", GW_HEAD FEED_F SIGNER_B "[metrics]\nlisten = 127.0.0.1\n",
     {":10:", "[metrics] listen", "IP:PORT"}},
    {"metrics port out of range", GW_HEAD FEED_F SIGNER_B "[metrics]\nlisten = 127.0.0.1:65536\n",
     {":10:", "[metrics] listen", "IP:PORT"}},
    {"metrics unknown key",
     GW_HEAD FEED_F SIGNER_B "[metrics]\nlisten = 127.0.0.1:1\npath = /m\n",
     {":11:", "[metrics] path", "unknown key"}},
    {"metrics twice", GW_HEAD FEED_F SIGNER_B "[metrics]\nlisten = 127.0.0.1:1\n[metrics]\n",
     {":11:", "[metrics]", "line 9"}},
    {"both max ages", GW_HEAD FEED_F "max_age = 60\nmax_age_business_days = 1\n" SIGNER_B,
     {":7: [feed f] max_age_business_days", "not both", "line 6"}},
    {"business days zero", GW_HEAD FEED_F "max_age_business_days = 0\n" SIGNER_B,
     {":6:", "max_age_business_days", "from 1 to 31"}},
    {"business days too many", GW_HEAD FEED_F "max_age_business_days = 32\n" SIGNER_B,
     {":6:", "max_age_business_days"}},
    {"calendar unused", GW_HEAD "calendar = cal.txt\n" FEED_F SIGNER_B,
     {":5: [gateway] calendar", "no feed sets max_age_business_days"}},
    {"calendar missing", GW_HEAD "calendar = /nonexistent/cal.txt\n" FEED_F
     "max_age_business_days = 1\n" SIGNER_B, {":5: [gateway] calendar", "/nonexistent/cal.txt"}},
    {"limits rate zero", GW_HEAD FEED_F SIGNER_B "[limits]\nrate_per_second = 0\n",
     {":10:", "[limits] rate_per_second", "from 1 to"}},
    {"limits burst not a number", GW_HEAD FEED_F SIGNER_B "[limits]\nburst = lots\n",
     {":10:", "[limits] burst", "'lots'"}},
    {"limits streams zero", GW_HEAD FEED_F SIGNER_B "[limits]\nmax_streams_per_client = 0\n",
     {":10:", "[limits] max_streams_per_client"}},
    {"limits idle too long", GW_HEAD FEED_F SIGNER_B "[limits]\nstream_idle_seconds = 86401\n",
     {":10:", "[limits] stream_idle_seconds", "1 to 86400"}},
    {"limits keepalive too often", GW_HEAD FEED_F SIGNER_B "[limits]\nkeepalive_time_seconds = 9\n",
     {":10:", "[limits] keepalive_time_seconds", "10 to 86400"}},
    {"limits keepalive timeout zero", GW_HEAD FEED_F SIGNER_B
     "[limits]\nkeepalive_timeout_seconds = 0\n", {":10:", "[limits] keepalive_timeout_seconds"}},
    {"limits grace too long", GW_HEAD FEED_F SIGNER_B
     "[limits]\nmax_connection_age_grace_seconds = 86401\n",
     {":10:", "[limits] max_connection_age_grace_seconds", "1 to 86400"}},
    {"limits unknown key", GW_HEAD FEED_F SIGNER_B "[limits]\nrate = 5\n",
     {":10:", "[limits] rate", "unknown key"}},
    {"limits twice", GW_HEAD FEED_F SIGNER_B "[limits]\n[limits]\n", {":10:", "[limits]", "line 9"}},
    {"public_proofs not a boolean", GW_HEAD "public_proofs = yes\n" FEED_F SIGNER_B,
     {":5:", "public_proofs", "must be true or false, got 'yes'"}},
    {"release opt-out not a boolean",
     GW_HEAD "release_without_exposure_check = 1\n" FEED_F SIGNER_B,
     {":5:", "release_without_exposure_check", "must be true or false, got '1'"}},
    {"release opt-out with [evm]",
     GW_HEAD "release_without_exposure_check = true\n" FEED_F SIGNER_B EVM_OK,
     {":5:", "[gateway] release_without_exposure_check", "not allowed with [evm]"}},
    {"exposure timeout too short", GW_HEAD FEED_F SIGNER_B EVM_OK "exposure_timeout_ms = 99\n",
     {":12:", "[evm] exposure_timeout_ms", "100 to 60000"}},
    {"admin client with feeds",
     GW_HEAD FEED_F SIGNER_B "[tls]\ncert = c\nkey = k\nclient_ca = ca\n"
     "[client ops]\nrole = admin\nfeeds = f\n",
     {":15:", "[client ops] feeds", "an admin reads every feed"}},
    {"proxy identity on a public listener",
     GW_HEAD "listen = 0.0.0.0:50051\n" FEED_F SIGNER_B
     "[tls]\ninsecure = true\nclient_identity = proxy-header\n",
     {":12:", "[tls] client_identity", "not 0.0.0.0:50051"}},
    {"proxy identity on an abstract socket",
     GW_HEAD "listen = unix-abstract:custos\n" FEED_F SIGNER_B
     "[tls]\ninsecure = true\nclient_identity = proxy-header\n",
     {":12:", "[tls] client_identity", "loopback or a Unix socket"}},
    {"proxy identity with client_ca",
     GW_HEAD FEED_F SIGNER_B "[tls]\ncert = c\nkey = k\nclient_ca = ca\n"
     "client_identity = proxy-header\n",
     {":13:", "[tls] client_identity", "contradicts client_ca"}},
    {"unknown identity source",
     GW_HEAD FEED_F SIGNER_B "[tls]\ninsecure = true\nclient_identity = header\n",
     {":11:", "[tls] client_identity", "certificate or proxy-header, got 'header'"}},
    {"identity header not lower case",
     GW_HEAD FEED_F SIGNER_B "[tls]\ninsecure = true\nclient_identity = proxy-header\n"
     "client_identity_header = X-Client-CN\n",
     {":12:", "[tls] client_identity_header", "lower-case"}},
    {"identity header reserved by gRPC",
     GW_HEAD FEED_F SIGNER_B "[tls]\ninsecure = true\nclient_identity = proxy-header\n"
     "client_identity_header = grpc-client\n",
     {":12:", "[tls] client_identity_header", "grpc-"}},
    {"identity header without proxy identity",
     GW_HEAD FEED_F SIGNER_B "[tls]\ninsecure = true\nclient_identity_header = x-cn\n",
     {":11:", "[tls] client_identity_header", "only used with"}},
    {"clients without any identity",
     GW_HEAD FEED_F SIGNER_B "[tls]\ninsecure = true\n[client ops]\nrole = admin\n",
     {":11:", "[client ops]", "proxy-header"}},
    {"limits metadata too small", GW_HEAD FEED_F SIGNER_B "[limits]\nmax_metadata_bytes = 100\n",
     {":10:", "[limits] max_metadata_bytes", "1024"}},
    {"limits memory zero", GW_HEAD FEED_F SIGNER_B "[limits]\nmemory_limit_mib = 0\n",
     {":10:", "[limits] memory_limit_mib"}},
    {"limits h2 streams zero", GW_HEAD FEED_F SIGNER_B "[limits]\nmax_concurrent_streams = 0\n",
     {":10:", "[limits] max_concurrent_streams"}},
    {"account id too short", GW_HEAD FEED_F "accounts = 0x1234\n" SIGNER_B,
     {":6: [feed f] accounts", "'0x1234' is not an account id"}},
    {"accounts list with an empty item", GW_HEAD FEED_F "accounts = " ACCT_1 ",,\n" SIGNER_B,
     {":6:", "comma-separated list of account ids"}},
    {"account listed twice", GW_HEAD FEED_F "accounts = " ACCT_1 "\naccounts = " ACCT_1 "\n"
     SIGNER_B, {"[feed f] accounts", "listed twice"}},
    {"account of two feeds", GW_HEAD FEED_F "accounts = " ACCT_1 "\n" SIGNER_B
     "[feed g]\naccounts = " ACCT_1 "\n[signer c]\naddress = " ADDR_C "\nfeed = g\n",
     {"registered to feed 'f' and to feed 'g'", "rule 9"}},
    {"accounts file missing", GW_HEAD FEED_F "accounts_file = /nonexistent/accounts.txt\n"
     SIGNER_B, {":6: [feed f] accounts_file", "cannot open"}},
    {"client role unknown", GW_HEAD FEED_F SIGNER_B "[tls]\ninsecure = true\n"
     "client_identity = proxy-header\n[client x]\nrole = superuser\n",
     {"[client x] role", "attestor, admin, reader or auditor"}},
    {"limits pending per signer zero",
     GW_HEAD FEED_F SIGNER_B "[limits]\nmax_pending_per_signer = 0\n",
     {":10:", "[limits] max_pending_per_signer", "from 1 to"}},
    {"limits pending bytes too small",
     GW_HEAD FEED_F SIGNER_B "[limits]\nmax_pending_bytes_per_feed = 100\n",
     {":10:", "[limits] max_pending_bytes_per_feed", "4096"}},
    {"limits pending age zero",
     GW_HEAD FEED_F SIGNER_B "[limits]\npending_max_age_seconds = 0\n",
     {":10:", "[limits] pending_max_age_seconds"}},
    {"audit anchor empty", GW_HEAD "audit_anchor =\n" FEED_F SIGNER_B,
     {":5:", "[gateway] audit_anchor", "must not be empty"}},
    {"line too long", GW_HEAD "port_file = "
     "/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
     {":5:", "longer than"}},
};

/* Rule 9: [feed] accounts (repeatable, comma-separated) and accounts_file, sorted into one
 * list with each account's feed; an auditor client. */
static void test_accounts(void **state)
{
    fixture *f = *state;
    char list[4300], text[8192];
    snprintf(list, sizeof list, "%s/f.accounts", f->dir);
    tu_write_file(list, "# accounts of feed f\n" ACCT_3 "\n\n  " ACCT_2 "  # fund 2\n");
    snprintf(text, sizeof text,
             GW_HEAD FEED_F "accounts = " ACCT_1 "\naccounts_file = %s\n" SIGNER_B
             "[feed g]\naccounts = 0x4444444444444444444444444444444444444444444444444444444444444444, "
             "0x0000000000000000000000000000000000000000000000000000000000000005\n"
             "[signer c]\naddress = " ADDR_C "\nfeed = g\n"
             "[tls]\ninsecure = true\nclient_identity = proxy-header\n"
             "[client audit-firm]\nrole = auditor\n",
             list);
    tu_write_file(f->path, text);
    gw_config cfg;
    custos_error err;
    if (gw_config_load(f->path, &cfg, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_int_equal(cfg.n_accounts, 5);
    static const struct {
        uint8_t byte;
        const char *feed;
    } want[] = {{0x00, "g"}, {0x11, "f"}, {0x22, "f"}, {0x33, "f"}, {0x44, "g"}};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(cfg.accounts[i].account[0], want[i].byte);
        assert_string_equal(cfg.accounts[i].feed, want[i].feed);
    }
    uint8_t id[CUSTOS_HASH_LEN];
    memset(id, 0x22, sizeof id);
    const gw_account *a = gw_accounts_find(cfg.accounts, cfg.n_accounts, id);
    assert_non_null(a);
    assert_string_equal(a->feed, "f");
    memset(id, 0x66, sizeof id);
    assert_null(gw_accounts_find(cfg.accounts, cfg.n_accounts, id));
    assert_int_equal(cfg.n_clients, 1);
    assert_int_equal(cfg.clients[0].role, GW_CLIENT_AUDITOR);
    gw_config_clear(&cfg);
}

static void test_bad_configs(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        tu_write_file(f->path, c->text);
        gw_config cfg;
        custos_error err;
        custos_error_clear(&err);
        custos_rc rc = gw_config_load(f->path, &cfg, &err);
        if (rc == CUSTOS_OK)
            fail_msg("case '%s': accepted", c->name);
        assert_int_equal(rc, err.code);
        if (strstr(err.message, "gateway.ini") == NULL)
            fail_msg("case '%s': message does not name the file: %s", c->name, err.message);
        for (size_t j = 0; j < 3 && c->expect[j] != NULL; j++)
            if (strstr(err.message, c->expect[j]) == NULL)
                fail_msg("case '%s': message lacks \"%s\": %s", c->name, c->expect[j],
                         err.message);
        /* What a case marks SECRET (an API key in a node URL) is never repeated. */
        if (strstr(err.message, "SECRET") != NULL)
            fail_msg("case '%s': message repeats a secret: %s", c->name, err.message);
        assert_null(cfg.feeds);
        assert_null(cfg.signers);
        assert_false(cfg.evm.enabled);
        assert_false(cfg.metrics.enabled);
    }
}

/* The completion-queue threads a configuration gets (gw_config_workers): its own count,
 * else one per four cores, at least one, [evm] or not (its chain reads have a thread of
 * their own). */
static void test_worker_count(void **state)
{
    (void)state;
    static const struct {
        unsigned workers;
        bool evm;
        long cores;
        size_t want;
    } cases[] = {
        {0, false, 1, 1},  {0, false, 2, 1},  {0, false, 4, 1},  {0, false, 5, 2},
        {0, false, 8, 2},  {0, false, 16, 4}, {0, false, 0, 1},  {0, false, -1, 1},
        {0, true, 1, 1},   {0, true, 2, 1},   {0, true, 8, 2},   {0, true, 16, 4},
        {0, true, -1, 1},  {3, false, 2, 3},  {1, true, 16, 1},  {1024, false, 2, 1024},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.workers = cases[i].workers;
        cfg.evm.enabled = cases[i].evm;
        size_t got = gw_config_workers(&cfg, cases[i].cores);
        if (got != cases[i].want)
            fail_msg("case %zu (workers %u, evm %d, %ld cores): %zu threads, want %zu", i,
                     cases[i].workers, cases[i].evm, cases[i].cores, got, cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_proxy_identity),
        cmocka_unit_test(test_business_days),
        cmocka_unit_test(test_evm_section),
        cmocka_unit_test(test_evm_defaults),
        cmocka_unit_test(test_evm_nodes_and_token),
        cmocka_unit_test(test_metrics_section),
        cmocka_unit_test(test_limits_section),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_accounts),
        cmocka_unit_test(test_worker_count),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
