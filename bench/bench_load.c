/* Figures c, d and g, and the soak: a load generator on the gRPC core client driving a real
 * custos-gateway over loopback. Attestations are signed and encoded before the timed
 * phase (the soak signs as it goes: it measures memory, not speed). Every figure of the
 * gateway's cost (its CPU time) is taken beside a bare libsecp256k1 recovery measured in
 * this thread's CPU time just before and after the phase, each the median of five rounds,
 * the faster of the two (reference_of); so is the reference with every core recovering.
 *
 *   bench_load --write-config FILE --store PATH
 *   bench_load --target HOST:PORT --pid GATEWAY_PID --mode stream|unary|latest|soak|batch
 *              --tag NAME [--count N] [--streams S] [--window W] [--rate R]
 *              [--duration SECONDS] [--accounts A] [--store PATH --accepted N]
 *              [--batch-size K] [--round R]
 *
 * --mode batch (figure g): --count accounts of the set --tag as SubmitBatch calls of K
 * accounts each (signed once by the feed's signer), one call at a time; the gateway's CPU
 * per accepted account beside a bare recovery. --round R sends each account's valuation
 * R + 1 (default 0: its first), so that a run after round R - 1 on the same gateway
 * measures updates of accounts it knows, as a custodian's revaluations are. In --mode
 * stream and unary, --round R sends the --count attestations that follow those of rounds
 * 0 to R - 1 (higher sequences of the same accounts), so that rounds repeat a phase on one
 * gateway. */
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "bench_common.h"
#include "custos/client.h"
#include "custos/batch.h"
#include "custos/eip712.h"
#include "custos/keccak.h"
#include "custos/v1/gateway.pb-c.h"
#include "pb_convert.h"

#define CALL_DEADLINE_S 60
#define RECOVER_SAMPLE 1000

typedef struct opts {
    const char *target, *mode, *tag, *store;
    pid_t pid;
    size_t count, streams, window, accounts, accepted, batch_size, round;
    double rate, duration;
} opts;

/* Pre-encoded SubmitRequests, one after another in one buffer. */
typedef struct requests {
    uint8_t *buf;
    size_t *off, *len;
    size_t n;
    uint8_t (*digests)[32];  /* a sample, for the reference recoveries */
    custos_signature *sigs;
} requests;

typedef struct sign_job {
    const opts *o;
    requests *r;
    size_t from, to;
    uint64_t now;
    uint8_t **parts;   /* per request, encoded, joined afterwards */
    size_t *lens;
} sign_job;

static void die(const char *what)
{
    fprintf(stderr, "bench_load: %s\n", what);
    exit(2);
}

/* One encoded SubmitRequest, request id index, for attestation index of the round's
 * stretch of the set. */
static uint8_t *encode_one(const bench_signer *s, const opts *o, size_t index, uint64_t now,
                           size_t *len, custos_submission *keep)
{
    custos_submission sub;
    bench_make(s, o->tag, o->round * o->count + index, o->accounts, now, &sub);
    Custos__V1__SignedAttestation *att = NULL;
    if (pb_from_submission(&sub, &att, NULL) != CUSTOS_OK)
        die("cannot convert an attestation");
    Custos__V1__SubmitRequest req = CUSTOS__V1__SUBMIT_REQUEST__INIT;
    req.request_id = index;
    req.attestation = att;
    *len = custos__v1__submit_request__get_packed_size(&req);
    uint8_t *buf = malloc(*len);
    if (buf == NULL)
        die("out of memory");
    custos__v1__submit_request__pack(&req, buf);
    pb_submission_free(att);
    if (keep != NULL)
        *keep = sub;
    else
        custos_submission_clear(&sub);
    return buf;
}

static void *sign_main(void *arg)
{
    sign_job *j = arg;
    bench_signer s;
    bench_signer_init(&s);
    for (size_t i = j->from; i < j->to; i++) {
        custos_submission sub;
        j->parts[i] = encode_one(&s, j->o, i, j->now, &j->lens[i], &sub);
        if (i < RECOVER_SAMPLE) {
            custos_attestation_digest(&sub.domain, &sub.att, j->r->digests[i]);
            j->r->sigs[i] = sub.sigs[0];
        }
        custos_submission_clear(&sub);
    }
    bench_signer_free(&s);
    return NULL;
}

