/* Writes the generated seeds of the submission and typed-data targets (signed with the
 * fixed keys the fuzz configuration allow-lists) under the corpus directory given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/typeddata.h"
#include "custos/wire.h"

#include "fuzz_common.h"

static void put(const char *root, const char *target, const char *name, const uint8_t *data,
                size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    fz_write_file(path, data, len);
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
        fz_make_submission(&s, "FUZZ-1", i + 1, cases[i].keys, cases[i].n);
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
    return 0;
}
