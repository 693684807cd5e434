#include "p11.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "custos/secretmode.h"

/* A PIN file is one line; tokens take PINs far shorter than this. */
#define P11_PIN_MAX 256
#define P11_MAX_SLOTS 64
/* The DER OCTET STRING (04 41) around the 65-byte uncompressed point of CKA_EC_POINT. */
#define P11_EC_POINT_DER_LEN (2 + CUSTOS_PUBKEY_LEN)

/* CKA_EC_PARAMS of secp256k1: the DER of its OID 1.3.132.0.10. */
static const uint8_t p11_secp256k1_oid[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a};

struct p11_key {
    void *lib;
    CK_FUNCTION_LIST_PTR f;
    CK_SESSION_HANDLE session;
    bool initialized, session_open, logged_in;
    CK_OBJECT_HANDLE priv;
    uint8_t address[CUSTOS_ADDRESS_LEN];
};

static const char *p11_rv_name(CK_RV rv)
{
    switch (rv) {
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_PIN_LEN_RANGE: return "CKR_PIN_LEN_RANGE";
    case CKR_PIN_EXPIRED: return "CKR_PIN_EXPIRED";
    case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_KEY_TYPE_INCONSISTENT: return "CKR_KEY_TYPE_INCONSISTENT";
    case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_TEMPLATE_INCOMPLETE: return "CKR_TEMPLATE_INCOMPLETE";
    case CKR_CURVE_NOT_SUPPORTED: return "CKR_CURVE_NOT_SUPPORTED";
    case CKR_DOMAIN_PARAMS_INVALID: return "CKR_DOMAIN_PARAMS_INVALID";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
    case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
    case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
    case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
    default: return "a PKCS#11 error";
    }
}

static custos_rc p11_fail(custos_error *err, CK_RV rv, const char *what)
{
    return custos_error_set(err, CUSTOS_ERR_IO, "PKCS#11 %s failed: %s (0x%lx)", what,
                            p11_rv_name(rv), (unsigned long)rv);
}

/* The PIN: from a regular file closed as custos_secret_mode_check requires (first line),
 * else from CUSTOS_PKCS11_PIN. */
static custos_rc p11_read_pin(const p11_spec *spec, char pin[P11_PIN_MAX + 1], size_t *len,
                              custos_error *err)
{
    const char *path = spec->pin_file;
    if (path == NULL) {
        const char *env = getenv(P11_PIN_ENV);
        if (env == NULL || env[0] == '\0')
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "no PIN for the token: give %s (a file of mode 0600) or set "
                                    P11_PIN_ENV,
                                    spec->names->pin_file);
        *len = strnlen(env, P11_PIN_MAX + 1);
        if (*len > P11_PIN_MAX)
            return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                    P11_PIN_ENV " is longer than %d bytes", P11_PIN_MAX);
        memcpy(pin, env, *len);
        pin[*len] = '\0';
        return CUSTOS_OK;
    }
    /* O_NONBLOCK: a FIFO planted at the path must not hang; it is refused below. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "cannot open PIN file %s: %s", path,
                                errno == ELOOP ? "it is a symbolic link; point to the file "
                                                 "itself"
                                               : strerror(errno));
    struct stat st;
    custos_rc rc = CUSTOS_OK;
    size_t n = 0;
    if (fstat(fd, &st) != 0) {
        rc = custos_error_set(err, CUSTOS_ERR_IO, "cannot stat PIN file %s: %s", path,
                              strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "PIN file %s is not a regular file", path);
    } else if ((rc = custos_secret_mode_check("PIN file", path, st.st_mode, st.st_uid,
                                              geteuid(), err)) == CUSTOS_OK) {
        /* One byte past the limit tells a too-long file from a full one. */
        while (n < P11_PIN_MAX + 1) {
            ssize_t got = read(fd, pin + n, P11_PIN_MAX + 1 - n);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0) {
                rc = custos_error_set(err, CUSTOS_ERR_IO, "cannot read PIN file %s: %s", path,
                                      strerror(errno));
                break;
            }
            if (got == 0)
                break;
            n += (size_t)got;
        }
        char *nl = memchr(pin, '\n', n);
        if (nl != NULL)
            n = (size_t)(nl - pin);
        if (n > 0 && pin[n - 1] == '\r')
            n--;
        if (rc == CUSTOS_OK && n > P11_PIN_MAX)
            rc = custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                  "PIN file %s: the PIN is longer than %d bytes", path,
                                  P11_PIN_MAX);
        else if (rc == CUSTOS_OK && n == 0)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID, "PIN file %s is empty", path);
    }
    (void)close(fd); /* read-only: nothing to lose */
    if (rc != CUSTOS_OK) {
        explicit_bzero(pin, P11_PIN_MAX + 1);
        return rc;
    }
    pin[n] = '\0';
    *len = n;
    return CUSTOS_OK;
}

