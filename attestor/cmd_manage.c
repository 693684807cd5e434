/* manage: the collateral manager for one pledge (docs/lending.md §3). Each pass reads the
 * borrower's debt as the gateway reads it from the chain (GetPledge: Morpho Blue's borrow
 * shares converted with the market's totals after interest accrual, in loan-token units),
 * converts it to USD with 18 decimals (loan-token decimals and a configured USD price per
 * token, 1 for a dollar stablecoin), takes the latest accepted collateral value
 * (GetLatest: a freeze counts as no value), computes the LTV exactly, steps the state
 * machine (custos/ltv.h), and on a change signs a CollateralNotice with the custodian's
 * key and submits it (rule 19). The state file is written before a notice is submitted,
 * so a crash never loses a change nor signs a second notice for it. With --agent-key it
 * also executes the liquidation (liquidate.h, manage_release.h; docs/lending.md §5). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book_sale.h"
#include "cmd.h"
#include "context.h"
#include "custos/hex.h"
#include "custos/ltv.h"
#include "custos/notice.h"
#include "custos/sig.h"
#include "fileio.h"
#include "liquidate.h"
#include "manage_release.h"
#include "manage_state.h"
#include "signer.h"
#include "signopts.h"

typedef struct manage_args {
    const char *account_id, *lender, *loan_decimals, *loan_price, *margin_return, *margin_call,
        *liquidation, *hysteresis, *cure_seconds, *cure_hours, *state, *chain_id, *contract,
        *interval_ms, *metrics, *agent_key, *rpc, *feed, *seq_state, *release_validity,
        *holdings, *prices, *policy, *sales;
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
     "time between passes (default 2000)"},
    {"once", NULL, CLOPT_FLAG, offsetof(manage_args, once), "one pass, then exit"},
    {"metrics-textfile", "F", CLOPT_STR, offsetof(manage_args, metrics),
     "write the pledge's gauges after every pass (node_exporter's textfile collector)"},
    {"agent-key", "F", CLOPT_STR, offsetof(manage_args, agent_key),
     "the liquidation agent's key file (pays gas, holds the loan token; never a signer)"},
    {"rpc", "URL", CLOPT_STR, offsetof(manage_args, rpc),
     "the chain node the liquidation agent sends its transactions to"},
    {"feed", "NAME", CLOPT_STR, offsetof(manage_args, feed),
     "the account's feed (the release after a liquidation is submitted to it)"},
    {"attestor-state", "F", CLOPT_STR, offsetof(manage_args, seq_state),
     "the attestor's sequence state file (the release takes the account's next sequence)"},
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
    {CLOPT_TOGETHER, {"agent-key", "rpc", "feed", "attestor-state"},
     "--agent-key, --rpc, --feed and --attestor-state go together (liquidation)"},
    {CLOPT_NEEDS, {"release-validity-seconds", "agent-key"}, NULL},
    {CLOPT_TOGETHER, {"holdings", "prices", "policy", "sales-journal"},
     "--holdings, --prices, --policy and --sales-journal go together (the book's sale)"},
    {CLOPT_NEEDS, {"holdings", "agent-key"}, NULL},
    AT_KEY_RULE};
static const clopt_command manage_cmd = {
    .name = "manage",
    .usage = "usage: custos-attestor manage --account-id 0xHEX --lender 0xADDR\n"
             "         --loan-decimals N --loan-price-usd USD --margin-return-ltv BPS\n"
             "         --margin-call-ltv BPS --liquidation-ltv BPS [--hysteresis BPS]\n"
             "         (--cure-seconds N | --cure-business-hours N) --state F\n"
             "         --chain-id N --contract 0xADDR " AT_KEY_USAGE "\n"
             "         --gateway HOST:PORT " AT_GATEWAY_USAGE " [--interval-ms N] [--once]\n"
             "         [--metrics-textfile F] [--agent-key F --rpc URL --feed NAME\n"
             "         --attestor-state F [--release-validity-seconds N]\n"
             "         [--holdings F --prices F --policy F --sales-journal F]]",
    .summary = "the collateral manager of one pledge: reads its debt and value, keeps its "
               "loan state, signs and submits a notice on every change",
    .sets = manage_sets,
    .n_sets = CLOPT_N(manage_sets),
    .rules = manage_rules,
    .n_rules = CLOPT_N(manage_rules)};

typedef struct manager {
    custos_ltv_policy policy;
    custos_calendar cal;
    custos_domain domain;
    uint8_t account[CUSTOS_HASH_LEN], lender[CUSTOS_ADDRESS_LEN];
    custos_u256 price;  /* USD per whole token, 18 decimals */
    custos_u256 scale;  /* 10^loan_decimals */
    at_signer signer;
    custos_client *client;
    at_liquidator *liq; /* NULL: liquidation is left to others */
    at_release_ctx release;
    at_book_ctx book; /* holdings_path NULL: no book to record sales in */
    const char *state_path;
    /* The gauges of --metrics-textfile (docs/lending.md §4). */
    uint32_t ltv;
    custos_loan_status status;
    uint64_t read_failures, last_read;
    at_liq_step liq_step;
    uint64_t liq_reverts;
    bool liq_waiting;
} manager;

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

