/* The client's admin calls: the audit log, signers, feed policies, held releases and
 * registered accounts (custos/client.h). */
#include "client_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/status.h>
#include <grpc/support/time.h>

#include "custos/pemfile.h"
#include "custos/v1/admin.pb-c.h"
#include "custos/v1/gateway.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "pb_convert.h"
#include "pb_notice.h"
#include "pb_status.h"

/* Copies one received entry; false when a field has the wrong size. */
static bool audit_from_pb(const Custos__V1__AuditEntry *m, custos_audit_entry *e)
{
    memset(e, 0, sizeof *e);
    size_t actor = m->actor != NULL ? strlen(m->actor) : 0;
    size_t action = m->action != NULL ? strlen(m->action) : 0;
    if (m->prev_hash.len != CUSTOS_AUDIT_HASH_LEN || m->hash.len != CUSTOS_AUDIT_HASH_LEN ||
        actor > CUSTOS_AUDIT_ACTOR_MAX || action > CUSTOS_AUDIT_ACTION_MAX)
        return false;
    e->payload = malloc(m->payload.len > 0 ? m->payload.len : 1);
    if (e->payload == NULL)
        return false;
    if (m->payload.len > 0)
        memcpy(e->payload, m->payload.data, m->payload.len);
    e->payload_len = m->payload.len;
    e->seq = m->seq;
    e->time = m->time;
    memcpy(e->actor, m->actor != NULL ? m->actor : "", actor);
    memcpy(e->action, m->action != NULL ? m->action : "", action);
    memcpy(e->prev_hash, m->prev_hash.data, CUSTOS_AUDIT_HASH_LEN);
    memcpy(e->hash, m->hash.data, CUSTOS_AUDIT_HASH_LEN);
    return true;
}

custos_rc custos_client_list_audit(custos_client *c, uint64_t after_seq, uint32_t limit,
                                   custos_audit_entry **out, size_t *n, custos_error *err)
{
    *out = NULL;
    *n = 0;
    Custos__V1__ListAuditRequest req = CUSTOS__V1__LIST_AUDIT_REQUEST__INIT;
    req.after_seq = after_seq;
    req.limit = limit;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = cl_unary_call(c, H_LIST_AUDIT, &req.base,
                              &custos__v1__list_audit_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "ListAudit", &o, err);
    const Custos__V1__ListAuditResponse *r = (const Custos__V1__ListAuditResponse *)reply;
    custos_audit_entry *v = calloc(r->n_entries ? r->n_entries : 1, sizeof *v);
    if (v == NULL) {
        protobuf_c_message_free_unpacked(reply, NULL);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->n_entries; i++) {
        if (!audit_from_pb(r->entries[i], &v[i])) {
            custos_audit_entry_list_free(v, i + 1);
            protobuf_c_message_free_unpacked(reply, NULL);
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "gateway %s: ListAudit: entry %zu is malformed (field "
                                    "sizes) or out of memory", c->target, i);
        }
    }
    *out = v;
    *n = r->n_entries;
    protobuf_c_message_free_unpacked(reply, NULL);
    return CUSTOS_OK;
}

static custos_rc admin_change(custos_client *c, int handle, const char *method,
                              const ProtobufCMessage *req, uint64_t *audit_seq,
                              custos_error *err)
{
    *audit_seq = 0;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = cl_unary_call(c, handle, req, &custos__v1__admin_change_response__descriptor,
                              &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, method, &o, err);
    *audit_seq = ((const Custos__V1__AdminChangeResponse *)reply)->audit_seq;
    protobuf_c_message_free_unpacked(reply, NULL);
    return CUSTOS_OK;
}

custos_rc custos_client_add_signer(custos_client *c, const uint8_t address[CUSTOS_ADDRESS_LEN],
                                   const char *feed, const char *role, uint64_t *audit_seq,
                                   custos_error *err)
{
    Custos__V1__AddSignerRequest req = CUSTOS__V1__ADD_SIGNER_REQUEST__INIT;
    req.address.data = (uint8_t *)address;
    req.address.len = CUSTOS_ADDRESS_LEN;
    req.feed = (char *)feed;
    req.role = (char *)role;
    return admin_change(c, H_ADD_SIGNER, "AddSigner", &req.base, audit_seq, err);
}

custos_rc custos_client_revoke_signer(custos_client *c,
                                      const uint8_t address[CUSTOS_ADDRESS_LEN],
                                      const char *feed, uint64_t *audit_seq,
                                      custos_error *err)
{
    Custos__V1__RevokeSignerRequest req = CUSTOS__V1__REVOKE_SIGNER_REQUEST__INIT;
    req.address.data = (uint8_t *)address;
    req.address.len = CUSTOS_ADDRESS_LEN;
    req.feed = (char *)feed;
    return admin_change(c, H_REVOKE_SIGNER, "RevokeSigner", &req.base, audit_seq, err);
}

