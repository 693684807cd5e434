/* manage: the collateral manager (docs/lending.md §3): its options, and the loop that
 * passes over its pledge (manage_pass.h) on every new block, every new valuation and at
 * least every --interval-ms (manage_watch.h). With --rpc it reads the debt from the chain
 * itself (manage_chain.h); with --notices-contract it publishes its notices on-chain
 * (manage_publish.h); with --agent-key it executes the liquidation (liquidate.h). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "context.h"
#include "custos/hex.h"
#include "custos/ltv.h"
#include "custos/notice.h"
#include "custos/sig.h"
#include "fileio.h"
#include "liquidate.h"
#include "manage_chain.h"
#include "manage_metrics.h"
#include "manage_pass.h"
#include "manage_publish.h"
#include "manage_release.h"
#include "manage_state.h"
#include "manage_watch.h"
#include "signer.h"
#include "signopts.h"

typedef struct manage_args {
    const char *account_id, *lender, *loan_decimals, *loan_price, *margin_return, *margin_call,
        *liquidation, *hysteresis, *cure_seconds, *cure_hours, *state, *chain_id, *contract,
        *interval_ms, *metrics, *agent_key, *rpc, *feed, *seq_state, *release_validity,
        *notices_contract, *relayer_key, *poll_ms;
    bool once;
    at_key_spec key;
    at_gateway gw;
} manage_args;

static const clopt manage_options[] = {
    {"account-id", "0xHEX", CLOPT_STR, offsetof(manage_args, account_id),
     "the pledged account's 32-byte id"},
    {"lender", "0xADDR", CLOPT_STR, offsetof(manage_args, lender),
     "the lending market the account is pledged to (Morpho Blue: Morpho)"},
    {"loan-decimals", "N", CLOPT_STR, offsetof(manage_args, loan_decimals),
     "the loan token's decimals (0 to 36)"},
    {"loan-price-usd", "USD", CLOPT_STR, offsetof(manage_args, loan_price),
     "USD per whole loan token (1 for a dollar stablecoin)"},
    {"margin-return-ltv", "BPS", CLOPT_STR, offsetof(manage_args, margin_return),
     "below it: margin return"},
    {"margin-call-ltv", "BPS", CLOPT_STR, offsetof(manage_args, margin_call),
     "at or above it: margin call"},
    {"liquidation-ltv", "BPS", CLOPT_STR, offsetof(manage_args, liquidation),
     "at or above it: liquidation"},
    {"hysteresis", "BPS", CLOPT_STR, offsetof(manage_args, hysteresis),
     "how far back past a threshold the LTV must come to leave its state (default 0)"},
    {"cure-seconds", "N", CLOPT_STR, offsetof(manage_args, cure_seconds),
     "a margin call's cure period in seconds"},
    {"cure-business-hours", "N", CLOPT_STR, offsetof(manage_args, cure_hours),
     "a margin call's cure period in bond-market business hours"},
    {"state", "F", CLOPT_STR, offsetof(manage_args, state),
     "the manager's state file for this pledge"},
    {"chain-id", "N", CLOPT_STR, offsetof(manage_args, chain_id), "the EIP-712 chain id"},
    {"contract", "0xADDR", CLOPT_STR, offsetof(manage_args, contract),
     "the adapter's address (the EIP-712 verifying contract)"},
    {"interval-ms", "N", CLOPT_STR, offsetof(manage_args, interval_ms),
     "the longest time between passes (default 2000)"},
    {"poll-ms", "N", CLOPT_STR, offsetof(manage_args, poll_ms),
     "how often the chain's head and the latest valuation are checked for a change: a new "
     "block or valuation starts a pass at once (default 250)"},
    {"once", NULL, CLOPT_FLAG, offsetof(manage_args, once), "one pass, then exit"},
    {"metrics-textfile", "F", CLOPT_STR, offsetof(manage_args, metrics),
     "write the pledge's gauges after every pass (node_exporter's textfile collector)"},
    {"agent-key", "F", CLOPT_STR, offsetof(manage_args, agent_key),
     "the liquidation agent's key file (pays gas, holds the loan token; never a signer)"},
    {"rpc", "URL", CLOPT_STR, offsetof(manage_args, rpc),
     "the chain node: the debt is read from it on every new block (without it, through the "
     "gateway), and the agent and the relayer send their transactions to it"},
    {"notices-contract", "0xADDR", CLOPT_STR, offsetof(manage_args, notices_contract),
     "CustosNotices: every notice is published to it"},
    {"relayer-key", "F", CLOPT_STR, offsetof(manage_args, relayer_key),
     "the key file that pays gas for the publications (never a signer)"},
    {"feed", "NAME", CLOPT_STR, offsetof(manage_args, feed),
     "the account's feed (the release after a liquidation is submitted to it)"},
    {"attestor-state", "F", CLOPT_STR, offsetof(manage_args, seq_state),
     "the attestor's sequence state file (the release takes the account's next sequence)"},
    {"release-validity-seconds", "N", CLOPT_STR, offsetof(manage_args, release_validity),
     "the release's validUntil after its asOf (default 86400)"},
    {0}};
static const clopt_set manage_sets[] = {{manage_options, 0},
                                        {at_key_options, offsetof(manage_args, key)},
                                        {at_p11_options, offsetof(manage_args, key)},
                                        {clopt_gateway_options, offsetof(manage_args, gw)}};
static const clopt_rule manage_rules[] = {
    {CLOPT_REQUIRED, {"account-id"}, NULL},
    {CLOPT_REQUIRED, {"lender"}, NULL},
    {CLOPT_REQUIRED, {"loan-decimals"}, NULL},
    {CLOPT_REQUIRED, {"loan-price-usd"}, NULL},
    {CLOPT_REQUIRED, {"margin-return-ltv"}, NULL},
    {CLOPT_REQUIRED, {"margin-call-ltv"}, NULL},
    {CLOPT_REQUIRED, {"liquidation-ltv"}, NULL},
    {CLOPT_ONE, {"cure-seconds", "cure-business-hours"}, NULL},
    {CLOPT_REQUIRED, {"state"}, NULL},
    {CLOPT_REQUIRED, {"chain-id"}, NULL},
    {CLOPT_REQUIRED, {"contract"}, NULL},
    {CLOPT_REQUIRED, {"gateway"}, NULL},
    {CLOPT_TOGETHER, {"agent-key", "feed", "attestor-state"},
     "--agent-key, --feed and --attestor-state go together, with --rpc (liquidation)"},
    {CLOPT_NEEDS, {"agent-key", "rpc"}, "--agent-key needs --rpc (liquidation)"},
    {CLOPT_TOGETHER, {"notices-contract", "relayer-key"},
     "--notices-contract and --relayer-key go together, with --rpc (publication)"},
    {CLOPT_NEEDS, {"notices-contract", "rpc"}, "--notices-contract needs --rpc (publication)"},
    {CLOPT_NEEDS, {"release-validity-seconds", "agent-key"}, NULL},
    AT_KEY_RULE};
static const clopt_command manage_cmd = {
    .name = "manage",
    .usage = "usage: custos-attestor manage --account-id 0xHEX --lender 0xADDR\n"
             "         --loan-decimals N --loan-price-usd USD --margin-return-ltv BPS\n"
             "         --margin-call-ltv BPS --liquidation-ltv BPS [--hysteresis BPS]\n"
             "         (--cure-seconds N | --cure-business-hours N) --state F\n"
             "         --chain-id N --contract 0xADDR " AT_KEY_USAGE "\n"
             "         --gateway HOST:PORT " AT_GATEWAY_USAGE " [--interval-ms N] [--once]\n"
             "         [--poll-ms N] [--metrics-textfile F] [--rpc URL]\n"
             "         [--notices-contract 0xADDR --relayer-key F]\n"
             "         [--agent-key F --feed NAME --attestor-state F\n"
             "         [--release-validity-seconds N]]",
    .summary = "the collateral manager of one pledge: reads its debt and value, keeps its "
               "loan state, signs and submits a notice on every change",
    .sets = manage_sets,
    .n_sets = CLOPT_N(manage_sets),
    .rules = manage_rules,
    .n_rules = CLOPT_N(manage_rules)};


static volatile sig_atomic_t manage_stop;

static void manage_on_signal(int sig)
{
    (void)sig;
    manage_stop = 1;
}

static custos_rc parse_u32(const char *flag, const char *text, uint32_t max, uint32_t *out,
                           custos_error *err)
{
    uint64_t v = 0;
    custos_rc rc = at_cmd_parse_u64(flag, text, &v, err);
    if (rc == CUSTOS_OK && v > max)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: %" PRIu64 " is above %u", flag, v,
                              max);
    if (rc == CUSTOS_OK)
        *out = (uint32_t)v;
    return rc;
}

static custos_rc manage_setup(const manage_args *a, custos_domain *domain, at_manager *m,
                              custos_error *err)
{
    custos_error herr;
    custos_rc rc = parse_u32("--margin-return-ltv", a->margin_return, UINT32_MAX,
                             &m->policy.margin_return_bps, err);
    if (rc == CUSTOS_OK)
        rc = parse_u32("--margin-call-ltv", a->margin_call, UINT32_MAX,
                       &m->policy.margin_call_bps, err);
    if (rc == CUSTOS_OK)
        rc = parse_u32("--liquidation-ltv", a->liquidation, UINT32_MAX,
                       &m->policy.liquidation_bps, err);
    if (rc == CUSTOS_OK && a->hysteresis != NULL)
        rc = parse_u32("--hysteresis", a->hysteresis, UINT32_MAX, &m->policy.hysteresis_bps,
                       err);
    m->policy.cure_unit = a->cure_seconds != NULL ? CUSTOS_CURE_SECONDS
                                                  : CUSTOS_CURE_BUSINESS_HOURS;
    if (rc == CUSTOS_OK)
        rc = parse_u32(a->cure_seconds != NULL ? "--cure-seconds" : "--cure-business-hours",
                       a->cure_seconds != NULL ? a->cure_seconds : a->cure_hours, UINT32_MAX,
                       &m->policy.cure_period, err);
    if (rc == CUSTOS_OK)
        rc = custos_ltv_policy_check(&m->policy, err);
    uint32_t decimals = 0;
    if (rc == CUSTOS_OK)
        rc = parse_u32("--loan-decimals", a->loan_decimals, 36, &decimals, err);
    if (rc == CUSTOS_OK) {
        custos_u256_from_u64(&m->scale, 1);
        custos_u256 ten;
        custos_u256_from_u64(&ten, 10);
        for (uint32_t i = 0; i < decimals && rc == CUSTOS_OK; i++)
            rc = custos_u256_mul(&m->scale, &m->scale, &ten);
    }
    if (rc == CUSTOS_OK &&
        custos_fixed_parse(&m->price, a->loan_price, strlen(a->loan_price),
                           CUSTOS_MONEY_DECIMALS, &herr) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--loan-price-usd: %s", herr.message);
    if (rc == CUSTOS_OK && custos_hex_decode(a->account_id, m->account, CUSTOS_HASH_LEN,
                                             &herr) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--account-id: %s", herr.message);
    if (rc == CUSTOS_OK && custos_address_from_hex(a->lender, m->lender, &herr) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--lender: %s", herr.message);
    if (rc == CUSTOS_OK)
        rc = at_cmd_parse_u64("--chain-id", a->chain_id, &domain->chain_id, err);
    if (rc == CUSTOS_OK &&
        custos_address_from_hex(a->contract, domain->verifying_contract, &herr) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--contract: %s", herr.message);
    if (rc == CUSTOS_OK)
        rc = custos_calendar_load_builtin(&m->cal, err);
    m->state_path = a->state;
    m->domain = domain;
    return rc;
}

/* The chain's parts the options ask for: the reader, the relayer, the agent. */
static custos_rc manage_chain_setup(const manage_args *a, at_manager *m, custos_error *err)
{
    custos_error herr;
    custos_rc rc = CUSTOS_OK;
    if (a->rpc != NULL)
        rc = at_chain_new(a->rpc, m->domain->verifying_contract, &m->chain, err);
    uint8_t notices[CUSTOS_ADDRESS_LEN];
    if (rc == CUSTOS_OK && a->notices_contract != NULL &&
        custos_address_from_hex(a->notices_contract, notices, &herr) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--notices-contract: %s", herr.message);
    if (rc == CUSTOS_OK && a->notices_contract != NULL)
        rc = at_publisher_new(a->relayer_key, a->rpc, m->domain->chain_id, notices, &m->pub,
                              err);
    if (rc == CUSTOS_OK && a->agent_key != NULL)
        rc = at_liquidator_new(a->agent_key, a->rpc, m->domain->chain_id, &m->liq, err);
    return rc;
}

static void manage_free(at_manager *m, at_signer *signer)
{
    at_liquidator_free(m->liq);
    at_publisher_free(m->pub);
    at_chain_free(m->chain);
    custos_client_free(m->client);
    at_signer_close(signer);
    custos_calendar_free(&m->cal);
}

int at_cmd_manage(int argc, char **argv)
{
    manage_args a = {0};
    int status;
    if (!at_cmd_args(&manage_cmd, argc, argv, &a, NULL, &status))
        return status;
    at_manager m;
    memset(&m, 0, sizeof m);
    custos_domain domain;
    memset(&domain, 0, sizeof domain);
    at_signer signer;
    memset(&signer, 0, sizeof signer);
    custos_error err;
    custos_error_clear(&err);
    uint64_t interval_ms = 2000, poll_ms = 250;
    custos_rc rc = manage_setup(&a, &domain, &m, &err);
    if (rc == CUSTOS_OK && a.interval_ms != NULL)
        rc = at_cmd_parse_u64("--interval-ms", a.interval_ms, &interval_ms, &err);
    if (rc == CUSTOS_OK && a.poll_ms != NULL)
        rc = at_cmd_parse_u64("--poll-ms", a.poll_ms, &poll_ms, &err);
    if (rc == CUSTOS_OK && poll_ms == 0)
        rc = custos_error_set(&err, CUSTOS_ERR_INVALID, "--poll-ms: at least 1");
    if (rc == CUSTOS_OK)
        rc = at_signer_open(&signer, &a.key, &err);
    m.signer = &signer;
    if (rc == CUSTOS_OK)
        rc = at_gateway_connect(&a.gw, 0, &m.client, &err);
    uint64_t validity = 86400;
    if (rc == CUSTOS_OK && a.release_validity != NULL)
        rc = at_cmd_parse_u64("--release-validity-seconds", a.release_validity, &validity,
                              &err);
    if (rc == CUSTOS_OK && (validity == 0 || validity > UINT32_MAX))
        rc = custos_error_set(&err, CUSTOS_ERR_INVALID,
                              "--release-validity-seconds: 1 to %u", UINT32_MAX);
    if (rc == CUSTOS_OK)
        rc = manage_chain_setup(&a, &m, &err);
    m.release = (at_release_ctx){.client = m.client,
                                 .signer = m.signer,
                                 .domain = m.domain,
                                 .feed = a.feed,
                                 .seq_path = a.seq_state,
                                 .validity_seconds = validity,
                                 .account = m.account,
                                 .lender = m.lender,
                                 .state_path = a.state};
    if (rc != CUSTOS_OK) {
        at_cmd_error("manage: %s", err.message);
        manage_free(&m, &signer);
        return AT_EXIT_INPUT;
    }
    signal(SIGTERM, manage_on_signal);
    signal(SIGINT, manage_on_signal);
    status = AT_EXIT_OK;
    at_manager *const ms[1] = {&m};
    uint64_t head = 0;
    while (!manage_stop) {
        /* The head before the reads: a block mined during the pass starts the next one. */
        custos_error herr;
        if (m.chain != NULL && at_chain_head(m.chain, &head, &herr) != CUSTOS_OK)
            head = 0;
        rc = at_manage_pass(&m, &err);
        custos_error merr;
        if (a.metrics != NULL &&
            at_manage_metrics_write((const at_manager *const *)ms, 1, a.metrics, &merr) !=
                CUSTOS_OK)
            at_cmd_error("manage: %s", merr.message);
        if (rc != CUSTOS_OK) {
            at_cmd_error("manage: %s", err.message);
            status = rc == CUSTOS_ERR_UNAVAILABLE ? AT_EXIT_UNREACHABLE
                     : rc == CUSTOS_ERR_REFUSED   ? AT_EXIT_REFUSED
                                                  : AT_EXIT_INPUT;
        } else {
            status = AT_EXIT_OK;
        }
        if (a.once)
            break;
        (void)at_manage_wait(ms, 1, m.chain, &head, interval_ms, poll_ms, &manage_stop);
    }
    manage_free(&m, &signer);
    return status;
}
