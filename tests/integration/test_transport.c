/* The gateway's gRPC transport, end to end against the real custos-gateway binary:
 * health, unknown methods, garbage and oversized messages, SubmitStream ordering, Watch
 * replay/live/resume, SIGHUP survived, a clean exit on SIGTERM with a stream open, and
 * SubmitStream at its read-ahead bound. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/status.h>
#include <grpc/support/time.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/eip712.h"
#include "custos/hex.h"
#include "custos/reason.h"
#include "custos/sig.h"

#include "gwfixture.h"
#include "pb_convert.h"
#include "testutil.h"

#define FEED "acme-custody"
#define MAX_MESSAGE 65536
#define STREAM_N 300

/* A fixed test key: never used outside tests. */
static const uint8_t signer_key[CUSTOS_SECKEY_LEN] = {
    0x4c, 0x08, 0x83, 0xa6, 0x91, 0x02, 0x93, 0x7d, 0x62, 0x31, 0x47, 0x1b, 0x5d, 0xbb, 0x62, 0x04,
    0xfe, 0x51, 0x29, 0x61, 0x70, 0x82, 0x79, 0x2a, 0xe4, 0x68, 0xd0, 0x1a, 0x3f, 0x36, 0x23, 0x18};

typedef struct fixture {
    char dir[512];
    char config[600];
    tu_proc proc;
    char target[64];
    custos_client *client;
    custos_secp *secp;
    custos_domain domain;
} fixture;

