#include "bench_common.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "custos/eip712.h"
#include "custos/hex.h"
#include "custos/keccak.h"

void bench_signer_init(bench_signer *s)
{
    memset(s, 0, sizeof *s);
    s->secp = custos_secp_new();
    /* A fixed key: runs are comparable and the config can be written by any program. */
    memset(s->seckey, 0x5c, sizeof s->seckey);
    if (s->secp == NULL ||
        custos_address_from_seckey(s->secp, s->seckey, s->address, NULL) != CUSTOS_OK) {
        fprintf(stderr, "bench: cannot set up the signer\n");
        exit(2);
    }
}

void bench_signer_free(bench_signer *s)
{
    custos_secp_free(s->secp);
}

void bench_domain(custos_domain *d)
{
    memset(d, 0, sizeof *d);
    d->chain_id = BENCH_CHAIN_ID;
    memset(d->verifying_contract, 0xbe, sizeof d->verifying_contract);
}

void bench_account(const char *tag, uint64_t index, uint64_t accounts, uint8_t out[32])
{
    char text[96];
    int n = snprintf(text, sizeof text, "%s:%" PRIu64, tag, index % accounts);
    custos_keccak256((const uint8_t *)text, (size_t)n, out);
}

static void bench_attestation(const char *tag, uint64_t index, uint64_t accounts, uint64_t now,
                              custos_attestation *a)
{
    memset(a, 0, sizeof *a);
    bench_account(tag, index, accounts, a->account);
    memset(a->beneficiary, 0xa1, sizeof a->beneficiary);
    a->kind = CUSTOS_KIND_VALUATION;
    /* Values in whole dollars with 18 decimals would need u256 arithmetic; any distinct
     * integers serve the bench. */
    custos_u256_from_u64(&a->gross_value, 1000000000000u + index);
    custos_u256_from_u64(&a->collateral_value, 900000000000u + index);
    custos_keccak256((const uint8_t *)&index, sizeof index, a->positions_root);
    a->as_of = now;
    a->valid_until = now + 3600;
    a->sequence = index / accounts + 1;
}

void bench_make_member(const char *tag, uint64_t index, uint64_t accounts, uint64_t now,
                       custos_batch_member *out)
{
    memset(out, 0, sizeof *out);
    bench_attestation(tag, index, accounts, now, &out->att);
}

void bench_make(const bench_signer *s, const char *tag, uint64_t index, uint64_t accounts,
                uint64_t now, custos_submission *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->feed, sizeof out->feed, "%s", BENCH_FEED);
    bench_domain(&out->domain);
    custos_attestation *a = &out->att;
    bench_attestation(tag, index, accounts, now, a);
    uint8_t digest[32];
    custos_attestation_digest(&out->domain, a, digest);
    if (custos_sign_digest(s->secp, s->seckey, digest, &out->sigs[0], NULL) != CUSTOS_OK) {
        fprintf(stderr, "bench: signing failed\n");
        exit(2);
    }
    out->n_sigs = 1;
}

