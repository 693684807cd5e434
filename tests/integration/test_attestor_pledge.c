/* custos-attestor pledge / release / attest --registry against the real gateway (on its
 * single-signer feed, so that one key's release is ACCEPTED): an account is attested only to
 * its registered lender; a second lender is refused until a release has been accepted by
 * the gateway, which clears the pledge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/keyfile.h"
#include "custos/sig.h"

#include "gwfixture.h"

#define OUT_CAP 65536
#define LENDER_A "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
#define LENDER_B "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
#define REF "PLEDGE-1"

static gwf F;
static char key[1200], holdings[1200], prices[1200], policy[1200], registry[1200],
    state[1200];
static char out[OUT_CAP];

static void path_in(char *dst, size_t cap, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", F.dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static void write_holdings(const char *beneficiary)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"custodian\":\"" GWF_OTHER_FEED "\",\"accounts\":["
             "{\"ref\":\"" REF "\",\"beneficiary\":\"%s\",\"positions\":["
             "{\"asset\":\"MMF-GOVT-INST\",\"class\":\"mmf\",\"quantity\":\"1000\"}]}]}",
             beneficiary);
    tu_write_file(holdings, text);
}

static int group_setup(void **st)
{
    (void)st;
    gwf_init(&F);
    F.release_unchecked = true; /* rule 5 alone: no chain to read exposure from */
    gwf_write_config(&F);
    gwf_register(&F, GWF_OTHER_FEED, GWF_OTHER_FEED, REF);
    gwf_start(&F);
    custos_error err;
    path_in(key, sizeof key, "other.key");
    if (custos_keyfile_write(key, F.keys[GWF_KEY_OTHER].seckey, &err) != CUSTOS_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    path_in(holdings, sizeof holdings, "holdings.json");
    path_in(prices, sizeof prices, "prices.json");
    path_in(registry, sizeof registry, "pledges.json");
    path_in(state, sizeof state, "state.json");
    char text[512];
    snprintf(text, sizeof text,
             "{\"prices\":{\"MMF-GOVT-INST\":{\"price\":\"1.00\",\"as_of\":%llu}}}",
             (unsigned long long)gwf_now() - 60);
    tu_write_file(prices, text);
    char src[600];
    snprintf(src, sizeof src, "%s/deploy/examples/policy.json", CUSTOS_SOURCE_DIR);
    char *p = tu_read_file(src);
    assert_non_null(p);
    path_in(policy, sizeof policy, "policy.json");
    tu_write_file(policy, p);
    free(p);
    return 0;
}

static int group_teardown(void **st)
{
    (void)st;
    int status = gwf_stop(&F);
    gwf_cleanup(&F);
    return status <= 0 ? 0 : -1;
}

static int run(const char *const *argv, const char *what)
{
    int status = tu_run(argv, out, sizeof out, 1);
    fprintf(stderr, "$ custos-attestor %s -> %d\n%s\n", what, status, out);
    return status;
}

static int pledge(const char *beneficiary)
{
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "pledge", "--account", REF, "--beneficiary",
                          beneficiary, "--registry", registry, NULL};
    return run(argv, "pledge");
}

static int attest(void)
{
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "attest", "--holdings", holdings, "--prices",
                          prices, "--policy", policy, "--key", key, "--account", REF,
                          "--feed", GWF_OTHER_FEED, "--chain-id", "31337", "--contract",
                          GWF_CONTRACT, "--state", state, "--gateway", F.target,
                          "--insecure", "--registry", registry, NULL};
    return run(argv, "attest");
}

static int release(void)
{
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "release", "--account", REF, "--registry",
                          registry, "--holdings", holdings, "--key", key, "--feed",
                          GWF_OTHER_FEED, "--chain-id", "31337", "--contract", GWF_CONTRACT,
                          "--state", state, "--policy", policy, "--gateway", F.target,
                          "--insecure", NULL};
    return run(argv, "release");
}

/* The account's latest accepted attestation at the gateway. */
static void latest(custos_record *rec)
{
    uint8_t account[32];
    custos_account_id(GWF_OTHER_FEED, REF, account);
    memset(rec, 0, sizeof *rec);
    custos_error err;
    assert_int_equal(custos_client_get_latest(F.client, account, rec, &err), CUSTOS_OK);
}

