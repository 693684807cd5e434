/* A real custos-gateway for integration tests: a temporary directory, fixed test keys,
 * the gateway's config, the process and a custos_client connected to it, plus builders
 * of signed (or deliberately broken) submissions. Every helper fails the test on error. */
#ifndef CUSTOS_GWFIXTURE_H
#define CUSTOS_GWFIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/sig.h"

#include "testutil.h"

#define GWF_FEED "acme-custody"
#define GWF_OTHER_FEED "other-custody"
#define GWF_CHAIN_ID 31337
#define GWF_CONTRACT "0x5FbDB2315678afecb367f032d93F642f64180aa3"
/* Feed policy written by gwf_write_config (seconds). */
#define GWF_MAX_AGE 86400
#define GWF_MAX_SKEW 300
#define GWF_MAX_TTL 604800
#define GWF_THRESHOLD 2
#define GWF_MAX_MESSAGE_BYTES 1048576
/* The transport of gwf_write_config's gateway: plaintext, as f->client expects. */
#define GWF_TLS_SECTION "[tls]\ninsecure = true\n\n"

/* The fixed test keys; which of them the config allow-lists, and how, is in the comment. */
typedef enum gwf_key_id {
    GWF_KEY_CUSTODIAN = 0, /* acme-custody, custodian, active */
    GWF_KEY_AGENT,         /* acme-custody, valuation_agent, active */
    GWF_KEY_CUSTODIAN2,    /* acme-custody, custodian, active (a second custodian key) */
    GWF_KEY_ADMIN,         /* acme-custody, fund_administrator, active */
    GWF_KEY_REVOKED,       /* acme-custody, auditor, revoked */
    GWF_KEY_OTHER,         /* other-custody only, custodian, active */
    GWF_KEY_UNKNOWN,       /* on no list */
    GWF_KEY_COUNT
} gwf_key_id;

typedef struct gwf_key {
    uint8_t seckey[CUSTOS_SECKEY_LEN];
    uint8_t address[CUSTOS_ADDRESS_LEN];
    char hex[CUSTOS_ADDRESS_HEX_LEN];
} gwf_key;

typedef struct gwf {
    char dir[1024];
    char config_path[1100];
    char target[64];
    int port;
    tu_proc proc;
    custos_client *client;
    custos_secp *secp;
    custos_domain domain;
    gwf_key keys[GWF_KEY_COUNT];
    /* Set before gwf_write_config: the plaintext gateway keeps positions to itself (no
     * public_proofs), as a real one does; by default tests read them back. */
    bool private_positions;
    /* Set before gwf_write_config: releases of pledged accounts go through without an
     * exposure read (rule 11's opt-out for a gateway without [evm]), for tests of rule 5. */
    bool release_unchecked;
    /* gwf_make registers the account it makes to GWF_FEED (rule 9) unless this is set. */
    bool no_auto_register;
    /* Set before gwf_write_config: the first feed takes reserves only with its quorum. */
    bool reserves_quorum;
    /* Set before gwf_write_config: the gateway's max_message_bytes; 0: GWF_MAX_MESSAGE_BYTES. */
    size_t max_message_bytes;
    /* Set before gwf_start by a fixture whose gateway serves mTLS: the test PKI's
     * directory (pki.h: ca.pem, and <name>.pem / <name>.key) and the client certificate
     * f->client connects with. "": plaintext. */
    char tls_dir[1024];
    char tls_client[64];
} gwf;

/* Temp dir, keys, domain. Nothing is started. */
void gwf_init(gwf *f);
/* Writes <dir>/gateway.ini with the policy above and every key but GWF_KEY_UNKNOWN. */
void gwf_write_config(gwf *f);
/* Rule 9: each feed's accounts_file (<dir>/accounts-FEED.txt, written by gwf_write_config).
 * gwf_register_id adds account to feed's file; a running gateway reloads it (SIGHUP) and
 * the call returns once the reload is logged. An account already in the file is left. */
void gwf_accounts_path(const gwf *f, const char *feed, char *out, size_t cap);
/* Appends n accounts to feed's file at once, for a gateway not started yet (one read of
 * the file at its start rather than a reload per account); none may be there already. */
void gwf_register_ids(gwf *f, const char *feed, const uint8_t (*ids)[CUSTOS_HASH_LEN],
                      size_t n);
/* "accounts_file = PATH\n" of feed for a [feed] section a test writes itself; creates the
 * file (empty) when it is not there. */
void gwf_accounts_line(gwf *f, const char *feed, char *out, size_t cap);
void gwf_register_id(gwf *f, const char *feed, const uint8_t account[CUSTOS_HASH_LEN]);
/* The same for custos_account_id(custodian, ref). */
void gwf_register(gwf *f, const char *feed, const char *custodian, const char *ref);
/* Writes the secp256k1 key of hex (0x-prefixed) as the key file <f->dir>/relayer.key, for
 * an [evm] relayer_key; its path into path. */
