/* manage: the collateral manager (docs/lending.md §3): its options, and the loop that
 * passes over its pledge (manage_pass.h) on every new block, every new valuation and at
 * least every --interval-ms (manage_watch.h). With --rpc it reads the debt from the chain
 * itself (manage_chain.h); with --notices-contract it publishes its notices on-chain
 * (manage_publish.h); with --agent-key it executes the liquidation (liquidate.h), and
 * with --holdings the custodian's book records the sale that funded it (book_sale.h). */
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
#include "manage_config.h"
#include "manage_metrics.h"
#include "manage_pass.h"
#include "manage_publish.h"
#include "manage_release.h"
#include "manage_state.h"
#include "manage_watch.h"
#include "signer.h"
#include "signopts.h"

typedef struct manage_args {
    at_pledge_opts pledge;
    const char *config, *chain_id, *contract, *interval_ms, *metrics, *agent_key, *rpc,
        *release_validity, *notices_contract, *relayer_key, *poll_ms, *holdings, *prices,
        *policy, *sales;
    bool once;
    at_key_spec key;
    at_gateway gw;
} manage_args;

/* One pledge's options; --config gives several pledges instead (manage_config.h). */
static const clopt manage_pledge_options[] = {
    {"account-id", "0xHEX", CLOPT_STR, offsetof(at_pledge_opts, account_id),
     "the pledged account's 32-byte id"},
    {"lender", "0xADDR", CLOPT_STR, offsetof(at_pledge_opts, lender),
     "the lending market the account is pledged to (Morpho Blue: Morpho)"},
    {"loan-decimals", "N", CLOPT_STR, offsetof(at_pledge_opts, loan_decimals),
     "the loan token's decimals (0 to 36)"},
    {"loan-price-usd", "USD", CLOPT_STR, offsetof(at_pledge_opts, loan_price),
     "USD per whole loan token (1 for a dollar stablecoin)"},
    {"margin-return-ltv", "BPS", CLOPT_STR, offsetof(at_pledge_opts, margin_return),
     "below it: margin return"},
    {"margin-call-ltv", "BPS", CLOPT_STR, offsetof(at_pledge_opts, margin_call),
     "at or above it: margin call"},
    {"liquidation-ltv", "BPS", CLOPT_STR, offsetof(at_pledge_opts, liquidation),
     "at or above it: liquidation"},
    {"hysteresis", "BPS", CLOPT_STR, offsetof(at_pledge_opts, hysteresis),
     "how far back past a threshold the LTV must come to leave its state (default 0)"},
    {"cure-seconds", "N", CLOPT_STR, offsetof(at_pledge_opts, cure_seconds),
     "a margin call's cure period in seconds"},
    {"cure-business-hours", "N", CLOPT_STR, offsetof(at_pledge_opts, cure_hours),
     "a margin call's cure period in bond-market business hours"},
    {"state", "F", CLOPT_STR, offsetof(at_pledge_opts, state),
     "the manager's state file for this pledge"},
    {"feed", "NAME", CLOPT_STR, offsetof(at_pledge_opts, feed),
     "the account's feed (the release after a liquidation is submitted to it)"},
    {"attestor-state", "F", CLOPT_STR, offsetof(at_pledge_opts, seq_state),
     "the attestor's sequence state file (the release takes the account's next sequence)"},
    {0}};
static const clopt manage_options[] = {
    {"config", "F", CLOPT_STR, offsetof(manage_args, config),
     "the pledges to manage, one object each (JSON; replaces the pledge's options)"},
    {"chain-id", "N", CLOPT_STR, offsetof(manage_args, chain_id), "the EIP-712 chain id"},
    {"contract", "0xADDR", CLOPT_STR, offsetof(manage_args, contract),
     "the adapter's address (the EIP-712 verifying contract)"},
    {"interval-ms", "N", CLOPT_STR, offsetof(manage_args, interval_ms),
     "the longest time between passes (default 2000)"},
    {"poll-ms", "N", CLOPT_STR, offsetof(manage_args, poll_ms),
     "how often the chain's head and the latest valuations are checked for a change: a new "
     "block or valuation starts a pass at once (default 250)"},
    {"once", NULL, CLOPT_FLAG, offsetof(manage_args, once), "one pass, then exit"},
    {"metrics-textfile", "F", CLOPT_STR, offsetof(manage_args, metrics),
     "write the pledges' gauges after every pass (node_exporter's textfile collector)"},
    {"agent-key", "F", CLOPT_STR, offsetof(manage_args, agent_key),
     "the liquidation agent's key file (pays gas, holds the loan token; never a signer)"},
    {"rpc", "URL", CLOPT_STR, offsetof(manage_args, rpc),
     "the chain node: the debt is read from it on every new block (without it, through the "
     "gateway), and the agent and the relayer send their transactions to it"},
    {"notices-contract", "0xADDR", CLOPT_STR, offsetof(manage_args, notices_contract),
     "CustosNotices: every notice is published to it"},
    {"relayer-key", "F", CLOPT_STR, offsetof(manage_args, relayer_key),
     "the key file that pays gas for the publications (never a signer)"},
    {"release-validity-seconds", "N", CLOPT_STR, offsetof(manage_args, release_validity),
     "the release's validUntil after its asOf (default 86400)"},
    {"holdings", "F", CLOPT_STR, offsetof(manage_args, holdings),
     "the custodian's book: the positions sold to fund a repay leave it"},
    {"prices", "F", CLOPT_STR, offsetof(manage_args, prices),
     "the prices the sold positions' proceeds are counted at"},
    {"policy", "F", CLOPT_STR, offsetof(manage_args, policy), "the attestor's policy file"},
    {"sales-journal", "F", CLOPT_STR, offsetof(manage_args, sales),
     "the journal every liquidation's sale is appended to (one JSON object a line)"},
    {0}};