static void assert_beneficiary(const custos_record *rec, const char *hex)
{
    uint8_t want[CUSTOS_ADDRESS_LEN];
    custos_error err;
    assert_int_equal(custos_address_from_hex(hex, want, &err), CUSTOS_OK);
    assert_memory_equal(rec->sub.att.beneficiary, want, CUSTOS_ADDRESS_LEN);
}

static void test_one_lender_per_collateral(void **st)
{
    (void)st;
    custos_record rec;

    /* Without a pledge in the registry, a pledged ledger entry is refused. */
    write_holdings(LENDER_A);
    assert_int_equal(attest(), 1);
    assert_non_null(strstr(out, "no pledge in"));
    assert_int_equal(access(state, F_OK), -1);

    assert_int_equal(pledge(LENDER_A), 0);
    assert_int_equal(pledge(LENDER_A), 0); /* the same pledge again is a no-op */
    assert_int_equal(attest(), 0);
    assert_non_null(strstr(out, "ACCEPTED"));
    latest(&rec);
    assert_int_equal(rec.sub.att.sequence, 1);
    assert_int_equal(rec.sub.att.kind, CUSTOS_KIND_VALUATION);
    assert_beneficiary(&rec, LENDER_A);
    custos_record_clear(&rec);

    /* The ledger moves the account to lender B: refused, nothing signed. */
    write_holdings(LENDER_B);
    char *before = tu_read_file(state);
    assert_non_null(before);
    assert_int_equal(attest(), 1);
    assert_non_null(strstr(out, "is pledged to " LENDER_A));
    assert_non_null(strstr(out, "one lender per collateral"));
    assert_null(strstr(out, "sequence"));
    char *after = tu_read_file(state);
    assert_non_null(after);
    assert_string_equal(before, after); /* no sequence number taken */
    free(before);
    free(after);
    assert_int_equal(pledge(LENDER_B), 1);
    assert_non_null(strstr(out, "release it first"));
    latest(&rec);
    assert_int_equal(rec.sub.att.sequence, 1);
    custos_record_clear(&rec);

    /* The release names lender A (the registry's), whatever the ledger now says. */
    assert_int_equal(release(), 0);
    assert_non_null(strstr(out, "pledge       released"));
    latest(&rec);
    assert_int_equal(rec.sub.att.sequence, 2);
    assert_int_equal(rec.sub.att.kind, CUSTOS_KIND_RELEASE);
    assert_beneficiary(&rec, LENDER_A);
    assert_true(custos_u256_is_zero(&rec.sub.att.gross_value));
    assert_true(custos_u256_is_zero(&rec.sub.att.collateral_value));
    custos_record_clear(&rec);
    char *reg = tu_read_file(registry);
    assert_non_null(reg);
    assert_null(strstr(reg, REF));
    free(reg);

    /* Nothing left to release; lender B can now be pledged and attested to. */
    assert_int_equal(release(), 1);
    assert_non_null(strstr(out, "nothing to release"));
    assert_int_equal(pledge(LENDER_B), 0);
    assert_int_equal(attest(), 0);
    latest(&rec);
    assert_int_equal(rec.sub.att.sequence, 3);
    assert_beneficiary(&rec, LENDER_B);
    custos_record_clear(&rec);
}

static void test_corrupt_registry_refused(void **st)
{
    (void)st;
    char bad[1200];
    path_in(bad, sizeof bad, "bad-pledges.json");
    tu_write_file(bad, "{\"pledges\":{\"X\":\"0x0\"}}");
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "pledge", "--account", "Y", "--beneficiary",
                          LENDER_A, "--registry", bad, NULL};
    assert_int_equal(run(argv, "pledge (corrupt registry)"), 1);
    assert_non_null(strstr(out, "pledges.X"));
    char *text = tu_read_file(bad);
    assert_non_null(text);
    assert_string_equal(text, "{\"pledges\":{\"X\":\"0x0\"}}");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_lender_per_collateral),
        cmocka_unit_test(test_corrupt_registry_refused),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    gwf_cleanup(&F);
    return failed;
}