void gwf_write_relayer_key(const gwf *f, const char *hex, char *path, size_t cap);
/* Starts the gateway on 127.0.0.1:0 and connects f->client (waits for Health SERVING). */
void gwf_start(gwf *f);
/* SIGTERM, waits; returns the exit status (frees the client first). No-op -> -1. */
int gwf_stop(gwf *f);
/* Stops whatever runs, removes the temp dir, frees everything. Safe to call twice. */
void gwf_cleanup(gwf *f);
/* Prints the gateway log to stderr (for failures). */
void gwf_dump_log(const gwf *f);

/* Unix seconds now. */
uint64_t gwf_now(void);
/* value * 10^18. */
void gwf_usd(custos_u256 *out, uint64_t value);

/* A valid, unsigned valuation of account (custodian GWF_FEED, ref account_ref) with two
 * positions worth `usd` in total: asOf now-60, validUntil now+3600. The account is
 * registered to GWF_FEED (gwf_register_id) unless f->no_auto_register. */
void gwf_make(gwf *f, custos_submission *s, const char *account_ref, uint64_t sequence,
              uint64_t usd);
/* Sets validity times. */
void gwf_set_times(custos_submission *s, uint64_t as_of, uint64_t valid_until);
/* The digest under s's own domain. */
void gwf_digest(const custos_submission *s, uint8_t out[32]);
/* Appends key's signature over s's digest. */
void gwf_sign(gwf *f, custos_submission *s, gwf_key_id key);
/* Removes every signature. */
void gwf_clear_sigs(custos_submission *s);

/* A submission's answer as tests keep it: what custos_client_submit returned and filled. */
typedef struct gwf_answer {
    custos_rc rc;
    custos_submit_result res;
    custos_error err;
} gwf_answer;

/* Submits through f->client: returns custos_client_submit's answer, *res and *err filled
 * as it fills them (*err cleared first, so it reads CUSTOS_OK after a success). The gateway
 * must answer: the test fails when it cannot be reached (CUSTOS_ERR_UNAVAILABLE without a
 * reason) or on a local failure. */
custos_rc gwf_submit(gwf *f, const custos_submission *s, custos_submit_result *res,
                     custos_error *err);
/* The same into *a. */
void gwf_submit_answer(gwf *f, const custos_submission *s, gwf_answer *a);

/* The highest cursor the Watch stream delivers from `after` within idle_ms of silence;
 * returns `after` when nothing new. *count (if not NULL) gets the records seen. */
uint64_t gwf_watch_head(gwf *f, uint64_t after, int idle_ms, size_t *count);

/* A unary call with raw request bytes (for what custos_client cannot express). */
typedef struct gwf_raw_result {
    int grpc_status;
    char reason[64];   /* the "custos-reason" trailing metadata, "" when absent */
    char details[256]; /* the status message */
    char request_id[80]; /* the "x-request-id" initial metadata, "" when absent */
} gwf_raw_result;
void gwf_raw_call(gwf *f, const char *method, const uint8_t *req, size_t len,
                  gwf_raw_result *res);
/* The same, sending request_id (when not NULL) as the "x-request-id" metadata. */
void gwf_raw_call_id(gwf *f, const char *method, const uint8_t *req, size_t len,
                     const char *request_id, gwf_raw_result *res);
/* The same to any target over creds (taken: released here), sending md_key: md_value as
 * initial metadata when md_key is not NULL. */
typedef struct grpc_channel_credentials grpc_channel_credentials;
void gwf_raw_call_md(const char *target, grpc_channel_credentials *creds, const char *method,
                     const uint8_t *req, size_t len, const char *md_key, const char *md_value,
                     gwf_raw_result *res);

/* The protobuf form of a submission, as a caller-owned tree that tests may doctor before
 * packing (lengths, counts and values are not checked). */
typedef struct gwf_pb gwf_pb;
gwf_pb *gwf_pb_new(const custos_submission *s);
void gwf_pb_free(gwf_pb *p);
/* Doctoring: kind, the length of a fixed-width field, the signature list. */
void gwf_pb_set_kind(gwf_pb *p, uint32_t kind);
typedef enum gwf_pb_field {
    GWF_PB_ACCOUNT,
    GWF_PB_BENEFICIARY,
    GWF_PB_GROSS,
    GWF_PB_COLLATERAL,
    GWF_PB_ROOT,
    GWF_PB_CONTRACT,
    GWF_PB_SIG0,
    GWF_PB_POS0_PRICE
} gwf_pb_field;
void gwf_pb_set_len(gwf_pb *p, gwf_pb_field field, size_t len);
/* Makes the message carry n signatures, each a copy of the first (or zeros when none). */
void gwf_pb_set_sig_count(gwf_pb *p, size_t n);
/* Appends a signature to the message's list (which custos_submission cannot grow past
 * CUSTOS_MAX_SIGNATURES). */
void gwf_pb_add_sig(gwf_pb *p, const custos_signature *sig);
/* Removes the domain message. */
void gwf_pb_drop_domain(gwf_pb *p);
/* Packs SubmitRequest{attestation} followed by `padding` bytes of an unknown field;
 * *out is malloc'd. */
void gwf_pb_pack_request(const gwf_pb *p, size_t padding, uint8_t **out, size_t *len);

#endif
