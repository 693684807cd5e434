#include "gwfixture.h"
#include "pki.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "custos/eip712.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/merkle.h"
#include "custos/v1/gateway.pb-c.h"

/* Fixed secret keys (not random) so a failing run can be reproduced exactly. */
static void fill_seckey(uint8_t sk[CUSTOS_SECKEY_LEN], unsigned idx)
{
    for (unsigned i = 0; i < CUSTOS_SECKEY_LEN; i++)
        sk[i] = (uint8_t)(0x11u * (idx + 1) + 7u * i + 1u);
}

void gwf_init(gwf *f)
{
    memset(f, 0, sizeof *f);
    tu_mkdtemp(f->dir, sizeof f->dir);
    snprintf(f->config_path, sizeof f->config_path, "%s/gateway.ini", f->dir);
    f->secp = custos_secp_new();
    assert_non_null(f->secp);
    custos_error err;
    for (unsigned k = 0; k < GWF_KEY_COUNT; k++) {
        fill_seckey(f->keys[k].seckey, k);
        custos_rc rc = custos_address_from_seckey(f->secp, f->keys[k].seckey,
                                                  f->keys[k].address, &err);
        if (rc != CUSTOS_OK)
            fail_msg("custos_address_from_seckey: %s", err.message);
        custos_address_to_hex(f->keys[k].address, f->keys[k].hex);
    }
    f->domain.chain_id = GWF_CHAIN_ID;
    if (custos_address_from_hex(GWF_CONTRACT, f->domain.verifying_contract, &err) != CUSTOS_OK)
        fail_msg("custos_address_from_hex: %s", err.message);
}

static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap - *len);
    *len += (size_t)n;
}

void gwf_accounts_path(const gwf *f, const char *feed, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/accounts-%s.txt", f->dir, feed);
    assert_true(n > 0 && (size_t)n < cap);
}

void gwf_accounts_line(gwf *f, const char *feed, char *out, size_t cap)
{
    char path[1200];
    gwf_accounts_path(f, feed, path, sizeof path);
    FILE *file = fopen(path, "a");
    assert_non_null(file);
    assert_int_equal(fclose(file), 0);
    int n = snprintf(out, cap, "accounts_file = %s\n", path);
    assert_true(n > 0 && (size_t)n < cap);
}

static void accounts_key(gwf *f, const char *feed, char *buf, size_t cap, size_t *len)
{
    char line[1300];
    gwf_accounts_line(f, feed, line, sizeof line);
    append(buf, cap, len, "%s", line);
}