static custos_rc manage_setup(const manage_args *a, manager *m, custos_error *err)
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
        rc = at_cmd_parse_u64("--chain-id", a->chain_id, &m->domain.chain_id, err);
    if (rc == CUSTOS_OK &&
        custos_address_from_hex(a->contract, m->domain.verifying_contract, &herr) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--contract: %s", herr.message);
    if (rc == CUSTOS_OK)
        rc = custos_calendar_load_builtin(&m->cal, err);
    m->state_path = a->state;
    return rc;
}

/* Delivers the pending notice; CUSTOS_OK once the gateway has it (new or duplicate). */
static custos_rc manage_deliver(manager *m, at_manage_state *st, custos_error *err)
{
    bool duplicate = false;
    custos_rc rc = custos_client_submit_notice(m->client, &m->domain, &st->pending,
                                               &st->pending_sig, &duplicate, NULL, err);
    if (rc != CUSTOS_OK)
        return rc;
    printf("notice %s sequence %" PRIu64 " ACCEPTED%s\n",
           custos_loan_state_name((custos_loan_state)st->pending.state), st->pending.sequence,
           duplicate ? " (duplicate)" : "");
    st->has_pending = false;
    return at_manage_state_save(m->state_path, st, err);
}

/* The collateral value the LTV counts: the latest accepted valuation pledged to the
 * lender; 0 under a freeze. CUSTOS_ERR_NOT_FOUND when the account is not pledged to it. */
static custos_rc manage_collateral(manager *m, custos_u256 *out, custos_error *err)
{
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_rc rc = custos_client_get_latest(m->client, m->account, &rec, err);
    if (rc == CUSTOS_OK && (rec.sub.att.kind == CUSTOS_KIND_RELEASE ||
                            memcmp(rec.sub.att.beneficiary, m->lender, CUSTOS_ADDRESS_LEN) != 0))
        rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                              "the account's latest attestation does not pledge it to the "
                              "lender");
    if (rc == CUSTOS_OK && rec.sub.att.kind == CUSTOS_KIND_FREEZE)
        custos_u256_from_u64(out, 0);
    else if (rc == CUSTOS_OK)
        *out = rec.sub.att.collateral_value;
    custos_record_clear(&rec);
    return rc;
}

