/* Writes the generated seeds of the submission, typed-data, batch, reserves and Watch event
 * targets (signed with the fixed keys the fuzz configuration allow-lists) under the corpus
 * directory given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/batch.h"
#include "custos/chain.h"
#include "custos/eip712.h"
#include "custos/notice.h"
#include "custos/reserves.h"
#include "custos/typeddata.h"
#include "custos/wire.h"
#include "pb_convert.h"

#include "custos/v1/gateway.pb-c.h"
#include "pb_convert.h"

#include "fuzz_common.h"

static void put(const char *root, const char *target, const char *name, const uint8_t *data,
                size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    fz_write_file(path, data, len);
}

/* A batch of n accounts signed by key: the batch file and its first account's file. */
static int put_batch(const char *root, const char *name, size_t n, unsigned key)
{
    custos_attestation atts[3];
    custos_submission s[3];
    for (size_t i = 0; i < n; i++) {
        char ref[32];
        snprintf(ref, sizeof ref, "FUZZ-B%zu", i);
        fz_make_submission(&s[i], ref, i + 1, &key, 1);
        s[i].att.valid_until = s[0].att.valid_until;
        s[i].att.as_of = s[0].att.as_of;
        atts[i] = s[i].att;
    }
    custos_error err;
    custos_error_clear(&err);
    custos_batch_account *a = calloc(1, sizeof *a);
    custos_batch_tree *t = NULL;
    uint8_t digest[CUSTOS_HASH_LEN], leaf[CUSTOS_HASH_LEN], sk[CUSTOS_SECKEY_LEN];
    custos_secp *secp = custos_secp_new();
    char *batch_json = NULL, *account_json = NULL;
    fz_seckey(key, sk);
    int rc = a == NULL || secp == NULL ||
             custos_batch_tree_new(s[0].feed, atts, n, 1, &a->batch, &t, &err) != CUSTOS_OK;
    if (rc == 0) {
        memcpy(a->feed, s[0].feed, sizeof a->feed);
        a->domain = s[0].domain;
        a->att = atts[0];
        custos_batch_digest(&a->domain, &a->batch, digest);
        a->n_sigs = 1;
        rc = custos_sign_digest(secp, sk, digest, &a->sigs[0], &err) != CUSTOS_OK ||
             custos_batch_tree_proof(t, 0, leaf, a->proof, CUSTOS_MERKLE_PROOF_MAX, &a->n_proof,
                                     &err) != CUSTOS_OK ||
             custos_batch_export(a->feed, &a->domain, &a->batch, a->sigs, 1, &batch_json,
                                 &err) != CUSTOS_OK ||
             custos_batch_account_export(a, s[0].positions, s[0].n_positions, &account_json,
                                         &err) != CUSTOS_OK;
    }
    if (rc == 0) {
        char file[64];
        snprintf(file, sizeof file, "%s-batch.json", name);
        put(root, "fuzz_batch", file, (const uint8_t *)batch_json, strlen(batch_json));
        snprintf(file, sizeof file, "%s-account.json", name);
        put(root, "fuzz_batch", file, (const uint8_t *)account_json, strlen(account_json));
        /* The same batch as a client sends it to SubmitBatch, every account with its
         * positions. */
        Custos__V1__SubmitBatchRequest *req = NULL;
        custos_batch_member m[3];
        for (size_t i = 0; i < n; i++)
            m[i] = (custos_batch_member){.att = s[i].att,
                                         .positions = s[i].positions,
                                         .n_positions = s[i].n_positions};
        rc = pb_batch_request_new(a->feed, &a->domain, &a->batch, a->sigs, 1, m, n, &req,
                                  &err) != CUSTOS_OK;
        if (rc == 0) {
            size_t len = protobuf_c_message_get_packed_size(&req->base);
            uint8_t *buf = malloc(len);
            rc = buf == NULL;
            if (rc == 0) {
                protobuf_c_message_pack(&req->base, buf);
                snprintf(file, sizeof file, "%s.pb", name);
                put(root, "fuzz_submit_batch", file, buf, len);
            }
            free(buf);
        }
        pb_batch_request_free(req);
    } else {
        fprintf(stderr, "make_seeds: batch %s: %s\n", name, err.message);
    }
    free(batch_json);
    free(account_json);
    custos_batch_tree_free(t);
    custos_secp_free(secp);
    free(a);
    for (size_t i = 0; i < n; i++)
        custos_submission_clear(&s[i]);
    return rc;
}