void gwf_write_config(gwf *f)
{
    static const struct {
        gwf_key_id key;
        const char *label, *feed, *role, *status;
    } signers[] = {
        {GWF_KEY_CUSTODIAN, "acme-ops-1", GWF_FEED, "custodian", "active"},
        {GWF_KEY_AGENT, "acme-valuer", GWF_FEED, "valuation_agent", "active"},
        {GWF_KEY_CUSTODIAN2, "acme-ops-2", GWF_FEED, "custodian", "active"},
        {GWF_KEY_ADMIN, "acme-admin", GWF_FEED, "fund_administrator", "active"},
        {GWF_KEY_REVOKED, "acme-auditor-old", GWF_FEED, "auditor", "revoked"},
        {GWF_KEY_OTHER, "other-ops", GWF_OTHER_FEED, "custodian", "active"},
    };
    char text[8192];
    size_t len = 0;
    append(text, sizeof text, &len,
           "[gateway]\nlisten = 127.0.0.1:0\nstore = %s/custos.db\nchain_id = %d\n"
           "verifying_contract = %s\nmax_message_bytes = %zu\n%s%s\n" GWF_TLS_SECTION,
           f->dir, GWF_CHAIN_ID, GWF_CONTRACT,
           f->max_message_bytes != 0 ? f->max_message_bytes : (size_t)GWF_MAX_MESSAGE_BYTES,
           f->private_positions ? "" : "public_proofs = true\n",
           f->release_unchecked ? "release_without_exposure_check = true\n" : "");
    append(text, sizeof text, &len,
           "[feed %s]\nmax_age = %d\nmax_skew = %d\nmax_ttl = %d\nthreshold = %d\n"
           "distinct_roles = true\n%s\n",
           GWF_FEED, GWF_MAX_AGE, GWF_MAX_SKEW, GWF_MAX_TTL, GWF_THRESHOLD,
           f->reserves_quorum ? "reserves_quorum = true\n" : "");
    len--; /* the feed's keys go on: its registered accounts (rule 9) */
    accounts_key(f, GWF_FEED, text, sizeof text, &len);
    append(text, sizeof text, &len, "\n");
    /* A second feed with a single signer: the gateway refuses a threshold it cannot reach. */
    append(text, sizeof text, &len,
           "[feed %s]\nmax_age = %d\nmax_skew = %d\nmax_ttl = %d\nthreshold = 1\n"
           "distinct_roles = false\n\n",
           GWF_OTHER_FEED, GWF_MAX_AGE, GWF_MAX_SKEW, GWF_MAX_TTL);
    len--;
    accounts_key(f, GWF_OTHER_FEED, text, sizeof text, &len);
    append(text, sizeof text, &len, "\n");
    for (size_t i = 0; i < sizeof signers / sizeof signers[0]; i++)
        append(text, sizeof text, &len,
               "[signer %s]\naddress = %s\nfeed = %s\nrole = %s\nstatus = %s\n\n",
               signers[i].label, f->keys[signers[i].key].hex, signers[i].feed,
               signers[i].role, signers[i].status);
    tu_write_file(f->config_path, text);
}

/* How many reloads the gateway's log reports, applied or refused. */
static int reload_count(const gwf *f)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/gateway.log", f->dir);
    char *log = tu_read_file(path);
    int n = 0;
    for (const char *p = log; p != NULL && (p = strstr(p, "\"reload\"")) != NULL; p++)
        n++;
    free(log);
    return n;
}

void gwf_register_id(gwf *f, const char *feed, const uint8_t account[CUSTOS_HASH_LEN])
{
    char path[1200], hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    gwf_accounts_path(f, feed, path, sizeof path);
    assert_int_equal(custos_hex_encode(account, CUSTOS_HASH_LEN, hex, sizeof hex), CUSTOS_OK);
    char *have = tu_read_file(path);
    if (have == NULL)
        fail_msg("%s: no accounts file (gwf_write_config writes it)", path);
    bool known = strstr(have, hex) != NULL;
    free(have);
    if (known)
        return;
    FILE *file = fopen(path, "a");
    assert_non_null(file);
    assert_true(fprintf(file, "%s\n", hex) > 0);
    assert_int_equal(fclose(file), 0);
    if (f->proc.pid <= 0)
        return;
    /* A running gateway reads the file again on SIGHUP (an audited reload). */
    int before = reload_count(f);
    assert_int_equal(kill(f->proc.pid, SIGHUP), 0);
    for (int waited = 0; waited < 10000; waited += 10) {
        if (reload_count(f) > before)
            return;
        usleep(10 * 1000);
    }
    gwf_dump_log(f);
    fail_msg("the gateway did not reload %s within 10 s", path);
}

void gwf_register_ids(gwf *f, const char *feed, const uint8_t (*ids)[CUSTOS_HASH_LEN],
                      size_t n)
{
    assert_true(f->proc.pid <= 0);
    char path[1200];
    gwf_accounts_path(f, feed, path, sizeof path);
    FILE *file = fopen(path, "a");
    assert_non_null(file);
    for (size_t i = 0; i < n; i++) {
        char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
        assert_int_equal(custos_hex_encode(ids[i], CUSTOS_HASH_LEN, hex, sizeof hex), CUSTOS_OK);
        assert_true(fprintf(file, "%s\n", hex) > 0);
    }
    assert_int_equal(fclose(file), 0);
}

void gwf_register(gwf *f, const char *feed, const char *custodian, const char *ref)
{
    uint8_t account[CUSTOS_HASH_LEN];
    custos_account_id(custodian, ref, account);
    gwf_register_id(f, feed, account);
}

