#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "custos/keyfile.h"
#include "custos/sig.h"

static const char usage[] = "usage: custos-attestor keygen --out FILE";

int at_cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    optind = 0; /* glibc: rescan from the start, as each command parses its own argv */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'o') {
            at_cmd_error("%s", usage);
            return AT_EXIT_INPUT;
        }
        out = optarg;
    }
    if (out == NULL || optind != argc) {
        at_cmd_error("%s", usage);
        return AT_EXIT_INPUT;
    }
    custos_secp *ctx = custos_secp_new();
    if (ctx == NULL) {
        at_cmd_error("cannot create a secp256k1 context");
        return AT_EXIT_INPUT;
    }
    uint8_t seckey[CUSTOS_SECKEY_LEN];
    uint8_t addr[CUSTOS_ADDRESS_LEN];
    custos_error err;
    custos_rc rc = custos_seckey_generate(ctx, seckey, &err);
    if (rc == CUSTOS_OK)
        rc = custos_address_from_seckey(ctx, seckey, addr, &err);
    if (rc == CUSTOS_OK)
        rc = custos_keyfile_write(out, seckey, &err);
    explicit_bzero(seckey, sizeof seckey);
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
