/* custos: the borrower's and operator's command line. Queries a gateway (latest attestation,
 * watch, signers, health, chain head), checks a gateway's accepted chain, and verifies
 * exported attestations offline. Output is JSON. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "custos/attestation.h"
#include "custos/audit.h"
#include "custos/chain.h"
#include "custos/client.h"
#include "custos/eip712.h"
#include "custos/hex.h"
#include "custos/merkle.h"
#include "custos/reserves.h"
#include "custos/sig.h"
#include "custos/typeddata.h"
#include "custos/u256.h"

enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,        /* bad input, failed verification, local error */
    EXIT_NEGATIVE = 2,    /* no attestation for the account, or the gateway is not serving */
    EXIT_UNREACHABLE = 3  /* the gateway could not be reached */
};

static const char usage[] =
    "usage: custos COMMAND [OPTIONS]\n"
    "  get-latest --gateway H:P (--account 0xHEX | --custodian ID --ref REF)\n"
    "                               the latest accepted attestation of an account\n"
    "  watch --gateway H:P [--after N] [--count N] [--idle-timeout-ms N]\n"
    "                               accepted attestations, one JSON line each\n"
    "  held --gateway H:P [--account 0xHEX]\n"
    "                               attestations the circuit breaker holds, one JSON line\n"
    "                               each\n"
    "  signers --gateway H:P        the signer allow-list\n"
    "  health --gateway H:P         exit 0 when the gateway is serving\n"
    "  chain-head --gateway H:P     the head (cursor, hash) of the accepted chain\n"
    "  audit verify-log --gateway H:P [--head CURSOR:0xHASH] [--idle-timeout-ms N]\n"
    "                               replays the accepted log and checks every chain link\n"
    "                               and digest up to the head (and a head kept from\n"
    "                               before); exit 1 at the first break\n"
    "  audit list --gateway H:P [--after SEQ]\n"
    "                               the audit log (admin certificate), one JSON line each\n"
    "  audit verify --gateway H:P   fetches the whole audit log (admin certificate) and\n"
    "                               checks its hash chain; exit 1 at the first break\n"
    "  admin add-signer --gateway H:P --address 0x.. --feed NAME --role ROLE\n"
    "  admin revoke-signer --gateway H:P --address 0x.. --feed NAME\n"
    "  admin rotate-signer --gateway H:P --old 0x.. --new 0x.. --feed NAME --overlap S\n"
    "  admin release-held --gateway H:P --digest 0x.. --note TEXT\n"
    "  admin set-feed-policy --gateway H:P --feed NAME --max-age S --max-skew S\n"
    "                        --max-ttl S --threshold N --distinct-roles true|false\n"
    "                               change the allow-list (admin certificate); prints the\n"
    "                               audit entry's seq\n"
    "  get-proof --gateway H:P (--account 0xHEX | --custodian ID --ref REF) --asset ID\n"
    "                               one position of the latest attestation, with its\n"
    "                               Merkle proof (input of verify-proof)\n"
    "  get-reserves --gateway H:P --feed NAME\n"
    "                               the feed's latest reserves attestation (summary)\n"
    "  get-reserves-proof --gateway H:P --feed NAME\n"
    "                     (--account 0xHEX | --custodian ID --ref REF)\n"
    "                               the account's leaf of it with its Merkle proof (input\n"
    "                               of verify-reserves-proof)\n"
    "  verify FILE.json             offline: digest and recovered signers of an export\n"
    "  verify-proof FILE.json [--root 0xHEX]\n"
    "                               offline: the position hashes to the leaf and the proof\n"
    "                               leads to the root (and the root is the one you trust)\n"
    "  verify-reserves-proof FILE.json --signer 0xADDR\n"
    "                               offline: the account is counted in a reserves\n"
    "                               attestation signed by that custodian key\n"
    "gateway commands take TLS options: --tls-ca FILE (CA of the gateway's certificate;\n"
    "  default: the system's roots), --tls-cert FILE --tls-key FILE (client certificate),\n"
    "  or --insecure for a plaintext gateway ([tls] insecure = true)\n"
    "exit status: 0 ok, 1 error or failed verification, 2 not found or not serving,\n"
    "             3 gateway unreachable\n";

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    fputs("custos: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int exit_for(custos_rc rc)
{
    return rc == CUSTOS_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_FAIL;
}

static bool parse_u64(const char *flag, const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0') {
        fail("%s: not an unsigned integer: '%.40s'", flag, text);
        return false;
    }
    *out = v;
    return true;
}

/* ---- JSON building: every helper returns NULL only when out of memory. ---- */

/* json_int_t is signed 64-bit; larger values go out as decimal strings. */
static json_t *j_u64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return json_integer((json_int_t)v);
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return json_string(buf);
}

static json_t *j_hex(const uint8_t *data, size_t len)
{
    char buf[2 + 2 * CUSTOS_SIGNATURE_LEN + 1];
    if (len > CUSTOS_SIGNATURE_LEN || custos_hex_encode(data, len, buf, sizeof buf) != CUSTOS_OK)
        return NULL;
    return json_string(buf);
}

