/* Figure f: the gateway's stateless batch verification (gw_verify_batch, docs/rules.md
 * rule 20) per account, batches of N accounts signed by 2 signers (a 2-of-2 feed), on one
 * thread, beside a bare libsecp256k1 recovery measured in alternating rounds. It covers
 * what verify_batch.c does (domain, feed, freshness, the accounts tree rebuilt from the
 * attestations' struct hashes, the two signatures recovered once, each account judged
 * alone); protobuf decoding and the engine's commit are not part of it.
 *
 *   bench_batch [--accounts N] [--batches B] [--rounds R] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "config/config.h"
#include "custos/batch.h"
#include "custos/eip712.h"
#include "verify_batch.h"

typedef struct batch_set {
    gw_batch_submission *bs;
    custos_batch_member *accounts;
    size_t n_batches, n_accounts;
} batch_set;

/* Accounts verified per second over every batch; exits if a batch or an account is
 * refused: the figure would not be a verification. */
static double batch_rate(const gw_verifier *v, const batch_set *set, gw_batch_member *members,
                         char (*details)[GW_BATCH_DETAIL_MAX], uint64_t now)
{
    double t0 = bench_now();
    for (size_t b = 0; b < set->n_batches; b++) {
        gw_verified out;
        char detail[256];
        custos_reason r = gw_verify_batch(v, &set->bs[b], now, &out, members, details, detail,
                                          sizeof detail);
        if (r != CUSTOS_REASON_NONE) {
            fprintf(stderr, "bench_batch: batch %zu refused: %s\n", b, detail);
            exit(2);
        }
        for (size_t i = 0; i < set->n_accounts; i++)
            if (members[i].reason != CUSTOS_REASON_NONE) {
                fprintf(stderr, "bench_batch: account %zu refused: %s\n", i, details[i]);
                exit(2);
            }
        gw_policy_release(out.policy);
    }
    return (double)(set->n_batches * set->n_accounts) / (bench_now() - t0);
}

static double median(double *v, size_t n)
{
    return bench_percentile(v, n, 0.5);
}

/* B batches of N accounts each (their attestations from bench_make_member, one asOf and
 * validUntil), each signed by both keys. */
static void make_batches(const bench_signer *s, const uint8_t second[CUSTOS_SECKEY_LEN],
                         uint64_t now, batch_set *set)
{
    size_t total = set->n_batches * set->n_accounts;
    set->bs = calloc(set->n_batches, sizeof *set->bs);
    set->accounts = calloc(total, sizeof *set->accounts);
    custos_attestation *atts = calloc(set->n_accounts, sizeof *atts);
    if (set->bs == NULL || set->accounts == NULL || atts == NULL)
        exit(2);
    for (size_t b = 0; b < set->n_batches; b++) {
        gw_batch_submission *bs = &set->bs[b];
        custos_batch_member *acc = set->accounts + b * set->n_accounts;
        for (size_t i = 0; i < set->n_accounts; i++) {
            bench_make_member("batch", b * set->n_accounts + i, total, now, &acc[i]);
            atts[i] = acc[i].att;
        }
        custos_batch_tree *t = NULL;
        if (custos_batch_tree_new(BENCH_FEED, atts, set->n_accounts, b + 1, &bs->batch, &t,
                                  NULL) != CUSTOS_OK)
            exit(2);
        custos_batch_tree_free(t);
        snprintf(bs->feed, sizeof bs->feed, "%s", BENCH_FEED);
        bench_domain(&bs->domain);
        uint8_t digest[32];
        custos_batch_digest(&bs->domain, &bs->batch, digest);
        if (custos_sign_digest(s->secp, s->seckey, digest, &bs->sigs[0], NULL) != CUSTOS_OK ||
            custos_sign_digest(s->secp, second, digest, &bs->sigs[1], NULL) != CUSTOS_OK)
            exit(2);
        bs->n_sigs = 2;
        bs->accounts = acc;
        bs->n_accounts = set->n_accounts;
    }
    free(atts);
}