static const clopt_set manage_sets[] = {{manage_pledge_options, offsetof(manage_args, pledge)},
                                        {manage_options, 0},
                                        {at_key_options, offsetof(manage_args, key)},
                                        {at_p11_options, offsetof(manage_args, key)},
                                        {clopt_gateway_options, offsetof(manage_args, gw)}};
static const clopt_rule manage_rules[] = {
    {CLOPT_ONE, {"config", "account-id"}, "give --config, or one pledge's --account-id"},
    {CLOPT_TOGETHER,
     {"account-id", "lender", "loan-decimals", "loan-price-usd", "margin-return-ltv",
      "margin-call-ltv"},
     NULL},
    {CLOPT_TOGETHER, {"account-id", "liquidation-ltv", "state"}, NULL},
    {CLOPT_NEEDS, {"account-id", "cure-seconds", "cure-business-hours"}, NULL},
    {CLOPT_CONFLICT, {"cure-seconds", "cure-business-hours"}, NULL},
    {CLOPT_CONFLICT, {"config", "hysteresis", "cure-seconds", "cure-business-hours", "feed",
                      "attestor-state"},
     "--config holds each pledge's settings: give them there"},
    {CLOPT_REQUIRED, {"chain-id"}, NULL},
    {CLOPT_REQUIRED, {"contract"}, NULL},
    {CLOPT_REQUIRED, {"gateway"}, NULL},
    {CLOPT_TOGETHER, {"feed", "attestor-state"}, NULL},
    {CLOPT_NEEDS, {"feed", "agent-key"}, "--feed and --attestor-state are for --agent-key"},
    {CLOPT_NEEDS, {"agent-key", "feed", "config"},
     "--agent-key, --feed and --attestor-state go together, with --rpc (liquidation)"},
    {CLOPT_NEEDS, {"agent-key", "rpc"}, "--agent-key needs --rpc (liquidation)"},
    {CLOPT_TOGETHER, {"notices-contract", "relayer-key"},
     "--notices-contract and --relayer-key go together, with --rpc (publication)"},
    {CLOPT_NEEDS, {"notices-contract", "rpc"}, "--notices-contract needs --rpc (publication)"},
    {CLOPT_NEEDS, {"release-validity-seconds", "agent-key"}, NULL},
    {CLOPT_TOGETHER, {"holdings", "prices", "policy", "sales-journal"},
     "--holdings, --prices, --policy and --sales-journal go together (the book's sale)"},
    {CLOPT_NEEDS, {"holdings", "agent-key"}, NULL},
    AT_KEY_RULE};
static const clopt_command manage_cmd = {
    .name = "manage",
    .usage = "usage: custos-attestor manage (--config F | --account-id 0xHEX --lender 0xADDR\n"
             "         --loan-decimals N --loan-price-usd USD --margin-return-ltv BPS\n"
             "         --margin-call-ltv BPS --liquidation-ltv BPS [--hysteresis BPS]\n"
             "         (--cure-seconds N | --cure-business-hours N) --state F\n"
             "         [--feed NAME --attestor-state F])\n"
             "         --chain-id N --contract 0xADDR " AT_KEY_USAGE "\n"
             "         --gateway HOST:PORT " AT_GATEWAY_USAGE " [--interval-ms N] [--once]\n"
             "         [--poll-ms N] [--metrics-textfile F] [--rpc URL]\n"
             "         [--notices-contract 0xADDR --relayer-key F]\n"
             "         [--agent-key F [--release-validity-seconds N]\n"
             "          [--holdings F --prices F --policy F --sales-journal F]]",
    .summary = "the collateral manager of one pledge, or of each pledge of --config: reads "
               "its debt and value, keeps its loan state, signs, submits and publishes a "
               "notice on every change",
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

/* One pledge's manager from its options (the command line's or a config file's). */
static custos_rc manage_setup(const at_pledge_opts *a, const custos_domain *domain,
                              at_manager *m, custos_error *err)
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
        rc = custos_calendar_load_builtin(&m->cal, err);
    m->state_path = a->state;
    m->domain = domain;
    return rc;
}

