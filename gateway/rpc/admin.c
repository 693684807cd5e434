/* custos.v1.GatewayAdmin: the audit log and the changes an admin client makes to the
 * signer allow-list, the account registry, the feed policies and held attestations
 * (admin.c applies them); an auditor client reads the audit log and the registry. */
#include "rpc/call.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/hex.h"
#include "custos/v1/admin.pb-c.h"
#include "metrics.h"

#include "pb_status.h"
#include "rpc/handlers.h"
#include "tls.h"

#define AUDIT_PAGE_DEFAULT 100
#define AUDIT_PAGE_MAX 1000
#define ACCOUNTS_PAGE_DEFAULT 1000
#define ACCOUNTS_PAGE_MAX 10000

/* Answers PERMISSION_DENIED / UNAUTHORIZED_CLIENT and returns false unless the caller is
 * an admin. */
static bool admin_allowed(gw_rpc_call *c, char name[GW_CLIENT_NAME_MAX + 1])
{
    char detail[256];
    if (gw_tls_may_administer(c->srv->cfg, c->gc, name, detail, sizeof detail))
        return true;
    gw_metrics_count_request_refusal(GW_REQUEST_ADMIN, CUSTOS_REASON_UNAUTHORIZED_CLIENT);
    gw_rpc_finish(c, GRPC_STATUS_PERMISSION_DENIED, detail, CUSTOS_REASON_UNAUTHORIZED_CLIENT,
                  NULL);
    return false;
}

/* The same for the admin service's reads: admin or auditor. */
static bool audit_allowed(gw_rpc_call *c, char name[GW_CLIENT_NAME_MAX + 1])
{
    char detail[256];
    if (gw_tls_may_audit(c->srv->cfg, c->gc, name, detail, sizeof detail))
        return true;
    gw_rpc_finish(c, GRPC_STATUS_PERMISSION_DENIED, detail, CUSTOS_REASON_UNAUTHORIZED_CLIENT,
                  NULL);
    return false;
}

void gw_rpc_list_audit(gw_rpc_call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!audit_allowed(c, name))
        return;
    Custos__V1__ListAuditRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__list_audit_request__descriptor);
    if (req == NULL)
        return;
    uint64_t after = req->after_seq;
    uint32_t limit = req->limit;
    custos__v1__list_audit_request__free_unpacked(req, NULL);
    if (limit > AUDIT_PAGE_MAX) {
        char detail[96];
        snprintf(detail, sizeof detail, "limit %u: at most %d entries per call", limit,
                 AUDIT_PAGE_MAX);
        gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    size_t max = limit == 0 ? AUDIT_PAGE_DEFAULT : limit;
    custos_audit_entry *entries = calloc(max, sizeof *entries);
    Custos__V1__AuditEntry *items = calloc(max, sizeof *items);
    Custos__V1__AuditEntry **ptrs = calloc(max, sizeof *ptrs);
    size_t n = 0;
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = entries == NULL || items == NULL || ptrs == NULL
                       ? CUSTOS_ERR_NOMEM
                       : gw_engine_read_audit(c->srv->engine, after, entries, max, &n, &err);
    grpc_byte_buffer *bb = NULL;
    if (rc == CUSTOS_OK) {
        for (size_t i = 0; i < n; i++) {
            custos_audit_entry *e = &entries[i];
            custos__v1__audit_entry__init(&items[i]);
            items[i].seq = e->seq;
            items[i].time = e->time;
            items[i].actor = e->actor;
            items[i].action = e->action;
            items[i].payload.data = e->payload;
            items[i].payload.len = e->payload_len;
            items[i].prev_hash.data = e->prev_hash;
            items[i].prev_hash.len = CUSTOS_AUDIT_HASH_LEN;
            items[i].hash.data = e->hash;
            items[i].hash.len = CUSTOS_AUDIT_HASH_LEN;
            ptrs[i] = &items[i];
        }
        Custos__V1__ListAuditResponse r = CUSTOS__V1__LIST_AUDIT_RESPONSE__INIT;
        r.n_entries = n;
        r.entries = ptrs;
        bb = gw_rpc_pack(&r.base);
    }
    for (size_t i = 0; i < n; i++)
        custos_audit_entry_clear(&entries[i]);
    free(entries);
    free(items);
    free(ptrs);
    if (rc == CUSTOS_ERR_NOMEM || (rc == CUSTOS_OK && bb == NULL))
        gw_rpc_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                      NULL);
    else if (rc != CUSTOS_OK)
        gw_rpc_finish(c, GRPC_STATUS_UNAVAILABLE, err.message, CUSTOS_REASON_UNAVAILABLE, NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

/* Answers an admin change with its outcome. */
static void admin_finish(gw_rpc_call *c, gw_admin_result r, uint64_t seq,
                         const char *detail)
{
    static const grpc_status_code status[] = {
        [GW_ADMIN_DONE] = GRPC_STATUS_OK,
        [GW_ADMIN_INVALID] = GRPC_STATUS_INVALID_ARGUMENT,
        [GW_ADMIN_NOT_FOUND] = GRPC_STATUS_NOT_FOUND,
        [GW_ADMIN_EXISTS] = GRPC_STATUS_ALREADY_EXISTS,
        [GW_ADMIN_PRECONDITION] = GRPC_STATUS_FAILED_PRECONDITION,
        [GW_ADMIN_UNAVAILABLE] = GRPC_STATUS_UNAVAILABLE,
    };
    if (r != GW_ADMIN_DONE) {
        gw_rpc_finish(c, status[r], detail,
                      r == GW_ADMIN_INVALID ? CUSTOS_REASON_MALFORMED : CUSTOS_REASON_NONE, NULL);
        return;
    }
    Custos__V1__AdminChangeResponse resp = CUSTOS__V1__ADMIN_CHANGE_RESPONSE__INIT;
    resp.audit_seq = seq;
    gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, gw_rpc_pack(&resp.base));
}

