#include "evm/relayer.h"

#include <stdlib.h>
#include <string.h>

#include "custos/keyfile.h"
#include "p11.h"

/* Messages about the token name the configuration keys. */
static const p11_names relayer_p11_names = {.module = "[evm] relayer_pkcs11_module",
                                            .token = "[evm] relayer_pkcs11_token",
                                            .key = "[evm] relayer_pkcs11_key",
                                            .pin_file = "[evm] relayer_pkcs11_pin_file"};

struct gw_relayer {
    custos_secp *ctx;
    const gw_evm_config *cfg;
    uint8_t seckey[CUSTOS_SECKEY_LEN]; /* key file */
    p11_key *token;                    /* token key; NULL for a key file */
    bool in_token;
    uint8_t address[CUSTOS_ADDRESS_LEN];
};

static custos_rc relayer_login(gw_relayer *r, uint8_t address[CUSTOS_ADDRESS_LEN],
                               custos_error *err)
{
    const gw_evm_config *c = r->cfg;
    p11_spec spec = {.module = c->relayer_pkcs11_module,
                     .token = c->relayer_pkcs11_token,
                     .key = c->relayer_pkcs11_key,
                     .pin_file = c->relayer_pkcs11_pin_file[0] != '\0' ? c->relayer_pkcs11_pin_file
                                                                       : NULL,
                     .names = &relayer_p11_names};
    return p11_open(&spec, r->ctx, &r->token, address, err);
}

custos_rc gw_relayer_open(const gw_evm_config *cfg, custos_secp *ctx, gw_relayer **out,
                          custos_error *err)
{
    *out = NULL;
    gw_relayer *r = calloc(1, sizeof *r);
    if (r == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "relayer key: out of memory");
    r->ctx = ctx;
    r->cfg = cfg;
    r->in_token = cfg->relayer_pkcs11_module[0] != '\0';
    custos_rc rc;
    if (r->in_token) {
        rc = relayer_login(r, r->address, err);
    } else {
        rc = custos_keyfile_read(cfg->relayer_key, r->seckey, err);
        if (rc == CUSTOS_OK)
            rc = custos_address_from_seckey(ctx, r->seckey, r->address, err);
    }
    if (rc != CUSTOS_OK) {
        gw_relayer_free(r);
        if (err != NULL) {
            /* Say which key: the message of the file or token alone does not. */
            char why[sizeof err->message];
            memcpy(why, err->message, sizeof why);
            rc = custos_error_set(err, rc, "relayer key ([evm] %s): %.400s",
                                  cfg->relayer_pkcs11_module[0] != '\0' ? "relayer_pkcs11_*"
                                                                         : "relayer_key",
                                  why);
        }
        return rc;
    }
    *out = r;
    return CUSTOS_OK;
}

void gw_relayer_free(gw_relayer *r)
{
    if (r == NULL)
        return;
    explicit_bzero(r->seckey, sizeof r->seckey);
    p11_free(r->token);
    free(r);
}

const uint8_t *gw_relayer_address(const gw_relayer *r)
{
    return r->address;
}

bool gw_relayer_in_token(const gw_relayer *r)
{
    return r->in_token;
}

custos_rc gw_relayer_sign(gw_relayer *r, const uint8_t digest[CUSTOS_HASH_LEN],
                          custos_signature *sig, custos_error *err)
{
    if (!r->in_token)
        return custos_sign_digest(r->ctx, r->seckey, digest, sig, err);
    if (r->token != NULL && p11_sign(r->token, r->ctx, digest, sig, err) == CUSTOS_OK)
        return CUSTOS_OK;
    /* The session may have died with the token (an HSM restart): log in once more, and
     * sign only if the token still holds the same key. */
    p11_free(r->token);
    r->token = NULL;
    uint8_t address[CUSTOS_ADDRESS_LEN];
    custos_rc rc = relayer_login(r, address, err);
    if (rc == CUSTOS_OK && memcmp(address, r->address, CUSTOS_ADDRESS_LEN) != 0) {
        p11_free(r->token);
        r->token = NULL;
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "relayer key: the token's key '%s' no longer has the address the "
                              "gateway started with",
                              r->cfg->relayer_pkcs11_key);
    }
    if (rc == CUSTOS_OK)
        rc = p11_sign(r->token, r->ctx, digest, sig, err);
    return rc;
}
