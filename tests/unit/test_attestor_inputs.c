/* The attestor's input files are parsed strictly: each malformed document below is refused
 * with a message that starts with the file and the JSON path of the offending value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "custos/sig.h"
#include "custos/u256.h"
#include "holdings.h"
#include "policy.h"
#include "prices.h"
#include "testutil.h"

typedef enum doc_kind { HOLDINGS, PRICES, POLICY } doc_kind;

typedef struct bad_doc {
    doc_kind kind;
    const char *json;
    const char *prefix; /* the message must start with it: "file: path: " */
    const char *detail; /* and contain this */
} bad_doc;

#define POS(q) \
    "{\"asset\":\"US912797KX44\",\"class\":\"bill\",\"quantity\":" q ",\"maturity\":\"2027-01-21\"}"
#define TERMS(cls, terms) \
    ACCT("{\"asset\":\"US91282CLX73\",\"class\":\"" cls "\",\"quantity\":\"1\"" terms "}")
#define ACCT(positions) \
    "{\"custodian\":\"acme\",\"accounts\":[{\"ref\":\"A\",\"beneficiary\":\"0x0\"," \
    "\"positions\":[" positions "]}]}"
#define PRICE(body) "{\"prices\":{\"US912797KX44\":" body "}}"
#define POLICY_DOC(h, ttl, age) \
    "{\"haircuts_bps\":" h ",\"ttl_seconds\":" ttl ",\"max_price_age_seconds\":" age "}"

/* The example of the operator's guide: a comma as the decimal separator. */
static const char comma_quantity[] =
    ACCT("{\"asset\":\"US912797KX44\",\"class\":\"mmf\",\"quantity\":\"1\"},"
         "{\"asset\":\"US912797LB15\",\"class\":\"mmf\",\"quantity\":\"2\"},"
         "{\"asset\":\"US91282CLX73\",\"class\":\"note\",\"quantity\":\"12,5\"}");