/* Copies a 20-byte address field; answers INVALID_ARGUMENT and returns false otherwise. */
static bool admin_address(gw_rpc_call *c, const ProtobufCBinaryData *f,
                          uint8_t out[CUSTOS_ADDRESS_LEN])
{
    if (f->len == CUSTOS_ADDRESS_LEN) {
        memcpy(out, f->data, CUSTOS_ADDRESS_LEN);
        return true;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "address must be 20 bytes, got %zu", f->len);
    gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
    return false;
}

void gw_rpc_add_signer(gw_rpc_call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!admin_allowed(c, name))
        return;
    Custos__V1__AddSignerRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__add_signer_request__descriptor);
    if (req == NULL)
        return;
    uint8_t address[CUSTOS_ADDRESS_LEN];
    if (admin_address(c, &req->address, address)) {
        char detail[512];
        uint64_t seq = 0;
        gw_admin_result r = gw_admin_add_signer(c->srv->admin, name, address,
                                                req->feed != NULL ? req->feed : "",
                                                req->role != NULL ? req->role : "", &seq,
                                                detail, sizeof detail);
        admin_finish(c, r, seq, detail);
    }
    custos__v1__add_signer_request__free_unpacked(req, NULL);
}

void gw_rpc_revoke_signer(gw_rpc_call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!admin_allowed(c, name))
        return;
    Custos__V1__RevokeSignerRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__revoke_signer_request__descriptor);
    if (req == NULL)
        return;
    uint8_t address[CUSTOS_ADDRESS_LEN];
    if (admin_address(c, &req->address, address)) {
        char detail[512];
        uint64_t seq = 0;
        gw_admin_result r = gw_admin_revoke_signer(c->srv->admin, name, address,
                                                   req->feed != NULL ? req->feed : "", &seq,
                                                   detail, sizeof detail);
        admin_finish(c, r, seq, detail);
    }
    custos__v1__revoke_signer_request__free_unpacked(req, NULL);
}

