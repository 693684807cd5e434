/* When the collateral manager passes again (docs/lending.md §6): on every new block, on
 * every new valuation of a managed account, and at least every interval (a margin call's
 * deadline lapses with time alone). */
#ifndef AT_MANAGE_WATCH_H
#define AT_MANAGE_WATCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "manage_chain.h"
#include "manage_pass.h"

typedef enum at_watch_cause {
    AT_WATCH_STOP,      /* *stop was set */
    AT_WATCH_INTERVAL,  /* interval_ms passed */
    AT_WATCH_BLOCK,     /* the chain's head moved */
    AT_WATCH_VALUATION  /* a managed account has a new latest accepted record */
} at_watch_cause;

/* What the waits remember between them: the chain's head and the gateway's. */
typedef struct at_watch {
    uint64_t block;        /* the chain's head at the last pass (set by the caller) */
    uint64_t gw_cursor;    /* the gateway's accepted chain head last seen */
} at_watch;

/* Waits for the first of: *stop, interval_ms, the head of chain (NULL: not watched) past
 * w->block (updated), or a latest record of one of the n pledges ms other than the one its
 * last pass read (at_manager.cursor; a pledge released after its liquidation is not
 * watched). Polls every poll_ms: one GetChainHead of the gateway,
 * and the pledges' GetLatest only when its head moved (or when the gateway does not
 * answer it), so many pledges cost one call per poll. A failed poll is ignored (the pass
 * that follows reads, and counts its failures). */
at_watch_cause at_manage_wait(at_manager *const *ms, size_t n, at_chain *chain, at_watch *w,
                              uint64_t interval_ms, uint64_t poll_ms,
                              volatile sig_atomic_t *stop);

#endif