static json_t *j_address(const uint8_t addr[CUSTOS_ADDRESS_LEN])
{
    char buf[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(addr, buf);
    return json_string(buf);
}

static json_t *j_iso_time(uint64_t t)
{
    struct tm tm;
    time_t tt = (time_t)t;
    char buf[32];
    if ((uint64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return json_null();
    return json_string(buf);
}

static json_t *j_raw(const custos_u256 *v)
{
    char buf[CUSTOS_U256_DEC_MAX];
    if (custos_u256_to_dec(v, buf, sizeof buf) != CUSTOS_OK)
        return NULL;
    return json_string(buf);
}

static json_t *j_usd(const custos_u256 *v)
{
    char buf[CUSTOS_U256_DEC_MAX];
    if (custos_fixed_format(v, CUSTOS_MONEY_DECIMALS, buf, sizeof buf) != CUSTOS_OK)
        return NULL;
    return json_string(buf);
}

static const char *kind_name(uint8_t kind)
{
    switch (kind) {
    case CUSTOS_KIND_VALUATION: return "valuation";
    case CUSTOS_KIND_RELEASE: return "release";
    case CUSTOS_KIND_FREEZE: return "freeze";
    }
    return "unknown";
}

static const char *state_name(custos_state s)
{
    switch (s) {
    case CUSTOS_STATE_PENDING: return "PENDING";
    case CUSTOS_STATE_ACCEPTED: return "ACCEPTED";
    case CUSTOS_STATE_HELD: return "HELD";
    case CUSTOS_STATE_UNSPECIFIED: break;
    }
    return "UNSPECIFIED";
}

/* Adds key: v to o; a NULL v (allocation failure) makes the whole object fail. */
static bool put(json_t *o, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(o, key, v) == 0;
}

/* The attestation fields shared by a gateway record and an offline verification. */
static bool put_submission(json_t *o, const custos_submission *s)
{
    const custos_attestation *a = &s->att;
    return put(o, "feed", json_string(s->feed)) &&
           put(o, "chainId", j_u64(s->domain.chain_id)) &&
           put(o, "verifyingContract", j_address(s->domain.verifying_contract)) &&
           put(o, "account", j_hex(a->account, CUSTOS_HASH_LEN)) &&
           put(o, "beneficiary", j_address(a->beneficiary)) &&
           put(o, "kind", json_string(kind_name(a->kind))) &&
           put(o, "grossValue", j_raw(&a->gross_value)) &&
           put(o, "grossValueUsd", j_usd(&a->gross_value)) &&
           put(o, "collateralValue", j_raw(&a->collateral_value)) &&
           put(o, "collateralValueUsd", j_usd(&a->collateral_value)) &&
           put(o, "asOf", j_u64(a->as_of)) && put(o, "asOfIso", j_iso_time(a->as_of)) &&
           put(o, "validUntil", j_u64(a->valid_until)) &&
           put(o, "validUntilIso", j_iso_time(a->valid_until)) &&
           put(o, "sequence", j_u64(a->sequence)) &&
           put(o, "positionsRoot", j_hex(a->positions_root, CUSTOS_HASH_LEN)) &&
           put(o, "positions", j_u64(s->n_positions));
}

static json_t *record_json(const custos_record *r)
{
    json_t *o = json_object();
    json_t *signers = json_array();
    bool ok = o != NULL && signers != NULL;
    for (size_t i = 0; ok && i < r->n_signers; i++)
        ok = json_array_append_new(signers, j_address(r->signers[i])) == 0;
    ok = ok && put(o, "cursor", j_u64(r->cursor)) &&
         put(o, "state", json_string(state_name(r->state))) &&
         put(o, "digest", j_hex(r->digest, 32)) &&
         put(o, "acceptedAt", j_u64(r->accepted_at)) &&
         put(o, "chainHash", j_hex(r->chain_hash, CUSTOS_CHAIN_HASH_LEN)) &&
         put_submission(o, &r->sub) && put(o, "signers", json_incref(signers));
    json_decref(signers);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Prints v (consumed) and a newline; false when out of memory or stdout failed. */
static bool emit(json_t *v, size_t flags)
{
    if (v == NULL) {
        fail("out of memory");
        return false;
    }
    int rc = json_dumpf(v, stdout, flags);
    json_decref(v);
    if (rc != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        fail("cannot write to standard output");
        return false;
    }
    return true;
}

/* ---- gateway commands ---- */

/* getopt codes of the connection flags every gateway command takes. */
enum { OPT_TLS_CA = 1000, OPT_TLS_CERT, OPT_TLS_KEY, OPT_INSECURE };
#define CONN_OPTIONS                                                                         \
    {"tls-ca", required_argument, NULL, OPT_TLS_CA},                                       \
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},                               \
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},                                 \
        {"insecure", no_argument, NULL, OPT_INSECURE}

/* Takes a connection flag into o; false when c is not one. */
static bool conn_flag(int c, custos_client_options *o)
{
    switch (c) {
    case OPT_TLS_CA: o->ca_file = optarg; return true;
    case OPT_TLS_CERT: o->cert_file = optarg; return true;
    case OPT_TLS_KEY: o->key_file = optarg; return true;
    case OPT_INSECURE: o->insecure = true; return true;
    }
    return false;
}

/* The account a command names: --account 0xHEX, or --custodian ID with --ref REF (the id
 * is keccak256(abi.encode(custodian, ref)), as the attestor derives it). */
typedef struct account_flags {
    const char *account, *custodian, *ref;
} account_flags;

#define ACCOUNT_OPTIONS                                                                     \
    {"account", required_argument, NULL, 'a'}, {"custodian", required_argument, NULL, 'c'},  \
        {"ref", required_argument, NULL, 'r'}

/* Takes an account flag into a; false when c is not one. */
static bool account_flag(int c, account_flags *a)
{
    switch (c) {
    case 'a': a->account = optarg; return true;
    case 'c': a->custodian = optarg; return true;
    case 'r': a->ref = optarg; return true;
    }
    return false;
}

/* Fills id from exactly one of the two forms; false (after saying why) otherwise. */
static bool account_resolve(const char *cmd, const account_flags *a, uint8_t id[CUSTOS_HASH_LEN])
{
    bool by_ref = a->custodian != NULL && a->ref != NULL;
    if ((a->account != NULL) == (a->custodian != NULL || a->ref != NULL) ||
        (a->account == NULL && !by_ref)) {
        fail("%s: give either --account 0xHEX or both --custodian ID and --ref REF\n%s", cmd,
             usage);
        return false;
    }
    if (by_ref) {
        custos_account_id(a->custodian, a->ref, id);
        return true;
    }
    custos_error err;
    if (custos_hex_decode(a->account, id, CUSTOS_HASH_LEN, &err) != CUSTOS_OK) {
        fail("--account: '%.80s': %s", a->account, err.message);
        return false;
    }
    return true;
}

static int gw_connect(const char *gateway, custos_client_options *o, custos_client **client)
{
    if (gateway == NULL) {
        fail("--gateway HOST:PORT is required\n%s", usage);
        return EXIT_FAIL;
    }
    o->target = gateway;
    custos_error err;
    custos_rc rc = custos_client_open(o, client, &err);
    if (rc != CUSTOS_OK) {
        fail("cannot use gateway %s: %s", gateway, err.message);
        return exit_for(rc);
    }
    return EXIT_OK;
}

static int cmd_get_latest(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'}, ACCOUNT_OPTIONS, CONN_OPTIONS, {0, 0, 0, 0}};
    const char *gateway = NULL;
    account_flags acct = {0};
    custos_client_options conn = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (conn_flag(c, &conn) || account_flag(c, &acct))
            continue;
        switch (c) {
        case 'g': gateway = optarg; break;
        default: fputs(usage, stderr); return EXIT_FAIL;
        }
    }
    if (optind != argc) {
        fail("get-latest: unexpected argument '%s'\n%s", argv[optind], usage);
        return EXIT_FAIL;
    }
    uint8_t id[CUSTOS_HASH_LEN];
    if (!account_resolve("get-latest", &acct, id))
        return EXIT_FAIL;
    custos_error err;
    custos_client *client;
    int status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_rc rc = custos_client_get_latest(client, id, &rec, &err);
    custos_client_free(client);
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        fail("%s", err.message);
        return EXIT_NEGATIVE;
    }
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return exit_for(rc);
    }
    bool ok = emit(record_json(&rec), JSON_INDENT(2));
    custos_record_clear(&rec);
    return ok ? EXIT_OK : EXIT_FAIL;
}

static int cmd_held(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'}, {"account", required_argument, NULL, 'a'},
        CONN_OPTIONS, {0, 0, 0, 0}};
    const char *gateway = NULL, *account = NULL;
    custos_client_options conn = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (conn_flag(c, &conn))
            continue;
        switch (c) {
        case 'g': gateway = optarg; break;
        case 'a': account = optarg; break;
        default: fputs(usage, stderr); return EXIT_FAIL;
        }
    }
    if (optind != argc) {
        fail("held: unexpected argument '%.80s'\n%s", argv[optind], usage);
        return EXIT_FAIL;
    }
    uint8_t id[CUSTOS_HASH_LEN];
    custos_error err;
    if (account != NULL && custos_hex_decode(account, id, sizeof id, &err) != CUSTOS_OK) {
        fail("--account: '%.80s': %s", account, err.message);
        return EXIT_FAIL;
    }
    custos_client *client;
    int status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    custos_record *recs = NULL;
    size_t n = 0;
    custos_rc rc = custos_client_list_held(client, account != NULL ? id : NULL, &recs, &n, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return exit_for(rc);
    }
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        ok = ok && emit(record_json(&recs[i]), JSON_COMPACT);
    custos_record_list_free(recs, n);
    return ok ? EXIT_OK : EXIT_FAIL;
}

/* The position proof as JSON: field names and encodings are those of the attestation
 * export, and position + leafTypes are the StandardMerkleTree value and types. */