void gw_rpc_rotate_signer(gw_rpc_call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!admin_allowed(c, name))
        return;
    Custos__V1__RotateSignerRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__rotate_signer_request__descriptor);
    if (req == NULL)
        return;
    uint8_t old_address[CUSTOS_ADDRESS_LEN], new_address[CUSTOS_ADDRESS_LEN];
    if (admin_address(c, &req->old_address, old_address) &&
        admin_address(c, &req->new_address, new_address)) {
        char detail[512];
        uint64_t seq = 0;
        gw_admin_result r = gw_admin_rotate_signer(
            c->srv->admin, name, old_address, new_address, req->feed != NULL ? req->feed : "",
            req->overlap_seconds, &seq, detail, sizeof detail);
        admin_finish(c, r, seq, detail);
    }
    custos__v1__rotate_signer_request__free_unpacked(req, NULL);
}

void gw_rpc_set_feed_policy(gw_rpc_call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!admin_allowed(c, name))
        return;
    Custos__V1__SetFeedPolicyRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__set_feed_policy_request__descriptor);
    if (req == NULL)
        return;
    const char *feed = req->feed != NULL ? req->feed : "";
    char detail[512];
    uint64_t seq = 0;
    gw_admin_result r;
    gw_feed policy;
    memset(&policy, 0, sizeof policy);
    if (strlen(feed) > CUSTOS_FEED_MAX) {
        snprintf(detail, sizeof detail, "feed name longer than %d bytes", CUSTOS_FEED_MAX);
        r = GW_ADMIN_INVALID;
    } else {
        snprintf(policy.name, sizeof policy.name, "%s", feed);
        policy.max_age = req->max_age;
        policy.max_skew = req->max_skew;
        policy.max_ttl = req->max_ttl;
        policy.threshold = req->threshold;
        policy.distinct_roles = req->distinct_roles;
        r = gw_admin_set_feed_policy(c->srv->admin, name, &policy, &seq, detail,
                                     sizeof detail);
    }
    admin_finish(c, r, seq, detail);
    custos__v1__set_feed_policy_request__free_unpacked(req, NULL);
}

/* The committer's answer to an operator's release (rule 6). */
static void release_held_done(void *ctx, const gw_submit_outcome *o)
{
    gw_rpc_call *c = ctx;
    switch (o->release) {
    case GW_RELEASE_DONE:
        gw_log(GW_LOG_INFO, "admin", "release_held (audit entry %" PRIu64
               "): published with cursor %" PRIu64, o->audit_seq, o->cursor);
        admin_finish(c, GW_ADMIN_DONE, o->audit_seq, NULL);
        break;
    case GW_RELEASE_NOT_FOUND:
        admin_finish(c, GW_ADMIN_NOT_FOUND, 0, o->detail);
        break;
    case GW_RELEASE_SUPERSEDED:
        admin_finish(c, GW_ADMIN_PRECONDITION, 0, o->detail);
        break;
    case GW_RELEASE_REFUSED:
        gw_rpc_finish(c, pb_reason_status(o->reason), o->detail,
                      o->reason, NULL);
        break;
    case GW_RELEASE_UNAVAILABLE:
        admin_finish(c, GW_ADMIN_UNAVAILABLE, 0, o->detail);
        break;
    }
    gw_rpc_call_unref(c);
}