void gwf_dump_log(const gwf *f)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/gateway.log", f->dir);
    char *log = tu_read_file(path);
    fprintf(stderr, "--- gateway log ---\n%s\n-------------------\n", log ? log : "(none)");
    free(log);
}

void gwf_start(gwf *f)
{
    f->port = tu_gateway_start(&f->proc, f->config_path, f->dir);
    snprintf(f->target, sizeof f->target, "127.0.0.1:%d", f->port);
    custos_error err;
    custos_rc rc;
    if (f->tls_dir[0] != '\0') {
        char ca[1200], cert[1200], key[1200];
        pki_path(f->tls_dir, "ca", ".pem", ca, sizeof ca);
        pki_path(f->tls_dir, f->tls_client, ".pem", cert, sizeof cert);
        pki_path(f->tls_dir, f->tls_client, ".key", key, sizeof key);
        custos_client_options o = {.target = f->target, .timeout_ms = 5000, .ca_file = ca,
                                   .cert_file = cert, .key_file = key};
        rc = custos_client_open(&o, &f->client, &err);
    } else {
        rc = custos_client_new_insecure(f->target, 5000, &f->client, &err);
    }
    if (rc != CUSTOS_OK)
        fail_msg("gateway client (%s): %s", f->target, err.message);
    /* The port file appears once bound; wait until the service really answers. */
    bool serving = false;
    for (int i = 0; i < 100 && !serving; i++) {
        if (custos_client_health(f->client, &serving, &err) != CUSTOS_OK || !serving)
            usleep(50 * 1000);
    }
    if (!serving) {
        gwf_dump_log(f);
        fail_msg("gateway at %s never reported SERVING", f->target);
    }
}

int gwf_stop(gwf *f)
{
    if (f->client != NULL) {
        custos_client_free(f->client);
        f->client = NULL;
    }
    if (f->proc.pid <= 0)
        return -1;
    return tu_stop(&f->proc, SIGTERM, 15000);
}

void gwf_cleanup(gwf *f)
{
    gwf_stop(f);
    if (f->dir[0] != '\0') {
        tu_rmtree(f->dir);
        f->dir[0] = '\0';
    }
    if (f->secp != NULL) {
        custos_secp_free(f->secp);
        f->secp = NULL;
    }
}

uint64_t gwf_now(void)
{
    return (uint64_t)time(NULL);
}

void gwf_usd(custos_u256 *out, uint64_t value)
{
    custos_u256 a, scale;
    custos_u256_from_u64(&a, value);
    custos_u256_from_u64(&scale, 1000000000000000000ull);
    assert_int_equal(custos_u256_mul(out, &a, &scale), CUSTOS_OK);
}

void gwf_make(gwf *f, custos_submission *s, const char *account_ref, uint64_t sequence,
              uint64_t usd)
{
    memset(s, 0, sizeof *s);
    snprintf(s->feed, sizeof s->feed, "%s", GWF_FEED);
    s->domain = f->domain;
    custos_attestation *a = &s->att;
    custos_account_id(GWF_FEED, account_ref, a->account);
    if (!f->no_auto_register)
        gwf_register_id(f, GWF_FEED, a->account);
    memset(a->beneficiary, 0xbe, sizeof a->beneficiary);
    a->kind = CUSTOS_KIND_VALUATION;

    /* Two holdings splitting the value; the haircut makes collateral differ from gross. */
    s->n_positions = 2;
    s->positions = calloc(2, sizeof *s->positions);
    assert_non_null(s->positions);
    uint64_t parts[2] = {usd / 2, usd - usd / 2};
    const char *ids[2] = {"US912797GK78", "US91282CJL54"};
    custos_u256 one;
    gwf_usd(&one, 1);
    for (size_t i = 0; i < 2; i++) {
        custos_position *p = &s->positions[i];
        snprintf(p->asset_id, sizeof p->asset_id, "%s", ids[i]);
        gwf_usd(&p->quantity, parts[i]);
        p->price = one;
        gwf_usd(&p->value, parts[i]);
        p->haircut_bps = 200;
    }
    gwf_usd(&a->gross_value, usd);
    gwf_usd(&a->collateral_value, usd / 100 * 98);
    custos_error err;
    if (custos_positions_root(s->positions, s->n_positions, a->positions_root, &err) !=
        CUSTOS_OK)
        fail_msg("custos_positions_root: %s", err.message);
    uint64_t now = gwf_now();
    a->as_of = now - 60;
    a->valid_until = now + 3600;
    a->sequence = sequence;
}