static const bad_doc bad_docs[] = {
    /* holdings.json */
    {HOLDINGS, "{\"custodian\": \"acme\",", "holdings.json: line 1", "not valid JSON"},
    {HOLDINGS, "[]", "holdings.json: ", "must be a JSON object"},
    {HOLDINGS, "{\"custodian\":\"a\",\"custodian\":\"b\",\"accounts\":[]}", "holdings.json: line 1",
     "duplicate"},
    {HOLDINGS, "{\"accounts\":[]}", "holdings.json: custodian: ", "missing"},
    {HOLDINGS, "{\"custodian\":7,\"accounts\":[]}", "holdings.json: custodian: ",
     "expected a string, found an integer"},
    {HOLDINGS, "{\"custodian\":\"\",\"accounts\":[]}", "holdings.json: custodian: ", "empty"},
    {HOLDINGS, "{\"custodian\":\" acme\",\"accounts\":[]}", "holdings.json: custodian: ",
     "not printable ASCII"},
    {HOLDINGS, "{\"custodian\":\"acme\",\"accounts\":[],\"owner\":1}", "holdings.json: owner: ",
     "unknown field"},
    {HOLDINGS, "{\"custodian\":\"acme\",\"accounts\":{}}", "holdings.json: accounts: ",
     "expected an array, found an object"},
    {HOLDINGS, "{\"custodian\":\"acme\",\"accounts\":[]}", "holdings.json: accounts: ",
     "no accounts"},
    {HOLDINGS, "{\"custodian\":\"acme\",\"accounts\":[{\"beneficiary\":\"0x0\",\"positions\":[]}]}",
     "holdings.json: accounts[0].ref: ", "missing"},
    {HOLDINGS,
     "{\"custodian\":\"acme\",\"accounts\":[{\"ref\":\"A\",\"beneficiary\":\"0x12\","
     "\"positions\":[" POS("\"1\"") "]}]}",
     "holdings.json: accounts[0].beneficiary: ", "not an Ethereum address"},
    {HOLDINGS,
     "{\"custodian\":\"acme\",\"accounts\":[{\"ref\":\"A\",\"beneficiary\":\"0x0\","
     "\"positions\":[" POS("\"1\"") "],\"_comment\":\"x\"}]}",
     "holdings.json: accounts[0]._comment: ", "unknown field"},
    {HOLDINGS, comma_quantity, "holdings.json: accounts[0].positions[2].quantity: ",
     "not a decimal number: '12,5'"},
    {HOLDINGS, ACCT(POS("12.5")), "holdings.json: accounts[0].positions[0].quantity: ",
     "expected a decimal number in a string"},
    {HOLDINGS, ACCT(POS("\"-5\"")), "holdings.json: accounts[0].positions[0].quantity: ",
     "not a decimal number: '-5'"},
    {HOLDINGS, ACCT(POS("\"1e6\"")), "holdings.json: accounts[0].positions[0].quantity: ",
     "not a decimal number: '1e6'"},
    {HOLDINGS, ACCT(POS("\".5\"")), "holdings.json: accounts[0].positions[0].quantity: ",
     "not a decimal number: '.5'"},
    {HOLDINGS, ACCT(POS("\"5.\"")), "holdings.json: accounts[0].positions[0].quantity: ",
     "not a decimal number: '5.'"},
    {HOLDINGS, ACCT(POS("\" 5\"")), "holdings.json: accounts[0].positions[0].quantity: ",
     "not a decimal number"},
    {HOLDINGS, ACCT(POS("\"\"")), "holdings.json: accounts[0].positions[0].quantity: ",
     "not a decimal number: ''"},
    {HOLDINGS, ACCT(POS("\"1.0000000000000000001\"")),
     "holdings.json: accounts[0].positions[0].quantity: ", "more than 18 decimals"},
    {HOLDINGS, ACCT(POS("\"1000000000000000000000000000000000000000000000000000000000000\"")),
     "holdings.json: accounts[0].positions[0].quantity: ", "too large"},
    {HOLDINGS,
     ACCT("{\"asset\":\"US912797KX44\",\"class\":\"bill\",\"qty\":\"1\"}"),
     "holdings.json: accounts[0].positions[0].qty: ", "unknown field"},
    {HOLDINGS, ACCT("{\"asset\":\"US912797KX44\",\"quantity\":\"1\"}"),
     "holdings.json: accounts[0].positions[0].class: ", "missing"},
    {HOLDINGS,
     ACCT("{\"asset\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\",\"class\":\"bill\",\"quantity\":\"1\"}"),
     "holdings.json: accounts[0].positions[0].asset: ", "32 bytes, longer than the 31 allowed"},
    {HOLDINGS, ACCT("{\"asset\":\"US 912797\",\"class\":\"bill\",\"quantity\":\"1\"}"),
     "holdings.json: accounts[0].positions[0].asset: ", "not printable ASCII"},
    {HOLDINGS, ACCT(POS("\"1\"") "," POS("\"2\"")),
     "holdings.json: accounts[0].positions[1].asset: ", "already listed"},
    {HOLDINGS, ACCT("7"), "holdings.json: accounts[0].positions[0]: ",
     "expected an object, found an integer"},
    {HOLDINGS,
     "{\"custodian\":\"acme\",\"accounts\":[{\"ref\":\"A\",\"beneficiary\":\"0x0\",\"positions\":["
     POS("\"1\"") "]},{\"ref\":\"A\",\"beneficiary\":\"0x0\",\"positions\":[" POS("\"1\"") "]}]}",
     "holdings.json: accounts[1].ref: ", "already used by accounts[0]"},
    /* The first account that repeats a ref, named with that ref's first use. */
    {HOLDINGS,
     "{\"custodian\":\"acme\",\"accounts\":["
     "{\"ref\":\"B\",\"beneficiary\":\"0x0\",\"positions\":[" POS("\"1\"") "]},"
     "{\"ref\":\"A\",\"beneficiary\":\"0x0\",\"positions\":[" POS("\"1\"") "]},"
     "{\"ref\":\"C\",\"beneficiary\":\"0x0\",\"positions\":[" POS("\"1\"") "]},"
     "{\"ref\":\"A\",\"beneficiary\":\"0x0\",\"positions\":[" POS("\"1\"") "]},"
     "{\"ref\":\"B\",\"beneficiary\":\"0x0\",\"positions\":[" POS("\"1\"") "]}]}",
     "holdings.json: accounts[3].ref: ", "'A' already used by accounts[1]"},
    /* A repeated ref before an account that does not parse is met first, and after one,
     * second. */
    {HOLDINGS,
     "{\"custodian\":\"acme\",\"accounts\":["
     "{\"ref\":\"A\",\"beneficiary\":\"0x0\",\"positions\":[" POS("\"1\"") "]},"
     "{\"ref\":\"A\",\"beneficiary\":\"0x0\",\"positions\":[" POS("\"1\"") "]},"
     "{\"ref\":\"Z\",\"beneficiary\":\"0x12\",\"positions\":[" POS("\"1\"") "]}]}",
     "holdings.json: accounts[1].ref: ", "'A' already used by accounts[0]"},
    {HOLDINGS,
     "{\"custodian\":\"acme\",\"accounts\":["
     "{\"ref\":\"A\",\"beneficiary\":\"0x0\",\"positions\":[" POS("\"1\"") "]},"
     "{\"ref\":\"Z\",\"beneficiary\":\"0x12\",\"positions\":[" POS("\"1\"") "]},"
     "{\"ref\":\"A\",\"beneficiary\":\"0x0\",\"positions\":[" POS("\"1\"") "]}]}",
     "holdings.json: accounts[1].beneficiary: ", "not an Ethereum address"},

    /* prices.json */
    {PRICES, "", "prices.json: line", "not valid JSON"},
    {PRICES, "{}", "prices.json: prices: ", "missing"},
    {PRICES, "{\"prices\":[]}", "prices.json: prices: ", "expected an object, found an array"},
    {PRICES, "{\"prices\":{}}", "prices.json: prices: ", "no prices"},
    {PRICES, "{\"prices\":{},\"currency\":\"USD\"}", "prices.json: currency: ", "unknown field"},
    {PRICES, PRICE("\"0.98\""), "prices.json: prices.US912797KX44: ",
     "expected an object, found a string"},
    {PRICES, PRICE("{\"as_of\":1795208400}"), "prices.json: prices.US912797KX44.price: ",
     "give price or discount_yield (bills), one of them"},
    {PRICES, PRICE("{\"price\":\"98\",\"discount_yield\":\"4\",\"as_of\":1795208400}"),
     "prices.json: prices.US912797KX44.price: ", "give price or discount_yield (bills), not both"},
    {PRICES, PRICE("{\"discount_yield\":\"100\",\"as_of\":1795208400}"),
     "prices.json: prices.US912797KX44.discount_yield: ", "must be below 100"},
    {PRICES, PRICE("{\"discount_yield\":\"-4\",\"as_of\":1795208400}"),
     "prices.json: prices.US912797KX44.discount_yield: ", "not a decimal number: '-4'"},
    {PRICES, PRICE("{\"price\":\"98\",\"index_ratio\":\"0\",\"as_of\":1795208400}"),
     "prices.json: prices.US912797KX44.index_ratio: ", "zero"},
    /* An index ratio typed in percent. */
    {PRICES, PRICE("{\"price\":\"98\",\"index_ratio\":\"102.345\",\"as_of\":1795208400}"),
     "prices.json: prices.US912797KX44.index_ratio: ", "must be below 10"},
    {PRICES, PRICE("{\"price\":\"98\",\"accrual_rate\":\"4,2\",\"as_of\":1795208400}"),
     "prices.json: prices.US912797KX44.accrual_rate: ", "not a decimal number: '4,2'"},
    {PRICES, PRICE("{\"price\":0.98765,\"as_of\":1795208400}"),
     "prices.json: prices.US912797KX44.price: ", "expected a decimal number in a string"},
    {PRICES, PRICE("{\"price\":\"98,765\",\"as_of\":1795208400}"),
     "prices.json: prices.US912797KX44.price: ", "not a decimal number: '98,765'"},
    {PRICES, PRICE("{\"price\":\"0.000\",\"as_of\":1795208400}"),
     "prices.json: prices.US912797KX44.price: ", "zero"},
    {PRICES, PRICE("{\"price\":\"0.98765\"}"), "prices.json: prices.US912797KX44.as_of: ",
     "missing"},
    {PRICES, PRICE("{\"price\":\"0.98765\",\"as_of\":\"1795208400\"}"),
     "prices.json: prices.US912797KX44.as_of: ", "expected an integer, found a string"},
    {PRICES, PRICE("{\"price\":\"0.98765\",\"as_of\":1795208400.5}"),
     "prices.json: prices.US912797KX44.as_of: ", "expected an integer, found a number"},
    {PRICES, PRICE("{\"price\":\"0.98765\",\"as_of\":-1}"),
     "prices.json: prices.US912797KX44.as_of: ", "outside"},
    /* Milliseconds instead of seconds. */
    {PRICES, PRICE("{\"price\":\"0.98765\",\"as_of\":1795208400000}"),
     "prices.json: prices.US912797KX44.as_of: ", "outside"},
    {PRICES, PRICE("{\"price\":\"0.98765\",\"as_of\":1795208400,\"ccy\":\"USD\"}"),
     "prices.json: prices.US912797KX44.ccy: ", "unknown field"},
    {PRICES, "{\"prices\":{\"US 912797\":{\"price\":\"1\",\"as_of\":1795208400}}}",
     "prices.json: prices.US 912797: ", "without blanks"},

    /* instrument terms */
    /* An unknown class is read (and refused by the valuation); its fields still are checked. */
    {HOLDINGS, TERMS("strip", ",\"maturity\":\"2027-02-30\""),
     "holdings.json: accounts[0].positions[0].maturity: ", "2027-02-30 is not a date"},
    {HOLDINGS, TERMS("note", ",\"maturity\":\"2027-11-15\""),
     "holdings.json: accounts[0].positions[0].coupon: ", "missing: a note needs it"},
    {HOLDINGS, TERMS("tips", ",\"maturity\":\"2034-07-15\""),
     "holdings.json: accounts[0].positions[0].coupon: ", "missing: a tips needs it"},
    {HOLDINGS, TERMS("bond", ",\"coupon\":\"4.5\""),
     "holdings.json: accounts[0].positions[0].maturity: ", "missing: a bond needs it"},
    {HOLDINGS, TERMS("frn", ""), "holdings.json: accounts[0].positions[0].maturity: ",
     "missing: a frn needs it"},
    {HOLDINGS, TERMS("bill", ",\"coupon\":\"4.5\",\"maturity\":\"2027-11-15\""),
     "holdings.json: accounts[0].positions[0].coupon: ", "a bill has no fixed coupon"},
    {HOLDINGS, TERMS("frn", ",\"coupon\":\"4.5\",\"maturity\":\"2027-11-15\""),
     "holdings.json: accounts[0].positions[0].coupon: ", "a frn has no fixed coupon"},
    {HOLDINGS, TERMS("mmf", ",\"maturity\":\"2027-11-15\""),
     "holdings.json: accounts[0].positions[0].maturity: ", "a mmf has no maturity"},
    {HOLDINGS, TERMS("bill", ",\"maturity\":\"2027-11-15\",\"dated_date\":\"2026-11-15\""),
     "holdings.json: accounts[0].positions[0].dated_date: ", "a bill has no coupon period"},
    {HOLDINGS,
     TERMS("note", ",\"coupon\":\"4.5\",\"maturity\":\"2027-11-15\",\"dated_date\":"
                   "\"2027-11-15\""),
     "holdings.json: accounts[0].positions[0].dated_date: ", "not before the maturity"},
    {HOLDINGS,
     TERMS("note", ",\"coupon\":\"4.5\",\"maturity\":\"2027-11-15\",\"first_coupon\":"
                   "\"2028-05-15\""),
     "holdings.json: accounts[0].positions[0].first_coupon: ", "after the maturity"},
    {HOLDINGS,
     TERMS("note", ",\"coupon\":\"4.5\",\"maturity\":\"2027-11-15\",\"dated_date\":"
                   "\"2026-05-15\",\"first_coupon\":\"2026-05-15\""),
     "holdings.json: accounts[0].positions[0].first_coupon: ", "not after the dated_date"},
    {HOLDINGS,
     TERMS("note", ",\"coupon\":\"4.5\",\"maturity\":\"2027-11-15\",\"dated_date\":"
                   "\"2026/05/15\""),
     "holdings.json: accounts[0].positions[0].dated_date: ", "not a YYYY-MM-DD date"},
    {HOLDINGS, TERMS("note", ",\"coupon\":\"100\",\"maturity\":\"2027-11-15\""),
     "holdings.json: accounts[0].positions[0].coupon: ", "a percentage below 100"},
    {HOLDINGS, TERMS("note", ",\"coupon\":4.5,\"maturity\":\"2027-11-15\""),
     "holdings.json: accounts[0].positions[0].coupon: ", "expected a decimal number in a string"},
    {HOLDINGS, TERMS("note", ",\"coupon\":\"4.5\",\"maturity\":\"2027-02-29\""),
     "holdings.json: accounts[0].positions[0].maturity: ", "2027-02-29 is not a date"},
    {HOLDINGS, TERMS("note", ",\"coupon\":\"4.5\",\"maturity\":\"15/11/2027\""),
     "holdings.json: accounts[0].positions[0].maturity: ", "not a YYYY-MM-DD date"},
    /* policy.json */
    {POLICY, "{\"haircuts_bps\":{\"bond\":800},\"ttl_seconds\":60,"
             "\"max_price_age_seconds\":60,\"long_bond_years\":10}",
     "policy.json: long_bond_years: ", "no \"long_bond\" class"},
    {POLICY, "{", "policy.json: line 1", "not valid JSON"},
    {POLICY, POLICY_DOC("{\"bill\":10001}", "259200", "345600"),
     "policy.json: haircuts_bps.bill: ", "10001 is outside 0..10000"},
    {POLICY, POLICY_DOC("{\"bill\":-1}", "259200", "345600"), "policy.json: haircuts_bps.bill: ",
     "outside"},
    {POLICY, POLICY_DOC("{\"bill\":\"50\"}", "259200", "345600"),
     "policy.json: haircuts_bps.bill: ", "expected an integer, found a string"},
    {POLICY, POLICY_DOC("{\"bill\":0.5}", "259200", "345600"), "policy.json: haircuts_bps.bill: ",
     "expected an integer"},
    {POLICY, POLICY_DOC("{}", "259200", "345600"), "policy.json: haircuts_bps: ",
     "no asset classes"},
    {POLICY, POLICY_DOC("[50]", "259200", "345600"), "policy.json: haircuts_bps: ",
     "expected an object, found an array"},
    {POLICY, POLICY_DOC("{\"bill\":50}", "0", "345600"), "policy.json: ttl_seconds: ",
     "0 is outside 1..31536000"},
    {POLICY, POLICY_DOC("{\"bill\":50}", "\"3d\"", "345600"), "policy.json: ttl_seconds: ",
     "expected an integer, found a string"},
    {POLICY, POLICY_DOC("{\"bill\":50}", "259200", "31536001"),
     "policy.json: max_price_age_seconds: ", "outside"},
    {POLICY, "{\"haircuts_bps\":{\"bill\":50},\"ttl_seconds\":259200}",
     "policy.json: max_price_age_seconds: ", "missing"},
    {POLICY,
     "{\"haircut_bps\":{\"bill\":50},\"ttl_seconds\":259200,\"max_price_age_seconds\":1}",
     "policy.json: haircut_bps: ", "unknown field"},
};

