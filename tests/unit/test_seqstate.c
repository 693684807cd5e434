/* Sequence state: numbers increase per account, survive a reopen, are on disk before the
 * call returns, many are reserved at once or none, and a damaged state file is refused
 * rather than silently reset. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "seqstate.h"
#include "testutil.h"

static char dir[512], path[600];

static int setup(void **state)
{
    (void)state;
    tu_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/attestor-state.json", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(dir);
    return 0;
}

static void account(const char *ref, uint8_t out[CUSTOS_HASH_LEN], char hex[67])
{
    custos_account_id("acme-custody", ref, out);
    assert_int_equal(custos_hex_encode(out, CUSTOS_HASH_LEN, hex, 67), CUSTOS_OK);
}

static uint64_t next(const uint8_t id[CUSTOS_HASH_LEN])
{
    uint64_t seq = 0;
    custos_error err;
    if (at_seqstate_next(path, id, &seq, &err) != CUSTOS_OK)
        fail_msg("at_seqstate_next: %s", err.message);
    return seq;
}

/* What the file says right now, read independently of the module. */
static long long on_disk(const char *hex)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL)
        fail_msg("%s: %s", path, jerr.text);
    json_t *v = json_object_get(root, hex);
    long long n = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
    json_decref(root);
    return n;
}

static void test_increments_and_persists(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    char ha[67], hb[67];
    account("ACME-FUND-001", a, ha);
    account("ACME-TREASURY-002", b, hb);

    assert_int_equal(next(a), 1);
    assert_int_equal(on_disk(ha), 1);
    assert_int_equal(next(a), 2);
    assert_int_equal(on_disk(ha), 2);
    /* Accounts are independent. */
    assert_int_equal(next(b), 1);
    assert_int_equal(on_disk(hb), 1);
    assert_int_equal(on_disk(ha), 2);
    assert_int_equal(next(a), 3);
    assert_int_equal(on_disk(ha), 3);

    /* A later process picks up where the file says, e.g. after a restore. */
    char text[512];
    snprintf(text, sizeof text, "{\"%s\": 41, \"%s\": 7}\n", ha, hb);
    tu_write_file(path, text);
    assert_int_equal(next(a), 42);
    assert_int_equal(next(b), 8);
    assert_int_equal(on_disk(ha), 42);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* Only the state and its lock remain: no temporary file is left behind. */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    size_t files = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        files++;
        if (strcmp(e->d_name, "attestor-state.json") != 0 &&
            strcmp(e->d_name, "attestor-state.json.lock") != 0)
            fail_msg("unexpected file %s", e->d_name);
    }
    closedir(d);
    assert_int_equal(files, 2);
}

/* Many keys in one call (a batch): each its next number, a key listed twice two numbers
 * in turn; one key that cannot move on reserves none of them. */
static void test_many_at_once(void **state)
{
    (void)state;
    uint8_t keys[4][CUSTOS_HASH_LEN];
    char ha[67], hb[67], hc[67];
    account("ACME-FUND-001", keys[0], ha);
    account("ACME-TREASURY-002", keys[1], hb);
    memcpy(keys[2], keys[0], CUSTOS_HASH_LEN);
    account("ACME-BATCH-003", keys[3], hc);
    char text[512];
    snprintf(text, sizeof text, "{\"%s\": 41}\n", ha);
    tu_write_file(path, text);
    uint64_t seqs[4] = {0};
    custos_error err;
    if (at_seqstate_next_many(path, (const uint8_t(*)[CUSTOS_HASH_LEN])keys, 4, seqs, &err) !=
        CUSTOS_OK)
        fail_msg("at_seqstate_next_many: %s", err.message);
    assert_int_equal(seqs[0], 42);
    assert_int_equal(seqs[1], 1);
    assert_int_equal(seqs[2], 43);
    assert_int_equal(seqs[3], 1);
    assert_int_equal(on_disk(ha), 43);
    assert_int_equal(on_disk(hb), 1);
    assert_int_equal(on_disk(hc), 1);

    snprintf(text, sizeof text, "{\"%s\": 5, \"%s\": 9223372036854775807}\n", ha, hb);
    tu_write_file(path, text);
    uint64_t untouched[2] = {7, 7};
    assert_int_equal(at_seqstate_next_many(path, (const uint8_t(*)[CUSTOS_HASH_LEN])keys, 2,
                                           untouched, &err),
                     CUSTOS_ERR_OVERFLOW);
    assert_non_null(strstr(err.message, hb));
    assert_int_equal(untouched[0], 7);
    assert_int_equal(untouched[1], 7);
    char *after = tu_read_file(path);
    assert_non_null(after);
    assert_string_equal(after, text);
    free(after);
}