void gwf_set_times(custos_submission *s, uint64_t as_of, uint64_t valid_until)
{
    s->att.as_of = as_of;
    s->att.valid_until = valid_until;
}

void gwf_digest(const custos_submission *s, uint8_t out[32])
{
    custos_attestation_digest(&s->domain, &s->att, out);
}

void gwf_sign(gwf *f, custos_submission *s, gwf_key_id key)
{
    assert_true(s->n_sigs < CUSTOS_MAX_SIGNATURES);
    uint8_t digest[32];
    gwf_digest(s, digest);
    custos_error err;
    if (custos_sign_digest(f->secp, f->keys[key].seckey, digest, &s->sigs[s->n_sigs], &err) !=
        CUSTOS_OK)
        fail_msg("custos_sign_digest: %s", err.message);
    s->n_sigs++;
}

void gwf_clear_sigs(custos_submission *s)
{
    memset(s->sigs, 0, sizeof s->sigs);
    s->n_sigs = 0;
}

custos_rc gwf_submit(gwf *f, const custos_submission *s, custos_submit_result *res,
                     custos_error *err)
{
    /* The client fills err only on failure; cleared, it reads NONE after a success. */
    custos_error_clear(err);
    custos_rc rc = custos_client_submit(f->client, s, res, err);
    bool answered = rc == CUSTOS_OK || rc == CUSTOS_ERR_REFUSED || rc == CUSTOS_ERR_NOT_FOUND ||
                    (rc == CUSTOS_ERR_UNAVAILABLE && err->reason != CUSTOS_REASON_NONE);
    if (!answered) {
        gwf_dump_log(f);
        fail_msg("custos_client_submit: %s (%s)", custos_rc_name(rc), err->message);
    }
    return rc;
}

void gwf_submit_answer(gwf *f, const custos_submission *s, gwf_answer *a)
{
    a->rc = gwf_submit(f, s, &a->res, &a->err);
}

typedef struct head_ctx {
    uint64_t head;
    size_t count;
} head_ctx;

static bool head_cb(void *ctx, const custos_record *rec)
{
    head_ctx *h = ctx;
    if (rec->cursor > h->head)
        h->head = rec->cursor;
    h->count++;
    return true;
}

uint64_t gwf_watch_head(gwf *f, uint64_t after, int idle_ms, size_t *count)
{
    head_ctx h = {after, 0};
    custos_error err;
    custos_rc rc = custos_client_watch(f->client, after, idle_ms, head_cb, &h, &err);
    /* The idle timeout ends the stream on purpose; only a failure to reach the gateway
     * or a refused call is an error. */
    if (rc != CUSTOS_OK)
        fail_msg("custos_client_watch: %s (%s)", custos_rc_name(rc), err.message);
    if (count != NULL)
        *count = h.count;
    return h.head;
}

void gwf_raw_call(gwf *f, const char *method, const uint8_t *req, size_t len,
                  gwf_raw_result *res)
{
    gwf_raw_call_id(f, method, req, len, NULL, res);
}

/* Copies a metadata value as a string, truncated to cap - 1. */
static void copy_md_value(const grpc_metadata *m, char *out, size_t cap)
{
    size_t vlen = GRPC_SLICE_LENGTH(m->value);
    if (vlen >= cap)
        vlen = cap - 1;
    memcpy(out, GRPC_SLICE_START_PTR(m->value), vlen);
    out[vlen] = '\0';
}

