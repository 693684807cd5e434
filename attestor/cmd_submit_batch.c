/* submit-batch: sends a batch directory (attest --batch, completed by cosign) to the
 * gateway's SubmitBatch and reports what became of the batch and of each account
 * (docs/rules.md rule 20), each account with its positions. Nothing is sent unless every
 * account file belongs to the batch and the batch has all its accounts. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchcosign.h"
#include "cmd.h"
#include "custos/batch.h"
#include "custos/client.h"
#include "custos/hex.h"
#include "fileio.h"
#include "gwconn.h"
#include "report.h"

/* Largest file of a batch directory read: an account file with its positions. */
#define SB_FILE_MAX (16u << 20)
#define SB_PATH_MAX 4096

typedef struct submit_batch_args {
    const char *dir;
    at_gateway gw;
    at_report_opts out;
} submit_batch_args;

static const clopt submit_batch_options[] = {
    {"dir", "DIR", CLOPT_STR, offsetof(submit_batch_args, dir),
     "the batch directory: batch.json with the quorum's signatures and one 0x<account "
     "id>.json per account (attest --batch, cosign)"},
    {0}};
static const clopt_set submit_batch_sets[] = {
    {submit_batch_options, 0},
    {clopt_gateway_options, offsetof(submit_batch_args, gw)},
    {at_report_options, offsetof(submit_batch_args, out)}};
static const clopt_rule submit_batch_rules[] = {{CLOPT_REQUIRED, {"dir"}, NULL},
                                                {CLOPT_REQUIRED, {"gateway"}, NULL}};
static const clopt_command submit_batch_cmd = {
    .name = "submit-batch",
    .usage = "usage: custos-attestor submit-batch --dir DIR --gateway HOST:PORT\n"
             "         " AT_GATEWAY_USAGE " [--json]",
    .summary = "sends a signed batch directory to the gateway (SubmitBatch) and reports each "
               "account's answer",
    .sets = submit_batch_sets,
    .n_sets = CLOPT_N(submit_batch_sets),
    .rules = submit_batch_rules,
    .n_rules = CLOPT_N(submit_batch_rules)};

/* A batch directory read whole: the batch and each account's attestation. */
typedef struct sb_batch {
    char feed[CUSTOS_FEED_MAX + 1];
    custos_domain domain;
    custos_batch batch;
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    size_t n_sigs;
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_batch_member *accounts;
    size_t n;
} sb_batch;

static custos_rc sb_read(const char *dir, const char *name, char **text, size_t *len,
                         custos_error *err)
{
    char path[SB_PATH_MAX];
    int w = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= sizeof path)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: path too long", dir);
    return at_file_read(path, SB_FILE_MAX, text, len, err);
}

/* One account file: of this batch (its batch digest the batch's), its account not seen. */
static custos_rc sb_account(const char *dir, const char *name, sb_batch *b, custos_error *err)
{
    char *text = NULL;
    size_t len = 0;
    custos_rc rc = sb_read(dir, name, &text, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_batch_account *a = calloc(1, sizeof *a);
    custos_error why;
    custos_error_clear(&why);
    custos_position *ps = NULL;
    size_t n_ps = 0;
    if (a == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    else if (custos_batch_account_import(text, len, a, &why) != CUSTOS_OK ||
             custos_batch_account_positions(text, len, &ps, &n_ps, &why) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: %s", name, why.message);
    free(text);
    uint8_t digest[CUSTOS_HASH_LEN];
    if (rc == CUSTOS_OK) {
        custos_batch_digest(&a->domain, &a->batch, digest);
        if (memcmp(digest, b->digest, CUSTOS_HASH_LEN) != 0 || strcmp(a->feed, b->feed) != 0)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "%s: not an account of this batch (its batch differs)", name);
    }
    for (size_t i = 0; rc == CUSTOS_OK && i < b->n; i++)
        if (memcmp(b->accounts[i].att.account, a->att.account, CUSTOS_HASH_LEN) == 0)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: its account appears twice",
                                  name);
    if (rc == CUSTOS_OK && b->n == b->batch.count)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "%s: more account files than the batch's %" PRIu32 " accounts",
                              dir, b->batch.count);
    if (rc == CUSTOS_OK) {
        custos_batch_member *s = &b->accounts[b->n++];
        s->att = a->att;
        s->positions = ps; /* the gateway checks them against positionsRoot */
        s->n_positions = n_ps;
        ps = NULL;
    }
    free(ps);
    free(a);
    return rc;
}

static custos_rc sb_load(const char *dir, sb_batch *b, custos_error *err)
{
    char *text = NULL;
    size_t len = 0;
    custos_rc rc = sb_read(dir, "batch.json", &text, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_error why;
    custos_error_clear(&why);
    if (custos_batch_import(text, len, b->feed, &b->domain, &b->batch, b->sigs, &b->n_sigs,
                            &why) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "batch.json: %s", why.message);
    free(text);
    if (rc != CUSTOS_OK)
        return rc;
    if (b->batch.count == 0 || b->batch.count > CUSTOS_BATCH_MAX_ACCOUNTS)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "batch.json: count %" PRIu32,
                                b->batch.count);
    custos_batch_digest(&b->domain, &b->batch, b->digest);
    b->accounts = calloc(b->batch.count, sizeof *b->accounts);
    if (b->accounts == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    DIR *d = opendir(dir);
    if (d == NULL)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    while (rc == CUSTOS_OK && (e = readdir(d)) != NULL)
        if (at_batch_is_account_file(e->d_name))
            rc = sb_account(dir, e->d_name, b, err);
    closedir(d);
    if (rc == CUSTOS_OK && b->n != b->batch.count)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "%s: %zu account files for the batch's %" PRIu32
                              " accounts: the gateway needs every one to rebuild its root",
                              dir, b->n, b->batch.count);
    return rc;
}