/* A SubmitReservesRequest over n accounts signed by key. */
static int put_reserves(const char *root, const char *name, size_t n, unsigned key)
{
    custos_error err;
    custos_reserves_entry es[3];
    custos_reserves r;
    memset(&r, 0, sizeof r);
    for (size_t i = 0; i < n; i++) {
        memset(es[i].account, (int)(0xa0 + i), sizeof es[i].account);
        custos_u256_from_u64(&es[i].collateral_value, 1000000 * (i + 1));
    }
    custos_domain d = {.chain_id = FZ_CHAIN_ID};
    if (custos_reserves_summarise(es, n, &r, &err) != CUSTOS_OK ||
        custos_address_from_hex(FZ_CONTRACT, d.verifying_contract, &err) != CUSTOS_OK) {
        fprintf(stderr, "make_seeds: %s\n", err.message);
        return 1;
    }
    custos_feed_id(FZ_FEED, r.feed_id);
    r.as_of = FZ_NOW - 60;
    r.sequence = 1;
    uint8_t digest[32], sk[CUSTOS_SECKEY_LEN];
    custos_reserves_digest(&d, &r, digest);
    fz_seckey(key, sk);
    custos_signature sig;
    custos_secp *secp = custos_secp_new();
    custos_rc rc = secp != NULL ? custos_sign_digest(secp, sk, digest, &sig, &err)
                                : custos_error_set(&err, CUSTOS_ERR_NOMEM, "no context");
    custos_secp_free(secp);
    if (rc != CUSTOS_OK) {
        fprintf(stderr, "make_seeds: %s\n", err.message);
        return 1;
    }
    uint8_t *pb = NULL;
    size_t len = 0;
    if (custos_reserves_request_encode(FZ_FEED, &d, &r, &sig, 1, es, n, &pb, &len, &err) !=
        CUSTOS_OK) {
        fprintf(stderr, "make_seeds: %s\n", err.message);
        return 1;
    }
    put(root, "fuzz_reserves", name, pb, len);
    free(pb);
    return 0;
}

static void put_event(const char *root, const char *name, const Custos__V1__WatchEvent *ev)
{
    size_t len = custos__v1__watch_event__get_packed_size(ev);
    uint8_t *buf = malloc(len + 1);
    if (buf == NULL)
        abort();
    custos__v1__watch_event__pack(ev, buf);
    put(root, "fuzz_watch_event", name, buf, len);
    free(buf);
}

/* Watch events as a gateway sends them: a record at cursor 1 and a notice at cursor 2
 * linked on from it, signed by the custodian. */
