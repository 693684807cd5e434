/* Shared by the bench programs: deterministic signed attestations, a bare libsecp256k1
 * recovery as the reference cost, clocks, percentiles and /proc readings. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "custos/attestation.h"
#include "custos/batch.h"
#include "custos/sig.h"

#define BENCH_FEED "bench"
#define BENCH_CHAIN_ID 31337

/* The one signer of the bench feed (threshold 1: one recovery per attestation). */
typedef struct bench_signer {
    custos_secp *secp;
    uint8_t seckey[CUSTOS_SECKEY_LEN];
    uint8_t address[CUSTOS_ADDRESS_LEN];
} bench_signer;

/* Exits with a message on failure: a bench without its signer has nothing to measure. */
void bench_signer_init(bench_signer *s);
void bench_signer_free(bench_signer *s);

void bench_domain(custos_domain *d);

/* Attestation `index` of the set named `tag`: account keccak("tag:index mod accounts"),
 * sequence index / accounts + 1, so a set can be submitted in order without replays, and
 * two tags never share an account. Signed by s at asOf = now. */
void bench_make(const bench_signer *s, const char *tag, uint64_t index, uint64_t accounts,
                uint64_t now, custos_submission *out);
/* The same attestation as an account of a batch (valid for an hour, no positions): the
 * batch is signed, not the account. */
void bench_make_member(const char *tag, uint64_t index, uint64_t accounts, uint64_t now,
                       custos_batch_member *out);
/* The account of index in the set (as bench_make derives it). */
void bench_account(const char *tag, uint64_t index, uint64_t accounts, uint8_t out[32]);

/* Writes a gateway config: one feed, one signer, loopback port 0, the given store, and the
 * accounts of the sets named by tags (comma-separated), `accounts` each, registered to the
 * feed in PATH.accounts (rule 9). */
void bench_write_config(const char *path, const char *store, const bench_signer *s,
                        const char *tags, uint64_t accounts);

double bench_now(void);
uint64_t bench_unix_now(void);

/* Bare libsecp256k1 recoveries of the given signatures over their digests, per second,
 * on this thread: the reference every ratio is taken against. */
double bench_recover_rate(const uint8_t (*digests)[32], const custos_signature *sigs, size_t n);

/* The same in this thread's CPU time, the median of five rounds over the set: the
 * reference for a gateway's CPU time, which a wall clock would flatter whenever this
 * thread waits for a core. */
double bench_recover_cpu_rate(const uint8_t (*digests)[32], const custos_signature *sigs,
                              size_t n);

/* The same, on `threads` threads at once (one per core: every core busy, as in a loaded
 * gateway), each over the whole set; returns the mean rate of one thread. */
double bench_recover_rate_busy(const uint8_t (*digests)[32], const custos_signature *sigs,
                               size_t n, size_t threads);

/* Sorts v in place; p in [0, 1]. */
double bench_percentile(double *v, size_t n, double p);

/* CPU seconds (user + system) of a process, and its resident set in bytes; -1 if gone. */
double bench_proc_cpu(pid_t pid);
long long bench_proc_rss(pid_t pid);

#endif
