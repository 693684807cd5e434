#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "custos/keyfile.h"
#include "report.h"
#include "custos/sig.h"
#include "p11.h"
#include "signer.h"
#include "signopts.h"

typedef struct keygen_args {
    const char *out, *import;
    at_key_spec key;
    at_report_opts report;
} keygen_args;

#define KEYGEN_MESSAGE                                                                      \
    "give --out FILE, or the --pkcs11-* options of the token (--import only with them)"

static const clopt keygen_options[] = {
    {"out", "FILE", CLOPT_STR, offsetof(keygen_args, out),
     "write a new key file there (mode 0600, never overwritten)"},
    {"import", "KEYFILE", CLOPT_STR, offsetof(keygen_args, import),
     "move this key file's key into the token instead of creating one there"},
    {0}};
static const clopt_set keygen_sets[] = {{keygen_options, 0},
                                        {at_p11_options, offsetof(keygen_args, key)},
                                        {at_report_options, offsetof(keygen_args, report)}};
static const clopt_rule keygen_rules[] = {
    {CLOPT_ANY, {"out", "pkcs11-module", "pkcs11-token", "pkcs11-key", "pkcs11-pin-file"},
     KEYGEN_MESSAGE},
    {CLOPT_CONFLICT, {"out", "pkcs11-module", "pkcs11-token", "pkcs11-key", "pkcs11-pin-file"},
     KEYGEN_MESSAGE},
    {CLOPT_NEEDS,
     {"import", "pkcs11-module", "pkcs11-token", "pkcs11-key", "pkcs11-pin-file"},
     KEYGEN_MESSAGE}};
static const clopt_command keygen_cmd = {
    .name = "keygen",
    .usage = "usage: custos-attestor keygen --out FILE [--json]\n"
             "       custos-attestor keygen --pkcs11-module SO --pkcs11-token LABEL "
             "--pkcs11-key LABEL\n"
             "         [--pkcs11-pin-file F] [--import KEYFILE] [--json]",
    .summary = "a new signing key, in a file or in an HSM token; prints its address (with "
               "--json: the address and where the key is, as one JSON object)",
    .sets = keygen_sets,
    .n_sets = CLOPT_N(keygen_sets),
    .rules = keygen_rules,
    .n_rules = CLOPT_N(keygen_rules)};

/* A new key file, or a key created in (or imported into) the token. */
static custos_rc keygen(const char *out, const char *import, const at_key_spec *key,
                        custos_secp *ctx, uint8_t addr[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    uint8_t seckey[CUSTOS_SECKEY_LEN];
    p11_spec spec = key->p11;
    spec.names = &at_p11_names;
    custos_rc rc;
    if (out != NULL) {
        rc = custos_seckey_generate(ctx, seckey, err);
        if (rc == CUSTOS_OK)
            rc = custos_address_from_seckey(ctx, seckey, addr, err);
        if (rc == CUSTOS_OK)
            rc = custos_keyfile_write(out, seckey, err);
    } else if (import != NULL) {
        rc = custos_keyfile_read(import, seckey, err);
        if (rc == CUSTOS_OK)
            rc = p11_create_key(&spec, ctx, seckey, addr, err);
    } else {
        rc = p11_create_key(&spec, ctx, NULL, addr, err);
    }
    explicit_bzero(seckey, sizeof seckey);
    return rc;
}

int at_cmd_keygen(int argc, char **argv)
{
    keygen_args a = {0};
    int status;
    if (!at_cmd_args(&keygen_cmd, argc, argv, &a, NULL, &status))
        return status;
    custos_secp *ctx = custos_secp_new();
    if (ctx == NULL) {
        at_cmd_error("cannot create a secp256k1 context");
        return AT_EXIT_INPUT;
    }
    uint8_t addr[CUSTOS_ADDRESS_LEN];
    custos_error err;
    custos_rc rc = keygen(a.out, a.import, &a.key, ctx, addr, &err);
    custos_secp_free(ctx);
    if (rc != CUSTOS_OK) {
        at_cmd_error("keygen: %s", err.message);
        return AT_EXIT_INPUT;
    }
    char hex[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(addr, hex);
    if (!a.report.json) {
        printf("%s\n", hex);
        return AT_EXIT_OK;
    }
    /* The address and where the key lives, for the scripts that register it (deploy.json,
     * the gateway's [signer]). */
    at_report r;
    if (!at_report_open(&r, stdout, true)) {
        at_cmd_error("keygen: out of memory");
        return AT_EXIT_INPUT;
    }
    at_report_member(&r, "address", json_string(hex));
    if (a.out != NULL) {
        at_report_member(&r, "keyFile", json_string(a.out));
    } else {
        at_report_member(&r, "pkcs11Token", json_string(a.key.p11.token));
        at_report_member(&r, "pkcs11Key", json_string(a.key.p11.key));
        at_report_member(&r, "imported", json_boolean(a.import != NULL));
    }
    return at_report_close(&r, AT_EXIT_OK);
}