static json_t *proof_json(const custos_position_proof *p)
{
    json_t *o = json_object();
    json_t *pos = json_object();
    json_t *proof = json_array();
    bool ok = o != NULL && pos != NULL && proof != NULL;
    for (size_t i = 0; ok && i < p->n_proof; i++)
        ok = json_array_append_new(proof, j_hex(p->proof[i], 32)) == 0;
    ok = ok && put(pos, "assetId", json_string(p->position.asset_id)) &&
         put(pos, "quantity", j_raw(&p->position.quantity)) &&
         put(pos, "price", j_raw(&p->position.price)) &&
         put(pos, "value", j_raw(&p->position.value)) &&
         put(pos, "haircutBps", json_integer(p->position.haircut_bps));
    ok = ok && put(o, "account", j_hex(p->account, CUSTOS_HASH_LEN)) &&
         put(o, "feed", json_string(p->feed)) &&
         put(o, "digest", j_hex(p->digest, CUSTOS_HASH_LEN)) &&
         put(o, "sequence", j_u64(p->sequence)) && put(o, "asOf", j_u64(p->as_of)) &&
         put(o, "leafTypes", json_string(CUSTOS_POSITION_LEAF_TYPES)) &&
         put(o, "position", json_incref(pos)) && put(o, "leaf", j_hex(p->leaf, 32)) &&
         put(o, "proof", json_incref(proof)) && put(o, "root", j_hex(p->root, 32));
    json_decref(pos);
    json_decref(proof);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int cmd_get_proof(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'}, ACCOUNT_OPTIONS,
        {"asset", required_argument, NULL, 's'},   CONN_OPTIONS,
        {0, 0, 0, 0}};
    const char *gateway = NULL, *asset = NULL;
    account_flags acct = {0};
    custos_client_options conn = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (conn_flag(c, &conn) || account_flag(c, &acct))
            continue;
        switch (c) {
        case 'g': gateway = optarg; break;
        case 's': asset = optarg; break;
        default: fputs(usage, stderr); return EXIT_FAIL;
        }
    }
    if (optind != argc) {
        fail("get-proof: unexpected argument '%s'\n%s", argv[optind], usage);
        return EXIT_FAIL;
    }
    uint8_t id[CUSTOS_HASH_LEN];
    if (!account_resolve("get-proof", &acct, id))
        return EXIT_FAIL;
    if (asset == NULL || asset[0] == '\0' || strlen(asset) > CUSTOS_ASSET_ID_MAX) {
        fail("get-proof: --asset ID (1 to %d characters, e.g. an ISIN) is required",
             CUSTOS_ASSET_ID_MAX);
        return EXIT_FAIL;
    }
    custos_error err;
    custos_client *client;
    int status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    custos_position_proof *p = malloc(sizeof *p);
    if (p == NULL) {
        custos_client_free(client);
        fail("out of memory");
        return EXIT_FAIL;
    }
    custos_rc rc = custos_client_get_position_proof(client, id, asset, p, &err);
    custos_client_free(client);
    bool ok = rc == CUSTOS_OK && emit(proof_json(p), JSON_INDENT(2));
    free(p);
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        fail("%s", err.message);
        return EXIT_NEGATIVE;
    }
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return exit_for(rc);
    }
    return ok ? EXIT_OK : EXIT_FAIL;
}

/* The signed summary in the field names of custos-attestor reserves' reserves.json. */
static json_t *reserves_summary_json(const custos_reserves_summary *s)
{
    char contract[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(s->domain.verifying_contract, contract);
    json_t *o = json_object();
    bool ok = o != NULL && put(o, "type", json_string(CUSTOS_RESERVES_TYPE)) &&
              put(o, "feed", json_string(s->feed)) &&
              put(o, "feedId", j_hex(s->r.feed_id, 32)) &&
              put(o, "chainId", j_u64(s->domain.chain_id)) &&
              put(o, "verifyingContract", json_string(contract)) &&
              put(o, "totalCollateral", j_raw(&s->r.total_collateral)) &&
              put(o, "accounts", j_u64(s->r.accounts)) &&
              put(o, "accountsRoot", j_hex(s->r.accounts_root, 32)) &&
              put(o, "asOf", j_u64(s->r.as_of)) && put(o, "sequence", j_u64(s->r.sequence)) &&
              put(o, "digest", j_hex(s->digest, 32)) &&
              put(o, "signature", j_hex(s->sig.bytes, CUSTOS_SIGNATURE_LEN));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int cmd_get_reserves(int argc, char **argv)
{
    static const struct option opts[] = {{"gateway", required_argument, NULL, 'g'},
                                         {"feed", required_argument, NULL, 'f'}, CONN_OPTIONS,
                                         {0, 0, 0, 0}};
    const char *gateway = NULL, *feed = NULL;
    custos_client_options conn = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (conn_flag(c, &conn))
            continue;
        switch (c) {
        case 'g': gateway = optarg; break;
        case 'f': feed = optarg; break;
        default: fputs(usage, stderr); return EXIT_FAIL;
        }
    }
    if (optind != argc || feed == NULL) {
        fail("get-reserves: --feed NAME is required\n%s", usage);
        return EXIT_FAIL;
    }
    custos_client *client;
    int status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    custos_reserves_summary sum;
    custos_error err;
    custos_rc rc = custos_client_get_reserves(client, feed, &sum, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return rc == CUSTOS_ERR_NOT_FOUND ? EXIT_NEGATIVE : exit_for(rc);
    }
    json_t *o = reserves_summary_json(&sum);
    bool ok = o != NULL && put(o, "signer", j_address(sum.signer)) &&
              put(o, "acceptedAt", j_u64(sum.accepted_at));
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    return emit(o, JSON_INDENT(2)) ? EXIT_OK : EXIT_FAIL;
}

/* Writes the same JSON as custos-attestor reserves' per-account proof file (accountRef
 * only when the account was named by --custodian/--ref). */
static int cmd_get_reserves_proof(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'}, {"feed", required_argument, NULL, 'f'},
        ACCOUNT_OPTIONS, CONN_OPTIONS, {0, 0, 0, 0}};
    const char *gateway = NULL, *feed = NULL;
    account_flags acct = {0};
    custos_client_options conn = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (conn_flag(c, &conn) || account_flag(c, &acct))
            continue;
        switch (c) {
        case 'g': gateway = optarg; break;
        case 'f': feed = optarg; break;
        default: fputs(usage, stderr); return EXIT_FAIL;
        }
    }
    if (optind != argc || feed == NULL) {
        fail("get-reserves-proof: give --feed NAME and the account\n%s", usage);
        return EXIT_FAIL;
    }
    uint8_t id[CUSTOS_HASH_LEN];
    if (!account_resolve("get-reserves-proof", &acct, id))
        return EXIT_FAIL;
    custos_error err;
    custos_client *client;
    int status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    custos_reserves_inclusion *p = malloc(sizeof *p);
    if (p == NULL) {
        custos_client_free(client);
        fail("out of memory");
        return EXIT_FAIL;
    }
    custos_rc rc = custos_client_get_reserves_proof(client, feed, id, p, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        free(p);
        fail("%s", err.message);
        return rc == CUSTOS_ERR_NOT_FOUND ? EXIT_NEGATIVE : exit_for(rc);
    }
    json_t *o = reserves_summary_json(&p->summary);
    json_t *arr = json_array();
    bool ok = o != NULL && arr != NULL;
    for (size_t i = 0; ok && i < p->n_proof; i++)
        ok = json_array_append_new(arr, j_hex(p->proof[i], 32)) == 0;
    ok = ok && put(o, "account", j_hex(p->entry.account, 32)) &&
         (acct.account != NULL || put(o, "accountRef", json_string(acct.ref))) &&
         put(o, "collateralValue", j_raw(&p->entry.collateral_value)) &&
         put(o, "leafTypes", json_string(CUSTOS_RESERVES_LEAF_TYPES)) &&
         put(o, "leaf", j_hex(p->leaf, 32)) && put(o, "proof", json_incref(arr));
    json_decref(arr);
    free(p);
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    return emit(o, JSON_INDENT(2)) ? EXIT_OK : EXIT_FAIL;
}

typedef struct watch_ctx {
    uint64_t remaining; /* 0: no limit */
    bool failed;
} watch_ctx;

static bool on_record(void *arg, const custos_record *rec)
{
    watch_ctx *w = arg;
    if (!emit(record_json(rec), JSON_COMPACT)) {
        w->failed = true;
        return false;
    }
    if (w->remaining == 0)
        return true;
    return --w->remaining > 0;
}