void gwf_raw_call_id(gwf *f, const char *method, const uint8_t *req, size_t len,
                     const char *request_id, gwf_raw_result *res)
{
    grpc_init();
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    gwf_raw_call_md(f->target, creds, method, req, len,
                    request_id != NULL ? "x-request-id" : NULL, request_id, res);
    grpc_shutdown();
}

void gwf_raw_call_md(const char *target, grpc_channel_credentials *creds, const char *method,
                     const uint8_t *req, size_t len, const char *md_key, const char *md_value,
                     gwf_raw_result *res)
{
    memset(res, 0, sizeof *res);
    grpc_init();
    grpc_channel *ch = grpc_channel_create(target, creds, NULL);
    grpc_channel_credentials_release(creds);
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(15, GPR_TIMESPAN));
    grpc_slice method_slice = grpc_slice_from_static_string(method);
    grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                               method_slice, NULL, deadline, NULL);
    assert_non_null(call);

    grpc_slice body = grpc_slice_from_copied_buffer((const char *)req, len);
    grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&body, 1);
    grpc_slice_unref(body);
    grpc_byte_buffer *recv = NULL;
    grpc_metadata_array initial_md, trailing_md;
    grpc_metadata_array_init(&initial_md);
    grpc_metadata_array_init(&trailing_md);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    grpc_metadata id_md;
    memset(&id_md, 0, sizeof id_md);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (md_key != NULL) {
        id_md.key = grpc_slice_from_copied_string(md_key);
        id_md.value = grpc_slice_from_copied_string(md_value);
        ops[0].data.send_initial_metadata.count = 1;
        ops[0].data.send_initial_metadata.metadata = &id_md;
    }
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    static int tag;
    assert_int_equal(grpc_call_start_batch(call, ops, 6, &tag, NULL), GRPC_CALL_OK);
    grpc_event ev = grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME),
                                                NULL);
    assert_int_equal(ev.type, GRPC_OP_COMPLETE);

    res->grpc_status = (int)status;
    size_t dlen = GRPC_SLICE_LENGTH(details);
    if (dlen >= sizeof res->details)
        dlen = sizeof res->details - 1;
    memcpy(res->details, GRPC_SLICE_START_PTR(details), dlen);
    res->details[dlen] = '\0';
    for (size_t i = 0; i < trailing_md.count; i++) {
        const grpc_metadata *m = &trailing_md.metadata[i];
        if (grpc_slice_str_cmp(m->key, "custos-reason") == 0)
            copy_md_value(m, res->reason, sizeof res->reason);
    }
    for (size_t i = 0; i < initial_md.count; i++) {
        const grpc_metadata *m = &initial_md.metadata[i];
        if (grpc_slice_str_cmp(m->key, "x-request-id") == 0)
            copy_md_value(m, res->request_id, sizeof res->request_id);
    }
    if (md_key != NULL) {
        grpc_slice_unref(id_md.key);
        grpc_slice_unref(id_md.value);
    }

    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial_md);
    grpc_metadata_array_destroy(&trailing_md);
    grpc_byte_buffer_destroy(send);
    if (recv != NULL)
        grpc_byte_buffer_destroy(recv);
    grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL)
               .type != GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
    grpc_channel_destroy(ch);
    grpc_shutdown();
}

/* ---- protobuf form that tests may break on purpose ---- */

struct gwf_pb {
    Custos__V1__SignedAttestation sa;
    Custos__V1__Domain dom;
    Custos__V1__Attestation att;
    ProtobufCBinaryData *sigs;
    Custos__V1__Position *pos;
    Custos__V1__Position **pos_ptrs;
    char *feed;
};

static ProtobufCBinaryData bin_dup(const uint8_t *data, size_t len)
{
    ProtobufCBinaryData b;
    b.len = len;
    b.data = malloc(len > 0 ? len : 1);
    assert_non_null(b.data);
    if (len > 0)
        memcpy(b.data, data, len);
    return b;
}

static ProtobufCBinaryData bin_u256(const custos_u256 *v)
{
    uint8_t be[32];
    custos_u256_to_be(v, be);
    return bin_dup(be, 32);
}

