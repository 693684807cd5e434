/* audit: verify-log replays the accepted log (records and collateral notices) and checks
 * every chain link; list, verify and head read the admin audit log (admin certificate) and
 * check its hash chain. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "connect.h"
#include "custos/hex.h"
#include "custos/audit.h"
#include "custos/chain.h"
#include "custos/eip712.h"
#include "custos/notice.h"
#include "jsonout.h"

/* ---- audit verify-log ---- */

typedef struct verify_log_args {
    uint64_t idle;
    const char *head;
    clopt_gateway gw;
} verify_log_args;

static const clopt verify_log_options[] = {
    {"head", "CURSOR:0xHASH", CLOPT_STR, offsetof(verify_log_args, head),
     "a head kept from before (as chain-head prints it) that must still be on the chain"},
    {"idle-timeout-ms", "N", CLOPT_U64, offsetof(verify_log_args, idle),
     "give up after N ms without a record (default 10000)"},
    {0}};
static const clopt_set verify_log_sets[] = {
    {verify_log_options, 0}, {clopt_gateway_options, offsetof(verify_log_args, gw)}};
static const clopt_rule verify_log_rules[] = {CLI_GATEWAY_RULE};
static const clopt_command verify_log_cmd = {
    .name = "audit verify-log",
    .usage = "usage: custos audit verify-log --gateway H:P [--head CURSOR:0xHASH] "
             "[--idle-timeout-ms N]",
    .summary = "replays the accepted log (records and collateral notices), checking every "
               "digest and chain link up to the head; exit status 1 at the first break",
    .sets = verify_log_sets,
    .n_sets = CLOPT_N(verify_log_sets),
    .rules = verify_log_rules,
    .n_rules = CLOPT_N(verify_log_rules)};

/* Replays the log up to head_cursor, recomputing each entry's digest from its fields and
 * each chain link from the one before (docs/attestation.md §13, §19). */
typedef struct chain_check {
    uint64_t kept_cursor;    /* 0: no kept head to check */
    uint8_t kept_hash[CUSTOS_CHAIN_HASH_LEN];
    uint64_t head_cursor;
    uint8_t tip[CUSTOS_CHAIN_HASH_LEN];
    uint64_t records, notices, last_cursor;
    uint64_t broken_at;      /* 0: no break found */
    char why[200];
} chain_check;

static bool chain_broken(chain_check *k, uint64_t cursor, const char *why)
{
    k->broken_at = cursor;
    snprintf(k->why, sizeof k->why, "%s", why);
    return false;
}

static bool on_chain_entry(void *arg, const custos_watch_event *ev)
{
    chain_check *k = arg;
    uint8_t digest[32];
    const uint8_t *stored_digest, *stored_link;
    if (ev->cursor != k->last_cursor + 1)
        return chain_broken(k, k->last_cursor + 1,
                            "the log skips this cursor: an entry was removed");
    k->last_cursor = ev->cursor;
    if (ev->kind == CUSTOS_CHAIN_NOTICE) {
        const custos_stored_notice *n = ev->notice;
        custos_notice_digest(&ev->domain, &n->notice, digest);
        k->notices++;
        stored_digest = n->digest;
        stored_link = n->chain_hash;
    } else {
        const custos_record *rec = ev->record;
        custos_attestation_digest(&rec->sub.domain, &rec->sub.att, digest);
        k->records++;
        stored_digest = rec->digest;
        stored_link = rec->chain_hash;
    }
    if (memcmp(digest, stored_digest, sizeof digest) != 0)
        return chain_broken(k, ev->cursor,
                            ev->kind == CUSTOS_CHAIN_NOTICE
                                ? "the notice's fields do not hash to its digest: the notice "
                                  "was changed"
                                : "the record's fields do not hash to its digest: the "
                                  "attestation was changed");
    if (ev->kind == CUSTOS_CHAIN_NOTICE)
        custos_chain_link_notice(k->tip, ev->cursor, stored_digest, ev->notice->sig.bytes,
                                 k->tip);
    else
        custos_chain_link(k->tip, ev->cursor, stored_digest, k->tip);
    if (memcmp(k->tip, stored_link, CUSTOS_CHAIN_HASH_LEN) != 0)
        return chain_broken(k, ev->cursor,
                            "its chain hash is not the link of the entries before it: the log "
                            "was rewritten at or before this cursor");
    if (ev->cursor == k->kept_cursor &&
        memcmp(k->tip, k->kept_hash, CUSTOS_CHAIN_HASH_LEN) != 0)
        return chain_broken(k, ev->cursor,
                            "the chain hash differs from the kept head: the history up to it "
                            "was rewritten");
    return ev->cursor < k->head_cursor;
}

