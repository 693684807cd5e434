/* Figures a and b: the cost of libcustos verifying one attestation (protobuf decode,
 * EIP-712 hash, public-key recovery, allow-list, domain, freshness) on one thread, beside
 * a bare libsecp256k1 recovery of the same digest and signature, measured in alternating
 * rounds so machine noise hits both alike; then the same attestations verified by
 * ethers' verifyTypedData in Node, bracketed by libcustos rounds before and after.
 *
 *   bench_verify [--count N] [--rounds R] [--node NODE --ethers-script FILE --dir DIR] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "config/config.h"
#include "custos/eip712.h"
#include "custos/typeddata.h"
#include "custos/wire.h"
#include "verify.h"

typedef struct encoded {
    uint8_t *buf;
    size_t len;
} encoded;

/* Verifications per second: decode each encoded submission, then every rule of
 * gw_verify_submission. Exits if one is refused: the figure would not be a verification. */
static double verify_rate(const gw_verifier *v, const encoded *enc, size_t n, uint64_t now)
{
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++) {
        custos_submission s;
        gw_verified out;
        char detail[256];
        if (custos_submission_decode(enc[i].buf, enc[i].len, &s, NULL) != CUSTOS_OK ||
            gw_verify_submission(v, &s, now, &out, detail, sizeof detail) !=
                CUSTOS_REASON_NONE) {
            fprintf(stderr, "bench_verify: attestation %zu refused: %s\n", i, detail);
            exit(2);
        }
        gw_policy_release(out.policy);
        custos_submission_clear(&s);
    }
    return (double)n / (bench_now() - t0);
}

/* Writes the attestations as eth_signTypedData_v4 documents, one JSON line each. */
static void export_typed_data(const char *path, const custos_submission *subs, size_t n)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    for (size_t i = 0; i < n; i++) {
        char *json = NULL;
        if (custos_typeddata_export(&subs[i], &json, NULL) != CUSTOS_OK) {
            fprintf(stderr, "bench_verify: cannot export attestation %zu\n", i);
            exit(2);
        }
        for (char *p = json; *p != '\0'; p++)
            if (*p == '\n')
                *p = ' ';
        fprintf(f, "%s\n", json);
        free(json);
    }
    fclose(f);
}

/* Runs the Node side and returns the verifications per second it reports. */
static double ethers_rate(const char *node, const char *script, const char *docs,
                          const char *address)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' '%s'", node, script, docs, address);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        perror("popen");
        exit(2);
    }
    double rate = -1;
    char line[256];
    while (fgets(line, sizeof line, p) != NULL)
        if (sscanf(line, "ethers_verify_per_s %lf", &rate) == 1)
            break;
    if (pclose(p) != 0 || rate <= 0) {
        fprintf(stderr, "bench_verify: the ethers run failed\n");
        exit(2);
    }
    return rate;
}

static double median(double *v, size_t n)
{
    return bench_percentile(v, n, 0.5);
}

