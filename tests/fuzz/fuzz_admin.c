/* The admin service's requests as a client sends them: the bytes of a
 * RegisterAccountRequest, a ListAccountsRequest (rule 9), an AddSignerRequest, a
 * RevokeSignerRequest or a RotateSignerRequest (rule 2; the first input byte picks which),
 * decoded by protobuf-c as the handlers do and applied to a real gw_admin on a private
 * SQLite store. Each change it accepts is an audit entry, read back and parsed when the
 * next change composes the list in force; an accepted registration must be listed with its
 * feed, and every refusal must say why. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/v1/admin.pb-c.h"

#include "admin.h"
#include "config/config.h"
#include "engine/engine.h"

#include "fuzz_common.h"

/* Accounts read back per ListAccounts input. */
#define FZ_ADMIN_PAGE 16

static gw_config cfg;
static gw_engine *engine;
static gw_admin *admin;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    custos_error err;
    if (gw_config_load(fz_write_gateway_config(), &cfg, &err) != CUSTOS_OK ||
        gw_engine_new(&cfg, &engine, &err) != CUSTOS_OK ||
        gw_admin_new(&cfg, engine, &admin, &err) != CUSTOS_OK) {
        fprintf(stderr, "fuzz_admin: %s\n", err.message);
        abort();
    }
    return 0;
}

static void fz_register(const uint8_t *data, size_t size)
{
    Custos__V1__RegisterAccountRequest *req =
        custos__v1__register_account_request__unpack(NULL, size, data);
    if (req == NULL)
        return;
    /* The handler refuses other lengths before the admin sees them. */
    if (req->account.len == CUSTOS_HASH_LEN) {
        const char *feed = req->feed != NULL ? req->feed : "";
        char detail[512] = "";
        uint64_t seq = 0;
        gw_admin_result r = gw_admin_register_account(admin, "fuzz", req->account.data, feed,
                                                      &seq, detail, sizeof detail);
        if (r != GW_ADMIN_DONE && detail[0] == '\0')
            abort(); /* every refusal says why */
        if (r == GW_ADMIN_DONE) {
            gw_account page[FZ_ADMIN_PAGE];
            size_t total = 1;
            bool listed = false;
            for (size_t off = 0; !listed && off < total; off += FZ_ADMIN_PAGE) {
                size_t n = gw_admin_list_accounts(admin, feed, off, page, FZ_ADMIN_PAGE, &total);
                for (size_t i = 0; i < n && !listed; i++)
                    listed = memcmp(page[i].account, req->account.data, CUSTOS_HASH_LEN) == 0;
            }
            if (seq == 0 || !listed)
                abort();
        }
    }
    custos__v1__register_account_request__free_unpacked(req, NULL);
}

static void fz_list(const uint8_t *data, size_t size)
{
    Custos__V1__ListAccountsRequest *req =
        custos__v1__list_accounts_request__unpack(NULL, size, data);
    if (req == NULL)
        return;
    gw_account page[FZ_ADMIN_PAGE];
    size_t total = 0;
    size_t limit = req->limit < FZ_ADMIN_PAGE ? req->limit : FZ_ADMIN_PAGE;
    size_t n = gw_admin_list_accounts(admin, req->feed, req->offset > SIZE_MAX ? SIZE_MAX
                                                                               : (size_t)req->offset,
                                      page, limit, &total);
    if (n > limit || n > total)
        abort();
    custos__v1__list_accounts_request__free_unpacked(req, NULL);
}

/* A change's outcome: done with an audit entry, or refused with a reason. */
static void fz_check_change(gw_admin_result r, uint64_t seq, const char *detail)
{
    if ((r == GW_ADMIN_DONE && seq == 0) || (r != GW_ADMIN_DONE && detail[0] == '\0'))
        abort();
}

/* The handlers refuse an address of another length before the admin sees it. */
static bool fz_address(const ProtobufCBinaryData *f)
{
    return f->len == CUSTOS_ADDRESS_LEN;
}

static void fz_add_signer(const uint8_t *data, size_t size)
{
    Custos__V1__AddSignerRequest *req = custos__v1__add_signer_request__unpack(NULL, size, data);
    if (req == NULL)
        return;
    if (fz_address(&req->address)) {
        char detail[512] = "";
        uint64_t seq = 0;
        gw_admin_result r = gw_admin_add_signer(admin, "fuzz", req->address.data,
                                                req->feed != NULL ? req->feed : "",
                                                req->role != NULL ? req->role : "", &seq,
                                                detail, sizeof detail);
        fz_check_change(r, seq, detail);
    }
    custos__v1__add_signer_request__free_unpacked(req, NULL);
}

static void fz_revoke_signer(const uint8_t *data, size_t size)
{
    Custos__V1__RevokeSignerRequest *req =
        custos__v1__revoke_signer_request__unpack(NULL, size, data);
    if (req == NULL)
        return;
    if (fz_address(&req->address)) {
        char detail[512] = "";
        uint64_t seq = 0;
        gw_admin_result r = gw_admin_revoke_signer(admin, "fuzz", req->address.data,
                                                   req->feed != NULL ? req->feed : "", &seq,
                                                   detail, sizeof detail);
        fz_check_change(r, seq, detail);
    }
    custos__v1__revoke_signer_request__free_unpacked(req, NULL);
}

static void fz_rotate_signer(const uint8_t *data, size_t size)
{
    Custos__V1__RotateSignerRequest *req =
        custos__v1__rotate_signer_request__unpack(NULL, size, data);
    if (req == NULL)
        return;
    if (fz_address(&req->old_address) && fz_address(&req->new_address)) {
        char detail[512] = "";
        uint64_t seq = 0;
        gw_admin_result r = gw_admin_rotate_signer(admin, "fuzz", req->old_address.data,
                                                   req->new_address.data,
                                                   req->feed != NULL ? req->feed : "",
                                                   req->overlap_seconds, &seq, detail,
                                                   sizeof detail);
        fz_check_change(r, seq, detail);
    }
    custos__v1__rotate_signer_request__free_unpacked(req, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    switch (data[0] % 5) {
    case 0: fz_register(data + 1, size - 1); break;
    case 1: fz_list(data + 1, size - 1); break;
    case 2: fz_add_signer(data + 1, size - 1); break;
    case 3: fz_revoke_signer(data + 1, size - 1); break;
    default: fz_rotate_signer(data + 1, size - 1); break;
    }
    return 0;
}