/* Signs and encodes count requests on two threads (the machine's cores are idle now). */
static void requests_make(const opts *o, requests *r)
{
    memset(r, 0, sizeof *r);
    r->n = o->count;
    r->off = calloc(r->n, sizeof *r->off);
    r->len = calloc(r->n, sizeof *r->len);
    r->digests = calloc(RECOVER_SAMPLE, sizeof *r->digests);
    r->sigs = calloc(RECOVER_SAMPLE, sizeof *r->sigs);
    uint8_t **parts = calloc(r->n, sizeof *parts);
    if (r->off == NULL || r->len == NULL || r->digests == NULL || r->sigs == NULL ||
        parts == NULL)
        die("out of memory");
    uint64_t now = bench_unix_now();
    sign_job jobs[2];
    pthread_t th[2];
    for (int t = 0; t < 2; t++) {
        jobs[t] = (sign_job){o, r, r->n * (size_t)t / 2, r->n * (size_t)(t + 1) / 2, now,
                             parts, r->len};
        if (pthread_create(&th[t], NULL, sign_main, &jobs[t]) != 0)
            die("cannot start a signing thread");
    }
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    size_t total = 0;
    for (size_t i = 0; i < r->n; i++)
        total += r->len[i];
    r->buf = malloc(total > 0 ? total : 1);
    if (r->buf == NULL)
        die("out of memory");
    total = 0;
    for (size_t i = 0; i < r->n; i++) {
        r->off[i] = total;
        memcpy(r->buf + total, parts[i], r->len[i]);
        total += r->len[i];
        free(parts[i]);
    }
    free(parts);
}

static grpc_byte_buffer *request_buffer(const requests *r, size_t i)
{
    grpc_slice s = grpc_slice_from_static_buffer(r->buf + r->off[i], r->len[i]);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

/* true when the response says ACCEPTED. */
static bool response_accepted(grpc_byte_buffer *bb, uint64_t *request_id)
{
    if (bb == NULL)
        return false;
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        return false;
    grpc_slice s = grpc_byte_buffer_reader_readall(&rd);
    grpc_byte_buffer_reader_destroy(&rd);
    Custos__V1__SubmitResponse *m =
        custos__v1__submit_response__unpack(NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    if (m == NULL)
        return false;
    bool ok = m->reason == 0 && m->state == CUSTOS__V1__STATE__ACCEPTED;
    if (!ok && m->detail != NULL && m->detail[0] != '\0')
        fprintf(stderr, "bench_load: refused: %s\n", m->detail);
    if (request_id != NULL)
        *request_id = m->request_id;
    custos__v1__submit_response__free_unpacked(m, NULL);
    return ok;
}

static gpr_timespec deadline_after(double seconds)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                        gpr_time_from_micros((int64_t)(seconds * 1e6), GPR_TIMESPAN));
}

/* This process's CPU seconds, every thread (gRPC's included). */
static double self_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double reference_rate(const requests *r)
{
    size_t n = r->n < RECOVER_SAMPLE ? r->n : RECOVER_SAMPLE;
    return bench_recover_cpu_rate((const uint8_t(*)[32])r->digests, r->sigs, n);
}

/* The reference of a phase from the rates measured before and after it: the faster. What
 * runs beside a measurement only slows it, and just after a phase the machine is still
 * flushing what the phase wrote: in 2 phases of 30 on fresh gateways, the measurement after
 * the phase was 30-35% slower than the one before, and the average of the two flattered
 * the ratio by 13%. */
static double reference_of(double before, double after)
{
    return before > after ? before : after;
}

/* The gateway's CPU seconds from the end of a phase until it goes idle: the WAL
 * checkpoint that follows the last commit is part of what the phase's attestations cost,
 * and a reference recovery measured while it runs would be slowed by it. Idle is under 2%
 * of a core over 100 ms; gives up after 10 s. */
static double settle_cpu(pid_t pid)
{
    double start = bench_proc_cpu(pid), prev = start;
    for (int i = 0; i < 100; i++) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        double now = bench_proc_cpu(pid);
        if (now - prev < 0.002)
            return now - start;
        prev = now;
    }
    return prev - start;
}

/* Results of one timed phase. */
typedef struct phase {
    size_t accepted, refused;
    double seconds, cpu, self_cpu, *lat;
    size_t n_lat;
} phase;