int main(int argc, char **argv)
{
    size_t count = 2000, rounds = 7;
    const char *node = NULL, *script = NULL, *dir = NULL;
    static const struct option opts[] = {{"count", required_argument, NULL, 'n'},
                                          {"rounds", required_argument, NULL, 'r'},
                                          {"node", required_argument, NULL, 'N'},
                                          {"ethers-script", required_argument, NULL, 'e'},
                                          {"dir", required_argument, NULL, 'd'},
                                          {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'n': count = strtoul(optarg, NULL, 10); break;
        case 'r': rounds = strtoul(optarg, NULL, 10); break;
        case 'N': node = optarg; break;
        case 'e': script = optarg; break;
        case 'd': dir = optarg; break;
        default:
            fprintf(stderr, "usage: bench_verify [--count N] [--rounds R] "
                            "[--node NODE --ethers-script FILE --dir DIR]\n");
            return 2;
        }
    }
    if (count == 0 || rounds == 0)
        return 2;

    bench_signer signer;
    bench_signer_init(&signer);
    uint64_t now = bench_unix_now();
    custos_submission *subs = calloc(count, sizeof *subs);
    encoded *enc = calloc(count, sizeof *enc);
    uint8_t(*digests)[32] = calloc(count, sizeof *digests);
    custos_signature *sigs = calloc(count, sizeof *sigs);
    double *ratio = calloc(rounds, sizeof *ratio), *bare = calloc(rounds, sizeof *bare),
           *lib = calloc(rounds, sizeof *lib);
    if (subs == NULL || enc == NULL || digests == NULL || sigs == NULL || ratio == NULL ||
        bare == NULL || lib == NULL)
        return 2;
    for (size_t i = 0; i < count; i++) {
        bench_make(&signer, "verify", i, count, now, &subs[i]);
        custos_attestation_digest(&subs[i].domain, &subs[i].att, digests[i]);
        sigs[i] = subs[i].sigs[0];
        if (custos_submission_encode(&subs[i], &enc[i].buf, &enc[i].len, NULL) != CUSTOS_OK)
            return 2;
    }

    gw_feed feed;
    memset(&feed, 0, sizeof feed);
    snprintf(feed.name, sizeof feed.name, "%s", BENCH_FEED);
    feed.max_age = 86400;
    feed.max_skew = 300;
    feed.max_ttl = 604800;
    feed.threshold = 1;
    gw_signer allowed;
    memset(&allowed, 0, sizeof allowed);
    memcpy(allowed.address, signer.address, CUSTOS_ADDRESS_LEN);
    snprintf(allowed.feed, sizeof allowed.feed, "%s", BENCH_FEED);
    allowed.role = GW_ROLE_CUSTODIAN;
    allowed.active = true;
    gw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    bench_domain(&cfg.domain);
    cfg.feeds = &feed;
    cfg.n_feeds = 1;
    cfg.signers = &allowed;
    cfg.n_signers = 1;
    /* Rule 9: every account of the set registered to the feed, as an operator would. */
    gw_account *accounts = calloc(count, sizeof *accounts);
    if (accounts == NULL)
        return 2;
    for (size_t i = 0; i < count; i++) {
        bench_account("verify", i, count, accounts[i].account);
        snprintf(accounts[i].feed, sizeof accounts[i].feed, "%s", BENCH_FEED);
    }
    gw_accounts_sort(accounts, count);
    cfg.accounts = accounts;
    cfg.n_accounts = count;
    gw_registry *reg = NULL;
    gw_verifier *v = NULL;
    if (gw_registry_new(&cfg, &reg, NULL) != CUSTOS_OK ||
        gw_verifier_new(&cfg, reg, &v, NULL) != CUSTOS_OK)
        return 2;

    /* Warm-up: thread contexts, caches, CPU frequency. */
    (void)bench_recover_rate((const uint8_t(*)[32])digests, sigs, count / 4 + 1);
    (void)verify_rate(v, enc, count / 4 + 1, now);
    for (size_t r = 0; r < rounds; r++) {
        bare[r] = bench_recover_rate((const uint8_t(*)[32])digests, sigs, count);
        lib[r] = verify_rate(v, enc, count, now);
        ratio[r] = bare[r] / lib[r];
    }
    double bare_m = median(bare, rounds), lib_m = median(lib, rounds),
           ratio_m = median(ratio, rounds);
    printf("| a | bare libsecp256k1 recover, 1 thread | %.0f /s | %.1f us each | reference |\n",
           bare_m, 1e6 / bare_m);
    printf("| a | libcustos verify (decode, EIP-712, recover, allow-list), 1 thread | %.0f /s | "
           "%.1f us each | %.3fx a bare recover (median of %zu alternating rounds of %zu) |\n",
           lib_m, 1e6 / lib_m, ratio_m, rounds, count);

    if (node != NULL && script != NULL && dir != NULL) {
        char docs[4096], addr[CUSTOS_ADDRESS_HEX_LEN];
        snprintf(docs, sizeof docs, "%s/typeddata.jsonl", dir);
        export_typed_data(docs, subs, count);
        custos_address_to_hex(signer.address, addr);
        double before = verify_rate(v, enc, count, now);
        double eth = ethers_rate(node, script, docs, addr);
        double after = verify_rate(v, enc, count, now);
        double libc = (before + after) / 2;
        printf("| b | ethers verifyTypedData, Node, 1 thread | %.0f /s | %.1f us each | "
               "libcustos %.0f /s in the same run (mean of %.0f before and %.0f after): %.1fx "
               "ethers per core |\n",
               eth, 1e6 / eth, libc, before, after, libc / eth);
    }

    gw_verifier_free(v);
    gw_registry_free(reg);
    free(accounts);
    for (size_t i = 0; i < count; i++) {
        custos_submission_clear(&subs[i]);
        free(enc[i].buf);
    }
    free(subs);
    free(enc);
    free(digests);
    free(sigs);
    free(ratio);
    free(bare);
    free(lib);
    bench_signer_free(&signer);
    return 0;
}