static custos_rc p11_load(p11_key *p, const char *module, custos_error *err)
{
    p->lib = dlopen(module, RTLD_NOW | RTLD_LOCAL);
    if (p->lib == NULL) {
        const char *why = dlerror();
        return custos_error_set(err, CUSTOS_ERR_IO, "cannot load PKCS#11 module %s: %s", module,
                                why != NULL ? why : "unknown reason");
    }
    CK_C_GetFunctionList get;
    /* POSIX: dlsym's object pointer converts to a function pointer. */
    *(void **)&get = dlsym(p->lib, "C_GetFunctionList");
    if (get == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s is not a PKCS#11 module (no C_GetFunctionList)", module);
    CK_RV rv = get(&p->f);
    if (rv != CKR_OK || p->f == NULL) {
        p->f = NULL;
        return p11_fail(err, rv, "C_GetFunctionList");
    }
    rv = p->f->C_Initialize(NULL);
    /* Already initialised by another user in this process: that one finalises it. */
    p->initialized = rv == CKR_OK;
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        p->f = NULL;
        return p11_fail(err, rv, "C_Initialize");
    }
    return CUSTOS_OK;
}

/* Token labels are 32 bytes padded with spaces, not NUL-terminated. */
static bool p11_label_is(const CK_UTF8CHAR label[32], const char *want)
{
    size_t n = strlen(want);
    if (n > 32 || memcmp(label, want, n) != 0)
        return false;
    for (size_t i = n; i < 32; i++)
        if (label[i] != ' ')
            return false;
    return true;
}

static custos_rc p11_find_slot(p11_key *p, const p11_spec *spec, CK_SLOT_ID *slot,
                               custos_error *err)
{
    const char *token = spec->token;
    if (strlen(token) == 0 || strlen(token) > 32)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: a token label is 1 to 32 bytes",
                                spec->names->token);
    CK_SLOT_ID slots[P11_MAX_SLOTS];
    CK_ULONG n = P11_MAX_SLOTS;
    CK_RV rv = p->f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv == CKR_BUFFER_TOO_SMALL)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "the PKCS#11 module has more than %d tokens", P11_MAX_SLOTS);
    if (rv != CKR_OK)
        return p11_fail(err, rv, "C_GetSlotList");
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO info;
        if (p->f->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
            (info.flags & CKF_TOKEN_INITIALIZED) != 0 && p11_label_is(info.label, token)) {
            *slot = slots[i];
            return CUSTOS_OK;
        }
    }
    return custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                            "no initialised token labelled '%s' in the PKCS#11 module", token);
}

static custos_rc p11_login(p11_key *p, const p11_spec *spec, bool rw, custos_error *err)
{
    CK_SLOT_ID slot = 0;
    custos_rc rc = p11_find_slot(p, spec, &slot, err);
    if (rc != CUSTOS_OK)
        return rc;
    CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
    CK_RV rv = p->f->C_OpenSession(slot, flags, NULL, NULL, &p->session);
    if (rv != CKR_OK)
        return p11_fail(err, rv, "C_OpenSession");
    p->session_open = true;
    char pin[P11_PIN_MAX + 1];
    size_t pin_len = 0;
    rc = p11_read_pin(spec, pin, &pin_len, err);
    if (rc != CUSTOS_OK)
        return rc;
    rv = p->f->C_Login(p->session, CKU_USER, (CK_UTF8CHAR_PTR)pin, pin_len);
    explicit_bzero(pin, sizeof pin);
    if (rv == CKR_USER_ALREADY_LOGGED_IN)
        rv = CKR_OK;
    if (rv == CKR_PIN_INCORRECT)
        return custos_error_set(err, CUSTOS_ERR_REFUSED,
                                "login to token '%s' refused: wrong PIN (CKR_PIN_INCORRECT)",
                                spec->token);
    if (rv == CKR_PIN_LOCKED)
        return custos_error_set(err, CUSTOS_ERR_REFUSED,
                                "login to token '%s' refused: the PIN is locked after too many "
                                "wrong tries; the security officer must reset it",
                                spec->token);
    if (rv != CKR_OK)
        return p11_fail(err, rv, "login (C_Login)");
    p->logged_in = true;
    return CUSTOS_OK;
}

