#include "signer.h"

#include <string.h>

#include "custos/keyfile.h"

const p11_names at_p11_names = {.module = "--pkcs11-module",
                                 .token = "--pkcs11-token",
                                 .key = "--pkcs11-key",
                                 .pin_file = "--pkcs11-pin-file"};

static bool key_p11_given(const at_key_spec *k)
{
    return k->p11.module != NULL || k->p11.token != NULL || k->p11.key != NULL ||
           k->p11.pin_file != NULL;
}

bool at_key_given(const at_key_spec *k)
{
    return k->file != NULL || key_p11_given(k);
}

custos_rc at_signer_open(at_signer *s, const at_key_spec *key, custos_error *err)
{
    memset(s, 0, sizeof *s);
    if (key->file != NULL && key_p11_given(key))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "give --key FILE or the --pkcs11-* options of an HSM key, not "
                                "both");
    if (!at_key_given(key))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "no signing key: give --key FILE or --pkcs11-module, "
                                "--pkcs11-token and --pkcs11-key");
    s->ctx = custos_secp_new();
    if (s->ctx == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "cannot create a secp256k1 context");
    custos_rc rc;
    if (key->file != NULL) {
        rc = custos_keyfile_read(key->file, s->seckey, err);
        if (rc == CUSTOS_OK)
            rc = custos_address_from_seckey(s->ctx, s->seckey, s->address, err);
    } else {
        p11_spec spec = key->p11;
        spec.names = &at_p11_names;
        rc = p11_open(&spec, s->ctx, &s->hsm, s->address, err);
    }
    if (rc != CUSTOS_OK)
        at_signer_close(s);
    return rc;
}

custos_rc at_signer_sign(at_signer *s, const uint8_t digest[32], custos_signature *sig,
                         custos_error *err)
{
    if (s->hsm != NULL)
        return p11_sign(s->hsm, s->ctx, digest, sig, err);
    return custos_sign_digest(s->ctx, s->seckey, digest, sig, err);
}

void at_signer_close(at_signer *s)
{
    explicit_bzero(s->seckey, sizeof s->seckey);
    p11_free(s->hsm);
    s->hsm = NULL;
    if (s->ctx != NULL)
        custos_secp_free(s->ctx);
    s->ctx = NULL;
}
