#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "pkcs11.h"
#include "signer.h"

static const char usage[] =
    "usage: custos-attestor keygen --out FILE\n"
    "       custos-attestor keygen --pkcs11-module SO --pkcs11-token LABEL --pkcs11-key LABEL\n"
    "         [--pkcs11-pin-file F] [--import KEYFILE]";

enum { KEYGEN_OUT = 'o', KEYGEN_IMPORT = 'i' };

/* A new key file, or a key created in (or imported into) the token. */
static custos_rc keygen(const char *out, const char *import, const at_key_spec *key,
                        custos_secp *ctx, uint8_t addr[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    uint8_t seckey[CUSTOS_SECKEY_LEN];
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
            rc = at_p11_create_key(&key->p11, ctx, seckey, addr, err);
    } else {
        rc = at_p11_create_key(&key->p11, ctx, NULL, addr, err);
    }
    explicit_bzero(seckey, sizeof seckey);
    return rc;
}

int at_cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, KEYGEN_OUT},
                                         {"import", required_argument, NULL, KEYGEN_IMPORT},
                                         AT_KEY_OPTIONS,
                                         {0, 0, 0, 0}};
    const char *out = NULL, *import = NULL;
    at_key_spec key = {0};
    int c;
    optind = 0; /* glibc: rescan from the start, as each command parses its own argv */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == KEYGEN_OUT)
            out = optarg;
        else if (c == KEYGEN_IMPORT)
            import = optarg;
        else if (c == AT_OPT_KEY || !at_key_take_option(&key, c, optarg)) {
            at_cmd_error("%s", usage);
            return AT_EXIT_INPUT;
        }
    }
    bool hsm = at_key_given(&key);
    if (optind != argc || (out == NULL) == !hsm || (import != NULL && !hsm)) {
        at_cmd_error("keygen: give --out FILE, or the --pkcs11-* options of the token "
                     "(--import only with them)\n%s",
                     usage);
        return AT_EXIT_INPUT;
    }
    custos_secp *ctx = custos_secp_new();
    if (ctx == NULL) {
        at_cmd_error("cannot create a secp256k1 context");
        return AT_EXIT_INPUT;
    }
    uint8_t addr[CUSTOS_ADDRESS_LEN];
    custos_error err;
    custos_rc rc = keygen(out, import, &key, ctx, addr, &err);
    custos_secp_free(ctx);
    if (rc != CUSTOS_OK) {
        at_cmd_error("keygen: %s", err.message);
        return AT_EXIT_INPUT;
    }
    char hex[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(addr, hex);
    printf("%s\n", hex);
    return AT_EXIT_OK;
}