static int cmd_watch(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'}, {"after", required_argument, NULL, 'a'},
        {"count", required_argument, NULL, 'n'},
        {"idle-timeout-ms", required_argument, NULL, 't'}, CONN_OPTIONS, {0, 0, 0, 0}};
    const char *gateway = NULL;
    uint64_t after = 0, count = 0, idle = 0;
    custos_client_options conn = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (conn_flag(c, &conn))
            continue;
        switch (c) {
        case 'g': gateway = optarg; break;
        case 'a': if (!parse_u64("--after", optarg, &after)) return EXIT_FAIL; break;
        case 'n': if (!parse_u64("--count", optarg, &count)) return EXIT_FAIL; break;
        case 't': if (!parse_u64("--idle-timeout-ms", optarg, &idle)) return EXIT_FAIL; break;
        default: fputs(usage, stderr); return EXIT_FAIL;
        }
    }
    if (optind != argc) {
        fail("watch: unexpected argument '%s'\n%s", argv[optind], usage);
        return EXIT_FAIL;
    }
    if (idle > INT32_MAX) {
        fail("--idle-timeout-ms: at most %d", INT32_MAX);
        return EXIT_FAIL;
    }
    custos_client *client;
    int status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    watch_ctx w = {count, false};
    custos_error err;
    custos_rc rc = custos_client_watch(client, after, (int)idle, on_record, &w, &err);
    custos_client_free(client);
    if (w.failed)
        return EXIT_FAIL;
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return exit_for(rc);
    }
    return EXIT_OK;
}

static int gateway_only(int argc, char **argv, const char **gateway, custos_client_options *conn)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'}, CONN_OPTIONS, {0, 0, 0, 0}};
    int c;
    *gateway = NULL;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (conn_flag(c, conn))
            continue;
        if (c != 'g') {
            fputs(usage, stderr);
            return EXIT_FAIL;
        }
        *gateway = optarg;
    }
    if (optind != argc) {
        fail("unexpected argument '%s'\n%s", argv[optind], usage);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static int cmd_signers(int argc, char **argv)
{
    const char *gateway;
    custos_client *client;
    custos_client_options conn = {0};
    int status = gateway_only(argc, argv, &gateway, &conn);
    if (status == EXIT_OK)
        status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    custos_signer_info *signers;
    size_t n;
    custos_error err;
    custos_rc rc = custos_client_list_signers(client, &signers, &n, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return exit_for(rc);
    }
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        json_t *o = json_object();
        ok = o != NULL && put(o, "address", j_address(signers[i].address)) &&
             put(o, "feed", json_string(signers[i].feed)) &&
             put(o, "role", json_string(signers[i].role)) &&
             put(o, "active", json_boolean(signers[i].active)) &&
             (signers[i].not_after == 0 || put(o, "notAfter", j_u64(signers[i].not_after))) &&
             json_array_append(arr, o) == 0;
        json_decref(o);
    }
    custos_signer_list_free(signers, n);
    if (!ok) {
        json_decref(arr);
        arr = NULL;
    }
    return emit(arr, JSON_INDENT(2)) ? EXIT_OK : EXIT_FAIL;
}

static int cmd_chain_head(int argc, char **argv)
{
    const char *gateway;
    custos_client *client;
    custos_client_options conn = {0};
    int status = gateway_only(argc, argv, &gateway, &conn);
    if (status == EXIT_OK)
        status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    uint64_t cursor;
    uint8_t hash[CUSTOS_CHAIN_HASH_LEN];
    custos_error err;
    custos_rc rc = custos_client_get_chain_head(client, &cursor, hash, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return exit_for(rc);
    }
    json_t *o = json_object();
    if (o != NULL && !(put(o, "cursor", j_u64(cursor)) &&
                       put(o, "chainHash", j_hex(hash, CUSTOS_CHAIN_HASH_LEN)))) {
        json_decref(o);
        o = NULL;
    }
    return emit(o, JSON_INDENT(2)) ? EXIT_OK : EXIT_FAIL;
}

/* Replays the log up to head_cursor, recomputing each record's digest from its fields and
 * each chain link from the one before. */
typedef struct chain_check {
    uint64_t kept_cursor;    /* 0: no kept head to check */
    uint8_t kept_hash[CUSTOS_CHAIN_HASH_LEN];
    uint64_t head_cursor;
    uint8_t tip[CUSTOS_CHAIN_HASH_LEN];
    uint64_t records, last_cursor;
    uint64_t broken_at;      /* 0: no break found */
    char why[200];
} chain_check;

static bool on_chain_record(void *arg, const custos_record *rec)
{
    chain_check *k = arg;
    uint8_t digest[32];
    custos_attestation_digest(&rec->sub.domain, &rec->sub.att, digest);
    k->records++;
    k->last_cursor = rec->cursor;
    if (memcmp(digest, rec->digest, sizeof digest) != 0) {
        k->broken_at = rec->cursor;
        snprintf(k->why, sizeof k->why,
                 "the record's fields do not hash to its digest: the attestation was changed");
        return false;
    }
    custos_chain_link(k->tip, rec->cursor, rec->digest, k->tip);
    if (memcmp(k->tip, rec->chain_hash, CUSTOS_CHAIN_HASH_LEN) != 0) {
        k->broken_at = rec->cursor;
        snprintf(k->why, sizeof k->why,
                 "its chain hash is not the link of the records before it: the log was "
                 "rewritten at or before this cursor");
        return false;
    }
    if (rec->cursor == k->kept_cursor &&
        memcmp(k->tip, k->kept_hash, CUSTOS_CHAIN_HASH_LEN) != 0) {
        k->broken_at = rec->cursor;
        snprintf(k->why, sizeof k->why,
                 "the chain hash differs from the kept head: the history up to it was "
                 "rewritten");
        return false;
    }
    return rec->cursor < k->head_cursor;
}