static custos_rc parse(doc_kind kind, const char *json, custos_error *err)
{
    size_t len = strlen(json);
    custos_rc rc = CUSTOS_ERR_INTERNAL;
    if (kind == HOLDINGS) {
        at_holdings h;
        rc = at_holdings_parse("holdings.json", json, len, &h, err);
        if (rc == CUSTOS_OK)
            at_holdings_free(&h);
    } else if (kind == PRICES) {
        at_prices p;
        rc = at_prices_parse("prices.json", json, len, &p, err);
        if (rc == CUSTOS_OK)
            at_prices_free(&p);
    } else {
        at_policy p;
        rc = at_policy_parse("policy.json", json, len, &p, err);
        if (rc == CUSTOS_OK)
            at_policy_free(&p);
    }
    return rc;
}

static void test_malformed_documents_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++) {
        const bad_doc *d = &bad_docs[i];
        custos_error err;
        custos_error_clear(&err);
        custos_rc rc = parse(d->kind, d->json, &err);
        if (rc != CUSTOS_ERR_INVALID)
            fail_msg("case %zu (%s): rc %s, want INVALID", i, d->json, custos_rc_name(rc));
        if (strncmp(err.message, d->prefix, strlen(d->prefix)) != 0 ||
            strstr(err.message, d->detail) == NULL)
            fail_msg("case %zu (%s):\n  message '%s'\n  want    '%s...%s'", i, d->json,
                     err.message, d->prefix, d->detail);
    }
}

