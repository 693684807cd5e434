#include "signer.h"

#include <string.h>

#include "custos/keyfile.h"

custos_rc at_signer_open(at_signer *s, const char *key_path, custos_error *err)
{
    memset(s, 0, sizeof *s);
    s->ctx = custos_secp_new();
    if (s->ctx == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "cannot create a secp256k1 context");
    custos_rc rc = custos_keyfile_read(key_path, s->seckey, err);
    if (rc == CUSTOS_OK)
        rc = custos_address_from_seckey(s->ctx, s->seckey, s->address, err);
    if (rc != CUSTOS_OK)
        at_signer_close(s);
    return rc;
}

custos_rc at_signer_sign(at_signer *s, const uint8_t digest[32], custos_signature *sig,
                         custos_error *err)
{
    return custos_sign_digest(s->ctx, s->seckey, digest, sig, err);
}

void at_signer_close(at_signer *s)
{
    explicit_bzero(s->seckey, sizeof s->seckey);
    if (s->ctx != NULL)
        custos_secp_free(s->ctx);
    s->ctx = NULL;
}