static void print_phase(const char *figure, const char *what, phase *p, double bare_rate,
                        double busy_rate)
{
    double p50 = bench_percentile(p->lat, p->n_lat, 0.5) * 1e3;
    double p99 = bench_percentile(p->lat, p->n_lat, 0.99) * 1e3;
    double p999 = bench_percentile(p->lat, p->n_lat, 0.999) * 1e3;
    double cpu_each = p->accepted > 0 ? p->cpu / (double)p->accepted : 0;
    double self_each = p->accepted > 0 ? p->self_cpu / (double)p->accepted : 0;
    double rate = (double)p->accepted / p->seconds;
    printf("| %s | %s | %.0f accepted/s = %.2f one-core bare-recover rates (%zu accepted, %zu "
           "refused, %.1f s) | p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms | gateway CPU %.1f us "
           "per accepted = %.2fx a bare recover on an otherwise idle core (%.1f us, %.0f /s "
           "in this run), %.2fx a bare recover with every core recovering (%.1f us); load "
           "generator %.1f us per accepted on the same cores |\n",
           figure, what, rate, rate / bare_rate, p->accepted, p->refused, p->seconds, p50, p99,
           p999, cpu_each * 1e6, cpu_each * bare_rate, 1e6 / bare_rate, bare_rate,
           cpu_each * busy_rate, 1e6 / busy_rate, self_each * 1e6);
}

/* ---- SubmitStream ---- */

typedef struct bstream bstream;
typedef struct btag {
    bstream *s;
    int kind; /* 0 start, 1 send, 2 recv, 3 status */
} btag;

struct bstream {
    grpc_call *call;
    btag tags[4];
    size_t *items, n_items, sent, recvd;
    bool sending, receiving, closed, failed;
    grpc_byte_buffer *send_buf, *recv_buf;
    grpc_metadata_array initial, trailer;
    grpc_status_code status;
    grpc_slice details;
};

static void stream_batch(bstream *s, const grpc_op *ops, size_t n, int kind, int *outstanding)
{
    if (grpc_call_start_batch(s->call, ops, n, &s->tags[kind], NULL) != GRPC_CALL_OK)
        die("cannot start a stream batch");
    (*outstanding)++;
}

static void run_stream(const opts *o, grpc_channel *ch, void *handle, const requests *r,
                       phase *p, double *send_time)
{
    size_t ns = o->streams;
    bstream *st = calloc(ns, sizeof *st);
    if (st == NULL)
        die("out of memory");
    for (size_t k = 0; k < ns; k++) {
        st[k].items = calloc(r->n / ns + r->n % ns + 1, sizeof *st[k].items);
        if (st[k].items == NULL)
            die("out of memory");
    }
    /* Accounts belong to one stream each, so each account's items stay in order. */
    for (size_t i = 0; i < r->n; i++) {
        bstream *s = &st[(i % o->accounts) % ns];
        s->items[s->n_items++] = i;
    }
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    int outstanding = 0;
    /* Room for the slowest rate worth measuring (1,000/s) over the whole set. */
    gpr_timespec deadline = deadline_after(CALL_DEADLINE_S + (double)r->n / 1000.0);
    double cpu0 = bench_proc_cpu(o->pid), t0 = bench_now();
    for (size_t k = 0; k < ns; k++) {
        bstream *s = &st[k];
        for (int t = 0; t < 4; t++)
            s->tags[t] = (btag){s, t};
        s->call = grpc_channel_create_registered_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                                      handle, deadline, NULL);
        grpc_metadata_array_init(&s->initial);
        grpc_metadata_array_init(&s->trailer);
        s->details = grpc_empty_slice();
        grpc_op ops[2];
        memset(ops, 0, sizeof ops);
        ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[1].op = GRPC_OP_RECV_INITIAL_METADATA;
        ops[1].data.recv_initial_metadata.recv_initial_metadata = &s->initial;
        stream_batch(s, ops, 2, 0, &outstanding);
        memset(ops, 0, sizeof ops);
        ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
        ops[0].data.recv_status_on_client.trailing_metadata = &s->trailer;
        ops[0].data.recv_status_on_client.status = &s->status;
        ops[0].data.recv_status_on_client.status_details = &s->details;
        stream_batch(s, ops, 1, 3, &outstanding);
    }
    double t_last = t0;
    while (outstanding > 0) {
        for (size_t k = 0; k < ns; k++) {
            bstream *s = &st[k];
            grpc_op op;
            memset(&op, 0, sizeof op);
            if (!s->failed && !s->sending && !s->closed &&
                (s->sent == s->n_items || s->sent - s->recvd < o->window)) {
                if (s->sent < s->n_items) {
                    size_t i = s->items[s->sent];
                    s->send_buf = request_buffer(r, i);
                    op.op = GRPC_OP_SEND_MESSAGE;
                    op.data.send_message.send_message = s->send_buf;
                    send_time[i] = bench_now();
                } else {
                    op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
                    s->closed = true;
                }
                stream_batch(s, &op, 1, 1, &outstanding);
                s->sending = true;
            }
            if (!s->failed && !s->receiving && s->recvd < s->sent) {
                memset(&op, 0, sizeof op);
                op.op = GRPC_OP_RECV_MESSAGE;
                op.data.recv_message.recv_message = &s->recv_buf;
                stream_batch(s, &op, 1, 2, &outstanding);
                s->receiving = true;
            }
        }
        grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        outstanding--;
        btag *tag = ev.tag;
        bstream *s = tag->s;
        if (tag->kind == 1) {
            s->sending = false;
            if (s->send_buf != NULL) {
                grpc_byte_buffer_destroy(s->send_buf);
                s->send_buf = NULL;
                s->sent++;
            }
            if (!ev.success)
                s->failed = true;
        } else if (tag->kind == 2) {
            s->receiving = false;
            if (!ev.success || s->recv_buf == NULL) {
                s->failed = true;
                continue;
            }
            uint64_t id = UINT64_MAX;
            size_t i = s->items[s->recvd++];
            if (response_accepted(s->recv_buf, &id) && id == i)
                p->accepted++;
            else
                p->refused++;
            grpc_byte_buffer_destroy(s->recv_buf);
            s->recv_buf = NULL;
            t_last = bench_now();
            p->lat[p->n_lat++] = t_last - send_time[i];
        }
    }
    p->cpu = bench_proc_cpu(o->pid) - cpu0;
    p->seconds = t_last - t0;
    for (size_t k = 0; k < ns; k++) {
        bstream *s = &st[k];
        if (s->status != GRPC_STATUS_OK || s->recvd != s->n_items) {
            char *d = grpc_slice_to_c_string(s->details);
            fprintf(stderr, "bench_load: stream %zu ended with status %d (%s), %zu of %zu "
                            "answered\n", k, (int)s->status, d, s->recvd, s->n_items);
            gpr_free(d);
        }
        grpc_slice_unref(s->details);
        grpc_metadata_array_destroy(&s->initial);
        grpc_metadata_array_destroy(&s->trailer);
        grpc_call_unref(s->call);
        free(s->items);
    }
    free(st);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
}

