/* The collateral manager's notices in custos.v1.AttestationGateway (rule 19): SubmitNotice
 * (a custodian's signed notice, checked by ../notices.c and stored by the engine with its
 * audit log entry), ListNotices (an account's notices, newest first), and a notice as a
 * Watch event (watch.c). */
#include "rpc/call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notices.h"
#include "rpc/handlers.h"
#include "tls.h"

#define NOTICES_DEFAULT_LIMIT 100u
#define NOTICES_MAX_LIMIT 1000u

void gw_rpc_submit_notice(gw_rpc_call *c)
{
    char detail[320];
    if (!gw_rpc_admit_submission(c, detail, sizeof detail)) {
        gw_rpc_refuse(c, CUSTOS_REASON_RATE_LIMITED, detail);
        return;
    }
    Custos__V1__SubmitNoticeRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__submit_notice_request__descriptor);
    if (req == NULL)
        return;
    gw_notice_submission s;
    custos_reason reason = gw_notice_decode(req, &s, detail, sizeof detail);
    custos__v1__submit_notice_request__free_unpacked(req, NULL);
    uint64_t now = (uint64_t)time(NULL);
    if (reason == CUSTOS_REASON_NONE)
        reason = gw_notice_verify(c->srv->cfg, c->srv->engine, &s, now, detail, sizeof detail);
    if (reason == CUSTOS_REASON_NONE &&
        !gw_tls_may_submit(c->srv->cfg, c->gc, s.stored.feed, detail, sizeof detail))
        reason = CUSTOS_REASON_UNAUTHORIZED_CLIENT;
    bool duplicate = false;
    uint64_t audit_seq = 0;
    if (reason == CUSTOS_REASON_NONE) {
        char actor[CUSTOS_AUDIT_ACTOR_MAX + 1];
        gw_tls_client_name(c->srv->cfg, c->gc, actor, sizeof actor);
        s.stored.accepted_at = now;
        reason = gw_engine_put_notice(c->srv->engine, &s.stored,
                                      actor[0] != '\0' ? actor : "custodian", &duplicate,
                                      &audit_seq, detail, sizeof detail);
    }
    if (reason != CUSTOS_REASON_NONE) {
        gw_rpc_refuse(c, reason, detail);
        return;
    }
    gw_log_req(GW_LOG_INFO, "notice", c->request_id,
               "feed=%s state=%s ltv_bps=%u sequence=%llu cursor=%llu duplicate=%s "
               "audit_seq=%llu",
               s.stored.feed, custos_loan_state_name((custos_loan_state)s.stored.n.state),
               s.stored.n.ltv_bps, (unsigned long long)s.stored.n.sequence,
               (unsigned long long)s.stored.cursor, duplicate ? "true" : "false",
               (unsigned long long)audit_seq);
    Custos__V1__SubmitNoticeResponse r = CUSTOS__V1__SUBMIT_NOTICE_RESPONSE__INIT;
    r.digest = (ProtobufCBinaryData){CUSTOS_HASH_LEN, s.stored.digest};
    r.duplicate = duplicate;
    r.signer = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, s.stored.signer};
    r.feed = s.stored.feed;
    r.cursor = s.stored.cursor;
    grpc_byte_buffer *bb = gw_rpc_pack(&r.base);
    if (bb == NULL)
        gw_rpc_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                      NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

/* What one StoredNotice borrows from its gw_store_notice. */
typedef struct notice_msg {
    Custos__V1__StoredNotice stored;
    Custos__V1__CollateralNotice notice;
    uint8_t exposure[CUSTOS_U256_LEN];
    uint8_t collateral[CUSTOS_U256_LEN];
} notice_msg;