/* The one object of class cls labelled label; *found false when there is none. */
static custos_rc p11_find_object(p11_key *p, CK_OBJECT_CLASS cls, const char *label,
                                 CK_OBJECT_HANDLE *obj, bool *found, custos_error *err)
{
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},
                           {CKA_LABEL, (void *)label, strlen(label)}};
    CK_RV rv = p->f->C_FindObjectsInit(p->session, tmpl, 2);
    if (rv != CKR_OK)
        return p11_fail(err, rv, "C_FindObjectsInit");
    CK_OBJECT_HANDLE objs[2];
    CK_ULONG n = 0;
    rv = p->f->C_FindObjects(p->session, objs, 2, &n);
    CK_RV rv_final = p->f->C_FindObjectsFinal(p->session);
    if (rv != CKR_OK)
        return p11_fail(err, rv, "C_FindObjects");
    if (rv_final != CKR_OK)
        return p11_fail(err, rv_final, "C_FindObjectsFinal");
    if (n > 1)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "more than one %s key labelled '%s' on the token; labels must "
                                "name one key",
                                cls == CKO_PRIVATE_KEY ? "private" : "public", label);
    *found = n == 1;
    if (n == 1)
        *obj = objs[0];
    return CUSTOS_OK;
}

/* Refuses anything but an EC key on secp256k1. */
static custos_rc p11_check_curve(p11_key *p, CK_OBJECT_HANDLE obj, const char *label,
                                 custos_error *err)
{
    CK_KEY_TYPE type = 0;
    uint8_t params[64];
    CK_ATTRIBUTE attr[] = {{CKA_KEY_TYPE, &type, sizeof type},
                           {CKA_EC_PARAMS, params, sizeof params}};
    CK_RV rv = p->f->C_GetAttributeValue(p->session, obj, attr, 1);
    if (rv != CKR_OK)
        return p11_fail(err, rv, "reading the key type (C_GetAttributeValue)");
    if (type != CKK_EC)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "key '%s' is not an elliptic-curve key; Ethereum keys are on "
                                "secp256k1",
                                label);
    rv = p->f->C_GetAttributeValue(p->session, obj, attr + 1, 1);
    if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
        return p11_fail(err, rv, "reading the key's curve (C_GetAttributeValue)");
    if (rv != CKR_OK || attr[1].ulValueLen != sizeof p11_secp256k1_oid ||
        memcmp(params, p11_secp256k1_oid, sizeof p11_secp256k1_oid) != 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "key '%s' is not on the secp256k1 curve (CKA_EC_PARAMS is not "
                                "OID 1.3.132.0.10); Ethereum keys are on secp256k1",
                                label);
    return CUSTOS_OK;
}