/* --head CURSOR:0xHASH into k's kept head; false after saying what is wrong. */
static bool parse_kept_head(const char *kept, chain_check *k)
{
    const char *colon = strchr(kept, ':');
    char num[24];
    custos_error herr;
    if (colon == NULL || (size_t)(colon - kept) >= sizeof num) {
        cli_fail("--head: CURSOR:0xHASH expected, as custos chain-head prints them");
        return false;
    }
    memcpy(num, kept, (size_t)(colon - kept));
    num[colon - kept] = '\0';
    if (!clopt_u64(num, &k->kept_cursor)) {
        cli_fail("--head: not an unsigned integer: '%.40s'", num);
        return false;
    }
    if (k->kept_cursor == 0 ||
        custos_hex_decode(colon + 1, k->kept_hash, sizeof k->kept_hash, &herr) != CUSTOS_OK) {
        cli_fail("--head: a cursor above 0 and a 32-byte hash expected");
        return false;
    }
    return true;
}

static int audit_verify_log(int argc, char **argv)
{
    verify_log_args a = {.idle = 10000};
    int status;
    if (!cli_args(&verify_log_cmd, argc, argv, &a, NULL, &status))
        return status;
    chain_check k;
    memset(&k, 0, sizeof k);
    if (a.head != NULL && !parse_kept_head(a.head, &k))
        return EXIT_FAIL;
    if (a.idle == 0 || a.idle > INT32_MAX) {
        cli_fail("--idle-timeout-ms: from 1 to %d", INT32_MAX);
        return EXIT_FAIL;
    }
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    uint8_t head[CUSTOS_CHAIN_HASH_LEN];
    custos_error err;
    custos_rc rc = custos_client_get_chain_head(client, &k.head_cursor, head, &err);
    if (rc == CUSTOS_OK && k.head_cursor > 0)
        rc = custos_client_watch_log(client, 0, (int)a.idle, on_chain_entry, &k, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return cli_exit_for(rc);
    }
    if (k.broken_at == 0 && k.kept_cursor > k.head_cursor) {
        k.broken_at = k.head_cursor + 1;
        snprintf(k.why, sizeof k.why,
                 "the kept head is at cursor %llu, beyond the gateway's head %llu: records "
                 "were removed", (unsigned long long)k.kept_cursor,
                 (unsigned long long)k.head_cursor);
    }
    if (k.broken_at == 0 && k.last_cursor != k.head_cursor) {
        k.broken_at = k.last_cursor + 1;
        snprintf(k.why, sizeof k.why,
                 "the log ends at cursor %llu but the head is %llu: entries are missing",
                 (unsigned long long)k.last_cursor, (unsigned long long)k.head_cursor);
    }
    if (k.broken_at == 0 && memcmp(k.tip, head, sizeof head) != 0) {
        k.broken_at = k.head_cursor;
        snprintf(k.why, sizeof k.why, "the replayed chain does not end at the head's hash");
    }
    json_t *o = json_object();
    bool ok = o != NULL && jo_put(o, "ok", json_boolean(k.broken_at == 0)) &&
              jo_put(o, "records", jo_u64(k.records)) &&
              jo_put(o, "notices", jo_u64(k.notices)) &&
              jo_put(o, "headCursor", jo_u64(k.head_cursor)) &&
              jo_put(o, "headHash", jo_hex(head, sizeof head));
    if (ok && k.broken_at != 0)
        ok = jo_put(o, "brokenAt", jo_u64(k.broken_at)) && jo_put(o, "why", json_string(k.why));
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    if (!jo_emit(o, JSON_INDENT(2)))
        return EXIT_FAIL;
    if (k.broken_at != 0) {
        cli_fail("the accepted chain is broken at cursor %llu: %s",
                 (unsigned long long)k.broken_at, k.why);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* ---- audit list, audit verify ---- */

/* Entries fetched per ListAudit call. */
#define AUDIT_PAGE 1000

typedef struct audit_args {
    uint64_t after;
    const char *expect_head;
    clopt_gateway gw;
} audit_args;

static const clopt audit_list_options[] = {
    {"after", "SEQ", CLOPT_U64, offsetof(audit_args, after),
     "only the entries after this sequence number"},
    {0}};
static const clopt audit_verify_options[] = {
    {"after", "SEQ", CLOPT_REFUSE, 0, "checks the whole log; --after is for audit list"},
    {"expect-head", "SEQ:0xHASH", CLOPT_STR, offsetof(audit_args, expect_head),
     "a head kept from before (audit head, or the gateway's audit_anchor file) that must "
     "still be in the log: removed or replaced entries fail"},
    {0}};
static const clopt audit_head_options[] = {
    {"after", "SEQ", CLOPT_REFUSE, 0, "checks the whole log; --after is for audit list"},
    {0}};
static const clopt_set audit_list_sets[] = {
    {audit_list_options, 0}, {clopt_gateway_options, offsetof(audit_args, gw)}};
static const clopt_set audit_verify_sets[] = {
    {audit_verify_options, 0}, {clopt_gateway_options, offsetof(audit_args, gw)}};
static const clopt_set audit_head_sets[] = {
    {audit_head_options, 0}, {clopt_gateway_options, offsetof(audit_args, gw)}};
static const clopt_rule audit_rules[] = {CLI_GATEWAY_RULE};
static const clopt_command audit_list_cmd = {
    .name = "audit list",
    .usage = "usage: custos audit list --gateway H:P [--after SEQ]",
    .summary = "the audit log (admin certificate), one JSON line per entry",
    .sets = audit_list_sets,
    .n_sets = CLOPT_N(audit_list_sets),
    .rules = audit_rules,
    .n_rules = CLOPT_N(audit_rules)};
static const clopt_command audit_verify_cmd = {
    .name = "audit verify",
    .usage = "usage: custos audit verify --gateway H:P [--expect-head SEQ:0xHASH]",
    .summary = "fetches the whole audit log (admin certificate) and checks its hash chain "
               "and that a kept head is still in it; exit status 1 at the first break",
    .sets = audit_verify_sets,
    .n_sets = CLOPT_N(audit_verify_sets),
    .rules = audit_rules,
    .n_rules = CLOPT_N(audit_rules)};
static const clopt_command audit_head_cmd = {
    .name = "audit head",
    .usage = "usage: custos audit head --gateway H:P",
    .summary = "checks the audit log's hash chain (admin certificate) and prints its head as "
               "SEQ:0xHASH, to keep outside the gateway for audit verify --expect-head",
    .sets = audit_head_sets,
    .n_sets = CLOPT_N(audit_head_sets),
    .rules = audit_rules,
    .n_rules = CLOPT_N(audit_rules)};

static json_t *audit_json(const custos_audit_entry *e)
{
    bool text = true;
    for (size_t i = 0; i < e->payload_len && text; i++)
        text = e->payload[i] == '\n' || (e->payload[i] >= 0x20 && e->payload[i] < 0x7f);
    json_t *o = json_object();
    bool ok = o != NULL && jo_put(o, "seq", jo_u64(e->seq)) &&
              jo_put(o, "time", jo_u64(e->time)) &&
              jo_put(o, "timeIso", jo_iso_time(e->time)) &&
              jo_put(o, "actor", json_string(e->actor)) &&
              jo_put(o, "action", json_string(e->action)) &&
              jo_put(o, "payloadLength", jo_u64(e->payload_len)) &&
              (!text || jo_put(o, "payloadText",
                               json_stringn((const char *)e->payload, e->payload_len))) &&
              jo_put(o, "prevHash", jo_hex(e->prev_hash, CUSTOS_AUDIT_HASH_LEN)) &&
              jo_put(o, "hash", jo_hex(e->hash, CUSTOS_AUDIT_HASH_LEN));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Pages through ListAudit from after_seq; fn sees each page and returns false to stop. */
typedef bool (*audit_page_fn)(void *ctx, const custos_audit_entry *e, size_t n);

static custos_rc audit_fetch(custos_client *client, uint64_t after_seq, audit_page_fn fn,
                             void *ctx, custos_error *err)
{
    for (;;) {
        custos_audit_entry *page = NULL;
        size_t n = 0;
        custos_rc rc = custos_client_list_audit(client, after_seq, AUDIT_PAGE, &page, &n, err);
        if (rc != CUSTOS_OK)
            return rc;
        bool more = n > 0 && fn(ctx, page, n);
        if (n > 0)
            after_seq = page[n - 1].seq;
        custos_audit_entry_list_free(page, n);
        if (!more || n < AUDIT_PAGE)
            return CUSTOS_OK;
    }
}

static bool audit_print_page(void *ctx, const custos_audit_entry *e, size_t n)
{
    bool *failed = ctx;
    for (size_t i = 0; i < n; i++) {
        if (!jo_emit(audit_json(&e[i]), JSON_COMPACT)) {
            *failed = true;
            return false;
        }
    }
    return true;
}

typedef struct audit_check {
    uint64_t seq, entries, broken_at; /* broken_at: 0 when none */
    uint8_t hash[CUSTOS_AUDIT_HASH_LEN];
    uint64_t kept_seq;                /* 0: no kept head to find */
    uint8_t kept_hash[CUSTOS_AUDIT_HASH_LEN];
    bool kept_differs;                /* the entry at kept_seq has another hash */
} audit_check;

static bool audit_check_page(void *ctx, const custos_audit_entry *e, size_t n)
{
    audit_check *k = ctx;
    size_t good = custos_audit_verify(k->seq, k->hash, e, n);
    for (size_t i = 0; i < good; i++) {
        if (e[i].seq == k->kept_seq &&
            memcmp(e[i].hash, k->kept_hash, CUSTOS_AUDIT_HASH_LEN) != 0) {
            k->kept_differs = true;
            k->broken_at = e[i].seq;
            good = i;
        }
    }
    k->entries += good;
    if (good > 0) {
        k->seq = e[good - 1].seq;
        memcpy(k->hash, e[good - 1].hash, sizeof k->hash);
    }
    if (good < n) {
        k->broken_at = e[good].seq > 0 ? e[good].seq : k->seq + 1;
        return false;
    }
    return true;
}

static int audit_list(int argc, char **argv)
{
    audit_args a = {0};
    int status;
    if (!cli_args(&audit_list_cmd, argc, argv, &a, NULL, &status))
        return status;
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    custos_error err;
    bool failed = false;
    custos_rc rc = audit_fetch(client, a.after, audit_print_page, &failed, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return cli_exit_for(rc);
    }
    return failed ? EXIT_FAIL : EXIT_OK;
}

/* SEQ:0xHASH into k's kept head; false after saying what is wrong. */
static bool parse_expect_head(const char *text, audit_check *k)
{
    const char *colon = strchr(text, ':');
    char num[24];
    custos_error herr;
    if (colon == NULL || (size_t)(colon - text) >= sizeof num) {
        cli_fail("--expect-head: SEQ:0xHASH expected, as custos audit head prints them");
        return false;
    }
    memcpy(num, text, (size_t)(colon - text));
    num[colon - text] = '\0';
    if (!clopt_u64(num, &k->kept_seq) || k->kept_seq == 0 ||
        custos_hex_decode(colon + 1, k->kept_hash, sizeof k->kept_hash, &herr) != CUSTOS_OK) {
        cli_fail("--expect-head: a sequence number above 0 and a 32-byte hash expected");
        return false;
    }
    return true;
}

/* Fetches and checks the whole log into k (its kept head already set). */
static int audit_check_all(const clopt_gateway *gw, audit_check *k)
{
    custos_client *client;
    int status = cli_connect(gw, &client);
    if (status != EXIT_OK)
        return status;
    custos_error err;
    custos_rc rc = audit_fetch(client, 0, audit_check_page, k, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return cli_exit_for(rc);
    }
    return EXIT_OK;
}

static int audit_verify(int argc, char **argv)
{
    audit_args a = {0};
    int status;
    if (!cli_args(&audit_verify_cmd, argc, argv, &a, NULL, &status))
        return status;
    audit_check k;
    memset(&k, 0, sizeof k);
    if (a.expect_head != NULL && !parse_expect_head(a.expect_head, &k))
        return EXIT_FAIL;
    status = audit_check_all(&a.gw, &k);
    if (status != EXIT_OK)
        return status;
    bool truncated = k.broken_at == 0 && k.kept_seq > k.seq;
    json_t *o = json_object();
    bool ok = o != NULL &&
              jo_put(o, "ok", json_boolean(k.broken_at == 0 && !truncated)) &&
              jo_put(o, "entries", jo_u64(k.entries)) && jo_put(o, "headSeq", jo_u64(k.seq)) &&
              jo_put(o, "headHash", jo_hex(k.hash, sizeof k.hash));
    if (ok && k.broken_at != 0)
        ok = jo_put(o, "brokenAt", jo_u64(k.broken_at));
    if (ok && truncated)
        ok = jo_put(o, "missingFrom", jo_u64(k.seq + 1));
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    if (!jo_emit(o, JSON_INDENT(2)))
        return EXIT_FAIL;
    if (k.kept_differs) {
        cli_fail("the audit log differs from the expected head at entry %llu: the entries up "
                 "to it were replaced", (unsigned long long)k.broken_at);
        return EXIT_FAIL;
    }
    if (k.broken_at != 0) {
        cli_fail("the audit log is broken at entry %llu: its sequence number, prev_hash or hash "
                 "does not follow from the entries before it",
                 (unsigned long long)k.broken_at);
        return EXIT_FAIL;
    }
    if (truncated) {
        cli_fail("the audit log ends at entry %llu but the expected head is entry %llu: the "
                 "newest entries were removed", (unsigned long long)k.seq,
                 (unsigned long long)k.kept_seq);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static int audit_head(int argc, char **argv)
{
    audit_args a = {0};
    int status;
    if (!cli_args(&audit_head_cmd, argc, argv, &a, NULL, &status))
        return status;
    audit_check k;
    memset(&k, 0, sizeof k);
    status = audit_check_all(&a.gw, &k);
    if (status != EXIT_OK)
        return status;
    if (k.broken_at != 0) {
        cli_fail("the audit log is broken at entry %llu: no head to keep (see audit verify)",
                 (unsigned long long)k.broken_at);
        return EXIT_FAIL;
    }
    char hex[CUSTOS_HEX_LEN(CUSTOS_AUDIT_HASH_LEN)];
    char head[128];
    if (custos_hex_encode(k.hash, sizeof k.hash, hex, sizeof hex) != CUSTOS_OK) {
        cli_fail("cannot encode the head's hash");
        return EXIT_FAIL;
    }
    snprintf(head, sizeof head, "%llu:%s", (unsigned long long)k.seq, hex);
    json_t *o = json_object();
    bool ok = o != NULL && jo_put(o, "head", json_string(head)) &&
              jo_put(o, "seq", jo_u64(k.seq)) && jo_put(o, "hash", json_string(hex));
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    return jo_emit(o, JSON_INDENT(2)) ? EXIT_OK : EXIT_FAIL;
}

int cli_audit(int argc, char **argv)
{
    static const clopt_entry subs[] = {{"list", audit_list, &audit_list_cmd},
                                       {"verify", audit_verify, &audit_verify_cmd},
                                       {"verify-log", audit_verify_log, &verify_log_cmd},
                                       {"head", audit_head, &audit_head_cmd},
                                       {NULL, NULL, NULL}};
    return clopt_group("custos", subs, cli_usage, argc, argv);
}