custos_rc custos_client_rotate_signer(custos_client *c,
                                      const uint8_t old_address[CUSTOS_ADDRESS_LEN],
                                      const uint8_t new_address[CUSTOS_ADDRESS_LEN],
                                      const char *feed, uint64_t overlap_seconds,
                                      uint64_t *audit_seq, custos_error *err)
{
    Custos__V1__RotateSignerRequest req = CUSTOS__V1__ROTATE_SIGNER_REQUEST__INIT;
    req.old_address.data = (uint8_t *)old_address;
    req.old_address.len = CUSTOS_ADDRESS_LEN;
    req.new_address.data = (uint8_t *)new_address;
    req.new_address.len = CUSTOS_ADDRESS_LEN;
    req.feed = (char *)feed;
    req.overlap_seconds = overlap_seconds;
    return admin_change(c, H_ROTATE_SIGNER, "RotateSigner", &req.base, audit_seq, err);
}

custos_rc custos_client_set_feed_policy(custos_client *c, const char *feed,
                                        const custos_feed_policy *policy, uint64_t *audit_seq,
                                        custos_error *err)
{
    Custos__V1__SetFeedPolicyRequest req = CUSTOS__V1__SET_FEED_POLICY_REQUEST__INIT;
    req.feed = (char *)feed;
    req.max_age = policy->max_age;
    req.max_skew = policy->max_skew;
    req.max_ttl = policy->max_ttl;
    req.threshold = policy->threshold;
    req.distinct_roles = policy->distinct_roles;
    return admin_change(c, H_SET_FEED_POLICY, "SetFeedPolicy", &req.base, audit_seq, err);
}

custos_rc custos_client_release_held(custos_client *c, const uint8_t digest[CUSTOS_HASH_LEN],
                                     const char *note, uint64_t *audit_seq, custos_error *err)
{
    Custos__V1__ReleaseHeldRequest req = CUSTOS__V1__RELEASE_HELD_REQUEST__INIT;
    req.digest.data = (uint8_t *)digest;
    req.digest.len = CUSTOS_HASH_LEN;
    req.note = (char *)note;
    return admin_change(c, H_RELEASE_HELD, "ReleaseHeld", &req.base, audit_seq, err);
}

custos_rc custos_client_register_account(custos_client *c,
                                         const uint8_t account[CUSTOS_HASH_LEN],
                                         const char *feed, uint64_t *audit_seq,
                                         custos_error *err)
{
    Custos__V1__RegisterAccountRequest req = CUSTOS__V1__REGISTER_ACCOUNT_REQUEST__INIT;
    req.account.data = (uint8_t *)account;
    req.account.len = CUSTOS_HASH_LEN;
    req.feed = (char *)feed;
    return admin_change(c, H_REGISTER_ACCOUNT, "RegisterAccount", &req.base, audit_seq, err);
}

custos_rc custos_client_list_accounts(custos_client *c, const char *feed, uint64_t offset,
                                      uint32_t limit, custos_registered_account **out,
                                      size_t *n, uint64_t *total, custos_error *err)
{
    *out = NULL;
    *n = 0;
    *total = 0;
    Custos__V1__ListAccountsRequest req = CUSTOS__V1__LIST_ACCOUNTS_REQUEST__INIT;
    req.feed = (char *)(feed != NULL ? feed : "");
    req.offset = offset;
    req.limit = limit;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = cl_unary_call(c, H_LIST_ACCOUNTS, &req.base,
                              &custos__v1__list_accounts_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "ListAccounts", &o, err);
    const Custos__V1__ListAccountsResponse *r = (const Custos__V1__ListAccountsResponse *)reply;
    custos_registered_account *v = calloc(r->n_accounts ? r->n_accounts : 1, sizeof *v);
    if (v == NULL) {
        protobuf_c_message_free_unpacked(reply, NULL);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->n_accounts; i++) {
        const Custos__V1__RegisteredAccount *a = r->accounts[i];
        const char *name = a->feed != NULL ? a->feed : "";
        if (a->account.len != CUSTOS_HASH_LEN || name[0] == '\0' ||
            strlen(name) > CUSTOS_FEED_MAX) {
            free(v);
            protobuf_c_message_free_unpacked(reply, NULL);
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "gateway %s: ListAccounts: entry %zu is malformed (an "
                                    "account of 32 bytes and a feed name expected)",
                                    c->target, i);
        }
        memcpy(v[i].account, a->account.data, CUSTOS_HASH_LEN);
        snprintf(v[i].feed, sizeof v[i].feed, "%s", name);
    }
    *out = v;
    *n = r->n_accounts;
    *total = r->total;
    protobuf_c_message_free_unpacked(reply, NULL);
    return CUSTOS_OK;
}