/* The address of the public key object labelled label: keccak of its CKA_EC_POINT. */
static custos_rc p11_public_address(p11_key *p, custos_secp *ctx, const char *label,
                                    uint8_t addr[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    CK_OBJECT_HANDLE pub = 0;
    bool found = false;
    custos_rc rc = p11_find_object(p, CKO_PUBLIC_KEY, label, &pub, &found, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (!found)
        return custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                                "no public key labelled '%s' on the token; the signer's address "
                                "comes from it",
                                label);
    rc = p11_check_curve(p, pub, label, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t point[P11_EC_POINT_DER_LEN];
    CK_ATTRIBUTE attr = {CKA_EC_POINT, point, sizeof point};
    CK_RV rv = p->f->C_GetAttributeValue(p->session, pub, &attr, 1);
    if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
        return p11_fail(err, rv, "reading the public key (C_GetAttributeValue)");
    /* The standard wraps the point in a DER OCTET STRING; some tokens give it bare. */
    const uint8_t *raw = NULL;
    if (rv == CKR_OK && attr.ulValueLen == P11_EC_POINT_DER_LEN && point[0] == 0x04 &&
        point[1] == CUSTOS_PUBKEY_LEN)
        raw = point + 2;
    else if (rv == CKR_OK && attr.ulValueLen == CUSTOS_PUBKEY_LEN)
        raw = point;
    if (raw == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "public key '%s': CKA_EC_POINT is not an uncompressed secp256k1 "
                                "point",
                                label);
    custos_error perr;
    if (custos_address_from_pubkey(ctx, raw, addr, &perr) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "public key '%s': %s", label,
                                perr.message);
    return CUSTOS_OK;
}

static custos_rc p11_check_spec(const p11_spec *spec, custos_error *err)
{
    if (spec->module == NULL || spec->token == NULL || spec->key == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "an HSM key needs %s, %s and %s",
                                spec->names->module, spec->names->token, spec->names->key);
    if (spec->key[0] == '\0')
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: the label is empty",
                                spec->names->key);
    return CUSTOS_OK;
}

static custos_rc p11_start(const p11_spec *spec, bool rw, p11_key **out, custos_error *err)
{
    *out = NULL;
    custos_rc rc = p11_check_spec(spec, err);
    if (rc != CUSTOS_OK)
        return rc;
    p11_key *p = calloc(1, sizeof *p);
    if (p == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    rc = p11_load(p, spec->module, err);
    if (rc == CUSTOS_OK)
        rc = p11_login(p, spec, rw, err);
    if (rc != CUSTOS_OK) {
        p11_free(p);
        return rc;
    }
    *out = p;
    return CUSTOS_OK;
}

custos_rc p11_open(const p11_spec *spec, custos_secp *ctx, p11_key **out,
                   uint8_t addr[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    p11_key *p;
    custos_rc rc = p11_start(spec, false, &p, err);
    if (rc != CUSTOS_OK)
        return rc;
    bool found = false;
    rc = p11_find_object(p, CKO_PRIVATE_KEY, spec->key, &p->priv, &found, err);
    if (rc == CUSTOS_OK && !found)
        rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                              "no private key labelled '%s' on token '%s'", spec->key,
                              spec->token);
    if (rc == CUSTOS_OK)
        rc = p11_check_curve(p, p->priv, spec->key, err);
    if (rc == CUSTOS_OK)
        rc = p11_public_address(p, ctx, spec->key, p->address, err);
    if (rc != CUSTOS_OK) {
        p11_free(p);
        return rc;
    }
    memcpy(addr, p->address, CUSTOS_ADDRESS_LEN);
    *out = p;
    return CUSTOS_OK;
}

custos_rc p11_sign(p11_key *p, custos_secp *ctx, const uint8_t digest[32],
                   custos_signature *sig, custos_error *err)
{
    CK_MECHANISM mech = {CKM_ECDSA, NULL, 0};
    CK_RV rv = p->f->C_SignInit(p->session, &mech, p->priv);
    if (rv != CKR_OK)
        return p11_fail(err, rv, "C_SignInit (CKM_ECDSA)");
    uint8_t rs[64];
    CK_ULONG len = sizeof rs;
    /* CKM_ECDSA signs the given digest as is: the EIP-712 hash, not a hash of it. */
    rv = p->f->C_Sign(p->session, (CK_BYTE_PTR)digest, 32, rs, &len);
    if (rv != CKR_OK)
        return p11_fail(err, rv, "C_Sign (CKM_ECDSA)");
    if (len != sizeof rs)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "the token returned a %lu-byte ECDSA signature, expected r||s "
                                "of 64",
                                (unsigned long)len);
    return custos_signature_from_ecdsa(ctx, digest, rs, p->address, sig, err);
}

void p11_free(p11_key *p)
{
    if (p == NULL)
        return;
    if (p->f != NULL) {
        if (p->logged_in)
            (void)p->f->C_Logout(p->session);
        if (p->session_open)
            (void)p->f->C_CloseSession(p->session);
        if (p->initialized)
            (void)p->f->C_Finalize(NULL);
    }
    if (p->lib != NULL)
        (void)dlclose(p->lib);
    free(p);
}

/* Creates the key pair from seckey: the public half carries the point the address comes
 * from. The private key is removed again if the public one cannot be created. */
static custos_rc p11_import(p11_key *p, custos_secp *ctx,
                            const uint8_t seckey[CUSTOS_SECKEY_LEN], CK_ATTRIBUTE *priv_common,
                            CK_ULONG n_priv_common, CK_ATTRIBUTE *pub_common,
                            CK_ULONG n_pub_common, custos_error *err)
{
    uint8_t point[P11_EC_POINT_DER_LEN];
    point[0] = 0x04; /* OCTET STRING */
    point[1] = CUSTOS_PUBKEY_LEN;
    custos_rc rc = custos_pubkey_from_seckey(ctx, seckey, point + 2, err);
    if (rc != CUSTOS_OK)
        return rc;
    CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY, pub_class = CKO_PUBLIC_KEY;
    CK_KEY_TYPE type = CKK_EC;
    CK_ATTRIBUTE priv[16], pub[16];
    CK_ULONG np = 0, nq = 0;
    for (CK_ULONG i = 0; i < n_priv_common; i++)
        priv[np++] = priv_common[i];
    priv[np++] = (CK_ATTRIBUTE){CKA_CLASS, &priv_class, sizeof priv_class};
    priv[np++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &type, sizeof type};
    priv[np++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)p11_secp256k1_oid,
                                sizeof p11_secp256k1_oid};
    priv[np++] = (CK_ATTRIBUTE){CKA_VALUE, (void *)seckey, CUSTOS_SECKEY_LEN};
    /* pub_common carries the curve already. */
    for (CK_ULONG i = 0; i < n_pub_common; i++)
        pub[nq++] = pub_common[i];
    pub[nq++] = (CK_ATTRIBUTE){CKA_CLASS, &pub_class, sizeof pub_class};
    pub[nq++] = (CK_ATTRIBUTE){CKA_KEY_TYPE, &type, sizeof type};
    pub[nq++] = (CK_ATTRIBUTE){CKA_EC_POINT, point, sizeof point};
    CK_OBJECT_HANDLE priv_obj, pub_obj;
    CK_RV rv = p->f->C_CreateObject(p->session, priv, np, &priv_obj);
    if (rv != CKR_OK)
        return p11_fail(err, rv, "importing the private key (C_CreateObject)");
    rv = p->f->C_CreateObject(p->session, pub, nq, &pub_obj);
    if (rv != CKR_OK) {
        (void)p->f->C_DestroyObject(p->session, priv_obj);
        return p11_fail(err, rv, "importing the public key (C_CreateObject)");
    }
    return CUSTOS_OK;
}