/* The whole message, verbatim. */
static void test_message_format(void **state)
{
    (void)state;
    custos_error err;
    assert_int_equal(parse(HOLDINGS, comma_quantity, &err), CUSTOS_ERR_INVALID);
    assert_string_equal(err.message,
                        "holdings.json: accounts[0].positions[2].quantity: "
                        "not a decimal number: '12,5'");
}

static void test_valid_documents(void **state)
{
    (void)state;
    static const char holdings[] =
        "{\"_comment\":\"top-level comments are allowed\",\"custodian\":\"acme custody\","
        "\"accounts\":[{\"ref\":\"A-1\",\"beneficiary\":\"0x0\",\"positions\":["
        "{\"asset\":\"US912797KX44\",\"class\":\"bill\",\"quantity\":\"0.000000000000000001\","
        "\"maturity\":\"2027-01-21\"},"
        "{\"asset\":\"MMF-GOVT-INST\",\"class\":\"mmf\",\"quantity\":\"750000.25\"}]},"
        "{\"ref\":\"B-2\",\"beneficiary\":\"0xe7f1725e7734ce288f8367e1bb143e90bb3f0512\","
        "\"positions\":[{\"asset\":\"US912810UA42\",\"class\":\"bond\",\"quantity\":\"7\","
        "\"coupon\":\"4.625\",\"maturity\":\"2054-05-15\"}]}]}";
    at_holdings h;
    custos_error err;
    if (at_holdings_parse("holdings.json", holdings, strlen(holdings), &h, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_string_equal(h.custodian, "acme custody");
    assert_int_equal(h.n_accounts, 2);
    const at_account *a = at_holdings_find(&h, "A-1");
    assert_non_null(a);
    static const uint8_t zero[CUSTOS_ADDRESS_LEN];
    assert_memory_equal(a->beneficiary, zero, CUSTOS_ADDRESS_LEN);
    assert_int_equal(a->n_holdings, 2);
    custos_u256 one;
    custos_u256_from_u64(&one, 1);
    assert_int_equal(custos_u256_cmp(&a->holdings[0].quantity, &one), 0);
    assert_string_equal(a->holdings[1].asset_class, "mmf");
    assert_int_equal(a->holdings[0].instrument, AT_BILL);
    assert_int_equal(a->holdings[1].instrument, AT_MMF);
    const at_account *b = at_holdings_find(&h, "B-2");
    assert_non_null(b);
    assert_int_equal(b->holdings[0].instrument, AT_BOND);
    char iso[CUSTOS_ISO_DATE_LEN], coupon[CUSTOS_U256_DEC_MAX];
    custos_day_format(b->holdings[0].maturity, iso);
    assert_string_equal(iso, "2054-05-15");
    assert_int_equal(custos_fixed_format(&b->holdings[0].coupon, 18, coupon, sizeof coupon),
                     CUSTOS_OK);
    assert_string_equal(coupon, "4.625");
    uint8_t want[CUSTOS_ADDRESS_LEN];
    assert_int_equal(custos_address_from_hex("0xe7f1725e7734ce288f8367e1bb143e90bb3f0512", want,
                                             &err),
                     CUSTOS_OK);
    assert_memory_equal(b->beneficiary, want, CUSTOS_ADDRESS_LEN);
    at_holdings_free(&h);

    static const char prices[] =
        "{\"prices\":{\"US912797KX44\":{\"price\":\"0.98765\",\"as_of\":1795208400},"
        "\"MMF-GOVT-INST\":{\"price\":\"1.00\",\"as_of\":1795212000}}}";
    at_prices p;
    if (at_prices_parse("prices.json", prices, strlen(prices), &p, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_int_equal(p.n, 2);
    const at_price *mmf = at_prices_find(&p, "MMF-GOVT-INST");
    assert_non_null(mmf);
    assert_int_equal(mmf->as_of, 1795212000);
    assert_null(at_prices_find(&p, "US912797LB15"));
    at_prices_free(&p);

    /* The other classes and their terms; a class the valuation will refuse is kept. */
    static const char more[] =
        "{\"custodian\":\"acme\",\"accounts\":[{\"ref\":\"C\",\"beneficiary\":\"0x0\","
        "\"positions\":["
        "{\"asset\":\"US91282CKJ98\",\"class\":\"tips\",\"quantity\":\"5\","
        "\"coupon\":\"1.875\",\"maturity\":\"2034-07-15\"},"
        "{\"asset\":\"US91282CLW90\",\"class\":\"frn\",\"quantity\":\"6\","
        "\"maturity\":\"2028-10-31\",\"dated_date\":\"2026-10-31\"},"
        "{\"asset\":\"US91282CMA61\",\"class\":\"note\",\"quantity\":\"7\","
        "\"coupon\":\"4.25\",\"maturity\":\"2029-11-15\",\"dated_date\":\"2026-11-02\","
        "\"first_coupon\":\"2027-05-15\"},"
        "{\"asset\":\"US912803GT05\",\"class\":\"strip\",\"quantity\":\"8\","
        "\"maturity\":\"2030-05-15\"}]}]}";
    if (at_holdings_parse("holdings.json", more, strlen(more), &h, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    const at_holding *hs = h.accounts[0].holdings;
    assert_int_equal(hs[0].instrument, AT_TIPS);
    assert_false(hs[0].has_dated_date);
    assert_int_equal(hs[1].instrument, AT_FRN);
    assert_true(hs[1].has_dated_date);
    assert_false(hs[1].has_first_coupon);
    assert_int_equal(hs[2].instrument, AT_NOTE);
    custos_day_format(hs[2].dated_date, iso);
    assert_string_equal(iso, "2026-11-02");
    custos_day_format(hs[2].first_coupon, iso);
    assert_string_equal(iso, "2027-05-15");
    assert_int_equal(hs[3].instrument, AT_UNKNOWN);
    assert_string_equal(hs[3].asset_class, "strip");
    at_holdings_free(&h);

    static const char quotes[] =
        "{\"prices\":{\"B\":{\"discount_yield\":\"0\",\"as_of\":1795208400},"
        "\"T\":{\"price\":\"98.5\",\"index_ratio\":\"1.02345\",\"as_of\":1795208400},"
        "\"F\":{\"price\":\"100.02\",\"accrual_rate\":\"4.2\",\"as_of\":1795208400}}}";
    if (at_prices_parse("prices.json", quotes, strlen(quotes), &p, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    const at_price *bill = at_prices_find(&p, "B"), *tips = at_prices_find(&p, "T"),
                   *frn = at_prices_find(&p, "F");
    assert_int_equal(bill->kind, AT_QUOTE_DISCOUNT_YIELD);
    assert_true(custos_u256_is_zero(&bill->price));
    assert_int_equal(tips->kind, AT_QUOTE_PRICE);
    assert_true(tips->has_index_ratio);
    assert_false(tips->has_accrual_rate);
    char text[CUSTOS_U256_DEC_MAX];
    assert_int_equal(custos_fixed_format(&tips->index_ratio, 18, text, sizeof text), CUSTOS_OK);
    assert_string_equal(text, "1.02345");
    assert_true(frn->has_accrual_rate);
    assert_int_equal(custos_fixed_format(&frn->accrual_rate, 18, text, sizeof text), CUSTOS_OK);
    assert_string_equal(text, "4.2");
    at_prices_free(&p);

    static const char policy[] =
        "{\"haircuts_bps\":{\"bill\":50,\"bond\":800,\"none\":0,\"all\":10000},"
        "\"ttl_seconds\":259200,\"max_price_age_seconds\":0}";
    at_policy pol;
    if (at_policy_parse("policy.json", policy, strlen(policy), &pol, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    uint32_t bps = 1;
    assert_true(at_policy_haircut(&pol, "bond", &bps));
    assert_int_equal(bps, 800);
    assert_true(at_policy_haircut(&pol, "none", &bps));
    assert_int_equal(bps, 0);
    assert_false(at_policy_haircut(&pol, "note", &bps));
    assert_int_equal(pol.ttl_seconds, 259200);
    assert_int_equal(pol.max_price_age_seconds, 0);
    at_policy_free(&pol);
}

/* Loading from disk labels messages with the path given, and the sample book parses. */
static void test_files(void **state)
{
    (void)state;
    char dir[512], path[600];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ledger.json", dir);
    tu_write_file(path, ACCT(POS("\"12,5\"")));
    at_holdings h;
    custos_error err;
    assert_int_equal(at_holdings_load(path, &h, &err), CUSTOS_ERR_INVALID);
    char want[700];
    snprintf(want, sizeof want, "%s: accounts[0].positions[0].quantity: ", path);
    assert_int_equal(strncmp(err.message, want, strlen(want)), 0);

    snprintf(path, sizeof path, "%s/absent.json", dir);
    at_prices p;
    assert_int_equal(at_prices_load(path, &p, &err), CUSTOS_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "absent.json"));
    tu_rmtree(dir);

    at_policy pol;
    assert_int_equal(at_holdings_load(CUSTOS_SOURCE_DIR "/deploy/examples/holdings.json", &h, &err),
                     CUSTOS_OK);
    assert_int_equal(h.n_accounts, 2);
    assert_non_null(at_holdings_find(&h, "ACME-FUND-001"));
    at_holdings_free(&h);
    assert_int_equal(at_prices_load(CUSTOS_SOURCE_DIR "/deploy/examples/prices.json", &p, &err),
                     CUSTOS_OK);
    at_prices_free(&p);
    assert_int_equal(at_policy_load(CUSTOS_SOURCE_DIR "/deploy/examples/policy.json", &pol, &err),
                     CUSTOS_OK);
    at_policy_free(&pol);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_documents_refused),
        cmocka_unit_test(test_message_format),
        cmocka_unit_test(test_valid_documents),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