gwf_pb *gwf_pb_new(const custos_submission *s)
{
    gwf_pb *p = calloc(1, sizeof *p);
    assert_non_null(p);
    custos__v1__signed_attestation__init(&p->sa);
    custos__v1__domain__init(&p->dom);
    custos__v1__attestation__init(&p->att);
    p->feed = strdup(s->feed);
    assert_non_null(p->feed);
    p->sa.feed = p->feed;
    p->dom.chain_id = s->domain.chain_id;
    p->dom.verifying_contract = bin_dup(s->domain.verifying_contract, CUSTOS_ADDRESS_LEN);
    p->sa.domain = &p->dom;
    const custos_attestation *a = &s->att;
    p->att.account = bin_dup(a->account, CUSTOS_HASH_LEN);
    p->att.beneficiary = bin_dup(a->beneficiary, CUSTOS_ADDRESS_LEN);
    p->att.kind = a->kind;
    p->att.gross_value = bin_u256(&a->gross_value);
    p->att.collateral_value = bin_u256(&a->collateral_value);
    p->att.positions_root = bin_dup(a->positions_root, CUSTOS_HASH_LEN);
    p->att.as_of = a->as_of;
    p->att.valid_until = a->valid_until;
    p->att.sequence = a->sequence;
    p->sa.attestation = &p->att;
    p->sa.n_signatures = s->n_sigs;
    p->sigs = calloc(s->n_sigs > 0 ? s->n_sigs : 1, sizeof *p->sigs);
    assert_non_null(p->sigs);
    for (size_t i = 0; i < s->n_sigs; i++)
        p->sigs[i] = bin_dup(s->sigs[i].bytes, CUSTOS_SIGNATURE_LEN);
    p->sa.signatures = p->sigs;
    p->sa.n_positions = s->n_positions;
    size_t np = s->n_positions > 0 ? s->n_positions : 1;
    p->pos = calloc(np, sizeof *p->pos);
    p->pos_ptrs = calloc(np, sizeof *p->pos_ptrs);
    assert_non_null(p->pos);
    assert_non_null(p->pos_ptrs);
    for (size_t i = 0; i < s->n_positions; i++) {
        const custos_position *src = &s->positions[i];
        Custos__V1__Position *d = &p->pos[i];
        custos__v1__position__init(d);
        d->asset_id = strdup(src->asset_id);
        assert_non_null(d->asset_id);
        d->quantity = bin_u256(&src->quantity);
        d->price = bin_u256(&src->price);
        d->value = bin_u256(&src->value);
        d->haircut_bps = src->haircut_bps;
        p->pos_ptrs[i] = d;
    }
    p->sa.positions = p->pos_ptrs;
    return p;
}

void gwf_pb_free(gwf_pb *p)
{
    if (p == NULL)
        return;
    free(p->feed);
    free(p->dom.verifying_contract.data);
    free(p->att.account.data);
    free(p->att.beneficiary.data);
    free(p->att.gross_value.data);
    free(p->att.collateral_value.data);
    free(p->att.positions_root.data);
    for (size_t i = 0; i < p->sa.n_signatures; i++)
        free(p->sigs[i].data);
    free(p->sigs);
    for (size_t i = 0; i < p->sa.n_positions; i++) {
        free(p->pos[i].asset_id);
        free(p->pos[i].quantity.data);
        free(p->pos[i].price.data);
        free(p->pos[i].value.data);
    }
    free(p->pos);
    free(p->pos_ptrs);
    free(p);
}

void gwf_pb_set_kind(gwf_pb *p, uint32_t kind)
{
    p->att.kind = kind;
}

/* Resizes a field, keeping its leading bytes and zero-filling the rest. */
static void bin_resize(ProtobufCBinaryData *b, size_t len)
{
    uint8_t *d = calloc(1, len > 0 ? len : 1);
    assert_non_null(d);
    memcpy(d, b->data, b->len < len ? b->len : len);
    free(b->data);
    b->data = d;
    b->len = len;
}

