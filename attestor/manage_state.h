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

typedef struct at_manage_state {
    custos_loan_status status;
    uint64_t sequence;  /* the last notice signed; 0 before the first */
    bool has_pending;   /* pending was signed and is not known to be stored */
    custos_notice pending;
    custos_signature pending_sig;
} at_manage_state;

/* A missing file is the start: healthy, sequence 0, nothing pending. */
custos_rc at_manage_state_load(const char *path, at_manage_state *out, custos_error *err);
custos_rc at_manage_state_save(const char *path, const at_manage_state *s, custos_error *err);

#endif