/* PATH.accounts: every account of each set in tags, one id a line. */
static void bench_write_accounts(const char *path, const char *tags, uint64_t accounts)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    const char *tag = tags;
    while (*tag != '\0') {
        size_t len = strcspn(tag, ",");
        char one[64];
        snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one ? len : sizeof one - 1), tag);
        for (uint64_t i = 0; i < accounts; i++) {
            uint8_t id[32];
            char hex[CUSTOS_HEX_LEN(32)];
            bench_account(one, i, accounts, id);
            if (custos_hex_encode(id, sizeof id, hex, sizeof hex) != CUSTOS_OK ||
                fprintf(f, "%s\n", hex) < 0) {
                fprintf(stderr, "bench: cannot write %s\n", path);
                exit(2);
            }
        }
        tag += len;
        if (*tag == ',')
            tag++;
    }
    if (fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

void bench_write_config(const char *path, const char *store, const bench_signer *s,
                        const char *tags, uint64_t accounts)
{
    char list[4200];
    snprintf(list, sizeof list, "%s.accounts", path);
    bench_write_accounts(list, tags, accounts);
    char addr[CUSTOS_ADDRESS_HEX_LEN], contract[CUSTOS_ADDRESS_HEX_LEN];
    custos_domain d;
    bench_domain(&d);
    custos_address_to_hex(s->address, addr);
    custos_address_to_hex(d.verifying_contract, contract);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fprintf(f,
            "[gateway]\nlisten = 127.0.0.1:0\nstore = %s\nchain_id = %d\n"
            "verifying_contract = %s\n\n"
            "[tls]\ninsecure = true\n\n"
            /* One load generator is one client: it measures the gateway, not its limits. */
            "[limits]\nrate_per_second = 1000000000\nburst = 1000000000\n\n"
            "[feed %s]\nmax_age = 86400\nmax_skew = 300\nmax_ttl = 604800\nthreshold = 1\n"
            "accounts_file = %s\n\n"
            "[signer bench-custodian]\naddress = %s\nfeed = %s\nrole = custodian\n"
            "status = active\n",
            store, BENCH_CHAIN_ID, contract, BENCH_FEED, list, addr, BENCH_FEED);
    if (fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t bench_unix_now(void)
{
    return (uint64_t)time(NULL);
}

/* This thread's CPU seconds. */
static double bench_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* count bare recoveries from signature `first` on (wrapping at n), per second of `clock`;
 * exits if one fails, since then the reference means nothing. */
static double bench_recover_timed(const uint8_t (*digests)[32], const custos_signature *sigs,
                                  size_t n, size_t first, size_t count, double (*clock)(void))
{
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    size_t ok = 0;
    double t0 = clock();
    for (size_t i = 0; i < count; i++) {
        size_t k = (first + i) % n;
        secp256k1_ecdsa_recoverable_signature rs;
        secp256k1_pubkey pk;
        ok += secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sigs[k].bytes,
                                                                  sigs[k].bytes[64] - 27) &&
              secp256k1_ecdsa_recover(ctx, &pk, &rs, digests[k]);
    }
    double dt = clock() - t0;
    secp256k1_context_destroy(ctx);
    if (ok != count) {
        fprintf(stderr, "bench: %zu of %zu reference recoveries failed\n", count - ok, count);
        exit(2);
    }
    return (double)count / dt;
}

double bench_recover_rate(const uint8_t (*digests)[32], const custos_signature *sigs, size_t n)
{
    return bench_recover_timed(digests, sigs, n, 0, n, bench_now);
}

double bench_recover_cpu_rate(const uint8_t (*digests)[32], const custos_signature *sigs,
                              size_t n)
{
    enum { ROUNDS = 5 };
    double rate[ROUNDS];
    size_t per = n / ROUNDS > 0 ? n / ROUNDS : 1;
    for (int r = 0; r < ROUNDS; r++)
        rate[r] = bench_recover_timed(digests, sigs, n, (size_t)r * per, per, bench_thread_cpu);
    return bench_percentile(rate, ROUNDS, 0.5);
}

typedef struct busy_job {
    const uint8_t (*digests)[32];
    const custos_signature *sigs;
    size_t n;
    double rate;
} busy_job;

static void *busy_main(void *arg)
{
    busy_job *j = arg;
    j->rate = bench_recover_rate(j->digests, j->sigs, j->n);
    return NULL;
}

double bench_recover_rate_busy(const uint8_t (*digests)[32], const custos_signature *sigs,
                               size_t n, size_t threads)
{
    enum { MAX_THREADS = 256 };
    busy_job jobs[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    for (size_t t = 0; t < threads; t++) {
        jobs[t] = (busy_job){digests, sigs, n, 0};
        if (pthread_create(&th[t], NULL, busy_main, &jobs[t]) != 0) {
            fprintf(stderr, "bench: cannot start a thread\n");
            exit(2);
        }
    }
    double sum = 0;
    for (size_t t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        sum += jobs[t].rate;
    }
    return sum / (double)threads;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_percentile(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, bench_cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

double bench_proc_cpu(pid_t pid)
{
    /* The process's CPU-time clock counts every thread, those that have exited included,
     * to the nanosecond; /proc's ticks (10 ms) made a run of 10,000 accounts at 20 us each
     * a figure of 20 ticks, one tick either way 5%. The ticks remain where the clock
     * cannot be read. */
    clockid_t clock;
    struct timespec ts;
    if (clock_getcpuclockid(pid, &clock) == 0 && clock_gettime(clock, &ts) == 0)
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    /* Fields after the command name, which may hold spaces: start past the last ')'. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    unsigned long long utime = 0, stime = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
               &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

long long bench_proc_rss(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long long kb = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}