/* The pledge's gauges, replacing path atomically. */
static custos_rc manage_metrics_write(const manager *m, const char *path, custos_error *err)
{
    char account[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], lender[CUSTOS_ADDRESS_HEX_LEN];
    if (custos_hex_encode(m->account, CUSTOS_HASH_LEN, account, sizeof account) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "metrics: account");
    custos_address_to_hex(m->lender, lender);
    char labels[160];
    snprintf(labels, sizeof labels, "{account=\"%s\",lender=\"%s\"}", account, lender);
    char text[4096];
    int len = snprintf(
        text, sizeof text,
        "# HELP custos_loan_ltv_bps The pledge's loan-to-value at the last read, basis points.\n"
        "# TYPE custos_loan_ltv_bps gauge\n"
        "custos_loan_ltv_bps%s %u\n"
        "# HELP custos_loan_state 0 healthy, 1 margin return, 2 margin call, 3 liquidation.\n"
        "# TYPE custos_loan_state gauge\n"
        "custos_loan_state%s %d\n"
        "# HELP custos_loan_cure_deadline_seconds A margin call's cure deadline; 0 without one.\n"
        "# TYPE custos_loan_cure_deadline_seconds gauge\n"
        "custos_loan_cure_deadline_seconds%s %llu\n"
        "# HELP custos_loan_last_read_seconds When the debt and value were last read; 0: never.\n"
        "# TYPE custos_loan_last_read_seconds gauge\n"
        "custos_loan_last_read_seconds%s %llu\n"
        "# HELP custos_loan_exposure_read_failures_total Passes that could not read the loan.\n"
        "# TYPE custos_loan_exposure_read_failures_total counter\n"
        "custos_loan_exposure_read_failures_total%s %llu\n"
        "# HELP custos_loan_liquidation_step The liquidation's last step: 0 none, 1 decided, "
        "2 repay sent, 3 repay mined, 4 release signed, 5 release accepted.\n"
        "# TYPE custos_loan_liquidation_step gauge\n"
        "custos_loan_liquidation_step%s %d\n"
        "# HELP custos_loan_liquidation_repay_reverts_total Repays of the liquidation that "
        "reverted.\n"
        "# TYPE custos_loan_liquidation_repay_reverts_total counter\n"
        "custos_loan_liquidation_repay_reverts_total%s %llu\n"
        "# HELP custos_loan_liquidation_waiting 1 while no repay is sent because it would "
        "revert.\n"
        "# TYPE custos_loan_liquidation_waiting gauge\n"
        "custos_loan_liquidation_waiting%s %d\n",
        labels, m->ltv, labels, (int)m->status.state, labels,
        (unsigned long long)m->status.deadline, labels, (unsigned long long)m->last_read, labels,
        (unsigned long long)m->read_failures, labels, (int)m->liq_step, labels,
        (unsigned long long)m->liq_reverts, labels, m->liq_waiting ? 1 : 0);
    if (len < 0 || (size_t)len >= sizeof text)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "metrics: too long");
    return at_file_write_atomic(path, text, (size_t)len, 0644, err);
}

/* Liquidation by the agent (docs/lending.md §5): a pledge in liquidation is decided once;
 * each pass then advances the agent's repay by at most one step, and the release after it
 * as far as it goes (signed once the debt reads zero, then submitted). */
static custos_rc manage_liquidate(manager *m, at_manage_state *st, custos_error *err)
{
    custos_rc rc = CUSTOS_OK;
    if (m->liq == NULL || st->status.state != CUSTOS_LOAN_LIQUIDATION)
        return CUSTOS_OK;
    if (st->liq.step == AT_LIQ_NONE) {
        st->liq.step = AT_LIQ_DECIDED;
        rc = at_manage_state_save(m->state_path, st, err);
    }
    at_liq_step before = st->liq.step;
    custos_pledge *p = NULL;
    if (rc == CUSTOS_OK && before < AT_LIQ_REPAY_MINED)
        rc = custos_client_get_pledge(m->client, m->account, m->lender, &p, err);
    if (rc == CUSTOS_OK && p != NULL)
        rc = at_liquidate_step(m->liq, p, m->state_path, st, err);
    custos_pledge_free(p);
    m->liq_waiting = st->liq.step == AT_LIQ_DECIDED && at_liquidator_waiting(m->liq);
    m->liq_reverts = st->liq.reverts;
    if (rc == CUSTOS_OK && st->liq.step != before)
        printf("liquidation %s\n", at_liq_step_name(st->liq.step));
    m->liq_step = st->liq.step;
    /* The sale that funded the agent's repay leaves the book before the release
     * (docs/custodian.md §14); a decision that found no debt sold nothing. */
    if (rc == CUSTOS_OK && m->book.holdings_path != NULL &&
        st->liq.step == AT_LIQ_REPAY_MINED && st->liq.repay_block != 0 &&
        !st->liq.book_recorded) {
        rc = at_book_record_sale(&m->book, &st->liq, (uint64_t)time(NULL), err);
        st->liq.book_recorded = rc == CUSTOS_OK;
        if (rc == CUSTOS_OK)
            rc = at_manage_state_save(m->state_path, st, err);
        if (rc == CUSTOS_OK)
            printf("liquidation sale recorded in the book\n");
    }
    /* The release, once the repay is mined: signed only when the debt reads zero. */
    for (int i = 0; rc == CUSTOS_OK && i < 2; i++) {
        before = st->liq.step;
        rc = at_manage_release_step(&m->release, st, err);
        if (rc == CUSTOS_OK && st->liq.step != before)
            printf("liquidation %s\n", at_liq_step_name(st->liq.step));
        m->liq_step = st->liq.step;
    }
    fflush(stdout);
    return rc;
}

