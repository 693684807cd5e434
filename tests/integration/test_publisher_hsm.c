/* The relayer's key in a PKCS#11 token (docs/publishing.md §13), against a real SoftHSM2
 * token made for the test: the key is generated inside the token by custos-attestor
 * keygen (sensitive, never extractable), the gateway signs its transactions through the
 * code the attestor signs with (lib/p11), and the adapter on anvil (pubfixture.h)
 * receives them from the token key's address; a wrong PIN or no PIN stops the start
 * with a message naming the setting, never the PIN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "custos/hex.h"
#include "p11.h"
#include "pubfixture.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define SOFTHSM_UTIL "/usr/bin/softhsm2-util"
#define TOKEN "custos-relayer"
#define PIN "583016"
#define WRONG_PIN "904127"
#define SO_PIN "71625340"
#define KEY_LABEL "relayer"

static pubf F;
static uint8_t TOKEN_ADDRESS[CUSTOS_ADDRESS_LEN];
static char PIN_FILE[1200], WRONG_PIN_FILE[1200];
static char OUT[65536];

static int run(const char *const argv[])
{
    int status = tu_run(argv, OUT, sizeof OUT, 1);
    fprintf(stderr, "$ %s %s ... -> %d\n%s\n", strrchr(argv[0], '/') + 1, argv[1], status, OUT);
    return status;
}

static void write_secret(const char *path, const char *text)
{
    tu_write_file(path, text);
    assert_int_equal(chmod(path, 0600), 0);
}

/* The [evm] lines of the token key, with pin_file (NULL: none). */
static void token_config(const char *pin_file)
{
    snprintf(F.relayer_config, sizeof F.relayer_config,
             "relayer_pkcs11_module = %s\nrelayer_pkcs11_token = %s\nrelayer_pkcs11_key = %s\n"
             "%s%s%s",
             SOFTHSM_MODULE, TOKEN, KEY_LABEL, pin_file != NULL ? "relayer_pkcs11_pin_file = " : "",
             pin_file != NULL ? pin_file : "", pin_file != NULL ? "\n" : "");
    pubf_write_config(&F, NULL, "confirmations = 1\n");
}

static int group_setup(void **state)
{
    (void)state;
    const char *refs[] = {"HSM-1"};
    pubf_init(&F, 1, GWF_MAX_AGE, refs, 1);
    char conf[1200], tokens[1200], text[2600];
    snprintf(conf, sizeof conf, "%s/softhsm2.conf", F.gw.dir);
    snprintf(tokens, sizeof tokens, "%s/tokens", F.gw.dir);
    assert_int_equal(mkdir(tokens, 0700), 0);
    snprintf(text, sizeof text,
             "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens);
    tu_write_file(conf, text);
    /* The gateway inherits both: the token directory, and no PIN from the environment. */
    assert_int_equal(setenv("SOFTHSM2_CONF", conf, 1), 0);
    assert_int_equal(unsetenv(P11_PIN_ENV), 0);
    const char *init[] = {SOFTHSM_UTIL, "--init-token", "--free", "--label", TOKEN,
                          "--so-pin", SO_PIN, "--pin", PIN, NULL};
    assert_int_equal(run(init), 0);
    snprintf(PIN_FILE, sizeof PIN_FILE, "%s/pin", F.gw.dir);
    write_secret(PIN_FILE, PIN "\n");
    snprintf(WRONG_PIN_FILE, sizeof WRONG_PIN_FILE, "%s/wrong-pin", F.gw.dir);
    write_secret(WRONG_PIN_FILE, WRONG_PIN "\n");
    /* A key generated inside the token: its private half never exists outside it. */
    const char *keygen[] = {CUSTOS_ATTESTOR_BIN, "keygen", "--pkcs11-module", SOFTHSM_MODULE,
                            "--pkcs11-token", TOKEN, "--pkcs11-key", KEY_LABEL,
                            "--pkcs11-pin-file", PIN_FILE, NULL};
    assert_int_equal(run(keygen), 0);
    size_t n = strlen(OUT);
    while (n > 0 && OUT[n - 1] == '\n')
        OUT[--n] = '\0';
    const char *line = strrchr(OUT, '\n');
    line = line != NULL ? line + 1 : OUT;
    custos_error err;
    if (custos_address_from_hex(line, TOKEN_ADDRESS, &err) != CUSTOS_OK)
        fail_msg("keygen printed no address: %s", line);
    /* Gas money for the token's account. */
    char addr[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(TOKEN_ADDRESS, addr);
    pubf_rpc_void(&F, 0, "anvil_setBalance", json_pack("[s, s]", addr, "0x8ac7230489e80000"));
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F.gw);
    if (status > 0)
        gwf_dump_log(&F.gw);
    pubf_cleanup(&F);
    return status <= 0 ? 0 : -1;
}

/* The gateway with this config does not start: status 1, its message in OUT. */
static void start_refused(void)
{
    const char *argv[] = {CUSTOS_GATEWAY_BIN, "--config", F.gw.config_path, NULL};
    assert_int_equal(run(argv), 1);
    assert_null(strstr(OUT, PIN));
    assert_null(strstr(OUT, WRONG_PIN));
}

static void test_wrong_or_no_pin_refused(void **state)
{
    (void)state;
    token_config(WRONG_PIN_FILE);
    start_refused();
    assert_non_null(strstr(OUT, "relayer key ([evm] relayer_pkcs11_*)"));
    assert_non_null(strstr(OUT, "wrong PIN"));
    token_config(NULL);
    start_refused();
    assert_non_null(strstr(OUT, "no PIN"));
    assert_non_null(strstr(OUT, "[evm] relayer_pkcs11_pin_file"));
}

/* Publication signed inside the token: the transaction comes from the token key. */
static void test_publishes_with_the_token_key(void **state)
{
    (void)state;
    token_config(PIN_FILE);
    pubf_start(&F);
    custos_submission s;
    gwf_make(&F.gw, &s, "HSM-1", 1, PUBF_USD);
    uint64_t cursor = pubf_submit(&F, &s);
    gw_pub_row row;
    pubf_wait_fate(&F, cursor, GW_PUB_CONFIRMED, &row);
    char hash[67];
    assert_int_equal(custos_hex_encode(row.tx.hash, 32, hash, sizeof hash), CUSTOS_OK);
    gw_pub_row_clear(&row);
    json_t *tx = pubf_rpc(&F, 0, "eth_getTransactionByHash", json_pack("[s]", hash));
    const char *from = json_string_value(json_object_get(tx, "from"));
    assert_non_null(from);
    uint8_t sender[CUSTOS_ADDRESS_LEN];
    custos_error err;
    assert_int_equal(custos_address_from_hex(from, sender, &err), CUSTOS_OK);
    assert_memory_equal(sender, TOKEN_ADDRESS, CUSTOS_ADDRESS_LEN);
    json_decref(tx);
    assert_int_equal(pubf_chain_sequence(&F, 0, s.att.account), 1);
    char path[1200];
    snprintf(path, sizeof path, "%s/gateway.log", F.gw.dir);
    char *log = tu_read_file(path);
    assert_non_null(log);
    assert_non_null(strstr(log, "in a PKCS#11 token"));
    assert_null(strstr(log, PIN));
    free(log);
    custos_submission_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_or_no_pin_refused),
        cmocka_unit_test(test_publishes_with_the_token_key),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