static int audit_verify_log(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'},
        {"idle-timeout-ms", required_argument, NULL, 't'},
        {"head", required_argument, NULL, 'k'}, CONN_OPTIONS, {0, 0, 0, 0}};
    const char *gateway = NULL, *kept = NULL;
    uint64_t idle = 10000;
    custos_client_options conn = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (conn_flag(c, &conn))
            continue;
        switch (c) {
        case 'g': gateway = optarg; break;
        case 't': if (!parse_u64("--idle-timeout-ms", optarg, &idle)) return EXIT_FAIL; break;
        case 'k': kept = optarg; break;
        default: fputs(usage, stderr); return EXIT_FAIL;
        }
    }
    if (optind != argc) {
        fail("audit verify-log: unexpected argument '%s'\n%s", argv[optind], usage);
        return EXIT_FAIL;
    }
    chain_check k;
    memset(&k, 0, sizeof k);
    if (kept != NULL) {
        const char *colon = strchr(kept, ':');
        char num[24];
        custos_error herr;
        if (colon == NULL || (size_t)(colon - kept) >= sizeof num) {
            fail("--head: CURSOR:0xHASH expected, as custos chain-head prints them");
            return EXIT_FAIL;
        }
        memcpy(num, kept, (size_t)(colon - kept));
        num[colon - kept] = '\0';
        if (!parse_u64("--head", num, &k.kept_cursor))
            return EXIT_FAIL;
        if (k.kept_cursor == 0 ||
            custos_hex_decode(colon + 1, k.kept_hash, sizeof k.kept_hash, &herr) != CUSTOS_OK) {
            fail("--head: a cursor above 0 and a 32-byte hash expected");
            return EXIT_FAIL;
        }
    }
    if (idle == 0 || idle > INT32_MAX) {
        fail("--idle-timeout-ms: from 1 to %d", INT32_MAX);
        return EXIT_FAIL;
    }
    custos_client *client;
    int status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    uint8_t head[CUSTOS_CHAIN_HASH_LEN];
    custos_error err;
    custos_rc rc = custos_client_get_chain_head(client, &k.head_cursor, head, &err);
    if (rc == CUSTOS_OK && k.head_cursor > 0)
        rc = custos_client_watch(client, 0, (int)idle, on_chain_record, &k, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return exit_for(rc);
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
                 "the log ends at cursor %llu but the head is %llu: records are missing",
                 (unsigned long long)k.last_cursor, (unsigned long long)k.head_cursor);
    }
    if (k.broken_at == 0 && memcmp(k.tip, head, sizeof head) != 0) {
        k.broken_at = k.head_cursor;
        snprintf(k.why, sizeof k.why, "the replayed chain does not end at the head's hash");
    }
    json_t *o = json_object();
    bool ok = o != NULL && put(o, "ok", json_boolean(k.broken_at == 0)) &&
              put(o, "records", j_u64(k.records)) &&
              put(o, "headCursor", j_u64(k.head_cursor)) &&
              put(o, "headHash", j_hex(head, sizeof head));
    if (ok && k.broken_at != 0)
        ok = put(o, "brokenAt", j_u64(k.broken_at)) && put(o, "why", json_string(k.why));
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    if (!emit(o, JSON_INDENT(2)))
        return EXIT_FAIL;
    if (k.broken_at != 0) {
        fail("the accepted chain is broken at cursor %llu: %s",
             (unsigned long long)k.broken_at, k.why);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* Entries fetched per ListAudit call. */
#define AUDIT_PAGE 1000

static json_t *audit_json(const custos_audit_entry *e)
{
    bool text = true;
    for (size_t i = 0; i < e->payload_len && text; i++)
        text = e->payload[i] == '\n' || (e->payload[i] >= 0x20 && e->payload[i] < 0x7f);
    json_t *o = json_object();
    bool ok = o != NULL && put(o, "seq", j_u64(e->seq)) && put(o, "time", j_u64(e->time)) &&
              put(o, "timeIso", j_iso_time(e->time)) &&
              put(o, "actor", json_string(e->actor)) &&
              put(o, "action", json_string(e->action)) &&
              put(o, "payloadLength", j_u64(e->payload_len)) &&
              (!text || put(o, "payloadText",
                            json_stringn((const char *)e->payload, e->payload_len))) &&
              put(o, "prevHash", j_hex(e->prev_hash, CUSTOS_AUDIT_HASH_LEN)) &&
              put(o, "hash", j_hex(e->hash, CUSTOS_AUDIT_HASH_LEN));
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
        if (!emit(audit_json(&e[i]), JSON_COMPACT)) {
            *failed = true;
            return false;
        }
    }
    return true;
}

typedef struct audit_check {
    uint64_t seq, entries, broken_at; /* broken_at: 0 when none */
    uint8_t hash[CUSTOS_AUDIT_HASH_LEN];
} audit_check;

static bool audit_check_page(void *ctx, const custos_audit_entry *e, size_t n)
{
    audit_check *k = ctx;
    size_t good = custos_audit_verify(k->seq, k->hash, e, n);
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

static int audit_list_or_verify(int argc, char **argv, bool verify)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'}, {"after", required_argument, NULL, 'a'},
        CONN_OPTIONS, {0, 0, 0, 0}};
    const char *gateway = NULL;
    uint64_t after = 0;
    custos_client_options conn = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (conn_flag(c, &conn))
            continue;
        switch (c) {
        case 'g': gateway = optarg; break;
        case 'a':
            if (verify) {
                fail("audit verify: checks the whole log; --after is for audit list");
                return EXIT_FAIL;
            }
            if (!parse_u64("--after", optarg, &after))
                return EXIT_FAIL;
            break;
        default: fputs(usage, stderr); return EXIT_FAIL;
        }
    }
    if (optind != argc) {
        fail("audit: unexpected argument '%s'\n%s", argv[optind], usage);
        return EXIT_FAIL;
    }
    custos_client *client;
    int status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    custos_error err;
    bool failed = false;
    audit_check k;
    memset(&k, 0, sizeof k);
    custos_rc rc = verify ? audit_fetch(client, 0, audit_check_page, &k, &err)
                          : audit_fetch(client, after, audit_print_page, &failed, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return exit_for(rc);
    }
    if (!verify)
        return failed ? EXIT_FAIL : EXIT_OK;
    json_t *o = json_object();
    bool ok = o != NULL && put(o, "ok", json_boolean(k.broken_at == 0)) &&
              put(o, "entries", j_u64(k.entries)) && put(o, "headSeq", j_u64(k.seq)) &&
              put(o, "headHash", j_hex(k.hash, sizeof k.hash));
    if (ok && k.broken_at != 0)
        ok = put(o, "brokenAt", j_u64(k.broken_at));
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    if (!emit(o, JSON_INDENT(2)))
        return EXIT_FAIL;
    if (k.broken_at != 0) {
        fail("the audit log is broken at entry %llu: its sequence number, prev_hash or hash "
             "does not follow from the entries before it",
             (unsigned long long)k.broken_at);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static int cmd_audit(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify-log") == 0)
        return audit_verify_log(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return audit_list_or_verify(argc - 1, argv + 1, false);
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return audit_list_or_verify(argc - 1, argv + 1, true);
    fail("audit: expected 'list', 'verify' or 'verify-log'\n%s", usage);
    return EXIT_FAIL;
}

static int admin_signer(int argc, char **argv, bool add)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'}, {"address", required_argument, NULL, 'a'},
        {"feed", required_argument, NULL, 'f'},    {"role", required_argument, NULL, 'r'},
        CONN_OPTIONS, {0, 0, 0, 0}};
    const char *gateway = NULL, *address = NULL, *feed = NULL, *role = NULL;
    custos_client_options conn = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (conn_flag(c, &conn))
            continue;
        switch (c) {
        case 'g': gateway = optarg; break;
        case 'a': address = optarg; break;
        case 'f': feed = optarg; break;
        case 'r': role = optarg; break;
        default: fputs(usage, stderr); return EXIT_FAIL;
        }
    }
    if (optind != argc || address == NULL || feed == NULL || (add != (role != NULL))) {
        fail("admin %s: --address and --feed%s are required%s\n%s",
             add ? "add-signer" : "revoke-signer", add ? " and --role" : "",
             add ? "" : " (no --role)", usage);
        return EXIT_FAIL;
    }
    uint8_t addr[CUSTOS_ADDRESS_LEN];
    custos_error err;
    if (custos_address_from_hex(address, addr, &err) != CUSTOS_OK) {
        fail("--address: %s", err.message);
        return EXIT_FAIL;
    }
    custos_client *client;
    int status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    uint64_t seq = 0;
    custos_rc rc = add ? custos_client_add_signer(client, addr, feed, role, &seq, &err)
                       : custos_client_revoke_signer(client, addr, feed, &seq, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return rc == CUSTOS_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_NEGATIVE;
    }
    json_t *o = json_object();
    if (o != NULL && !put(o, "auditSeq", j_u64(seq))) {
        json_decref(o);
        o = NULL;
    }
    return emit(o, JSON_COMPACT) ? EXIT_OK : EXIT_FAIL;
}