/* ---- unary Submit at a fixed rate (open loop) ---- */

typedef struct ucall {
    grpc_call *call;
    size_t index;
    double intended;
    grpc_byte_buffer *send_buf, *recv_buf;
    grpc_metadata_array initial, trailer;
    grpc_status_code status;
    grpc_slice details;
    struct ucall *next_free;
} ucall;

/* Either pre-encoded requests (r) or signed on the fly (signer). */
typedef struct source {
    const requests *r;
    const bench_signer *signer;
    const opts *o;
} source;

static grpc_byte_buffer *source_buffer(const source *src, size_t i)
{
    if (src->r != NULL)
        return request_buffer(src->r, i);
    size_t len;
    uint8_t *buf = encode_one(src->signer, src->o, i, bench_unix_now(), &len, NULL);
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)buf, len);
    free(buf);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    return bb;
}

/* Submits n requests at o->rate per second; latency counts from the intended start, so
 * a stalled gateway cannot hide behind a stalled generator. Calls rss_sample every
 * sample_every seconds when given. */
static void run_unary(const opts *o, grpc_channel *ch, void *handle, const source *src,
                      size_t n, phase *p, void (*rss_sample)(const opts *, double),
                      double sample_every)
{
    enum { MAX_IN_FLIGHT = 4096 };
    ucall *calls = calloc(MAX_IN_FLIGHT, sizeof *calls);
    if (calls == NULL)
        die("out of memory");
    ucall *free_list = NULL;
    for (size_t k = 0; k < MAX_IN_FLIGHT; k++) {
        calls[k].next_free = free_list;
        free_list = &calls[k];
    }
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    size_t next = 0, in_flight = 0;
    double cpu0 = bench_proc_cpu(o->pid), t0 = bench_now(), t_last = t0, next_sample = t0;
    while (next < n || in_flight > 0) {
        double now = bench_now();
        if (rss_sample != NULL && now >= next_sample) {
            rss_sample(o, now - t0);
            next_sample += sample_every;
        }
        while (next < n && free_list != NULL && t0 + (double)next / o->rate <= now) {
            ucall *c = free_list;
            free_list = c->next_free;
            c->index = next;
            c->intended = t0 + (double)next / o->rate;
            c->send_buf = source_buffer(src, next);
            c->recv_buf = NULL;
            c->status = GRPC_STATUS_UNKNOWN;
            c->details = grpc_empty_slice();
            grpc_metadata_array_init(&c->initial);
            grpc_metadata_array_init(&c->trailer);
            c->call = grpc_channel_create_registered_call(
                ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, handle, deadline_after(CALL_DEADLINE_S),
                NULL);
            grpc_op ops[6];
            memset(ops, 0, sizeof ops);
            ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
            ops[1].op = GRPC_OP_SEND_MESSAGE;
            ops[1].data.send_message.send_message = c->send_buf;
            ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
            ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
            ops[3].data.recv_initial_metadata.recv_initial_metadata = &c->initial;
            ops[4].op = GRPC_OP_RECV_MESSAGE;
            ops[4].data.recv_message.recv_message = &c->recv_buf;
            ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
            ops[5].data.recv_status_on_client.trailing_metadata = &c->trailer;
            ops[5].data.recv_status_on_client.status = &c->status;
            ops[5].data.recv_status_on_client.status_details = &c->details;
            if (grpc_call_start_batch(c->call, ops, 6, c, NULL) != GRPC_CALL_OK)
                die("cannot start a Submit call");
            next++;
            in_flight++;
        }
        double wait = next < n ? t0 + (double)next / o->rate - bench_now() : 0.05;
        if (wait < 0 || free_list == NULL)
            wait = free_list == NULL ? 0.05 : 0;
        grpc_event ev = grpc_completion_queue_next(cq, deadline_after(wait), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        ucall *c = ev.tag;
        t_last = bench_now();
        p->lat[p->n_lat++] = t_last - c->intended;
        if (c->status == GRPC_STATUS_OK && response_accepted(c->recv_buf, NULL))
            p->accepted++;
        else
            p->refused++;
        grpc_byte_buffer_destroy(c->send_buf);
        if (c->recv_buf != NULL)
            grpc_byte_buffer_destroy(c->recv_buf);
        grpc_slice_unref(c->details);
        grpc_metadata_array_destroy(&c->initial);
        grpc_metadata_array_destroy(&c->trailer);
        grpc_call_unref(c->call);
        c->next_free = free_list;
        free_list = c;
        in_flight--;
    }
    p->cpu = bench_proc_cpu(o->pid) - cpu0;
    p->seconds = t_last - t0;
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
    free(calls);
}

/* ---- the soak's memory samples ---- */

static long long soak_first = -1, soak_last = -1, soak_max = -1;
static double soak_warm;

static void soak_sample(const opts *o, double at)
{
    long long rss = bench_proc_rss(o->pid);
    fprintf(stderr, "bench_load: soak t=%.0f s gateway RSS %.1f MiB\n", at,
            (double)rss / 1048576.0);
    /* The first samples cover start-up (page cache, thread stacks): memory is judged
     * from the end of the warm-up on. */
    if (at < soak_warm)
        return;
    if (soak_first < 0)
        soak_first = rss;
    soak_last = rss;
    if (rss > soak_max)
        soak_max = rss;
}

/* ---- GetLatest and the store's size ---- */

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static void run_latest(const opts *o)
{
    custos_client *c = NULL;
    if (custos_client_new_insecure(o->target, 10000, &c, NULL) != CUSTOS_OK)
        die("cannot create a client");
    double *lat = calloc(o->count, sizeof *lat);
    if (lat == NULL)
        die("out of memory");
    uint64_t x = 88172645463325252u; /* xorshift: a fixed, spread sequence of accounts */
    size_t found = 0;
    for (size_t i = 0; i < o->count; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint8_t account[32];
        bench_account(o->tag, x % o->accounts, o->accounts, account);
        custos_record rec;
        double t = bench_now();
        custos_rc rc = custos_client_get_latest(c, account, &rec, NULL);
        lat[i] = bench_now() - t;
        if (rc == CUSTOS_OK) {
            found++;
            custos_record_clear(&rec);
        }
    }
    custos_client_free(c);
    char wal[4200], shm[4200];
    snprintf(wal, sizeof wal, "%s-wal", o->store);
    snprintf(shm, sizeof shm, "%s-shm", o->store);
    long long db = file_size(o->store), w = file_size(wal), s = file_size(shm);
    long long rss = bench_proc_rss(o->pid);
    double p50 = bench_percentile(lat, o->count, 0.5) * 1e3;
    double p99 = bench_percentile(lat, o->count, 0.99) * 1e3;
    double p999 = bench_percentile(lat, o->count, 0.999) * 1e3;
    printf("| d | GetLatest, 1 client, closed loop, %zu calls (%zu found) | p50 %.3f ms, "
           "p99 %.3f ms, p99.9 %.3f ms | |\n",
           o->count, found, p50, p99, p999);
    double per = (double)(db + w + s) / (double)o->accepted;
    char extra[96] = "";
    if (o->accepted < 1000000)
        snprintf(extra, sizeof extra, "extrapolated to 1,000,000: %.0f MiB (linear, not measured)",
                 per * 1e6 / 1048576.0);
    printf("| d | store on disk | %.1f MiB (db %.1f MiB + wal %.1f MiB + shm) | "
           "%.0f bytes per accepted (measured, %zu accepted) | %s |\n",
           (double)(db + w + s) / 1048576.0, (double)db / 1048576.0, (double)w / 1048576.0,
           per, o->accepted, extra);
    printf("| d | gateway resident memory | %.1f MiB (measured, %zu accepted, %zu accounts) | "
           "| |\n",
           (double)rss / 1048576.0, o->accepted, o->accounts);
    free(lat);
}

/* ---- SubmitBatch (figure g) ---- */

/* Batch b of k accounts of the set (bench_make_member's attestations, one asOf and
 * validUntil; round R: each account's sequence R + 1), signed once. Its batch sequence is
 * stamp * 2^12 + b + 1, stamp the run's start in microseconds: above every batch of an
 * earlier run on the gateway, even one that started in the same second (the feed's batch
 * sequence only rises), with room for BATCHES_PER_RUN batches a run. */
#define BATCHES_PER_RUN 4096
static void batch_make(const bench_signer *s, const opts *o, size_t b, uint64_t now,
                       uint64_t stamp, custos_batch_member *acc, custos_batch *batch,
                       custos_signature *sig)
{
    size_t k = o->batch_size;
    custos_attestation *atts = calloc(k, sizeof *atts);
    if (atts == NULL)
        die("out of memory");
    for (size_t i = 0; i < k; i++) {
        bench_make_member(o->tag, o->round * o->count + b * k + i, o->count, now, &acc[i]);
        atts[i] = acc[i].att;
    }
    custos_batch_tree *t = NULL;
    uint64_t seq = (stamp << 12) + b + 1;
    if (custos_batch_tree_new(BENCH_FEED, atts, k, seq, batch, &t, NULL) != CUSTOS_OK)
        die("batch tree");
    custos_batch_tree_free(t);
    free(atts);
    custos_domain d;
    bench_domain(&d);
    uint8_t digest[32];
    custos_batch_digest(&d, batch, digest);
    if (custos_sign_digest(s->secp, s->seckey, digest, sig, NULL) != CUSTOS_OK)
        die("sign batch");
}

static void run_batch(const opts *o)
{
    bench_signer s;
    bench_signer_init(&s);
    size_t k = o->batch_size, nb = o->count / o->batch_size;
    uint64_t now = bench_unix_now();
    custos_batch_member *acc = calloc(nb * k, sizeof *acc);
    custos_batch *batches = calloc(nb, sizeof *batches);
    custos_signature *sigs = calloc(nb, sizeof *sigs);
    custos_submit_result *res = calloc(k, sizeof *res);
    custos_error *errs = calloc(k, sizeof *errs);
    /* The reference: bare recoveries of RECOVER_SAMPLE signatures by the same key. */
    uint8_t(*digests)[32] = calloc(RECOVER_SAMPLE, sizeof *digests);
    custos_signature *ref = calloc(RECOVER_SAMPLE, sizeof *ref);
    double *lat = calloc(nb, sizeof *lat);
    if (acc == NULL || batches == NULL || sigs == NULL || res == NULL || errs == NULL ||
        digests == NULL || ref == NULL || lat == NULL)
        die("out of memory");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t stamp = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    if (nb > BATCHES_PER_RUN)
        die("batch: at most 4096 batches a run (--count / --batch-size)");
    for (size_t b = 0; b < nb; b++)
        batch_make(&s, o, b, now, stamp, acc + b * k, &batches[b], &sigs[b]);
    for (size_t i = 0; i < RECOVER_SAMPLE; i++) {
        uint64_t v = i;
        custos_keccak256((const uint8_t *)&v, sizeof v, digests[i]);
        if (custos_sign_digest(s.secp, s.seckey, digests[i], &ref[i], NULL) != CUSTOS_OK)
            die("sign reference");
    }
    custos_client *c = NULL;
    custos_error err;
    if (custos_client_new_insecure(o->target, CALL_DEADLINE_S * 1000, &c, &err) != CUSTOS_OK)
        die(err.message);
    custos_domain d;
    bench_domain(&d);
    double bare0 = bench_recover_cpu_rate((const uint8_t(*)[32])digests, ref, RECOVER_SAMPLE);
    size_t accepted = 0, refused = 0;
    double cpu0 = bench_proc_cpu(o->pid), t0 = bench_now();
    for (size_t b = 0; b < nb; b++) {
        bool dup = false;
        double t = bench_now();
        custos_rc rc = custos_client_submit_batch(c, BENCH_FEED, &d, &batches[b], &sigs[b], 1,
                                                  acc + b * k, k, res, errs, &dup, &err);
        lat[b] = bench_now() - t;
        for (size_t i = 0; i < k; i++) {
            bool ok = rc == CUSTOS_OK && errs[i].code == CUSTOS_OK &&
                      res[i].state == CUSTOS_STATE_ACCEPTED && !res[i].duplicate;
            accepted += ok;
            refused += !ok;
        }
        if (rc != CUSTOS_OK && b == 0)
            fprintf(stderr, "bench_load: batch refused: %s\n", err.message);
    }
    double seconds = bench_now() - t0;
    double cpu = bench_proc_cpu(o->pid) - cpu0 + settle_cpu(o->pid);
    double bare = reference_of(
        bare0, bench_recover_cpu_rate((const uint8_t(*)[32])digests, ref, RECOVER_SAMPLE));
    double each = accepted > 0 ? cpu / (double)accepted : 0;
    char which[48];
    if (o->round == 0)
        snprintf(which, sizeof which, "each account's first valuation");
    else
        snprintf(which, sizeof which, "each account's valuation %zu, an update", o->round + 1);
    printf("| g | SubmitBatch of %zu accounts signed once, one call at a time (%s; %zu "
           "accepted, %zu refused, %.1f s) | gateway CPU %.1f us per accepted account = %.3fx "
           "a bare recover | %.0f accounts/s; p50 %.1f ms per batch call, durable | a bare "
           "recover on this machine in this run: %.1f us (%.0f /s); target at most 0.25x |\n",
           k, which, accepted, refused, seconds, each * 1e6, each * bare,
           (double)accepted / seconds, bench_percentile(lat, nb, 0.5) * 1e3, 1e6 / bare, bare);
    custos_client_free(c);
    for (size_t i = 0; i < nb * k; i++)
        custos_batch_member_clear(&acc[i]);
    free(acc);
    free(batches);
    free(sigs);
    free(res);
    free(errs);
    free(digests);
    free(ref);
    free(lat);
    bench_signer_free(&s);
    if (refused > 0)
        exit(1);
}

int main(int argc, char **argv)
{
    opts o = {.count = 100000, .streams = 1, .window = 2048, .accounts = 10000, .rate = 3000,
              .duration = 60, .tag = "load", .batch_size = 100};
    const char *write_config = NULL;
    static const struct option lopts[] = {
        {"write-config", required_argument, NULL, 'w'}, {"store", required_argument, NULL, 's'},
        {"target", required_argument, NULL, 't'},       {"pid", required_argument, NULL, 'p'},
        {"mode", required_argument, NULL, 'm'},         {"tag", required_argument, NULL, 'g'},
        {"count", required_argument, NULL, 'n'},        {"streams", required_argument, NULL, 'S'},
        {"window", required_argument, NULL, 'W'},       {"rate", required_argument, NULL, 'r'},
        {"duration", required_argument, NULL, 'd'},     {"accounts", required_argument, NULL, 'a'},
        {"accepted", required_argument, NULL, 'A'},     {"batch-size", required_argument, NULL, 'B'},
        {"round", required_argument, NULL, 'R'},        {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        switch (ch) {
        case 'w': write_config = optarg; break;
        case 's': o.store = optarg; break;
        case 't': o.target = optarg; break;
        case 'p': o.pid = (pid_t)atoi(optarg); break;
        case 'm': o.mode = optarg; break;
        case 'g': o.tag = optarg; break;
        case 'n': o.count = strtoul(optarg, NULL, 10); break;
        case 'S': o.streams = strtoul(optarg, NULL, 10); break;
        case 'W': o.window = strtoul(optarg, NULL, 10); break;
        case 'r': o.rate = atof(optarg); break;
        case 'd': o.duration = atof(optarg); break;
        case 'a': o.accounts = strtoul(optarg, NULL, 10); break;
        case 'A': o.accepted = strtoul(optarg, NULL, 10); break;
        case 'B': o.batch_size = strtoul(optarg, NULL, 10); break;
        case 'R': o.round = strtoul(optarg, NULL, 10); break;
        default: die("see the usage at the top of bench/bench_load.c");
        }
    }
    if (write_config != NULL) {
        if (o.store == NULL)
            die("--write-config needs --store");
        bench_signer s;
        bench_signer_init(&s);
        /* --tag names, comma-separated, the sets whose accounts the gateway registers. */
        bench_write_config(write_config, o.store, &s, o.tag, o.accounts);
        bench_signer_free(&s);
        return 0;
    }
    if (o.target == NULL || o.mode == NULL || o.pid <= 0 || o.count == 0 || o.streams == 0 ||
        o.window == 0 || o.accounts == 0 || o.rate <= 0)
        die("--target, --pid and --mode are required; counts and rates must be positive");

    if (strcmp(o.mode, "batch") == 0) {
        if (o.batch_size == 0 || o.batch_size > CUSTOS_BATCH_MAX_ACCOUNTS ||
            o.count < o.batch_size)
            die("batch needs --batch-size 1..4096 and --count at least that");
        grpc_init();
        run_batch(&o);
        grpc_shutdown();
        return 0;
    }
    if (strcmp(o.mode, "latest") == 0) {
        if (o.store == NULL || o.accepted == 0)
            die("latest needs --store and --accepted (the store's accepted count)");
        run_latest(&o);
        return 0;
    }

    grpc_init();
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *chan = grpc_channel_create(o.target, creds, NULL);
    grpc_channel_credentials_release(creds);
    void *h_submit = grpc_channel_register_call(chan, "/custos.v1.AttestationGateway/Submit",
                                                NULL, NULL);
    void *h_stream = grpc_channel_register_call(
        chan, "/custos.v1.AttestationGateway/SubmitStream", NULL, NULL);

    phase p;
    memset(&p, 0, sizeof p);
    if (strcmp(o.mode, "soak") == 0) {
        size_t n = (size_t)(o.rate * o.duration);
        p.lat = calloc(n, sizeof *p.lat);
        bench_signer s;
        bench_signer_init(&s);
        source src = {NULL, &s, &o};
        soak_warm = o.duration / 6;
        run_unary(&o, chan, h_submit, &src, n, &p, soak_sample, o.duration / 12);
        soak_sample(&o, o.duration);
        printf("| soak | unary Submit at %.0f/s for %.0f s, signed as sent (%zu accepted, %zu "
               "refused) | gateway RSS after warm-up %.1f MiB, at the end %.1f MiB, peak "
               "%.1f MiB | %+.1f%% over the soak | p99 %.2f ms |\n",
               o.rate, o.duration, p.accepted, p.refused, (double)soak_first / 1048576.0,
               (double)soak_last / 1048576.0, (double)soak_max / 1048576.0,
               soak_first > 0 ? 100.0 * (double)(soak_last - soak_first) / (double)soak_first
                              : 0.0,
               bench_percentile(p.lat, p.n_lat, 0.99) * 1e3);
        bench_signer_free(&s);
    } else {
        if (strcmp(o.mode, "unary") == 0)
            o.count = (size_t)(o.rate * o.duration);
        requests r;
        requests_make(&o, &r);
        p.lat = calloc(r.n, sizeof *p.lat);
        double *send_time = calloc(r.n, sizeof *send_time);
        if (p.lat == NULL || send_time == NULL)
            die("out of memory");
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        size_t ns = r.n < RECOVER_SAMPLE ? r.n : RECOVER_SAMPLE;
        size_t threads = cores > 0 ? (size_t)cores : 1;
        double bare0 = reference_rate(&r);
        double busy0 =
            bench_recover_rate_busy((const uint8_t(*)[32])r.digests, r.sigs, ns, threads);
        double self0 = self_cpu();
        char what[160];
        if (strcmp(o.mode, "stream") == 0) {
            run_stream(&o, chan, h_stream, &r, &p, send_time);
            int n = snprintf(what, sizeof what, "SubmitStream, %zu stream(s), window %zu, as "
                             "fast as acknowledged", o.streams, o.window);
            if (o.round > 0 && n > 0 && (size_t)n < sizeof what)
                snprintf(what + n, sizeof what - (size_t)n, ", round %zu", o.round + 1);
        } else if (strcmp(o.mode, "unary") == 0) {
            source src = {&r, NULL, &o};
            run_unary(&o, chan, h_submit, &src, r.n, &p, NULL, 0);
            snprintf(what, sizeof what, "unary Submit, open loop at %.0f/s", o.rate);
        } else {
            die("--mode is stream, unary, latest or soak");
        }
        p.self_cpu = self_cpu() - self0;
        p.cpu += settle_cpu(o.pid);
        double bare = reference_of(bare0, reference_rate(&r));
        double busy = reference_of(
            busy0, bench_recover_rate_busy((const uint8_t(*)[32])r.digests, r.sigs, ns, threads));
        print_phase("c", what, &p, bare, busy);
        free(send_time);
        free(r.buf);
        free(r.off);
        free(r.len);
        free(r.digests);
        free(r.sigs);
    }
    free(p.lat);
    grpc_channel_destroy(chan);
    grpc_shutdown();
    return p.refused == 0 ? 0 : 1;
}