/* One line (and JSON entry) per account. */
static void sb_report_account(at_report *r, json_t *list, const custos_batch_member *s,
                              const custos_submit_result *res, const custos_error *e)
{
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    if (custos_hex_encode(s->att.account, CUSTOS_HASH_LEN, hex, sizeof hex) != CUSTOS_OK)
        hex[0] = '\0';
    json_t *o = NULL;
    if (e->code != CUSTOS_OK) {
        at_report_line(r, "refused", NULL, "%s %s: %s", hex, custos_reason_name(e->reason),
                       e->message);
        o = json_pack("{s:s, s:s, s:s, s:s}", "account", hex, "state", "REFUSED", "reason",
                      custos_reason_name(e->reason), "detail", e->message);
    } else {
        const char *state = res->state == CUSTOS_STATE_HELD ? "HELD" : "ACCEPTED";
        at_report_line(r, state[0] == 'H' ? "held" : "accepted", NULL,
                       "%s sequence %" PRIu64 "%s, cursor %" PRIu64, hex, s->att.sequence,
                       res->duplicate ? " (duplicate)" : "", res->cursor);
        o = json_pack("{s:s, s:s, s:I, s:I, s:b}", "account", hex, "state", state, "sequence",
                      (json_int_t)s->att.sequence, "cursor", (json_int_t)res->cursor,
                      "duplicate", res->duplicate);
    }
    if (list != NULL && o != NULL)
        json_array_append_new(list, o);
    else
        json_decref(o);
}

int at_cmd_submit_batch(int argc, char **argv)
{
    submit_batch_args a = {0};
    int status;
    if (!at_cmd_args(&submit_batch_cmd, argc, argv, &a, NULL, &status))
        return status;
    sb_batch b;
    memset(&b, 0, sizeof b);
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = sb_load(a.dir, &b, &err);
    if (rc != CUSTOS_OK) {
        at_cmd_error("submit-batch: %s", err.message);
        for (size_t i = 0; i < b.n; i++)
            custos_batch_member_clear(&b.accounts[i]);
        free(b.accounts);
        return AT_EXIT_INPUT;
    }
    custos_submit_result *res = calloc(b.n, sizeof *res);
    custos_error *errs = calloc(b.n, sizeof *errs);
    custos_client *client = NULL;
    bool duplicate = false;
    rc = res != NULL && errs != NULL ? at_gateway_connect(&a.gw, 0, &client, &err)
                                     : custos_error_set(&err, CUSTOS_ERR_NOMEM, "out of memory");
    if (rc == CUSTOS_OK)
        rc = custos_client_submit_batch(client, b.feed, &b.domain, &b.batch, b.sigs, b.n_sigs,
                                        b.accounts, b.n, res, errs, &duplicate, &err);
    custos_client_free(client);

    at_report r;
    status = AT_EXIT_INPUT;
    if (at_report_open(&r, stdout, a.out.json)) {
        char digest[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
        if (custos_hex_encode(b.digest, CUSTOS_HASH_LEN, digest, sizeof digest) != CUSTOS_OK)
            digest[0] = '\0';
        at_report_line(&r, "batch", "batch", "%s", digest);
        at_report_line(&r, "feed", "feed", "%s", b.feed);
        at_report_member(&r, "sequence", json_integer((json_int_t)b.batch.sequence));
        at_report_member(&r, "signatures", json_integer((json_int_t)b.n_sigs));
        if (rc == CUSTOS_ERR_UNAVAILABLE) {
            at_report_unavailable(&r, &err);
            at_cmd_error("submit-batch: %s", err.message);
            status = AT_EXIT_UNREACHABLE;
        } else if (rc == CUSTOS_ERR_REFUSED || rc == CUSTOS_ERR_NOT_FOUND) {
            at_report_refusal(&r, &err);
            status = AT_EXIT_REFUSED;
        } else if (rc != CUSTOS_OK) {
            at_cmd_error("submit-batch: %s", err.message);
        } else {
            json_t *list = a.out.json ? json_array() : NULL;
            size_t refused = 0;
            for (size_t i = 0; i < b.n; i++) {
                sb_report_account(&r, list, &b.accounts[i], &res[i], &errs[i]);
                refused += errs[i].code != CUSTOS_OK;
            }
            if (list != NULL)
                at_report_member(&r, "accounts", list);
            at_report_line(&r, "gateway", NULL, "%zu of %zu accounts taken%s", b.n - refused,
                           b.n, duplicate ? " (the batch was known: duplicate)" : "");
            at_report_member(&r, "duplicate", json_boolean(duplicate));
            /* Some accounts refused: the others are stored, but the caller has work to do. */
            status = refused == 0 ? AT_EXIT_OK : AT_EXIT_REFUSED;
        }
        status = at_report_close(&r, status);
    }
    free(res);
    free(errs);
    for (size_t i = 0; i < b.n; i++)
        custos_batch_member_clear(&b.accounts[i]);
    free(b.accounts);
    return status;
}