/* One pass: CUSTOS_OK, or the error that stopped it (the next pass tries again). */
static custos_rc manage_pass(manager *m, custos_error *err)
{
    at_manage_state st;
    custos_rc rc = at_manage_state_load(m->state_path, &st, err);
    if (rc == CUSTOS_OK) {
        m->status = st.status;
        m->liq_step = st.liq.step;
        m->liq_reverts = st.liq.reverts;
    }
    if (rc == CUSTOS_OK && st.has_pending)
        rc = manage_deliver(m, &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    /* A liquidation ended by an accepted release leaves nothing to watch. */
    if (st.liq.step == AT_LIQ_RELEASE_ACCEPTED) {
        printf("released after liquidation: nothing to manage\n");
        fflush(stdout);
        return CUSTOS_OK;
    }
    /* A release signed may already be accepted (a crash before the step was written), so
     * the latest attestation no longer pledges the account and the LTV cannot be read: the
     * release is submitted again instead (docs/lending.md §5). */
    if (st.liq.step == AT_LIQ_RELEASE_SIGNED)
        return manage_liquidate(m, &st, err);
    custos_pledge *p = NULL;
    rc = custos_client_get_pledge(m->client, m->account, m->lender, &p, err);
    if (rc == CUSTOS_OK && !p->exposure_readable)
        rc = custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                              "the market cannot report the pledge's exposure");
    custos_u256 exposure, collateral;
    if (rc == CUSTOS_OK)
        rc = custos_u256_mul_div(&exposure, &p->debt, &m->price, &m->scale);
    custos_pledge_free(p);
    if (rc == CUSTOS_OK)
        rc = manage_collateral(m, &collateral, err);
    if (rc != CUSTOS_OK) {
        m->read_failures++;
        return rc;
    }
    uint32_t ltv = 0;
    if (rc == CUSTOS_OK)
        rc = custos_ltv_bps(&exposure, &collateral, &ltv, err);
    uint64_t now = (uint64_t)time(NULL);
    custos_loan_status next;
    custos_ltv_cause cause = CUSTOS_LTV_UNCHANGED;
    if (rc == CUSTOS_OK)
        rc = custos_ltv_step(&m->policy, &m->cal, &st.status, ltv, now, &next, &cause, err);
    if (rc != CUSTOS_OK)
        return rc;
    m->ltv = ltv;
    m->status = next;
    m->last_read = now;
    printf("ltv_bps %u state %s cause %s\n", ltv, custos_loan_state_name(next.state),
           custos_ltv_cause_name(cause));
    if (next.state == st.status.state)
        return manage_liquidate(m, &st, err);
    custos_notice *n = &st.pending;
    memset(n, 0, sizeof *n);
    memcpy(n->account, m->account, CUSTOS_HASH_LEN);
    memcpy(n->lender, m->lender, CUSTOS_ADDRESS_LEN);
    n->state = (uint8_t)next.state;
    n->ltv_bps = ltv;
    n->exposure = exposure;
    n->collateral_value = collateral;
    n->deadline = next.deadline;
    n->sequence = st.sequence + 1;
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_notice_digest(&m->domain, n, digest);
    rc = at_signer_sign(&m->signer, digest, &st.pending_sig, err);
    if (rc != CUSTOS_OK)
        return rc;
    /* Written before it is submitted: after a crash the restart delivers this notice. */
    st.status = next;
    st.sequence = n->sequence;
    st.has_pending = true;
    rc = at_manage_state_save(m->state_path, &st, err);
    if (rc == CUSTOS_OK)
        rc = manage_deliver(m, &st, err);
    if (rc == CUSTOS_OK)
        rc = manage_liquidate(m, &st, err);
    fflush(stdout);
    return rc;
}