int main(int argc, char **argv)
{
    size_t n_accounts = 100, n_batches = 20, rounds = 7;
    static const struct option opts[] = {{"accounts", required_argument, NULL, 'a'},
                                          {"batches", required_argument, NULL, 'b'},
                                          {"rounds", required_argument, NULL, 'r'},
                                          {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'a': n_accounts = strtoul(optarg, NULL, 10); break;
        case 'b': n_batches = strtoul(optarg, NULL, 10); break;
        case 'r': rounds = strtoul(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: bench_batch [--accounts N] [--batches B] [--rounds R]\n");
            return 2;
        }
    }
    if (n_accounts == 0 || n_accounts > CUSTOS_BATCH_MAX_ACCOUNTS || n_batches == 0 ||
        rounds == 0)
        return 2;

    bench_signer signer;
    bench_signer_init(&signer);
    uint8_t second[CUSTOS_SECKEY_LEN];
    memset(second, 0x3d, sizeof second);
    uint8_t second_addr[CUSTOS_ADDRESS_LEN];
    if (custos_address_from_seckey(signer.secp, second, second_addr, NULL) != CUSTOS_OK)
        return 2;
    uint64_t now = bench_unix_now();
    batch_set set = {.n_batches = n_batches, .n_accounts = n_accounts};
    make_batches(&signer, second, now, &set);

    /* The reference: bare recoveries of single attestations' signatures. */
    size_t n_ref = n_batches * n_accounts;
    uint8_t(*digests)[32] = calloc(n_ref, sizeof *digests);
    custos_signature *sigs = calloc(n_ref, sizeof *sigs);
    gw_batch_member *members = calloc(n_accounts, sizeof *members);
    char(*details)[GW_BATCH_DETAIL_MAX] = malloc(n_accounts * sizeof *details);
    double *bare = calloc(rounds, sizeof *bare), *batch = calloc(rounds, sizeof *batch),
           *ratio = calloc(rounds, sizeof *ratio);
    if (digests == NULL || sigs == NULL || members == NULL || details == NULL || bare == NULL ||
        batch == NULL || ratio == NULL)
        return 2;
    for (size_t i = 0; i < n_ref; i++) {
        custos_submission s;
        bench_make(&signer, "reference", i, n_ref, now, &s);
        custos_attestation_digest(&s.domain, &s.att, digests[i]);
        sigs[i] = s.sigs[0];
        custos_submission_clear(&s);
    }

    gw_feed feed;
    memset(&feed, 0, sizeof feed);
    snprintf(feed.name, sizeof feed.name, "%s", BENCH_FEED);
    feed.max_age = 86400;
    feed.max_skew = 300;
    feed.max_ttl = 604800;
    feed.threshold = 2;
    gw_signer allowed[2];
    memset(allowed, 0, sizeof allowed);
    memcpy(allowed[0].address, signer.address, CUSTOS_ADDRESS_LEN);
    memcpy(allowed[1].address, second_addr, CUSTOS_ADDRESS_LEN);
    for (size_t k = 0; k < 2; k++) {
        snprintf(allowed[k].feed, sizeof allowed[k].feed, "%s", BENCH_FEED);
        allowed[k].active = true;
    }
    allowed[0].role = GW_ROLE_CUSTODIAN;
    allowed[1].role = GW_ROLE_VALUATION_AGENT;
    gw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    bench_domain(&cfg.domain);
    cfg.feeds = &feed;
    cfg.n_feeds = 1;
    cfg.signers = allowed;
    cfg.n_signers = 2;
    /* Rule 9: every account of the batches registered to the feed. */
    gw_account *registered = calloc(n_ref, sizeof *registered);
    if (registered == NULL)
        return 2;
    for (size_t i = 0; i < n_ref; i++) {
        memcpy(registered[i].account, set.accounts[i].att.account, CUSTOS_HASH_LEN);
        snprintf(registered[i].feed, sizeof registered[i].feed, "%s", BENCH_FEED);
    }
    cfg.accounts = registered;
    cfg.n_accounts = n_ref;
    gw_registry *reg = NULL;
    gw_verifier *v = NULL;
    if (gw_registry_new(&cfg, &reg, NULL) != CUSTOS_OK ||
        gw_verifier_new(&cfg, reg, &v, NULL) != CUSTOS_OK)
        return 2;

    /* Warm-up: thread contexts, caches, CPU frequency. */
    (void)bench_recover_rate((const uint8_t(*)[32])digests, sigs, n_ref / 4 + 1);
    (void)batch_rate(v, &set, members, details, now);
    for (size_t r = 0; r < rounds; r++) {
        bare[r] = bench_recover_rate((const uint8_t(*)[32])digests, sigs, n_ref);
        batch[r] = batch_rate(v, &set, members, details, now);
        ratio[r] = bare[r] / batch[r];
    }
    double bare_m = median(bare, rounds), batch_m = median(batch, rounds),
           ratio_m = median(ratio, rounds);
    printf("| f | gateway batch verification (gw_verify_batch: tree, 2 signatures once, each "
           "account alone), batches of %zu, 1 thread | %.0f accounts/s | %.2f us per account | "
           "%.3fx a bare recover (%.1f us, median of %zu alternating rounds of %zu batches); "
           "decoding and the commit not included |\n",
           n_accounts, batch_m, 1e6 / batch_m, ratio_m, 1e6 / bare_m, rounds, n_batches);

    gw_verifier_free(v);
    gw_registry_free(reg);
    for (size_t i = 0; i < n_batches * n_accounts; i++)
        custos_batch_member_clear(&set.accounts[i]);
    free(set.accounts);
    free(set.bs);
    free(digests);
    free(sigs);
    free(members);
    free(details);
    free(registered);
    free(bare);
    free(batch);
    free(ratio);
    bench_signer_free(&signer);
    return 0;
}