static int put_watch_events(const char *root)
{
    static const unsigned keys[1] = {FZ_KEY_CUSTODIAN};
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    fz_make_submission(&rec.sub, FZ_SEED_REF, 1, keys, 1);
    rec.cursor = 1;
    rec.state = CUSTOS_STATE_ACCEPTED;
    rec.accepted_at = FZ_NOW;
    custos_attestation_digest(&rec.sub.domain, &rec.sub.att, rec.digest);
    rec.n_signers = 1;
    uint8_t zero[CUSTOS_HASH_LEN] = {0}, sk[CUSTOS_SECKEY_LEN];
    custos_chain_link(zero, rec.cursor, rec.digest, rec.chain_hash);
    custos_error err;
    custos_error_clear(&err);
    Custos__V1__Record *rm = NULL;
    custos_secp *secp = custos_secp_new();
    fz_seckey(FZ_KEY_CUSTODIAN, sk);
    int rc = secp == NULL ||
             custos_address_from_seckey(secp, sk, rec.signers[0], &err) != CUSTOS_OK ||
             pb_from_record(&rec, &rm, &err) != CUSTOS_OK;
    if (rc == 0) {
        Custos__V1__WatchEvent ev = CUSTOS__V1__WATCH_EVENT__INIT;
        ev.record = rm;
        put_event(root, "record.pb", &ev);
    }
    custos_notice n;
    memset(&n, 0, sizeof n);
    memcpy(n.account, rec.sub.att.account, CUSTOS_HASH_LEN);
    memset(n.lender, 0xaa, CUSTOS_ADDRESS_LEN);
    n.state = CUSTOS_LOAN_MARGIN_CALL;
    n.ltv_bps = 8000;
    custos_u256_from_u64(&n.exposure, 80000);
    custos_u256_from_u64(&n.collateral_value, 100000);
    n.deadline = FZ_NOW + 86400;
    n.sequence = 1;
    uint8_t digest[CUSTOS_HASH_LEN], link[CUSTOS_HASH_LEN], exposure[CUSTOS_U256_LEN],
        value[CUSTOS_U256_LEN];
    custos_signature sig;
    custos_notice_digest(&rec.sub.domain, &n, digest);
    rc = rc || custos_sign_digest(secp, sk, digest, &sig, &err) != CUSTOS_OK;
    if (rc == 0) {
        custos_chain_link_notice(rec.chain_hash, 2, digest, sig.bytes, link);
        custos_u256_to_be(&n.exposure, exposure);
        custos_u256_to_be(&n.collateral_value, value);
        Custos__V1__CollateralNotice cn = CUSTOS__V1__COLLATERAL_NOTICE__INIT;
        cn.account = (ProtobufCBinaryData){CUSTOS_HASH_LEN, n.account};
        cn.lender = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, n.lender};
        cn.state = n.state;
        cn.ltv_bps = n.ltv_bps;
        cn.exposure = (ProtobufCBinaryData){CUSTOS_U256_LEN, exposure};
        cn.collateral_value = (ProtobufCBinaryData){CUSTOS_U256_LEN, value};
        cn.deadline = n.deadline;
        cn.sequence = n.sequence;
        Custos__V1__StoredNotice sn = CUSTOS__V1__STORED_NOTICE__INIT;
        sn.notice = &cn;
        sn.signature = (ProtobufCBinaryData){CUSTOS_SIGNATURE_LEN, sig.bytes};
        sn.signer = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, rec.signers[0]};
        sn.digest = (ProtobufCBinaryData){CUSTOS_HASH_LEN, digest};
        sn.feed = (char *)FZ_FEED;
        sn.accepted_at = FZ_NOW;
        sn.cursor = 2;
        sn.chain_hash = (ProtobufCBinaryData){CUSTOS_HASH_LEN, link};
        Custos__V1__Domain d = CUSTOS__V1__DOMAIN__INIT;
        d.chain_id = rec.sub.domain.chain_id;
        d.verifying_contract =
            (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, rec.sub.domain.verifying_contract};
        Custos__V1__WatchEvent ev = CUSTOS__V1__WATCH_EVENT__INIT;
        ev.notice = &sn;
        ev.domain = &d;
        put_event(root, "notice.pb", &ev);
    } else {
        fprintf(stderr, "make_seeds: watch events: %s\n", err.message);
    }
    pb_record_free(rm);
    custos_secp_free(secp);
    custos_record_clear(&rec);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
        return 2;
    }
    static const struct {
        const char *name;
        unsigned keys[3];
        size_t n;
    } cases[] = {
        {"quorum", {FZ_KEY_CUSTODIAN, FZ_KEY_AGENT}, 2},
        {"one-signer", {FZ_KEY_CUSTODIAN}, 1},
        {"revoked", {FZ_KEY_CUSTODIAN, FZ_KEY_REVOKED}, 2},
        {"unknown", {FZ_KEY_UNKNOWN}, 1},
        {"duplicate", {FZ_KEY_AGENT, FZ_KEY_AGENT}, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_submission s;
        fz_make_submission(&s, FZ_SEED_REF, i + 1, cases[i].keys, cases[i].n);
        custos_error err;
        uint8_t *pb;
        size_t len;
        char *json;
        if (custos_submission_encode(&s, &pb, &len, &err) != CUSTOS_OK ||
            custos_typeddata_export(&s, &json, &err) != CUSTOS_OK) {
            fprintf(stderr, "make_seeds: %s\n", err.message);
            return 1;
        }
        char name[64];
        snprintf(name, sizeof name, "%s.pb", cases[i].name);
        put(argv[1], "fuzz_submission", name, pb, len);
        snprintf(name, sizeof name, "%s.json", cases[i].name);
        put(argv[1], "fuzz_typeddata", name, (const uint8_t *)json, strlen(json));
        free(pb);
        free(json);
        custos_submission_clear(&s);
    }
    if (put_reserves(argv[1], "three-accounts.pb", 3, FZ_KEY_CUSTODIAN) != 0 ||
        put_reserves(argv[1], "one-account.pb", 1, FZ_KEY_CUSTODIAN) != 0 ||
        put_reserves(argv[1], "agent-signed.pb", 2, FZ_KEY_AGENT) != 0 ||
        put_batch(argv[1], "three", 3, FZ_KEY_CUSTODIAN) != 0 ||
        put_batch(argv[1], "one", 1, FZ_KEY_AGENT) != 0 || put_watch_events(argv[1]) != 0)
        return 1;
    return 0;
}
