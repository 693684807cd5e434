/* The collateral manager publishes its notices to CustosNotices itself (docs/lending.md
 * §7), with its own relayer key (pays gas; never a signer of attestations or notices):
 * publish(notice, signature), which checks the notice as the gateway does and emits the
 * CollateralNotice event the lending market's keepers follow.
 *
 * The state file's publication record (manage_state.h) makes it idempotent: the contract's
 * lastSequence(account, lender) reaching the notice's sequence is what ends it, whoever
 * relayed it; the signed transaction is saved before it is sent, so a restart sends the same
 * bytes; a new one is signed only when the saved one reverted or its nonce went to another
 * transaction (it can no longer be mined). A notice the contract would refuse is found by
 * eth_estimateGas before any gas is spent, said, and tried again on the next pass. */
#ifndef AT_MANAGE_PUBLISH_H
#define AT_MANAGE_PUBLISH_H

#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "manage_state.h"

typedef struct at_publisher at_publisher;

/* Reads the relayer's key file (custos/keyfile.h); url: the node; chain_id: the chain the
 * transactions are signed for; contract: CustosNotices. */
CUSTOS_MUST_USE
custos_rc at_publisher_new(const char *key_path, const char *url, uint64_t chain_id,
                           const uint8_t contract[CUSTOS_ADDRESS_LEN], at_publisher **out,
                           custos_error *err);
void at_publisher_free(at_publisher *p);

/* Takes the newest signed notice for publication (a notice not yet on-chain is superseded:
 * the contract takes only increasing sequences, and the newest is the pledge's state). The
 * caller saves st. */
void at_publish_queue(at_manage_state *st, const custos_notice *n, const custos_signature *sig);

/* Advances st's publication by one step, saving st at state_path before anything is sent:
 * already on-chain (published, printed "notice STATE sequence N ON-CHAIN"), or the saved
 * transaction looked up and sent again, or a new one signed and sent. CUSTOS_OK with
 * nothing to publish; label prefixes the printed line. A reverted transaction is CUSTOS_ERR_REFUSED, with the next pass
 * signing a new one. */
CUSTOS_MUST_USE
custos_rc at_publish_step(at_publisher *p, const char *state_path, const char *label,
                          at_manage_state *st, custos_error *err);

#endif