static void write_config(fixture *f)
{
    custos_secp *secp = custos_secp_new();
    assert_non_null(secp);
    uint8_t addr[CUSTOS_ADDRESS_LEN];
    assert_int_equal(custos_address_from_seckey(secp, signer_key, addr, NULL), CUSTOS_OK);
    custos_secp_free(secp);
    char addr_hex[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(addr, addr_hex);

    /* Rule 9: the accounts the tests submit for, registered to the feed. */
    char accounts[2048] = "";
    static const char *const refs[] = {"unary",    "watch",    "stream-0", "stream-1",
                                       "stream-2", "stream-3", "stream-4", "stream-5",
                                       "stream-6", "window",   "boundary", "first"};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
        uint8_t id[CUSTOS_HASH_LEN];
        char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
        custos_account_id("acme", refs[i], id);
        assert_int_equal(custos_hex_encode(id, CUSTOS_HASH_LEN, hex, sizeof hex), CUSTOS_OK);
        size_t used = strlen(accounts);
        snprintf(accounts + used, sizeof accounts - used, "accounts = %s\n", hex);
    }
    char text[4096];
    snprintf(text, sizeof text,
             "[gateway]\n"
             "listen = 127.0.0.1:0\n"
             "store = %s/custos.db\n"
             "chain_id = 31337\n"
             "verifying_contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\n"
             "max_message_bytes = %d\n"
             "workers = 2\n"
             "[tls]\n"
             "insecure = true\n"
             "[feed " FEED "]\n"
             "max_age = 86400\n"
             "max_skew = 300\n"
             "max_ttl = 604800\n"
             "threshold = 1\n"
             "distinct_roles = false\n"
             "%s"
             "[signer acme-ops-1]\n"
             "address = %s\n"
             "feed = " FEED "\n"
             "role = custodian\n"
             "status = active\n",
             f->dir, MAX_MESSAGE, accounts, addr_hex);
    snprintf(f->config, sizeof f->config, "%s/gateway.ini", f->dir);
    tu_write_file(f->config, text);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_mkdtemp(f->dir, sizeof f->dir);
    write_config(f);
    int port = tu_gateway_start(&f->proc, f->config, f->dir);
    snprintf(f->target, sizeof f->target, "127.0.0.1:%d", port);
    assert_int_equal(custos_client_new_insecure(f->target, 10000, &f->client, NULL), CUSTOS_OK);
    f->secp = custos_secp_new();
    assert_non_null(f->secp);
    f->domain.chain_id = 31337;
    assert_int_equal(custos_hex_decode("0x5FbDB2315678afecb367f032d93F642f64180aa3",
                                       f->domain.verifying_contract, CUSTOS_ADDRESS_LEN, NULL),
                     CUSTOS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    custos_client_free(f->client);
    custos_secp_free(f->secp);
    if (f->proc.pid > 0)
        assert_int_equal(tu_stop(&f->proc, SIGTERM, 15000), 0);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* A valid, signed valuation of account `ref`, fresh now. */
static void make_submission(fixture *f, const char *ref, uint64_t sequence, custos_submission *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->feed, sizeof s->feed, "%s", FEED);
    s->domain = f->domain;
    custos_account_id("acme", ref, s->att.account);
    memset(s->att.beneficiary, 0x5a, sizeof s->att.beneficiary);
    s->att.kind = CUSTOS_KIND_VALUATION;
    custos_u256_from_u64(&s->att.gross_value, 1000000 + sequence);
    custos_u256_from_u64(&s->att.collateral_value, 900000 + sequence);
    uint64_t now = (uint64_t)time(NULL);
    s->att.as_of = now;
    s->att.valid_until = now + 3600;
    s->att.sequence = sequence;
    uint8_t digest[32];
    custos_attestation_digest(&s->domain, &s->att, digest);
    assert_int_equal(custos_sign_digest(f->secp, signer_key, digest, &s->sigs[0], NULL),
                     CUSTOS_OK);
    s->n_sigs = 1;
}

/* A raw unary call: sends `len` bytes as the message to `method`; returns the status and
 * copies the custos-reason trailer (empty if none) into reason. */
static grpc_status_code raw_call(const fixture *f, const char *method, const void *data,
                                 size_t len, char *reason, size_t cap)
{
    grpc_init();
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(f->target, creds, NULL);
    grpc_channel_credentials_release(creds);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(10000, GPR_TIMESPAN));
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               grpc_slice_from_static_string(method), NULL,
                                               deadline, NULL);
    grpc_slice payload = grpc_slice_from_copied_buffer(data, len);
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&payload, 1);
    grpc_slice_unref(payload);
    grpc_byte_buffer *recv = NULL;
    grpc_metadata_array initial, trailer;
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailer);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details;

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailer;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    int tag;
    assert_int_equal(grpc_call_start_batch(call, ops, 6, &tag, NULL), GRPC_CALL_OK);
    grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    assert_int_equal(ev.type, GRPC_OP_COMPLETE);

    reason[0] = '\0';
    for (size_t i = 0; i < trailer.count; i++)
        if (grpc_slice_str_cmp(trailer.metadata[i].key, "custos-reason") == 0) {
            size_t n = GRPC_SLICE_LENGTH(trailer.metadata[i].value);
            n = n < cap - 1 ? n : cap - 1;
            memcpy(reason, GRPC_SLICE_START_PTR(trailer.metadata[i].value), n);
            reason[n] = '\0';
        }
    grpc_slice_unref(details);
    grpc_byte_buffer_destroy(send);
    if (recv != NULL)
        grpc_byte_buffer_destroy(recv);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailer);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
    grpc_channel_destroy(ch);
    grpc_shutdown();
    return status;
}

static void assert_serving(const fixture *f)
{
    bool serving = false;
    custos_error err;
    assert_int_equal(custos_client_health(f->client, &serving, &err), CUSTOS_OK);
    assert_true(serving);
}

static void test_health_serving(void **state)
{
    assert_serving(*state);
}

static void test_unknown_method(void **state)
{
    char reason[64];
    const uint8_t empty = 0;
    assert_int_equal(raw_call(*state, "/custos.v1.AttestationGateway/NoSuchMethod", &empty, 0,
                              reason, sizeof reason),
                     GRPC_STATUS_UNIMPLEMENTED);
    assert_int_equal(raw_call(*state, "/other.Service/Method", &empty, 0, reason, sizeof reason),
                     GRPC_STATUS_UNIMPLEMENTED);
    assert_serving(*state);
}

static void test_garbage_is_malformed(void **state)
{
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x13, 0x37, 0x00, 0x01};
    char reason[64];
    assert_int_equal(raw_call(*state, "/custos.v1.AttestationGateway/Submit", garbage,
                              sizeof garbage, reason, sizeof reason),
                     GRPC_STATUS_INVALID_ARGUMENT);
    assert_string_equal(reason, "MALFORMED");
    /* An empty message decodes to a request without an attestation. */
    assert_int_equal(raw_call(*state, "/custos.v1.AttestationGateway/Submit", garbage, 0, reason,
                              sizeof reason),
                     GRPC_STATUS_INVALID_ARGUMENT);
    assert_string_equal(reason, "MALFORMED");
    assert_int_equal(raw_call(*state, "/custos.v1.AttestationGateway/GetLatest", garbage,
                              sizeof garbage, reason, sizeof reason),
                     GRPC_STATUS_INVALID_ARGUMENT);
    assert_serving(*state);
}