/* What every pledge shares: the domain, the chain's reader, relayer and agent. */
typedef struct manage_shared {
    custos_domain domain;
    at_signer signer;
    custos_client *client;
    at_chain *chain;
    at_publisher *pub;
    at_liquidator *liq;
    uint64_t validity, interval_ms, poll_ms;
    const char *holdings, *prices, *policy, *sales; /* the book; NULL: none */
} manage_shared;

static custos_rc manage_shared_setup(const manage_args *a, manage_shared *sh, custos_error *err)
{
    custos_error herr;
    sh->validity = 86400;
    sh->interval_ms = 2000;
    sh->poll_ms = 250;
    sh->holdings = a->holdings;
    sh->prices = a->prices;
    sh->policy = a->policy;
    sh->sales = a->sales;
    custos_rc rc = at_cmd_parse_u64("--chain-id", a->chain_id, &sh->domain.chain_id, err);
    if (rc == CUSTOS_OK &&
        custos_address_from_hex(a->contract, sh->domain.verifying_contract, &herr) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--contract: %s", herr.message);
    if (rc == CUSTOS_OK && a->interval_ms != NULL)
        rc = at_cmd_parse_u64("--interval-ms", a->interval_ms, &sh->interval_ms, err);
    if (rc == CUSTOS_OK && a->poll_ms != NULL)
        rc = at_cmd_parse_u64("--poll-ms", a->poll_ms, &sh->poll_ms, err);
    if (rc == CUSTOS_OK && sh->poll_ms == 0)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--poll-ms: at least 1");
    if (rc == CUSTOS_OK && a->release_validity != NULL)
        rc = at_cmd_parse_u64("--release-validity-seconds", a->release_validity, &sh->validity,
                              err);
    if (rc == CUSTOS_OK && (sh->validity == 0 || sh->validity > UINT32_MAX))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "--release-validity-seconds: 1 to %u", UINT32_MAX);
    if (rc == CUSTOS_OK)
        rc = at_signer_open(&sh->signer, &a->key, err);
    if (rc == CUSTOS_OK)
        rc = at_gateway_connect(&a->gw, 0, &sh->client, err);
    if (rc == CUSTOS_OK && a->rpc != NULL)
        rc = at_chain_new(a->rpc, sh->domain.verifying_contract, &sh->chain, err);
    uint8_t notices[CUSTOS_ADDRESS_LEN];
    if (rc == CUSTOS_OK && a->notices_contract != NULL &&
        custos_address_from_hex(a->notices_contract, notices, &herr) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--notices-contract: %s", herr.message);
    if (rc == CUSTOS_OK && a->notices_contract != NULL)
        rc = at_publisher_new(a->relayer_key, a->rpc, sh->domain.chain_id, notices, &sh->pub,
                              err);
    if (rc == CUSTOS_OK && a->agent_key != NULL)
        rc = at_liquidator_new(a->agent_key, a->rpc, sh->domain.chain_id, &sh->liq, err);
    return rc;
}

static void manage_shared_free(manage_shared *sh)
{
    at_liquidator_free(sh->liq);
    at_publisher_free(sh->pub);
    at_chain_free(sh->chain);
    custos_client_free(sh->client);
    at_signer_close(&sh->signer);
}

/* Pledge i's manager, from its options, with what all share. label: "" for the command
 * line's one pledge, else the prefix of its output lines. */
static custos_rc manage_pledge_setup(const at_pledge_opts *o, manage_shared *sh,
                                     const char *where, at_manager *m, custos_error *err)
{
    custos_error perr;
    custos_rc rc = manage_setup(o, &sh->domain, m, &perr);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, rc, "%s%s", where, perr.message);
    if (sh->liq != NULL && o->feed == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s--agent-key needs the pledge's \"feed\" and "
                                "\"attestor_state\"",
                                where);
    m->signer = &sh->signer;
    m->client = sh->client;
    m->chain = sh->chain;
    m->pub = sh->pub;
    m->liq = sh->liq;
    m->release = (at_release_ctx){.client = sh->client,
                                  .signer = &sh->signer,
                                  .domain = &sh->domain,
                                  .feed = o->feed,
                                  .seq_path = o->seq_state,
                                  .validity_seconds = sh->validity,
                                  .account = m->account,
                                  .lender = m->lender,
                                  .state_path = o->state};
    m->book = (at_book_ctx){.holdings_path = sh->holdings,
                            .prices_path = sh->prices,
                            .policy_path = sh->policy,
                            .journal_path = sh->sales,
                            .account = m->account,
                            .lender = m->lender,
                            .loan_price_usd = &m->price,
                            .loan_scale = &m->scale};
    return CUSTOS_OK;
}