static int admin_rotate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'}, {"old", required_argument, NULL, 'o'},
        {"new", required_argument, NULL, 'n'},     {"feed", required_argument, NULL, 'f'},
        {"overlap", required_argument, NULL, 's'}, CONN_OPTIONS, {0, 0, 0, 0}};
    const char *gateway = NULL, *old_hex = NULL, *new_hex = NULL, *feed = NULL;
    uint64_t overlap = 0;
    custos_client_options conn = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (conn_flag(c, &conn))
            continue;
        switch (c) {
        case 'g': gateway = optarg; break;
        case 'o': old_hex = optarg; break;
        case 'n': new_hex = optarg; break;
        case 'f': feed = optarg; break;
        case 's': if (!parse_u64("--overlap", optarg, &overlap)) return EXIT_FAIL; break;
        default: fputs(usage, stderr); return EXIT_FAIL;
        }
    }
    if (optind != argc || old_hex == NULL || new_hex == NULL || feed == NULL || overlap == 0) {
        fail("admin rotate-signer: --old, --new, --feed and --overlap SECONDS are required\n%s",
             usage);
        return EXIT_FAIL;
    }
    uint8_t old_address[CUSTOS_ADDRESS_LEN], new_address[CUSTOS_ADDRESS_LEN];
    custos_error err;
    if (custos_address_from_hex(old_hex, old_address, &err) != CUSTOS_OK) {
        fail("--old: %s", err.message);
        return EXIT_FAIL;
    }
    if (custos_address_from_hex(new_hex, new_address, &err) != CUSTOS_OK) {
        fail("--new: %s", err.message);
        return EXIT_FAIL;
    }
    custos_client *client;
    int status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    uint64_t seq = 0;
    custos_rc rc = custos_client_rotate_signer(client, old_address, new_address, feed, overlap,
                                               &seq, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return rc == CUSTOS_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_NEGATIVE;
    }
    json_t *o = json_object();
    if (o != NULL && !put(o, "auditSeq", j_u64(seq))) {
        json_decref(o);
        o = NULL;
    }
    return emit(o, JSON_COMPACT) ? EXIT_OK : EXIT_FAIL;
}

static int admin_feed_policy(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'},   {"feed", required_argument, NULL, 'f'},
        {"max-age", required_argument, NULL, 'a'},   {"max-skew", required_argument, NULL, 's'},
        {"max-ttl", required_argument, NULL, 't'},   {"threshold", required_argument, NULL, 'n'},
        {"distinct-roles", required_argument, NULL, 'd'}, CONN_OPTIONS, {0, 0, 0, 0}};
    const char *gateway = NULL, *feed = NULL, *roles = NULL;
    uint64_t v[4];
    bool have[4] = {false};
    custos_client_options conn = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (conn_flag(c, &conn))
            continue;
        int i = c == 'a' ? 0 : c == 's' ? 1 : c == 't' ? 2 : c == 'n' ? 3 : -1;
        if (i >= 0) {
            static const char *const flags[] = {"--max-age", "--max-skew", "--max-ttl",
                                                "--threshold"};
            if (!parse_u64(flags[i], optarg, &v[i]))
                return EXIT_FAIL;
            have[i] = true;
            continue;
        }
        switch (c) {
        case 'g': gateway = optarg; break;
        case 'f': feed = optarg; break;
        case 'd': roles = optarg; break;
        default: fputs(usage, stderr); return EXIT_FAIL;
        }
    }
    bool all = have[0] && have[1] && have[2] && have[3];
    if (optind != argc || feed == NULL || !all || roles == NULL ||
        (strcmp(roles, "true") != 0 && strcmp(roles, "false") != 0) || v[3] > UINT32_MAX) {
        fail("admin set-feed-policy: --feed, --max-age, --max-skew, --max-ttl, --threshold "
             "and --distinct-roles true|false are all required\n%s", usage);
        return EXIT_FAIL;
    }
    custos_feed_policy policy = {.max_age = v[0], .max_skew = v[1], .max_ttl = v[2],
                                 .threshold = (uint32_t)v[3],
                                 .distinct_roles = strcmp(roles, "true") == 0};
    custos_client *client;
    int status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    uint64_t seq = 0;
    custos_error err;
    custos_rc rc = custos_client_set_feed_policy(client, feed, &policy, &seq, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return rc == CUSTOS_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_NEGATIVE;
    }
    json_t *o = json_object();
    if (o != NULL && !put(o, "auditSeq", j_u64(seq))) {
        json_decref(o);
        o = NULL;
    }
    return emit(o, JSON_COMPACT) ? EXIT_OK : EXIT_FAIL;
}

static int admin_release_held(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'}, {"digest", required_argument, NULL, 'd'},
        {"note", required_argument, NULL, 'n'},    CONN_OPTIONS, {0, 0, 0, 0}};
    const char *gateway = NULL, *digest_hex = NULL, *note = NULL;
    custos_client_options conn = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (conn_flag(c, &conn))
            continue;
        switch (c) {
        case 'g': gateway = optarg; break;
        case 'd': digest_hex = optarg; break;
        case 'n': note = optarg; break;
        default: fputs(usage, stderr); return EXIT_FAIL;
        }
    }
    uint8_t digest[32];
    if (optind != argc || digest_hex == NULL || note == NULL || note[0] == '\0') {
        fail("admin release-held: --digest 0x.. (32 bytes) and a non-empty --note are "
             "required\n%s", usage);
        return EXIT_FAIL;
    }
    custos_error err;
    if (custos_hex_decode(digest_hex, digest, sizeof digest, &err) != CUSTOS_OK) {
        fail("--digest: %s", err.message);
        return EXIT_FAIL;
    }
    custos_client *client;
    int status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    uint64_t seq = 0;
    custos_rc rc = custos_client_release_held(client, digest, note, &seq, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return rc == CUSTOS_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_NEGATIVE;
    }
    json_t *o = json_object();
    if (o != NULL && !put(o, "auditSeq", j_u64(seq))) {
        json_decref(o);
        o = NULL;
    }
    return emit(o, JSON_COMPACT) ? EXIT_OK : EXIT_FAIL;
}

static int cmd_admin(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "release-held") == 0)
        return admin_release_held(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "set-feed-policy") == 0)
        return admin_feed_policy(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "rotate-signer") == 0)
        return admin_rotate(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "add-signer") == 0)
        return admin_signer(argc - 1, argv + 1, true);
    if (argc >= 2 && strcmp(argv[1], "revoke-signer") == 0)
        return admin_signer(argc - 1, argv + 1, false);
    fail("admin: expected 'add-signer', 'revoke-signer', 'rotate-signer', "
         "'set-feed-policy' or 'release-held'\n%s", usage);
    return EXIT_FAIL;
}

static int cmd_health(int argc, char **argv)
{
    const char *gateway;
    custos_client *client;
    custos_client_options conn = {0};
    int status = gateway_only(argc, argv, &gateway, &conn);
    if (status == EXIT_OK)
        status = gw_connect(gateway, &conn, &client);
    if (status != EXIT_OK)
        return status;
    bool serving = false;
    custos_error err;
    custos_rc rc = custos_client_health(client, &serving, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        fail("%s", err.message);
        return exit_for(rc);
    }
    puts(serving ? "SERVING" : "NOT_SERVING");
    return serving ? EXIT_OK : EXIT_NEGATIVE;
}

/* ---- offline verification ---- */

static bool read_bounded(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail("%s: %s", path, strerror(errno));
        return false;
    }
    char *buf = malloc(CUSTOS_TYPEDDATA_MAX_BYTES + 1);
    size_t n = buf != NULL ? fread(buf, 1, CUSTOS_TYPEDDATA_MAX_BYTES + 1, f) : 0;
    bool ok = buf != NULL && !ferror(f) && n <= CUSTOS_TYPEDDATA_MAX_BYTES;
    if (!ok)
        fail("%s: %s", path,
             buf == NULL ? "out of memory"
             : ferror(f) ? "read error"
                         : "larger than the typed-data size limit");
    fclose(f);
    if (!ok) {
        free(buf);
        return false;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return true;
}