/* A valid submission of exactly max_message_bytes (padded with an unknown field) is taken;
 * the next, one byte longer, is TOO_LARGE and changes nothing. */
static void pack_padded(fixture *f, uint64_t sequence, size_t total, uint8_t **buf,
                        size_t *len)
{
    custos_submission s;
    make_submission(f, "boundary", sequence, &s);
    gwf_pb *p = gwf_pb_new(&s);
    gwf_pb_pack_request(p, 0, buf, len);
    free(*buf);
    /* The unknown field's tag byte and its three-byte length, then the padding. */
    size_t padding = total - *len - 4;
    gwf_pb_pack_request(p, padding, buf, len);
    assert_int_equal(*len, total);
    gwf_pb_free(p);
    custos_submission_clear(&s);
}

static void test_message_at_its_limit(void **state)
{
    fixture *f = *state;
    uint8_t *buf = NULL;
    size_t len = 0;
    char reason[64];
    pack_padded(f, 1, MAX_MESSAGE, &buf, &len);
    grpc_status_code st = raw_call(f, "/custos.v1.AttestationGateway/Submit", buf, len, reason,
                                   sizeof reason);
    free(buf);
    if (st != GRPC_STATUS_OK)
        fail_msg("a message of exactly %d bytes: status %d reason %s", MAX_MESSAGE, (int)st,
                 reason);
    pack_padded(f, 2, MAX_MESSAGE + 1, &buf, &len);
    st = raw_call(f, "/custos.v1.AttestationGateway/Submit", buf, len, reason, sizeof reason);
    free(buf);
    assert_int_equal(st, GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_string_equal(reason, "TOO_LARGE");
    uint8_t account[CUSTOS_HASH_LEN];
    custos_account_id("acme", "boundary", account);
    custos_record rec;
    custos_error err;
    assert_int_equal(custos_client_get_latest(f->client, account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.sub.att.sequence, 1);
    custos_record_clear(&rec);
}

static void test_oversized_is_too_large(void **state)
{
    size_t len = MAX_MESSAGE + 1000;
    uint8_t *big = malloc(len);
    assert_non_null(big);
    memset(big, 0xab, len);
    char reason[64];
    assert_int_equal(raw_call(*state, "/custos.v1.AttestationGateway/Submit", big, len, reason,
                              sizeof reason),
                     GRPC_STATUS_RESOURCE_EXHAUSTED);
    assert_string_equal(reason, "TOO_LARGE");
    free(big);
    assert_serving(*state);
}

static void test_unary_submit_and_get_latest(void **state)
{
    fixture *f = *state;
    custos_submission s;
    make_submission(f, "unary", 1, &s);
    custos_submit_result res;
    custos_error err;
    assert_int_equal(custos_client_submit(f->client, &s, &res, &err), CUSTOS_OK);
    assert_int_equal(res.state, CUSTOS_STATE_ACCEPTED);
    assert_true(res.cursor > 0);

    /* The same again is an idempotent success. */
    custos_submit_result again;
    assert_int_equal(custos_client_submit(f->client, &s, &again, &err), CUSTOS_OK);
    assert_true(again.duplicate);

    custos_record rec;
    assert_int_equal(custos_client_get_latest(f->client, s.att.account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.cursor, res.cursor);
    assert_memory_equal(rec.digest, res.digest, 32);
    assert_int_equal(rec.sub.att.sequence, 1);
    custos_record_clear(&rec);

    uint8_t nobody[32];
    custos_account_id("acme", "nobody", nobody);
    assert_int_equal(custos_client_get_latest(f->client, nobody, &rec, &err),
                     CUSTOS_ERR_NOT_FOUND);
    custos_submission_clear(&s);
}

static void test_submit_stream_in_order(void **state)
{
    fixture *f = *state;
    custos_submission *subs = calloc(STREAM_N, sizeof *subs);
    custos_submit_result *res = calloc(STREAM_N, sizeof *res);
    custos_error *errs = calloc(STREAM_N, sizeof *errs);
    assert_non_null(subs);
    assert_non_null(res);
    assert_non_null(errs);
    for (size_t i = 0; i < STREAM_N; i++) {
        char ref[32];
        snprintf(ref, sizeof ref, "stream-%zu", i % 7);
        make_submission(f, ref, 1 + i / 7, &subs[i]);
    }
    /* One refusal in the middle is answered in place and the stream goes on. */
    subs[100].sigs[0].bytes[64] = 26;

    custos_error err;
    assert_int_equal(custos_client_submit_stream(f->client, subs, STREAM_N, res, errs, &err),
                     CUSTOS_OK);
    uint64_t last = 0;
    for (size_t i = 0; i < STREAM_N; i++) {
        if (i == 100) {
            assert_int_equal(errs[i].code, CUSTOS_ERR_REFUSED);
            assert_int_equal(errs[i].reason, CUSTOS_REASON_NON_CANONICAL_SIGNATURE);
            assert_non_null(strstr(errs[i].message, "SubmitStream: "));
            continue;
        }
        assert_int_equal(errs[i].code, CUSTOS_OK);
        assert_int_equal(errs[i].reason, CUSTOS_REASON_NONE);
        assert_int_equal(res[i].state, CUSTOS_STATE_ACCEPTED);
        uint8_t digest[32];
        custos_attestation_digest(&subs[i].domain, &subs[i].att, digest);
        assert_memory_equal(res[i].digest, digest, 32);
        assert_true(res[i].cursor > last);
        last = res[i].cursor;
    }
    for (size_t i = 0; i < STREAM_N; i++)
        custos_submission_clear(&subs[i]);
    free(subs);
    free(res);
    free(errs);
}

/* SubmitStream at its read-ahead bound (2048 unanswered, operations.md §7): a client with a
 * small receive window sends WINDOW_N submissions without reading an answer. The gateway
 * takes at least its read-ahead, then stops reading, since its answers wait; once the
 * client reads, every submission is answered, in order, and accepted, and the call ends
 * OK. */
#define WINDOW_N 12000
#define WINDOW_BOUND 2048

typedef struct window_call {
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array init_md, trailer;
    grpc_status_code status;
    grpc_slice details;
    grpc_byte_buffer *recv, *sending;
    int tag_start, tag_status, tag_send, tag_recv, tag_close;
    bool ended;
} window_call;

/* The next event within ms; its tag, or NULL on timeout. */
static void *window_next(window_call *w, int ms)
{
    gpr_timespec until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                      gpr_time_from_millis(ms, GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_next(w->cq, until, NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT)
        return NULL;
    assert_int_equal(ev.type, GRPC_OP_COMPLETE);
    if (ev.tag == &w->tag_status)
        w->ended = true;
    return ev.tag;
}

static void window_op(window_call *w, grpc_op *ops, size_t n, void *tag)
{
    assert_int_equal(grpc_call_start_batch(w->call, ops, n, tag, NULL), GRPC_CALL_OK);
}

static void window_send(window_call *w, const uint8_t *bytes, size_t len)
{
    grpc_slice sl = grpc_slice_from_copied_buffer((const char *)bytes, len);
    w->sending = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = w->sending;
    window_op(w, &op, 1, &w->tag_send);
}

static void window_recv(window_call *w)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &w->recv;
    window_op(w, &op, 1, &w->tag_recv);
}

/* Opens a SubmitStream on ch: its initial metadata sent, its status awaited. */
static void window_open(window_call *w, grpc_channel *ch)
{
    memset(w, 0, sizeof *w);
    w->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_slice method = grpc_slice_from_static_string("/custos.v1.AttestationGateway/SubmitStream");
    w->call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, w->cq, method, NULL,
                                       gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    assert_non_null(w->call);
    grpc_metadata_array_init(&w->init_md);
    grpc_metadata_array_init(&w->trailer);
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    window_op(w, ops, 1, &w->tag_start);
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[0].data.recv_initial_metadata.recv_initial_metadata = &w->init_md;
    ops[1].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[1].data.recv_status_on_client.trailing_metadata = &w->trailer;
    ops[1].data.recv_status_on_client.status = &w->status;
    ops[1].data.recv_status_on_client.status_details = &w->details;
    window_op(w, ops, 2, &w->tag_status);
    assert_true(window_next(w, 10000) == &w->tag_start);
}

/* Half-closes the stream, which must then end OK, and frees it. */
static void window_close(window_call *w)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    window_op(w, &op, 1, &w->tag_close);
    while (!w->ended)
        assert_non_null(window_next(w, 10000));
    assert_int_equal(w->status, GRPC_STATUS_OK);
    grpc_call_unref(w->call);
    grpc_metadata_array_destroy(&w->init_md);
    grpc_metadata_array_destroy(&w->trailer);
    grpc_slice_unref(w->details);
    grpc_completion_queue_shutdown(w->cq);
    while (grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(w->cq);
}

/* The answer in w->recv: answer i names request i, accepted, at the cursor after *last (the
 * first at any). An answer out of its place (the gateway's window overrunning a place not
 * yet written out) shows as a request_id or cursor out of turn. */
/* The answer in w->recv, decoded; the caller frees it. */
static Custos__V1__SubmitResponse *window_take_answer(window_call *w)
{
    grpc_byte_buffer_reader rd;
    assert_true(grpc_byte_buffer_reader_init(&rd, w->recv));
    grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    grpc_byte_buffer_destroy(w->recv);
    w->recv = NULL;
    Custos__V1__SubmitResponse *m = custos__v1__submit_response__unpack(
        NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    assert_non_null(m);
    return m;
}

static void window_answer(window_call *w, size_t i, uint64_t *last)
{
    if (w->recv == NULL)
        fail_msg("the stream ended after %zu answers (status %d)", i, (int)w->status);
    Custos__V1__SubmitResponse *m = window_take_answer(w);
    if (m->request_id != i || m->reason != 0 || m->state != CUSTOS__V1__STATE__ACCEPTED ||
        (i == 0 ? m->cursor == 0 : m->cursor != *last + 1))
        fail_msg("answer %zu: request_id %llu reason %d state %d cursor %llu after %llu: %s", i,
                 (unsigned long long)m->request_id, (int)m->reason, (int)m->state,
                 (unsigned long long)m->cursor, (unsigned long long)*last,
                 m->detail != NULL ? m->detail : "");
    *last = m->cursor;
    custos__v1__submit_response__free_unpacked(m, NULL);
}

static void test_submit_stream_at_its_window(void **state)
{
    fixture *f = *state;
    /* Last of the file: the gateway the SIGTERM test stopped starts again on its store (the
     * tests before it watch from cursor 0 and keep what they see). */
    if (f->proc.pid <= 0) {
        int port = tu_gateway_start(&f->proc, f->config, f->dir);
        snprintf(f->target, sizeof f->target, "127.0.0.1:%d", port);
        custos_client_free(f->client);
        f->client = NULL;
        assert_int_equal(custos_client_new_insecure(f->target, 10000, &f->client, NULL),
                         CUSTOS_OK);
    }
    /* The requests, packed: one account, its sequences in turn. */
    uint8_t **reqs = calloc(WINDOW_N, sizeof *reqs);
    size_t *lens = calloc(WINDOW_N, sizeof *lens);
    assert_true(reqs != NULL && lens != NULL);
    for (size_t i = 0; i < WINDOW_N; i++) {
        custos_submission s;
        make_submission(f, "window", i + 1, &s);
        Custos__V1__SignedAttestation *a = NULL;
        custos_error err;
        assert_int_equal(pb_from_submission(&s, &a, &err), CUSTOS_OK);
        Custos__V1__SubmitRequest req = CUSTOS__V1__SUBMIT_REQUEST__INIT;
        req.attestation = a;
        req.request_id = i;
        lens[i] = custos__v1__submit_request__get_packed_size(&req);
        reqs[i] = malloc(lens[i]);
        assert_non_null(reqs[i]);
        assert_int_equal(custos__v1__submit_request__pack(&req, reqs[i]), lens[i]);
        pb_submission_free(a);
        custos_submission_clear(&s);
    }
    custos_record rec;
    custos_error err;
    uint8_t account[CUSTOS_HASH_LEN];
    custos_account_id("acme", "window", account);
    assert_int_equal(custos_client_get_latest(f->client, account, &rec, &err),
                     CUSTOS_ERR_NOT_FOUND);

    window_call w;
    grpc_init();
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    /* A small receive window that does not grow: the gateway's answers wait for the reads,
     * as they would for a client that stopped reading. */
    grpc_arg args[2];
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_HTTP2_BDP_PROBE;
    args[0].value.integer = 0;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES;
    args[1].value.integer = 65536;
    grpc_channel_args ca = {2, args};
    grpc_channel *ch = grpc_channel_create(f->target, creds, &ca);
    grpc_channel_credentials_release(creds);
    window_open(&w, ch);

    /* Sends only, one at a time, until all are out or one waits a second. */
    size_t sent = 0;
    bool send_pending = false;
    while (sent < WINDOW_N) {
        window_send(&w, reqs[sent], lens[sent]);
        void *tag = window_next(&w, 1000);
        if (tag == NULL) {
            send_pending = true;
            break;
        }
        if (tag != &w.tag_send)
            fail_msg("send %zu: the call ended (status %d)", sent, (int)w.status);
        grpc_byte_buffer_destroy(w.sending);
        w.sending = NULL;
        sent++;
    }
    /* What the gateway took meanwhile: at least its read-ahead, and not all of it, since
     * its answers wait for the client. */
    struct timespec pause = {2, 0};
    nanosleep(&pause, NULL);
    assert_int_equal(custos_client_get_latest(f->client, account, &rec, &err), CUSTOS_OK);
    uint64_t taken = rec.sub.att.sequence;
    custos_record_clear(&rec);
    print_message("%zu sent, %llu taken before any answer was read\n", sent,
                  (unsigned long long)taken);
    if (taken < WINDOW_BOUND || taken >= WINDOW_N)
        fail_msg("%llu of %d taken while no answer was read: want at least the read-ahead "
                 "(%d) and not all", (unsigned long long)taken, WINDOW_N, WINDOW_BOUND);

    /* Now read: every answer comes, in order; the waiting send and the rest go through. */
    size_t answered = 0;
    uint64_t last = 0;
    window_recv(&w);
    while (answered < WINDOW_N) {
        void *tag = window_next(&w, 15000);
        if (tag == NULL)
            fail_msg("no event within 15 s: %zu sent, %zu answered", sent, answered);
        if (tag == &w.tag_recv) {
            window_answer(&w, answered, &last);
            answered++;
            if (answered < WINDOW_N)
                window_recv(&w);
        } else if (tag == &w.tag_send) {
            grpc_byte_buffer_destroy(w.sending);
            w.sending = NULL;
            send_pending = false;
            if (++sent < WINDOW_N) {
                window_send(&w, reqs[sent], lens[sent]);
                send_pending = true;
            }
        } else if (tag == &w.tag_status) {
            fail_msg("the call ended after %zu answers (status %d)", answered, (int)w.status);
        }
    }
    assert_false(send_pending);
    assert_int_equal(sent, WINDOW_N);
    window_close(&w);
    grpc_channel_destroy(ch);
    grpc_shutdown();

    assert_int_equal(custos_client_get_latest(f->client, account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.sub.att.sequence, WINDOW_N);
    custos_record_clear(&rec);
    for (size_t i = 0; i < WINDOW_N; i++)
        free(reqs[i]);
    free(reqs);
    free(lens);
}

/* A SubmitStream whose answers finish out of order: a valid submission, answered once
 * committed, then malformed ones, each answered as soon as read. The client sends them all
 * and then only reads: every answer comes, in request order, the first (with the stream's
 * initial metadata) while the ones after it are already finished (docs/operations.md §14).
 * Whether a held first message would stall shows only on a quiet connection, which the
 * Watch test below makes. */
#define FIRST_WITH_OTHERS 40
static void test_submit_stream_first_answer_with_others(void **state)
{
    fixture *f = *state;
    custos_submission s;
    make_submission(f, "first", 1, &s);
    Custos__V1__SignedAttestation *a = NULL;
    custos_error err;
    assert_int_equal(pb_from_submission(&s, &a, &err), CUSTOS_OK);
    Custos__V1__SubmitRequest req = CUSTOS__V1__SUBMIT_REQUEST__INIT;
    req.attestation = a;
    req.request_id = 7;
    size_t len = custos__v1__submit_request__get_packed_size(&req);
    uint8_t *valid = malloc(len);
    assert_non_null(valid);
    assert_int_equal(custos__v1__submit_request__pack(&req, valid), len);
    pb_submission_free(a);
    custos_submission_clear(&s);
    static const uint8_t garbage[] = {0x0a, 0xff};

    window_call w;
    grpc_init();
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(f->target, creds, NULL);
    grpc_channel_credentials_release(creds);
    window_open(&w, ch);

    for (size_t i = 0; i <= FIRST_WITH_OTHERS; i++) {
        if (i == 0)
            window_send(&w, valid, len);
        else
            window_send(&w, garbage, sizeof garbage);
        if (window_next(&w, 10000) != &w.tag_send)
            fail_msg("send %zu: no completion (status %d)", i, (int)w.status);
        grpc_byte_buffer_destroy(w.sending);
        w.sending = NULL;
    }
    for (size_t i = 0; i <= FIRST_WITH_OTHERS; i++) {
        window_recv(&w);
        if (window_next(&w, 5000) != &w.tag_recv || w.recv == NULL)
            fail_msg("answer %zu of %d did not come within 5 s", i + 1, FIRST_WITH_OTHERS + 1);
        Custos__V1__SubmitResponse *m = window_take_answer(&w);
        if (i == 0) {
            assert_int_equal(m->request_id, 7);
            assert_int_equal(m->state, CUSTOS__V1__STATE__ACCEPTED);
        } else {
            assert_int_equal(m->reason, CUSTOS__V1__REASON__MALFORMED);
        }
        custos__v1__submit_response__free_unpacked(m, NULL);
    }
    window_close(&w);
    grpc_channel_destroy(ch);
    grpc_shutdown();
    free(valid);
}

typedef struct collected {
    uint64_t cursors[1024];
    size_t n;
    size_t stop_after; /* 0 = never stop */
} collected;

static bool collect(void *ctx, const custos_record *rec)
{
    collected *c = ctx;
    assert_true(c->n < sizeof c->cursors / sizeof c->cursors[0]);
    assert_int_equal(rec->state, CUSTOS_STATE_ACCEPTED);
    c->cursors[c->n++] = rec->cursor;
    return c->stop_after == 0 || c->n < c->stop_after;
}

typedef struct live_watch {
    const fixture *f;
    uint64_t after;
    int idle_ms;
    collected got;
    custos_rc rc;
} live_watch;

static void *live_watch_main(void *arg)
{
    live_watch *w = arg;
    custos_client *c = NULL;
    custos_error err;
    w->rc = custos_client_new_insecure(w->f->target, 10000, &c, &err);
    if (w->rc == CUSTOS_OK)
        w->rc = custos_client_watch(c, w->after, w->idle_ms, collect, &w->got, &err);
    custos_client_free(c);
    return NULL;
}

static void test_watch_replay_live_resume(void **state)
{
    fixture *f = *state;
    custos_error err;
    /* Something to replay, whatever ran before. */
    custos_submission s;
    make_submission(f, "watch", 1, &s);
    custos_submit_result res;
    assert_int_equal(custos_client_submit(f->client, &s, &res, &err), CUSTOS_OK);
    assert_int_equal(res.state, CUSTOS_STATE_ACCEPTED);
    custos_submission_clear(&s);

    collected *all = calloc(1, sizeof *all);
    assert_non_null(all);
    assert_int_equal(custos_client_watch(f->client, 0, 700, collect, all, &err), CUSTOS_OK);
    assert_true(all->n > 0);
    for (size_t i = 1; i < all->n; i++)
        assert_true(all->cursors[i] > all->cursors[i - 1]);
    uint64_t head = all->cursors[all->n - 1];
    assert_int_equal(head, res.cursor);

    /* Live: a parked watcher is woken by a new commit. */
    live_watch *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->f = f;
    w->after = head;
    w->idle_ms = 10000;
    w->got.stop_after = 1;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, live_watch_main, w), 0);
    tu_sleep_ms(500);
    make_submission(f, "watch", 2, &s);
    assert_int_equal(custos_client_submit(f->client, &s, &res, &err), CUSTOS_OK);
    assert_int_equal(res.state, CUSTOS_STATE_ACCEPTED);
    custos_submission_clear(&s);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(w->rc, CUSTOS_OK);
    assert_int_equal(w->got.n, 1);
    assert_int_equal(w->got.cursors[0], res.cursor);

    /* Resume from the middle: only later records. */
    size_t mid = all->n / 2;
    collected *later = calloc(1, sizeof *later);
    assert_non_null(later);
    assert_int_equal(custos_client_watch(f->client, all->cursors[mid], 700, collect, later, &err),
                     CUSTOS_OK);
    /* The records after mid in the replay, plus the live one. */
    assert_int_equal(later->n, all->n - mid);
    for (size_t i = 0; i < later->n; i++)
        assert_true(later->cursors[i] > all->cursors[mid]);
    assert_int_equal(later->cursors[later->n - 1], res.cursor);
    free(all);
    free(later);
    free(w);
}

/* SIGHUP must not kill the gateway (its default action): it reloads the configuration,
 * logs it and keeps serving. */
static void test_sighup_keeps_serving(void **state)
{
    fixture *f = *state;
    assert_int_equal(kill(f->proc.pid, SIGHUP), 0);
    char log_path[sizeof f->dir + 16];
    snprintf(log_path, sizeof log_path, "%s/gateway.log", f->dir);
    bool warned = false;
    for (int waited = 0; waited < 10000 && !warned; waited += 50) {
        char *log = tu_read_file(log_path);
        warned = log != NULL && strstr(log, "\"event\":\"reload\"") != NULL;
        free(log);
        if (!warned)
            tu_sleep_ms(50);
    }
    assert_true(warned);
    assert_serving(f);
}

static void test_sigterm_with_open_stream(void **state)
{
    fixture *f = *state;
    live_watch *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->f = f;
    w->after = 0;
    w->idle_ms = 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, live_watch_main, w), 0);
    tu_sleep_ms(500);
    assert_int_equal(tu_stop(&f->proc, SIGTERM, 15000), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    /* The server ended the stream with a status: the watch returns rather than hangs. */
    assert_true(w->rc == CUSTOS_OK || w->rc == CUSTOS_ERR_UNAVAILABLE);
    free(w);
}

/* A Watch on a connection of its own, from just before records committed together: every
 * record comes. Entries queued together go out under the transport's buffer hint, but
 * never the stream's first message, which carries its initial metadata (docs/operations.md
 * §14): hinted beside it, the replay waited for another write on the connection, which a
 * client that only watches never causes. The pause lets the connections' own traffic
 * (the transport's pings and window updates) end first: without it, that traffic wrote
 * the held message out. */
#define TOGETHER 8
static void test_watch_first_entries_together(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_submission subs[TOGETHER];
    custos_submit_result res[TOGETHER];
    custos_error errs[TOGETHER];
    for (size_t i = 0; i < TOGETHER; i++)
        make_submission(f, "first", 10 + i, &subs[i]);
    assert_int_equal(custos_client_submit_stream(f->client, subs, TOGETHER, res, errs, &err),
                     CUSTOS_OK);
    for (size_t i = 0; i < TOGETHER; i++) {
        assert_int_equal(res[i].state, CUSTOS_STATE_ACCEPTED);
        custos_submission_clear(&subs[i]);
    }
    tu_sleep_ms(1000);
    live_watch *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->f = f;
    w->after = res[0].cursor - 1;
    w->idle_ms = 3000;
    w->got.stop_after = TOGETHER;
    live_watch_main(w);
    assert_int_equal(w->rc, CUSTOS_OK);
    if (w->got.n != TOGETHER)
        fail_msg("the watch saw %zu of the %d records", w->got.n, TOGETHER);
    assert_int_equal(w->got.cursors[TOGETHER - 1], res[TOGETHER - 1].cursor);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_serving),
        cmocka_unit_test(test_unknown_method),
        cmocka_unit_test(test_garbage_is_malformed),
        cmocka_unit_test(test_oversized_is_too_large),
        cmocka_unit_test(test_message_at_its_limit),
        cmocka_unit_test(test_unary_submit_and_get_latest),
        cmocka_unit_test(test_submit_stream_in_order),
        cmocka_unit_test(test_submit_stream_first_answer_with_others),
        cmocka_unit_test(test_watch_replay_live_resume),
        cmocka_unit_test(test_sighup_keeps_serving),
        cmocka_unit_test(test_sigterm_with_open_stream),
        cmocka_unit_test(test_submit_stream_at_its_window),
        cmocka_unit_test(test_watch_first_entries_together),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