static void notice_to_msg(gw_store_notice *n, notice_msg *m)
{
    custos__v1__stored_notice__init(&m->stored);
    custos__v1__collateral_notice__init(&m->notice);
    m->notice.account = (ProtobufCBinaryData){CUSTOS_HASH_LEN, n->n.account};
    m->notice.lender = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, n->n.lender};
    m->notice.state = n->n.state;
    m->notice.ltv_bps = n->n.ltv_bps;
    custos_u256_to_be(&n->n.exposure, m->exposure);
    custos_u256_to_be(&n->n.collateral_value, m->collateral);
    m->notice.exposure = (ProtobufCBinaryData){CUSTOS_U256_LEN, m->exposure};
    m->notice.collateral_value = (ProtobufCBinaryData){CUSTOS_U256_LEN, m->collateral};
    m->notice.deadline = n->n.deadline;
    m->notice.sequence = n->n.sequence;
    m->stored.notice = &m->notice;
    m->stored.signature = (ProtobufCBinaryData){CUSTOS_SIGNATURE_LEN, n->sig.bytes};
    m->stored.signer = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, n->signer};
    m->stored.digest = (ProtobufCBinaryData){CUSTOS_HASH_LEN, n->digest};
    m->stored.feed = n->feed;
    m->stored.accepted_at = n->accepted_at;
    m->stored.cursor = n->cursor;
    if (n->cursor != 0)
        m->stored.chain_hash = (ProtobufCBinaryData){CUSTOS_HASH_LEN, n->chain_hash};
}

grpc_byte_buffer *gw_rpc_pack_notice_event(const gw_rpc_call *c, gw_store_notice *n)
{
    notice_msg m;
    notice_to_msg(n, &m);
    const gw_config *cfg = c->srv->cfg;
    Custos__V1__Domain domain = CUSTOS__V1__DOMAIN__INIT;
    domain.chain_id = cfg->domain.chain_id;
    domain.verifying_contract =
        (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, (uint8_t *)cfg->domain.verifying_contract};
    Custos__V1__WatchEvent ev = CUSTOS__V1__WATCH_EVENT__INIT;
    ev.notice = &m.stored;
    ev.domain = &domain;
    return gw_rpc_pack(&ev.base);
}

void gw_rpc_list_notices(gw_rpc_call *c)
{
    Custos__V1__ListNoticesRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__list_notices_request__descriptor);
    if (req == NULL)
        return;
    uint8_t account[CUSTOS_HASH_LEN];
    bool ok = req->account.len == CUSTOS_HASH_LEN && req->limit <= NOTICES_MAX_LIMIT;
    size_t got_len = req->account.len;
    uint32_t limit = req->limit == 0 ? NOTICES_DEFAULT_LIMIT : req->limit;
    if (ok)
        memcpy(account, req->account.data, sizeof account);
    custos__v1__list_notices_request__free_unpacked(req, NULL);
    if (!ok) {
        char detail[160];
        snprintf(detail, sizeof detail,
                 "account must be 32 bytes (got %zu) and limit at most %u", got_len,
                 NOTICES_MAX_LIMIT);
        gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    gw_store_notice *list = calloc(limit, sizeof *list);
    notice_msg *msgs = calloc(limit, sizeof *msgs);
    Custos__V1__StoredNotice **ptrs = calloc(limit, sizeof *ptrs);
    size_t n = 0;
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = list != NULL && msgs != NULL && ptrs != NULL
                       ? gw_engine_list_notices(c->srv->engine, account, list, limit, &n, &err)
                       : custos_error_set(&err, CUSTOS_ERR_NOMEM, "out of memory");
    grpc_byte_buffer *bb = NULL;
    if (rc == CUSTOS_OK) {
        const gw_config *cfg = c->srv->cfg;
        Custos__V1__Domain domain = CUSTOS__V1__DOMAIN__INIT;
        domain.chain_id = cfg->domain.chain_id;
        domain.verifying_contract =
            (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, (uint8_t *)cfg->domain.verifying_contract};
        for (size_t i = 0; i < n; i++) {
            notice_to_msg(&list[i], &msgs[i]);
            ptrs[i] = &msgs[i].stored;
        }
        Custos__V1__ListNoticesResponse r = CUSTOS__V1__LIST_NOTICES_RESPONSE__INIT;
        r.domain = &domain;
        r.n_notices = n;
        r.notices = ptrs;
        bb = gw_rpc_pack(&r.base);
    }
    free(ptrs);
    free(msgs);
    free(list);
    if (rc == CUSTOS_ERR_NOMEM || (rc == CUSTOS_OK && bb == NULL))
        gw_rpc_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                      NULL);
    else if (rc != CUSTOS_OK)
        gw_rpc_finish(c, GRPC_STATUS_UNAVAILABLE, err.message, CUSTOS_REASON_UNAVAILABLE, NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}
