/* Figure h: the publisher's submitBatchPart calldata (docs/publishing.md §14) for every
 * part of one send: a batch of N accounts (4,096, the most a batch holds) in parts of P
 * (100, [evm] batch_max_accounts' default), cut as the publisher cuts them (neighbours in
 * the tree together), from the batch prepared once for the send (gw_pub_prepared_new, then
 * gw_pub_prepared_part_encode per part). Beside it, in alternating rounds of the same run:
 * the same parts each built from the batch alone (gw_pub_batch_part_encode: every leaf
 * hashed and sorted and the tree built again for each part, as each part was built before
 * a send prepared its batch once). No whole submitBatch of such a batch is beside it: its
 * calldata is over the ABI encoder's bound of 1 MiB, which is why it goes in parts. The
 * publisher's lookups of records by cursor and the chain calls are not in it.
 *
 *   bench_parts [--accounts N] [--part P] [--rounds R] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "custos/batch.h"
#include "evm/publish_batch.h"

typedef struct parts_set {
    gw_pub_batch b;
    size_t *by_rank;              /* by_rank[r]: the account at rank r of the tree */
    custos_attestation *in_order; /* the accounts in that order, for the per-part rebuild */
    size_t n, part;
} parts_set;

static void check(custos_rc rc, const custos_error *err, const char *what)
{
    if (rc != CUSTOS_OK) {
        fprintf(stderr, "bench_parts: %s: %s\n", what, err->message);
        exit(2);
    }
}

/* Every part's calldata from one prepared batch; seconds. With sizes, each part's
 * calldata length is kept there (to check the reference builds the same calls). */
static double prepared_send(const parts_set *s, size_t *sizes)
{
    custos_error err;
    double t0 = bench_now();
    gw_pub_prepared *pp = NULL;
    check(gw_pub_prepared_new(&s->b, &pp, &err), &err, "prepared batch");
    for (size_t first = 0, k = 0; first < s->n; first += s->part, k++) {
        size_t n = s->n - first < s->part ? s->n - first : s->part;
        uint8_t *data = NULL;
        size_t len = 0;
        check(gw_pub_prepared_part_encode(pp, s->by_rank + first, n, &data, &len, &err), &err,
              "prepared part");
        if (sizes != NULL)
            sizes[k] = len;
        free(data);
    }
    gw_pub_prepared_free(pp);
    return bench_now() - t0;
}

/* The same parts, each built from the batch alone; seconds. With sizes, checks each
 * part's calldata has the length prepared_send gave it. */
static double rebuilt_send(const parts_set *s, const size_t *sizes)
{
    custos_error err;
    double t0 = bench_now();
    for (size_t first = 0, k = 0; first < s->n; first += s->part, k++) {
        size_t n = s->n - first < s->part ? s->n - first : s->part;
        uint8_t *data = NULL;
        size_t len = 0;
        check(gw_pub_batch_part_encode(&s->b, s->in_order + first, n, &data, &len, &err), &err,
              "rebuilt part");
        if (sizes != NULL && sizes[k] != len) {
            fprintf(stderr, "bench_parts: part %zu: %zu bytes rebuilt, %zu prepared\n", k, len,
                    sizes[k]);
            exit(2);
        }
        free(data);
    }
    return bench_now() - t0;
}

