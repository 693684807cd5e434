/* The collateral manager's state file (docs/lending.md §3): where one pledge stands (its
 * loan state, a margin call's deadline, the last notice sequence) and the signed notice
 * not yet delivered to the gateway. Written whole and atomically (fsync, rename), and the
 * notice is written before it is submitted, so a crash at any point neither loses a state
 * change nor signs two notices for one: a restart delivers the pending notice first. */
#ifndef AT_MANAGE_STATE_H
#define AT_MANAGE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "custos/error.h"
#include "custos/ltv.h"
#include "custos/notice.h"

/* Raw signed transactions kept in the step log: an approve or a repay is well under this. */
#define AT_LIQ_RAW_MAX 1024u

/* The liquidation's step log (docs/lending.md §5), in the order the steps happen. Each
 * step is written (fsync, rename) before what it names is done outside the process, so a
 * restart resumes it: a repay already signed is sent again as the same bytes (same nonce,
 * same hash), never as a second repay. */
typedef enum at_liq_step {
    AT_LIQ_NONE = 0,         /* no liquidation under way */
    AT_LIQ_DECIDED,          /* the state reached liquidation: repay the whole debt */
    AT_LIQ_REPAY_SENT,       /* approve and repay signed at nonce-1 and nonce, being sent */
    AT_LIQ_REPAY_MINED,      /* the repay's receipt is in a block (or there was no debt) */
    AT_LIQ_RELEASE_SIGNED,   /* the release attestation is signed, being submitted */
    AT_LIQ_RELEASE_ACCEPTED  /* the gateway accepted the release: the liquidation is over */
} at_liq_step;
#define AT_LIQ_STEP_MAX AT_LIQ_RELEASE_ACCEPTED

typedef struct at_liq_log {
    at_liq_step step;
    uint64_t nonce;                      /* the repay's nonce; the approve's is nonce - 1 */
    uint8_t repay_hash[CUSTOS_HASH_LEN];
    uint64_t repay_block;                /* the block of its receipt, from REPAY_MINED */
    /* Repays of this liquidation that reverted (each repaid nothing), and the last one:
     * kept for the operator and the metrics (docs/lending.md §11). */
    uint64_t reverts, revert_block;
    uint8_t revert_hash[CUSTOS_HASH_LEN];
    /* From REPAY_MINED after the agent's repay: the assets it repaid (Morpho's Repay
     * event), and whether the custodian's book recorded the sale (book_sale.h). */
    custos_u256 repaid_assets;
    bool book_recorded;
    uint8_t approve_raw[AT_LIQ_RAW_MAX], repay_raw[AT_LIQ_RAW_MAX];
    size_t approve_len, repay_len;
    /* The release, from RELEASE_SIGNED: what is not fixed by the pledge (account, lender,
     * kind 1, zero values and root), so a restart submits the very release it signed. */
    uint64_t release_sequence, release_as_of, release_valid_until;
    custos_signature release_sig;
} at_liq_log;

/* Set only by the crash tests: the name of a step ("repay_sent", ...) at which the
 * process kills itself with SIGKILL as soon as that step is written, before acting on it. */
#define AT_LIQ_KILL_ENV "CUSTOS_TEST_LIQ_KILL_AT"

/* "decided", "repay_sent", ...: the names the state file and the output use. */
const char *at_liq_step_name(at_liq_step step);

/* The publication of the newest notice to CustosNotices by the manager's relayer key
 * (docs/lending.md §7). The notice is kept until the contract's lastSequence for the pledge
 * reaches its sequence; the signed transaction is written before it is sent, so a restart
 * sends the same bytes (same nonce, same hash), never a second publication. */
typedef struct at_pub_log {
    bool has_notice;                     /* notice is not yet known to be on-chain */
    custos_notice notice;
    custos_signature sig;
    uint64_t nonce;                      /* the transaction's nonce, when tx_len > 0 */
    uint8_t tx_hash[CUSTOS_HASH_LEN];
    uint8_t tx_raw[AT_LIQ_RAW_MAX];
    size_t tx_len;                       /* 0: no transaction signed for it */
    uint64_t published;                  /* the newest sequence known to be on-chain */
} at_pub_log;

typedef struct at_manage_state {
    custos_loan_status status;
    uint64_t sequence;  /* the last notice signed; 0 before the first */
    bool has_pending;   /* pending was signed and is not known to be stored */
    custos_notice pending;
    custos_signature pending_sig;
    at_liq_log liq;
    at_pub_log pub;
} at_manage_state;

/* A missing file is the start: healthy, sequence 0, nothing pending. */
custos_rc at_manage_state_load(const char *path, at_manage_state *out, custos_error *err);
custos_rc at_manage_state_save(const char *path, const at_manage_state *s, custos_error *err);

#endif
