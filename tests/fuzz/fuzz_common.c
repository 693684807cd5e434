#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "custos/eip712.h"
#include "custos/hex.h"
#include "custos/merkle.h"

static void die(const char *what)
{
    perror(what);
    abort();
}

void fz_seckey(unsigned idx, uint8_t sk[CUSTOS_SECKEY_LEN])
{
    for (unsigned i = 0; i < CUSTOS_SECKEY_LEN; i++)
        sk[i] = (uint8_t)(0x23u * (idx + 1) + 5u * i + 3u);
}

const char *fz_tmpdir(void)
{
    static char dir[512];
    if (dir[0] == '\0') {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/custos-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (mkdtemp(dir) == NULL)
            die("mkdtemp");
    }
    return dir;
}

void fz_write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        die(path);
}

static void key_hex(unsigned idx, char out[CUSTOS_ADDRESS_HEX_LEN])
{
    custos_secp *secp = custos_secp_new();
    uint8_t sk[CUSTOS_SECKEY_LEN], addr[CUSTOS_ADDRESS_LEN];
    custos_error err;
    fz_seckey(idx, sk);
    if (secp == NULL || custos_address_from_seckey(secp, sk, addr, &err) != CUSTOS_OK)
        die("custos_address_from_seckey");
    custos_secp_free(secp);
    custos_address_to_hex(addr, out);
}

const char *fz_write_gateway_config(void)
{
    static char path[600];
    char cust[CUSTOS_ADDRESS_HEX_LEN], agent[CUSTOS_ADDRESS_HEX_LEN], rev[CUSTOS_ADDRESS_HEX_LEN];
    key_hex(FZ_KEY_CUSTODIAN, cust);
    key_hex(FZ_KEY_AGENT, agent);
    key_hex(FZ_KEY_REVOKED, rev);
    /* Rule 9: the seeds' account (make_seeds.c) is registered to the feed. */
    uint8_t account[CUSTOS_HASH_LEN];
    char account_hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    custos_account_id(FZ_FEED, FZ_SEED_REF, account);
    if (custos_hex_encode(account, CUSTOS_HASH_LEN, account_hex, sizeof account_hex) != CUSTOS_OK)
        die("account id");
    char text[4096];
    int n = snprintf(text, sizeof text,
                     "[gateway]\nlisten = 127.0.0.1:0\nstore = %s/unused.db\nchain_id = %d\n"
                     "verifying_contract = %s\n\n"
                     "[feed %s]\nmax_age = 86400\nmax_skew = 300\nmax_ttl = 604800\n"
                     "threshold = 2\ndistinct_roles = true\naccounts = %s\n\n"
                     "[signer c]\naddress = %s\nfeed = %s\nrole = custodian\nstatus = active\n\n"
                     "[signer v]\naddress = %s\nfeed = %s\nrole = valuation_agent\n"
                     "status = active\n\n"
                     "[signer r]\naddress = %s\nfeed = %s\nrole = auditor\nstatus = revoked\n",
                     fz_tmpdir(), FZ_CHAIN_ID, FZ_CONTRACT, FZ_FEED, account_hex, cust, FZ_FEED, agent,
                     FZ_FEED, rev, FZ_FEED);
    if (n < 0 || (size_t)n >= sizeof text)
        die("config text");
    snprintf(path, sizeof path, "%s/gateway.ini", fz_tmpdir());
    fz_write_file(path, (const uint8_t *)text, (size_t)n);
    return path;
}

void fz_make_submission(custos_submission *s, const char *ref, uint64_t sequence,
                        const unsigned *keys, size_t n_keys)
{
    custos_error err;
    memset(s, 0, sizeof *s);
    snprintf(s->feed, sizeof s->feed, "%s", FZ_FEED);
    s->domain.chain_id = FZ_CHAIN_ID;
    if (custos_address_from_hex(FZ_CONTRACT, s->domain.verifying_contract, &err) != CUSTOS_OK)
        die("contract");
    custos_attestation *a = &s->att;
    custos_account_id(FZ_FEED, ref, a->account);
    memset(a->beneficiary, 0xbe, sizeof a->beneficiary);
    a->kind = CUSTOS_KIND_VALUATION;
    s->n_positions = 1;
    s->positions = calloc(1, sizeof *s->positions);
    if (s->positions == NULL)
        die("calloc");
    custos_position *p = &s->positions[0];
    snprintf(p->asset_id, sizeof p->asset_id, "US912797GK78");
    custos_u256 usd;
    custos_u256_from_u64(&usd, 1000000000000000000ull);
    p->quantity = usd;
    p->price = usd;
    p->value = usd;
    p->haircut_bps = 200;
    a->gross_value = usd;
    custos_u256_from_u64(&a->collateral_value, 980000000000000000ull);
    if (custos_positions_root(s->positions, 1, a->positions_root, &err) != CUSTOS_OK)
        die("custos_positions_root");
    a->as_of = FZ_NOW - 60;
    a->valid_until = FZ_NOW + 3600;
    a->sequence = sequence;
    uint8_t digest[32];
    custos_attestation_digest(&s->domain, a, digest);
    custos_secp *secp = custos_secp_new();
    for (size_t i = 0; i < n_keys; i++) {
        uint8_t sk[CUSTOS_SECKEY_LEN];
        fz_seckey(keys[i], sk);
        if (custos_sign_digest(secp, sk, digest, &s->sigs[s->n_sigs++], &err) != CUSTOS_OK)
            die("custos_sign_digest");
    }
    custos_secp_free(secp);
}