void gw_rpc_release_held(gw_rpc_call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!admin_allowed(c, name))
        return;
    Custos__V1__ReleaseHeldRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__release_held_request__descriptor);
    if (req == NULL)
        return;
    char detail[160];
    const char *note = req->note != NULL ? req->note : "";
    if (req->digest.len != CUSTOS_HASH_LEN) {
        snprintf(detail, sizeof detail, "digest must be 32 bytes, got %zu", req->digest.len);
        gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
    } else if (strlen(note) > GW_RELEASE_NOTE_MAX || strpbrk(note, "\r\n") != NULL) {
        snprintf(detail, sizeof detail, "note must be one line of at most %d bytes",
                 GW_RELEASE_NOTE_MAX);
        gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
    } else {
        char hex[2 + 2 * CUSTOS_HASH_LEN + 1];
        char payload[sizeof hex + GW_RELEASE_NOTE_MAX + 32];
        if (custos_hex_encode(req->digest.data, CUSTOS_HASH_LEN, hex, sizeof hex) != CUSTOS_OK) {
            gw_rpc_finish(c, GRPC_STATUS_INTERNAL, "digest could not be encoded",
                          CUSTOS_REASON_INTERNAL, NULL);
        } else {
            snprintf(payload, sizeof payload, "release %s note=%s", hex, note);
            gw_rpc_call_ref(c);
            gw_engine_release_held(c->srv->engine, req->digest.data, name, payload,
                                   release_held_done, c);
        }
    }
    custos__v1__release_held_request__free_unpacked(req, NULL);
}

void gw_rpc_register_account(gw_rpc_call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!admin_allowed(c, name))
        return;
    Custos__V1__RegisterAccountRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__register_account_request__descriptor);
    if (req == NULL)
        return;
    char detail[512];
    if (req->account.len != CUSTOS_HASH_LEN) {
        snprintf(detail, sizeof detail, "account must be 32 bytes, got %zu", req->account.len);
        gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
    } else {
        uint64_t seq = 0;
        gw_admin_result r = gw_admin_register_account(c->srv->admin, name, req->account.data,
                                                      req->feed != NULL ? req->feed : "", &seq,
                                                      detail, sizeof detail);
        admin_finish(c, r, seq, detail);
    }
    custos__v1__register_account_request__free_unpacked(req, NULL);
}

void gw_rpc_list_accounts(gw_rpc_call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!audit_allowed(c, name))
        return;
    Custos__V1__ListAccountsRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__list_accounts_request__descriptor);
    if (req == NULL)
        return;
    uint32_t limit = req->limit;
    uint64_t offset = req->offset;
    char feed[CUSTOS_FEED_MAX + 1] = "";
    bool feed_ok = req->feed == NULL || strlen(req->feed) <= CUSTOS_FEED_MAX;
    if (feed_ok && req->feed != NULL)
        snprintf(feed, sizeof feed, "%s", req->feed);
    custos__v1__list_accounts_request__free_unpacked(req, NULL);
    if (!feed_ok || limit > ACCOUNTS_PAGE_MAX) {
        char detail[96];
        snprintf(detail, sizeof detail, "feed at most %d bytes, limit at most %d accounts",
                 CUSTOS_FEED_MAX, ACCOUNTS_PAGE_MAX);
        gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    size_t max = limit == 0 ? ACCOUNTS_PAGE_DEFAULT : limit;
    gw_account *accounts = calloc(max, sizeof *accounts);
    Custos__V1__RegisteredAccount *items = calloc(max, sizeof *items);
    Custos__V1__RegisteredAccount **ptrs = calloc(max, sizeof *ptrs);
    grpc_byte_buffer *bb = NULL;
    if (accounts != NULL && items != NULL && ptrs != NULL) {
        size_t total = 0;
        size_t n = gw_admin_list_accounts(c->srv->admin, feed,
                                          offset > SIZE_MAX ? SIZE_MAX : (size_t)offset,
                                          accounts, max, &total);
        for (size_t i = 0; i < n; i++) {
            custos__v1__registered_account__init(&items[i]);
            items[i].account.data = accounts[i].account;
            items[i].account.len = CUSTOS_HASH_LEN;
            items[i].feed = accounts[i].feed;
            ptrs[i] = &items[i];
        }
        Custos__V1__ListAccountsResponse r = CUSTOS__V1__LIST_ACCOUNTS_RESPONSE__INIT;
        r.n_accounts = n;
        r.accounts = ptrs;
        r.total = total;
        bb = gw_rpc_pack(&r.base);
    }
    free(accounts);
    free(items);
    free(ptrs);
    if (bb == NULL)
        gw_rpc_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                      NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}
