/* The pledge registry (CustosPledges, deploy/contracts/README.md "Lending") read from the
 * chain: the exposure a release would meet (rule 11) and a pledge's terms (GetPledge); and
 * the adapter's own breaker, which an operator's release of a held rise meets (rule 6).
 *
 * The registry is the one installed in the adapter [evm] names (adapter.pledges()); it is
 * installed once and for good, so its address is kept once read. Every read is an
 * eth_call at the latest block through a JSON-RPC client of its own, each bounded by
 * [evm] exposure_timeout_ms: the reads are thread-safe and never share a connection.
 * Failures: CUSTOS_ERR_UNAVAILABLE (node unreachable, timed out), CUSTOS_ERR_REFUSED (the
 * node refused the call, or the call reverted), CUSTOS_ERR_INVALID (an answer that is not
 * what the view returns); messages never contain the node's URL. */
#ifndef GATEWAY_EVM_PLEDGES_H
#define GATEWAY_EVM_PLEDGES_H

#include <stdbool.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/u256.h"

#include "config/config.h"
#include "evm/breaker_reads.h"
#include "evm/pledge_reads.h"

typedef struct gw_pledges gw_pledges;

/* The exposure a release would meet (pledge_reads.h). */
typedef evm_exposure gw_exposure;

/* CustosPledges.pledge(account, beneficiary), the latest pledge live or ended, with its
 * exposure now (releaseBlocked's); exposure.blocked: a release without the lender's
 * consent would be refused now. */
typedef struct gw_pledge_info {
    uint8_t registry[CUSTOS_ADDRESS_LEN];
    uint8_t receipt[CUSTOS_ADDRESS_LEN];
    uint8_t oracle[CUSTOS_ADDRESS_LEN];  /* Morpho oracle; zero without a loan token */
    uint8_t feed[CUSTOS_ADDRESS_LEN];    /* 8-decimal source; zero until created */
    uint8_t market_id[CUSTOS_HASH_LEN];  /* Morpho market id; zero without a loan token */
    uint8_t borrower[CUSTOS_ADDRESS_LEN];
    uint8_t lender[CUSTOS_ADDRESS_LEN];
    uint8_t agent[CUSTOS_ADDRESS_LEN];
    bool ended;
    uint64_t consented_sequence;         /* the release the lender agreed to; 0: none */
    gw_exposure exposure;
} gw_pledge_info;

/* evm must be enabled; it is copied. Nothing touches the network until a read. Starts the
 * thread of gw_pledges_read; gw_pledges_free lets a read under way finish, then stops it. */
CUSTOS_MUST_USE
custos_rc gw_pledges_new(const gw_evm_config *evm, gw_pledges **out, custos_error *err);
void gw_pledges_free(gw_pledges *p);

CUSTOS_MUST_USE
custos_rc gw_pledges_release_blocked(gw_pledges *p, const uint8_t account[CUSTOS_HASH_LEN],
                                     const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                                     uint64_t sequence, gw_exposure *out, custos_error *err);

/* The adapter's breaker for the feed of feed_id and the account (breaker_reads.h). */
CUSTOS_MUST_USE
custos_rc gw_pledges_breaker(gw_pledges *p, const uint8_t feed_id[CUSTOS_HASH_LEN],
                             const uint8_t account[CUSTOS_HASH_LEN], evm_breaker_view *out,
                             custos_error *err);

/* What a read of gw_pledges_read found for (account, beneficiary): rc CUSTOS_OK with info,
 * or as gw_pledges' reads fail, and CUSTOS_ERR_NOT_FOUND when the adapter has no registry or
 * the registry no such pledge; err's message says which. Called on the pledges' own
 * thread. */
typedef void (*gw_pledge_read_fn)(void *ctx, const uint8_t account[CUSTOS_HASH_LEN],
                                  const uint8_t beneficiary[CUSTOS_ADDRESS_LEN], custos_rc rc,
                                  const gw_pledge_info *info, const custos_error *err);

/* Reads the pledge of (account, beneficiary) on the pledges' own thread (custos-pledges),
 * never on the caller's, and calls fn(ctx, ...) there once done. One read at a time, so that
 * a slow node holds that one read and no thread of the caller's (GetPledge's gRPC threads):
 * with a read under way, or the pledges stopping, CUSTOS_ERR_UNAVAILABLE at once (err says
 * which) and fn is not called. */
CUSTOS_MUST_USE
custos_rc gw_pledges_read(gw_pledges *p, const uint8_t account[CUSTOS_HASH_LEN],
                          const uint8_t beneficiary[CUSTOS_ADDRESS_LEN], gw_pledge_read_fn fn,
                          void *ctx, custos_error *err);

#endif