static int cmd_verify(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fail("verify: one FILE.json\n%s", usage);
        return EXIT_FAIL;
    }
    const char *path = argv[1];
    char *text;
    size_t len;
    if (!read_bounded(path, &text, &len))
        return EXIT_FAIL;
    custos_submission s;
    memset(&s, 0, sizeof s);
    custos_error err;
    custos_rc rc = custos_typeddata_import(text, len, &s, &err);
    free(text);
    if (rc != CUSTOS_OK) {
        fail("%s: %s", path, err.message);
        return EXIT_FAIL;
    }
    custos_secp *ctx = custos_secp_new();
    if (ctx == NULL) {
        custos_submission_clear(&s);
        fail("cannot create a secp256k1 context");
        return EXIT_FAIL;
    }
    uint8_t digest[32];
    custos_attestation_digest(&s.domain, &s.att, digest);
    size_t n_sigs = s.n_sigs;
    json_t *o = json_object();
    json_t *sigs = json_array();
    bool ok = o != NULL && sigs != NULL;
    bool all_recover = s.n_sigs > 0;
    for (size_t i = 0; ok && i < s.n_sigs; i++) {
        uint8_t addr[CUSTOS_ADDRESS_LEN];
        json_t *e = json_object();
        ok = e != NULL && put(e, "signature", j_hex(s.sigs[i].bytes, CUSTOS_SIGNATURE_LEN));
        if (ok && custos_recover_address(ctx, digest, &s.sigs[i], addr, &err) == CUSTOS_OK) {
            ok = put(e, "signer", j_address(addr));
        } else if (ok) {
            all_recover = false;
            ok = put(e, "error", json_string(err.message));
        }
        ok = ok && json_array_append(sigs, e) == 0;
        json_decref(e);
    }
    ok = ok && put(o, "file", json_string(path)) && put(o, "digest", j_hex(digest, 32)) &&
         put_submission(o, &s) && put(o, "signatures", json_incref(sigs)) &&
         put(o, "valid", json_boolean(all_recover));
    json_decref(sigs);
    custos_secp_free(ctx);
    custos_submission_clear(&s);
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    if (!emit(o, JSON_INDENT(2)))
        return EXIT_FAIL;
    if (!all_recover) {
        fail("%s: %s", path, n_sigs == 0 ? "no signatures" : "a signature does not recover");
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* A 32-byte hash member "key" of o; on failure says which and why. */
static bool proof_hash(const char *path, json_t *o, const char *key, uint8_t out[32])
{
    const char *text = json_string_value(json_object_get(o, key));
    custos_error err;
    if (text == NULL) {
        fail("%s: \"%s\" is missing or not a string", path, key);
        return false;
    }
    if (custos_hex_decode(text, out, 32, &err) != CUSTOS_OK) {
        fail("%s: \"%s\": %s", path, key, err.message);
        return false;
    }
    return true;
}

static bool proof_amount(const char *path, json_t *pos, const char *key, custos_u256 *out)
{
    const char *text = json_string_value(json_object_get(pos, key));
    custos_error err;
    if (text == NULL) {
        fail("%s: \"position.%s\" is missing or not a decimal string", path, key);
        return false;
    }
    if (custos_u256_from_dec(out, text, strlen(text), &err) != CUSTOS_OK) {
        fail("%s: \"position.%s\": %s", path, key, err.message);
        return false;
    }
    return true;
}

/* Reads what verify-proof checks: position, leaf, proof and root. */
static bool proof_from_json(const char *path, json_t *o, custos_position_proof *p)
{
    memset(p, 0, sizeof *p);
    json_t *pos = json_object_get(o, "position");
    json_t *proof = json_object_get(o, "proof");
    if (!json_is_object(o) || !json_is_object(pos) || !json_is_array(proof)) {
        fail("%s: not a position proof (needs \"position\", \"leaf\", \"proof\", \"root\"; "
             "custos get-proof writes one)", path);
        return false;
    }
    const char *types = json_string_value(json_object_get(o, "leafTypes"));
    if (types != NULL && strcmp(types, CUSTOS_POSITION_LEAF_TYPES) != 0) {
        fail("%s: \"leafTypes\" is '%.80s', positions are %s", path, types,
             CUSTOS_POSITION_LEAF_TYPES);
        return false;
    }
    const char *asset = json_string_value(json_object_get(pos, "assetId"));
    if (asset == NULL || asset[0] == '\0' || strlen(asset) > CUSTOS_ASSET_ID_MAX) {
        fail("%s: \"position.assetId\" must be a string of 1 to %d characters", path,
             CUSTOS_ASSET_ID_MAX);
        return false;
    }
    memcpy(p->position.asset_id, asset, strlen(asset) + 1);
    json_t *haircut = json_object_get(pos, "haircutBps");
    if (!json_is_integer(haircut) || json_integer_value(haircut) < 0 ||
        json_integer_value(haircut) > 10000) {
        fail("%s: \"position.haircutBps\" must be an integer from 0 to 10000", path);
        return false;
    }
    p->position.haircut_bps = (uint32_t)json_integer_value(haircut);
    if (!proof_amount(path, pos, "quantity", &p->position.quantity) ||
        !proof_amount(path, pos, "price", &p->position.price) ||
        !proof_amount(path, pos, "value", &p->position.value) ||
        !proof_hash(path, o, "leaf", p->leaf) || !proof_hash(path, o, "root", p->root))
        return false;
    size_t n = json_array_size(proof);
    if (n > CUSTOS_MERKLE_PROOF_MAX) {
        fail("%s: \"proof\" has %zu hashes, at most %d", path, n, CUSTOS_MERKLE_PROOF_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char *text = json_string_value(json_array_get(proof, i));
        custos_error err;
        if (text == NULL || custos_hex_decode(text, p->proof[i], 32, &err) != CUSTOS_OK) {
            fail("%s: \"proof\"[%zu] is not a 32-byte hex hash", path, i);
            return false;
        }
    }
    p->n_proof = n;
    return true;
}

static int cmd_verify_proof(int argc, char **argv)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {0, 0, 0, 0}};
    const char *want_root = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r': want_root = optarg; break;
        default: fputs(usage, stderr); return EXIT_FAIL;
        }
    }
    if (optind != argc - 1) {
        fail("verify-proof: one FILE.json\n%s", usage);
        return EXIT_FAIL;
    }
    const char *path = argv[optind];
    uint8_t root[32];
    custos_error err;
    if (want_root != NULL && custos_hex_decode(want_root, root, 32, &err) != CUSTOS_OK) {
        fail("--root: '%.80s': %s", want_root, err.message);
        return EXIT_FAIL;
    }
    char *text;
    size_t len;
    if (!read_bounded(path, &text, &len))
        return EXIT_FAIL;
    json_error_t jerr;
    json_t *o = json_loadb(text, len, 0, &jerr);
    free(text);
    if (o == NULL) {
        fail("%s: line %d: %s", path, jerr.line, jerr.text);
        return EXIT_FAIL;
    }
    custos_position_proof *p = malloc(sizeof *p);
    bool ok = p != NULL && proof_from_json(path, o, p);
    json_decref(o);
    if (p == NULL)
        fail("out of memory");
    if (ok && custos_position_proof_check(p, &err) != CUSTOS_OK) {
        fail("%s: invalid: %s", path, err.message);
        ok = false;
    }
    if (ok && want_root != NULL && memcmp(root, p->root, 32) != 0) {
        fail("%s: invalid: the proof's root is not the --root you trust", path);
        ok = false;
    }
    free(p);
    if (!ok)
        return EXIT_FAIL;
    puts(want_root != NULL
             ? "valid: the position is included under the root you trust"
             : "valid: the position is included under the proof's root (compare the root "
               "with the attestation's signed positionsRoot)");
    return EXIT_OK;
}