custos_rc p11_create_key(const p11_spec *spec, custos_secp *ctx, const uint8_t *seckey,
                         uint8_t addr[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    p11_key *p;
    custos_rc rc = p11_start(spec, true, &p, err);
    if (rc != CUSTOS_OK)
        return rc;
    bool found_priv = false, found_pub = false;
    CK_OBJECT_HANDLE obj;
    rc = p11_find_object(p, CKO_PRIVATE_KEY, spec->key, &obj, &found_priv, err);
    if (rc == CUSTOS_OK)
        rc = p11_find_object(p, CKO_PUBLIC_KEY, spec->key, &obj, &found_pub, err);
    if (rc == CUSTOS_OK && (found_priv || found_pub))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "token '%s' already has a key labelled '%s'; choose another %s",
                              spec->token, spec->key, spec->names->key);
    if (rc != CUSTOS_OK) {
        p11_free(p);
        return rc;
    }
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ATTRIBUTE label = {CKA_LABEL, (void *)spec->key, strlen(spec->key)};
    /* Sensitive and never extractable: the key cannot leave the token once in it. */
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, sizeof yes},     label,
                           {CKA_PRIVATE, &yes, sizeof yes},   {CKA_SENSITIVE, &yes, sizeof yes},
                           {CKA_EXTRACTABLE, &no, sizeof no}, {CKA_SIGN, &yes, sizeof yes}};
    CK_ATTRIBUTE pub[] = {{CKA_TOKEN, &yes, sizeof yes},
                          label,
                          {CKA_VERIFY, &yes, sizeof yes},
                          {CKA_EC_PARAMS, (void *)p11_secp256k1_oid, sizeof p11_secp256k1_oid}};
    const CK_ULONG n_priv = sizeof priv / sizeof priv[0], n_pub = sizeof pub / sizeof pub[0];
    if (seckey != NULL) {
        rc = p11_import(p, ctx, seckey, priv, n_priv, pub, n_pub, err);
    } else {
        CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
        CK_OBJECT_HANDLE pub_obj, priv_obj;
        CK_RV rv = p->f->C_GenerateKeyPair(p->session, &mech, pub, n_pub, priv, n_priv,
                                           &pub_obj, &priv_obj);
        if (rv != CKR_OK)
            rc = p11_fail(err, rv, "generating a secp256k1 key pair (C_GenerateKeyPair)");
    }
    if (rc == CUSTOS_OK)
        rc = p11_public_address(p, ctx, spec->key, addr, err);
    p11_free(p);
    return rc;
}