int at_cmd_manage(int argc, char **argv)
{
    manage_args a = {0};
    int status;
    if (!at_cmd_args(&manage_cmd, argc, argv, &a, NULL, &status))
        return status;
    manager m;
    memset(&m, 0, sizeof m);
    custos_error err;
    custos_error_clear(&err);
    uint64_t interval_ms = 2000;
    custos_rc rc = manage_setup(&a, &m, &err);
    if (rc == CUSTOS_OK && a.interval_ms != NULL)
        rc = at_cmd_parse_u64("--interval-ms", a.interval_ms, &interval_ms, &err);
    if (rc == CUSTOS_OK)
        rc = at_signer_open(&m.signer, &a.key, &err);
    if (rc == CUSTOS_OK)
        rc = at_gateway_connect(&a.gw, 0, &m.client, &err);
    uint64_t validity = 86400;
    if (rc == CUSTOS_OK && a.release_validity != NULL)
        rc = at_cmd_parse_u64("--release-validity-seconds", a.release_validity, &validity,
                              &err);
    if (rc == CUSTOS_OK && (validity == 0 || validity > UINT32_MAX))
        rc = custos_error_set(&err, CUSTOS_ERR_INVALID,
                              "--release-validity-seconds: 1 to %u", UINT32_MAX);
    if (rc == CUSTOS_OK && a.agent_key != NULL)
        rc = at_liquidator_new(a.agent_key, a.rpc, m.domain.chain_id, &m.liq, &err);
    m.release = (at_release_ctx){.client = m.client,
                                 .signer = &m.signer,
                                 .domain = &m.domain,
                                 .feed = a.feed,
                                 .seq_path = a.seq_state,
                                 .validity_seconds = validity,
                                 .account = m.account,
                                 .lender = m.lender,
                                 .state_path = a.state};
    m.book = (at_book_ctx){.holdings_path = a.holdings,
                           .prices_path = a.prices,
                           .policy_path = a.policy,
                           .journal_path = a.sales,
                           .account = m.account,
                           .lender = m.lender,
                           .loan_price_usd = &m.price,
                           .loan_scale = &m.scale};
    if (rc != CUSTOS_OK) {
        at_cmd_error("manage: %s", err.message);
        at_liquidator_free(m.liq);
        custos_client_free(m.client);
        at_signer_close(&m.signer);
        custos_calendar_free(&m.cal);
        return AT_EXIT_INPUT;
    }
    signal(SIGTERM, manage_on_signal);
    signal(SIGINT, manage_on_signal);
    status = AT_EXIT_OK;
    while (!manage_stop) {
        rc = manage_pass(&m, &err);
        custos_error merr;
        if (a.metrics != NULL && manage_metrics_write(&m, a.metrics, &merr) != CUSTOS_OK)
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
        for (uint64_t slept = 0; slept < interval_ms && !manage_stop; slept += 50)
            usleep(50 * 1000);
    }
    at_liquidator_free(m.liq);
    custos_client_free(m.client);
    at_signer_close(&m.signer);
    custos_calendar_free(&m.cal);
    return status;
}
