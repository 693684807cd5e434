/* custos-attestor freeze against the real gateway (two distinct roles needed for a
 * valuation): the custodian's freeze is accepted at once on its single signature, with zero
 * values, a zero positions root and the account's pledge unchanged; the same freeze signed
 * by the valuation agent alone is refused (a freeze needs a custodian, rule 7, as on-chain);
 * bad input signs nothing and takes no sequence number. */
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
#include "custos/eip712.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "custos/typeddata.h"

#include "gwfixture.h"

#define OUT_CAP 65536
#define BENEFICIARY "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"

static gwf F;
static char custodian_key[1200], agent_key[1200], holdings[1200], policy[1200];
static char out[OUT_CAP];

static void path_in(char *dst, size_t cap, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", F.dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static int group_setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F);
    gwf_register(&F, GWF_FEED, GWF_FEED, "HOLD-1");
    gwf_register(&F, GWF_FEED, GWF_FEED, "HOLD-2");
    gwf_start(&F);
    custos_error err;
    path_in(custodian_key, sizeof custodian_key, "custodian.key");
    path_in(agent_key, sizeof agent_key, "agent.key");
    if (custos_keyfile_write(custodian_key, F.keys[GWF_KEY_CUSTODIAN].seckey, &err) !=
            CUSTOS_OK ||
        custos_keyfile_write(agent_key, F.keys[GWF_KEY_AGENT].seckey, &err) != CUSTOS_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    path_in(holdings, sizeof holdings, "holdings.json");
    tu_write_file(holdings,
                  "{\"custodian\":\"" GWF_FEED "\",\"accounts\":["
                  "{\"ref\":\"HOLD-1\",\"beneficiary\":\"" BENEFICIARY "\",\"positions\":["
                  "{\"asset\":\"MMF-GOVT-INST\",\"class\":\"mmf\",\"quantity\":\"100\"}]},"
                  "{\"ref\":\"HOLD-2\",\"beneficiary\":\"0x0\",\"positions\":["
                  "{\"asset\":\"MMF-GOVT-INST\",\"class\":\"mmf\",\"quantity\":\"100\"}]}]}");
    char src[600];
    snprintf(src, sizeof src, "%s/deploy/examples/policy.json", CUSTOS_SOURCE_DIR);
    char *text = tu_read_file(src);
    assert_non_null(text);
    path_in(policy, sizeof policy, "policy.json");
    tu_write_file(policy, text);
    free(text);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F);
    gwf_cleanup(&F);
    return status <= 0 ? 0 : -1;
}

/* freeze REF with key; extra (NULL-terminated) replaces "--policy F" when not NULL. */
static int freeze(const char *ref, const char *key, const char *state, const char *export_path,
                  const char *const *extra)
{
    const char *argv[40];
    size_t n = 0;
    argv[n++] = CUSTOS_ATTESTOR_BIN;
    argv[n++] = "freeze";
    argv[n++] = "--holdings"; argv[n++] = holdings;
    argv[n++] = "--account"; argv[n++] = ref;
    argv[n++] = "--reason"; argv[n++] = "court order 2026-117: legal hold";
    argv[n++] = "--key"; argv[n++] = key;
    argv[n++] = "--feed"; argv[n++] = GWF_FEED;
    argv[n++] = "--chain-id"; argv[n++] = "31337";
    argv[n++] = "--contract"; argv[n++] = GWF_CONTRACT;
    argv[n++] = "--state"; argv[n++] = state;
    argv[n++] = "--gateway"; argv[n++] = F.target;
    argv[n++] = "--insecure"; /* the test gateway serves plaintext */
    argv[n++] = "--export"; argv[n++] = export_path;
    if (extra == NULL) {
        argv[n++] = "--policy";
        argv[n++] = policy;
    } else {
        for (size_t i = 0; extra[i] != NULL && n < 39; i++)
            argv[n++] = extra[i];
    }
    argv[n] = NULL;
    int status = tu_run(argv, out, sizeof out, 1);
    fprintf(stderr, "$ custos-attestor freeze %s -> %d\n%s\n", ref, status, out);
    return status;
}