void gwf_pb_set_len(gwf_pb *p, gwf_pb_field field, size_t len)
{
    ProtobufCBinaryData *b = NULL;
    switch (field) {
    case GWF_PB_ACCOUNT: b = &p->att.account; break;
    case GWF_PB_BENEFICIARY: b = &p->att.beneficiary; break;
    case GWF_PB_GROSS: b = &p->att.gross_value; break;
    case GWF_PB_COLLATERAL: b = &p->att.collateral_value; break;
    case GWF_PB_ROOT: b = &p->att.positions_root; break;
    case GWF_PB_CONTRACT: b = &p->dom.verifying_contract; break;
    case GWF_PB_SIG0:
        assert_true(p->sa.n_signatures > 0);
        b = &p->sigs[0];
        break;
    case GWF_PB_POS0_PRICE:
        assert_true(p->sa.n_positions > 0);
        b = &p->pos[0].price;
        break;
    }
    assert_non_null(b);
    bin_resize(b, len);
}

void gwf_pb_set_sig_count(gwf_pb *p, size_t n)
{
    uint8_t first[CUSTOS_SIGNATURE_LEN] = {0};
    if (p->sa.n_signatures > 0)
        memcpy(first, p->sigs[0].data,
               p->sigs[0].len < sizeof first ? p->sigs[0].len : sizeof first);
    for (size_t i = 0; i < p->sa.n_signatures; i++)
        free(p->sigs[i].data);
    free(p->sigs);
    p->sigs = calloc(n > 0 ? n : 1, sizeof *p->sigs);
    assert_non_null(p->sigs);
    for (size_t i = 0; i < n; i++)
        p->sigs[i] = bin_dup(first, sizeof first);
    p->sa.signatures = p->sigs;
    p->sa.n_signatures = n;
}

void gwf_pb_add_sig(gwf_pb *p, const custos_signature *sig)
{
    size_t n = p->sa.n_signatures;
    ProtobufCBinaryData *sigs = realloc(p->sigs, (n + 1) * sizeof *sigs);
    assert_non_null(sigs);
    sigs[n] = bin_dup(sig->bytes, CUSTOS_SIGNATURE_LEN);
    p->sigs = sigs;
    p->sa.signatures = sigs;
    p->sa.n_signatures = n + 1;
}

void gwf_pb_drop_domain(gwf_pb *p)
{
    p->sa.domain = NULL;
}

void gwf_pb_pack_request(const gwf_pb *p, size_t padding, uint8_t **out, size_t *len)
{
    Custos__V1__SubmitRequest req = CUSTOS__V1__SUBMIT_REQUEST__INIT;
    req.attestation = (Custos__V1__SignedAttestation *)&p->sa;
    req.request_id = 1;
    size_t base = custos__v1__submit_request__get_packed_size(&req);
    /* Unknown field 15 (length-delimited): tag byte, varint length, zeros. */
    size_t extra = 0;
    uint8_t hdr[16];
    if (padding > 0) {
        hdr[extra++] = (15u << 3) | 2u;
        size_t v = padding;
        do {
            uint8_t byte = (uint8_t)(v & 0x7f);
            v >>= 7;
            hdr[extra++] = (uint8_t)(byte | (v ? 0x80 : 0));
        } while (v);
    }
    uint8_t *buf = calloc(1, base + extra + padding + 1);
    assert_non_null(buf);
    assert_int_equal(custos__v1__submit_request__pack(&req, buf), base);
    memcpy(buf + base, hdr, extra);
    *out = buf;
    *len = base + extra + padding;
}

void gwf_write_relayer_key(const gwf *f, const char *hex, char *path, size_t cap)
{
    int n = snprintf(path, cap, "%s/relayer.key", f->dir);
    assert_true(n > 0 && (size_t)n < cap);
    uint8_t key[32];
    custos_error err;
    assert_int_equal(custos_hex_decode(hex, key, sizeof key, &err), CUSTOS_OK);
    assert_int_equal(custos_keyfile_write(path, key, &err), CUSTOS_OK);
}