int main(int argc, char **argv)
{
    size_t n = CUSTOS_BATCH_MAX_ACCOUNTS, part = 100, rounds = 7;
    static const struct option opts[] = {{"accounts", required_argument, NULL, 'a'},
                                          {"part", required_argument, NULL, 'p'},
                                          {"rounds", required_argument, NULL, 'r'},
                                          {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'a': n = strtoul(optarg, NULL, 10); break;
        case 'p': part = strtoul(optarg, NULL, 10); break;
        case 'r': rounds = strtoul(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: bench_parts [--accounts N] [--part P] [--rounds R]\n");
            return 2;
        }
    }
    if (n == 0 || n > CUSTOS_BATCH_MAX_ACCOUNTS || part == 0 || part > n || rounds == 0)
        return 2;

    bench_signer signer;
    bench_signer_init(&signer);
    uint64_t now = bench_unix_now();
    size_t n_parts = (n + part - 1) / part;
    custos_attestation *atts = calloc(n, sizeof *atts);
    parts_set s = {.by_rank = calloc(n, sizeof *s.by_rank),
                   .in_order = calloc(n, sizeof *s.in_order),
                   .n = n,
                   .part = part};
    size_t *sizes = calloc(n_parts, sizeof *sizes);
    double *prep = calloc(rounds, sizeof *prep), *rebuilt = calloc(rounds, sizeof *rebuilt),
           *ratio = calloc(rounds, sizeof *ratio);
    if (atts == NULL || s.by_rank == NULL || s.in_order == NULL || sizes == NULL ||
        prep == NULL || rebuilt == NULL || ratio == NULL)
        return 2;
    for (size_t i = 0; i < n; i++) {
        custos_submission sub;
        bench_make(&signer, "parts", i, n, now, &sub);
        atts[i] = sub.att;
        atts[i].valid_until = now + 3600;
        custos_submission_clear(&sub);
    }
    custos_error err;
    custos_batch batch;
    custos_batch_tree *tree = NULL;
    check(custos_batch_tree_new(BENCH_FEED, atts, n, 1, &batch, &tree, &err), &err,
          "batch tree");
    custos_batch_tree_free(tree);
    /* The quorum's signatures are packed, not checked: two of any bytes. */
    custos_signature sigs[2];
    uint8_t signers[2][CUSTOS_ADDRESS_LEN];
    for (size_t i = 0; i < 2; i++) {
        memset(sigs[i].bytes, (int)(0x70 + i), CUSTOS_SIGNATURE_LEN);
        memset(signers[i], (int)(0xF0 - 0x10 * i), CUSTOS_ADDRESS_LEN);
    }
    s.b = (gw_pub_batch){batch, atts, n, sigs, (const uint8_t(*)[CUSTOS_ADDRESS_LEN])signers, 2};
    gw_pub_prepared *pp = NULL;
    check(gw_pub_prepared_new(&s.b, &pp, &err), &err, "prepared batch");
    for (size_t i = 0; i < n; i++)
        s.by_rank[gw_pub_prepared_rank(pp, i)] = i;
    gw_pub_prepared_free(pp);
    for (size_t r = 0; r < n; r++)
        s.in_order[r] = atts[s.by_rank[r]];

    /* Warm-up, and the reference's calls checked against the figure's. */
    (void)prepared_send(&s, sizes);
    (void)rebuilt_send(&s, sizes);
    for (size_t r = 0; r < rounds; r++) {
        prep[r] = prepared_send(&s, NULL);
        rebuilt[r] = rebuilt_send(&s, NULL);
        ratio[r] = rebuilt[r] / prep[r];
    }
    double prep_m = bench_percentile(prep, rounds, 0.5);
    double rebuilt_m = bench_percentile(rebuilt, rounds, 0.5);
    double ratio_m = bench_percentile(ratio, rounds, 0.5);
    printf("| h | publisher's submitBatchPart calldata for every part of one send: a batch of "
           "%zu accounts in %zu parts of at most %zu, its leaves and tree built once "
           "(gw_pub_prepared_new), 1 thread | %.2f ms per send | %.2f us per account | the "
           "same parts each rebuilding the batch's leaves and tree (gw_pub_batch_part_encode): "
           "%.2f ms per send, %.1fx (median of %zu alternating rounds) |\n",
           n, n_parts, part, prep_m * 1e3, prep_m * 1e6 / (double)n, rebuilt_m * 1e3, ratio_m,
           rounds);

    free(atts);
    free(s.by_rank);
    free(s.in_order);
    free(sizes);
    free(prep);
    free(rebuilt);
    free(ratio);
    bench_signer_free(&signer);
    return 0;
}