static int manage_exit_status(custos_rc rc)
{
    return rc == CUSTOS_OK                 ? AT_EXIT_OK
           : rc == CUSTOS_ERR_UNAVAILABLE ? AT_EXIT_UNREACHABLE
           : rc == CUSTOS_ERR_REFUSED     ? AT_EXIT_REFUSED
                                          : AT_EXIT_INPUT;
}

/* Passes over every pledge until stopped (or once): the exit status of the last round,
 * the worst of its pledges'. */
static int manage_loop(const manage_args *a, manage_shared *sh, at_manager **ms, size_t n)
{
    int status = AT_EXIT_OK;
    at_watch w = {0, 0};
    while (!manage_stop) {
        /* The head before the reads: a block mined during the pass starts the next one. */
        custos_error herr;
        if (sh->chain != NULL && at_chain_head(sh->chain, &w.block, &herr) != CUSTOS_OK)
            w.block = 0;
        status = AT_EXIT_OK;
        for (size_t i = 0; i < n && !manage_stop; i++) {
            custos_error err;
            custos_rc rc = at_manage_pass(ms[i], &err);
            if (rc != CUSTOS_OK) {
                at_cmd_error("manage: %s%s", ms[i]->label, err.message);
                int s = manage_exit_status(rc);
                if (s > status)
                    status = s;
            }
        }
        custos_error merr;
        if (a->metrics != NULL &&
            at_manage_metrics_write((const at_manager *const *)ms, n, a->metrics, &merr) !=
                CUSTOS_OK)
            at_cmd_error("manage: %s", merr.message);
        if (a->once)
            break;
        (void)at_manage_wait(ms, n, sh->chain, &w, sh->interval_ms, sh->poll_ms,
                             &manage_stop);
    }
    return status;
}

int at_cmd_manage(int argc, char **argv)
{
    manage_args a;
    memset(&a, 0, sizeof a);
    int status;
    if (!at_cmd_args(&manage_cmd, argc, argv, &a, NULL, &status))
        return status;
    manage_shared sh;
    memset(&sh, 0, sizeof sh);
    custos_error err;
    custos_error_clear(&err);
    at_manage_conf *conf = NULL;
    custos_rc rc = a.config != NULL ? at_manage_conf_load(a.config, &conf, &err) : CUSTOS_OK;
    size_t n = conf != NULL ? at_manage_conf_count(conf) : 1;
    at_manager *all = rc == CUSTOS_OK ? calloc(n, sizeof *all) : NULL;
    at_manager **ms = rc == CUSTOS_OK ? calloc(n, sizeof *ms) : NULL;
    char(*labels)[96] = rc == CUSTOS_OK ? calloc(n, sizeof *labels) : NULL;
    if (rc == CUSTOS_OK && (all == NULL || ms == NULL || labels == NULL))
        rc = custos_error_set(&err, CUSTOS_ERR_NOMEM, "manage: out of memory");
    if (rc == CUSTOS_OK)
        rc = manage_shared_setup(&a, &sh, &err);
    size_t ready = 0;
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++) {
        const at_pledge_opts *o = conf != NULL ? at_manage_conf_pledge(conf, i) : &a.pledge;
        char where[1200] = "";
        /* With several pledges, every line and message says which one. */
        if (conf != NULL) {
            snprintf(where, sizeof where, "%s: pledges[%zu]: ", a.config, i);
            snprintf(labels[i], sizeof labels[i], "pledge %.66s: ", o->account_id);
        }
        all[i].label = labels[i];
        ms[i] = &all[i];
        rc = manage_pledge_setup(o, &sh, where, &all[i], &err);
        ready = i + 1;
    }
    if (rc != CUSTOS_OK) {
        at_cmd_error("manage: %s", err.message);
        status = AT_EXIT_INPUT;
    } else {
        signal(SIGTERM, manage_on_signal);
        signal(SIGINT, manage_on_signal);
        status = manage_loop(&a, &sh, ms, n);
    }
    for (size_t i = 0; i < ready; i++)
        custos_calendar_free(&all[i].cal);
    manage_shared_free(&sh);
    free(labels);
    free(ms);
    free(all);
    at_manage_conf_free(conf);
    return status;
}