static void test_corrupt_state_refused(void **state)
{
    (void)state;
    uint8_t a[32];
    char ha[67];
    account("ACME-FUND-001", a, ha);
    char upper[67];
    for (size_t i = 0; i < sizeof upper; i++)
        upper[i] = (char)(i >= 2 && ha[i] >= 'a' && ha[i] <= 'f' ? ha[i] - 32 : ha[i]);
    char t_upper[200], t_zero[200], t_string[200], t_negative[200], t_real[200], t_trunc[200];
    snprintf(t_upper, sizeof t_upper, "{\"%s\": 5}", upper);
    snprintf(t_zero, sizeof t_zero, "{\"%s\": 0}", ha);
    snprintf(t_string, sizeof t_string, "{\"%s\": \"5\"}", ha);
    snprintf(t_negative, sizeof t_negative, "{\"%s\": -3}", ha);
    snprintf(t_real, sizeof t_real, "{\"%s\": 5.0}", ha);
    snprintf(t_trunc, sizeof t_trunc, "{\"%s\": 5", ha);
    const struct {
        const char *text, *needle;
    } cases[] = {
        {"", "corrupt sequence state"},
        {"{not json", "corrupt sequence state"},
        {t_trunc, "corrupt sequence state"},
        {"[]", "not a JSON object"},
        {"{\"ACME-FUND-001\": 5}", "ACME-FUND-001: corrupt sequence state"},
        {"{\"0x1234\": 5}", "0x1234: corrupt sequence state"},
        /* Upper-case hex would not be found by the lookup and restart the account at 1. */
        {t_upper, "corrupt sequence state"},
        {t_zero, "corrupt sequence state"},
        {t_string, "corrupt sequence state"},
        {t_negative, "corrupt sequence state"},
        {t_real, "corrupt sequence state"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_write_file(path, cases[i].text);
        uint64_t seq = 99;
        custos_error err;
        custos_rc rc = at_seqstate_next(path, a, &seq, &err);
        if (rc != CUSTOS_ERR_INVALID)
            fail_msg("case %zu '%s': rc %s, want INVALID", i, cases[i].text, custos_rc_name(rc));
        if (strstr(err.message, path) == NULL || strstr(err.message, cases[i].needle) == NULL)
            fail_msg("case %zu: message '%s' lacks the path or '%s'", i, err.message,
                     cases[i].needle);
        assert_non_null(strstr(err.message, "backup"));
        assert_int_equal(seq, 99);
        /* Refused, not reset: the file is exactly as it was. */
        char *after = tu_read_file(path);
        assert_non_null(after);
        assert_string_equal(after, cases[i].text);
        free(after);
    }
}

static void test_state_in_missing_directory(void **state)
{
    (void)state;
    char missing[700];
    snprintf(missing, sizeof missing, "%s/no-such-dir/state.json", dir);
    uint8_t a[32];
    char ha[67];
    account("ACME-FUND-001", a, ha);
    uint64_t seq = 0;
    custos_error err;
    assert_int_equal(at_seqstate_next(missing, a, &seq, &err), CUSTOS_ERR_IO);
    assert_non_null(strstr(err.message, "no-such-dir"));
    assert_int_equal(seq, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_increments_and_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_state_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_in_missing_directory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