/* A non-negative integer member "key" of o. */
static bool json_u64_member(const char *path, json_t *o, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        fail("%s: \"%s\" must be a non-negative integer", path, key);
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static bool json_dec_member(const char *path, json_t *o, const char *key, custos_u256 *out)
{
    const char *text = json_string_value(json_object_get(o, key));
    custos_error err;
    if (text == NULL) {
        fail("%s: \"%s\" is missing or not a decimal string", path, key);
        return false;
    }
    if (custos_u256_from_dec(out, text, strlen(text), &err) != CUSTOS_OK) {
        fail("%s: \"%s\": %s", path, key, err.message);
        return false;
    }
    return true;
}

/* Checks a reserves inclusion proof written by custos-attestor reserves: every value is
 * recomputed from the fields (feed id, leaf, root by the proof, EIP-712 digest) and the
 * signature must recover to the signer the user trusts. */
static int cmd_verify_reserves_proof(int argc, char **argv)
{
    static const struct option opts[] = {{"signer", required_argument, NULL, 's'},
                                         {0, 0, 0, 0}};
    const char *signer_text = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 's') {
            fputs(usage, stderr);
            return EXIT_FAIL;
        }
        signer_text = optarg;
    }
    if (optind != argc - 1 || signer_text == NULL) {
        fail("verify-reserves-proof: one FILE.json and --signer 0xADDR (the custodian's "
             "allow-listed address)\n%s", usage);
        return EXIT_FAIL;
    }
    const char *path = argv[optind];
    uint8_t want_signer[CUSTOS_ADDRESS_LEN];
    custos_error err;
    if (custos_hex_decode(signer_text, want_signer, sizeof want_signer, &err) != CUSTOS_OK) {
        fail("--signer: '%.80s': %s", signer_text, err.message);
        return EXIT_FAIL;
    }
    char *text;
    size_t len;
    if (!read_bounded(path, &text, &len))
        return EXIT_FAIL;
    json_error_t jerr;
    json_t *o = json_loadb(text, len, 0, &jerr);
    free(text);
    if (o == NULL) {
        fail("%s: line %d: %s", path, jerr.line, jerr.text);
        return EXIT_FAIL;
    }
    custos_reserves r;
    custos_reserves_entry e;
    custos_domain d;
    custos_signature sig;
    uint8_t feed_id[32], leaf[32], digest[32], proof[CUSTOS_MERKLE_PROOF_MAX][32];
    memset(&r, 0, sizeof r);
    memset(&d, 0, sizeof d);
    const char *feed = json_string_value(json_object_get(o, "feed"));
    const char *contract = json_string_value(json_object_get(o, "verifyingContract"));
    const char *sig_text = json_string_value(json_object_get(o, "signature"));
    json_t *arr = json_object_get(o, "proof");
    bool ok = json_is_object(o) && feed != NULL && contract != NULL && sig_text != NULL &&
              json_is_array(arr);
    if (!ok)
        fail("%s: not a reserves proof (needs feed, verifyingContract, signature, proof; "
             "custos-attestor reserves writes one per account)", path);
    ok = ok && json_u64_member(path, o, "chainId", &d.chain_id) &&
         json_u64_member(path, o, "accounts", &r.accounts) &&
         json_u64_member(path, o, "asOf", &r.as_of) &&
         json_u64_member(path, o, "sequence", &r.sequence) &&
         json_dec_member(path, o, "totalCollateral", &r.total_collateral) &&
         json_dec_member(path, o, "collateralValue", &e.collateral_value) &&
         proof_hash(path, o, "accountsRoot", r.accounts_root) &&
         proof_hash(path, o, "account", e.account) && proof_hash(path, o, "leaf", leaf) &&
         proof_hash(path, o, "digest", digest) && proof_hash(path, o, "feedId", feed_id);
    if (ok && custos_hex_decode(contract, d.verifying_contract, CUSTOS_ADDRESS_LEN, &err) !=
                  CUSTOS_OK) {
        fail("%s: \"verifyingContract\": %s", path, err.message);
        ok = false;
    }
    if (ok && custos_hex_decode(sig_text, sig.bytes, sizeof sig.bytes, &err) != CUSTOS_OK) {
        fail("%s: \"signature\": %s", path, err.message);
        ok = false;
    }
    size_t n = ok ? json_array_size(arr) : 0;
    if (n > CUSTOS_MERKLE_PROOF_MAX) {
        fail("%s: \"proof\" has %zu hashes, at most %d", path, n, CUSTOS_MERKLE_PROOF_MAX);
        ok = false;
    }
    for (size_t i = 0; ok && i < n; i++) {
        const char *h = json_string_value(json_array_get(arr, i));
        if (h == NULL || custos_hex_decode(h, proof[i], 32, &err) != CUSTOS_OK) {
            fail("%s: \"proof\"[%zu] is not a 32-byte hex hash", path, i);
            ok = false;
        }
    }
    char feed_name[CUSTOS_FEED_MAX + 1];
    if (ok && strlen(feed) > CUSTOS_FEED_MAX) {
        fail("%s: \"feed\" is longer than %d bytes", path, CUSTOS_FEED_MAX);
        ok = false;
    }
    if (ok) {
        memcpy(feed_name, feed, strlen(feed) + 1);
        custos_feed_id(feed_name, r.feed_id);
    }
    json_decref(o);
    if (!ok)
        return EXIT_FAIL;

    uint8_t want[32];
    const char *why = NULL;
    custos_reserves_leaf(&e, want);
    if (memcmp(r.feed_id, feed_id, 32) != 0)
        why = "\"feedId\" is not keccak256 of \"feed\"";
    else if (memcmp(want, leaf, 32) != 0)
        why = "the leaf is not the hash of (account, collateralValue)";
    else if (!custos_merkle_verify(r.accounts_root, leaf, (const uint8_t (*)[32])proof, n))
        why = "the proof does not lead from the leaf to accountsRoot";
    custos_reserves_digest(&d, &r, want);
    if (why == NULL && memcmp(want, digest, 32) != 0)
        why = "\"digest\" is not the EIP-712 digest of the reserves fields";
    uint8_t got_signer[CUSTOS_ADDRESS_LEN];
    custos_secp *ctx = why == NULL ? custos_secp_new() : NULL;
    if (why == NULL && ctx == NULL)
        why = "cannot create a secp256k1 context";
    if (why == NULL && custos_recover_address(ctx, want, &sig, got_signer, &err) != CUSTOS_OK)
        why = "the signature does not recover";
    custos_secp_free(ctx);
    if (why == NULL && memcmp(got_signer, want_signer, CUSTOS_ADDRESS_LEN) != 0)
        why = "the reserves attestation is not signed by --signer";
    if (why != NULL) {
        fail("%s: invalid: %s", path, why);
        return EXIT_FAIL;
    }
    char total[CUSTOS_U256_DEC_MAX];
    if (custos_fixed_format(&r.total_collateral, CUSTOS_MONEY_DECIMALS, total, sizeof total) !=
        CUSTOS_OK) {
        fail("%s: the total collateral cannot be shown", path);
        return EXIT_FAIL;
    }
    printf("valid: the account is counted in feed %s's reserves of %s USD over %llu accounts "
           "(sequence %llu, asOf %llu), signed by %s\n",
           feed_name, total, (unsigned long long)r.accounts, (unsigned long long)r.sequence,
           (unsigned long long)r.as_of, signer_text);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {{"get-latest", cmd_get_latest}, {"watch", cmd_watch}, {"signers", cmd_signers},
                {"held", cmd_held},
                {"health", cmd_health},         {"verify", cmd_verify},
                {"chain-head", cmd_chain_head}, {"audit", cmd_audit},
                {"admin", cmd_admin},           {"get-proof", cmd_get_proof},
                {"verify-proof", cmd_verify_proof},
                {"verify-reserves-proof", cmd_verify_reserves_proof},
                {"get-reserves", cmd_get_reserves},
                {"get-reserves-proof", cmd_get_reserves_proof}};
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_FAIL;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].run(argc - 1, argv + 1);
    fail("unknown command '%s'\n%s", argv[1], usage);
    return EXIT_FAIL;
}