static void test_custodian_freeze_accepted_alone(void **state)
{
    (void)state;
    char st[1200], exp[1200];
    path_in(st, sizeof st, "state-1.json");
    path_in(exp, sizeof exp, "freeze-1.json");
    uint64_t before = gwf_now();
    assert_int_equal(freeze("HOLD-1", custodian_key, st, exp, NULL), 0);
    assert_non_null(strstr(out, "ACCEPTED 1/2"));
    assert_non_null(strstr(out, "FREEZE: court order 2026-117: legal hold"));

    uint8_t account[32];
    custos_account_id(GWF_FEED, "HOLD-1", account);
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_error err;
    assert_int_equal(custos_client_get_latest(F.client, account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.state, CUSTOS_STATE_ACCEPTED);
    const custos_attestation *a = &rec.sub.att;
    assert_int_equal(a->kind, CUSTOS_KIND_FREEZE);
    assert_true(custos_u256_is_zero(&a->gross_value));
    assert_true(custos_u256_is_zero(&a->collateral_value));
    static const uint8_t zero[32];
    assert_memory_equal(a->positions_root, zero, 32);
    assert_int_equal(rec.sub.n_positions, 0);
    uint8_t beneficiary[CUSTOS_ADDRESS_LEN];
    assert_int_equal(custos_address_from_hex(BENEFICIARY, beneficiary, &err), CUSTOS_OK);
    assert_memory_equal(a->beneficiary, beneficiary, CUSTOS_ADDRESS_LEN);
    assert_int_equal(a->sequence, 1);
    assert_true(a->as_of >= before && a->as_of <= gwf_now());
    assert_true(a->valid_until > a->as_of);
    assert_int_equal(rec.n_signers, 1);
    assert_memory_equal(rec.signers[0], F.keys[GWF_KEY_CUSTODIAN].address, CUSTOS_ADDRESS_LEN);
    custos_record_clear(&rec);

    /* The export is the same attestation. */
    char *json = tu_read_file(exp);
    assert_non_null(json);
    custos_submission s;
    assert_int_equal(custos_typeddata_import(json, strlen(json), &s, &err), CUSTOS_OK);
    free(json);
    assert_int_equal(s.att.kind, CUSTOS_KIND_FREEZE);
    assert_int_equal(s.n_sigs, 1);
    custos_submission_clear(&s);
}

static void test_agent_freeze_refused(void **state)
{
    (void)state;
    char st[1200], exp[1200];
    path_in(st, sizeof st, "state-2.json");
    path_in(exp, sizeof exp, "freeze-2.json");
    assert_int_equal(freeze("HOLD-2", agent_key, st, exp, NULL), 2);
    assert_non_null(strstr(out, "FREEZE_NEEDS_CUSTODIAN"));
    uint8_t account[32];
    custos_account_id(GWF_FEED, "HOLD-2", account);
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_error err;
    assert_int_equal(custos_client_get_latest(F.client, account, &rec, &err),
                     CUSTOS_ERR_NOT_FOUND);
}

static void test_bad_input_signs_nothing(void **state)
{
    (void)state;
    char st[1200], exp[1200];
    path_in(st, sizeof st, "state-3.json");
    path_in(exp, sizeof exp, "freeze-3.json");
    const char *past[] = {"--valid-until", "1000", NULL};
    assert_int_equal(freeze("HOLD-2", custodian_key, st, exp, past), 1);
    assert_non_null(strstr(out, "void on arrival"));
    const char *both[] = {"--valid-until", "99999999999", "--policy", policy, NULL};
    assert_int_equal(freeze("HOLD-2", custodian_key, st, exp, both), 1);
    assert_int_equal(freeze("NO-SUCH-ACCOUNT", custodian_key, st, exp, NULL), 1);
    assert_non_null(strstr(out, "no account with ref 'NO-SUCH-ACCOUNT'"));
    assert_int_equal(access(st, F_OK), -1);
    assert_int_equal(access(exp, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_custodian_freeze_accepted_alone),
        cmocka_unit_test(test_agent_freeze_refused),
        cmocka_unit_test(test_bad_input_signs_nothing),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    gwf_cleanup(&F);
    return failed;
}
