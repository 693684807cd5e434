/* Changes to the signer allow-list while the gateway serves: SIGHUP reloads of the config
 * file and admin calls (custos.v1.GatewayAdmin). The list in force is the file's entries
 * with every admin change of the audit log applied on top, in log order: the audit log is
 * where admin changes are kept, so a change and its entry are one row, written or not,
 * they survive a restart, and replicas sharing a PostgreSQL store apply them at their next
 * start or reload. Writers are serialised; each change is applied only once committed. */
#ifndef GATEWAY_ADMIN_H
#define GATEWAY_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"

#include "config/config.h"
#include "engine/engine.h"

typedef struct gw_admin gw_admin;

/* Opens its own session on cfg's store, and puts the file's list plus the stored admin
 * changes in force in engine's registry. cfg and engine must outlive it. */
CUSTOS_MUST_USE
custos_rc gw_admin_new(const gw_config *cfg, gw_engine *engine, gw_admin **out,
                       custos_error *err);
void gw_admin_free(gw_admin *a);

/* SIGHUP: re-reads path. A file that does not load, or whose audit entry cannot be
 * written, changes nothing; the outcome is logged. */
void gw_admin_reload(gw_admin *a, const char *path);

/* What an admin change came to. */
typedef enum gw_admin_result {
    GW_ADMIN_DONE = 0,
    GW_ADMIN_INVALID,       /* the request is malformed (unknown role, bad address) */
    GW_ADMIN_NOT_FOUND,     /* no such feed, or no such active signer */
    GW_ADMIN_EXISTS,        /* the signer is already active for the feed */
    GW_ADMIN_PRECONDITION,  /* the change would leave a feed's threshold unreachable */
    GW_ADMIN_UNAVAILABLE    /* the audit entry could not be written: nothing changed */
} gw_admin_result;

/* Allow-lists address for feed with role (a revoked entry becomes active again). actor is
 * the admin's certificate name; *seq gets the audit entry's number. */
gw_admin_result gw_admin_add_signer(gw_admin *a, const char *actor,
                                    const uint8_t address[CUSTOS_ADDRESS_LEN],
                                    const char *feed, const char *role, uint64_t *seq,
                                    char *detail, size_t cap);
/* Replaces old_address by new_address for feed, with old's role: the new key counts at
 * once, the old one until now + overlap seconds (1 to [gateway] max_rotation_overlap),
 * then its signatures are refused. */
gw_admin_result gw_admin_rotate_signer(gw_admin *a, const char *actor,
                                       const uint8_t old_address[CUSTOS_ADDRESS_LEN],
                                       const uint8_t new_address[CUSTOS_ADDRESS_LEN],
                                       const char *feed, uint64_t overlap, uint64_t *seq,
                                       char *detail, size_t cap);
/* Replaces feed's policy (all of max_age, max_skew, max_ttl, threshold, distinct_roles;
 * name identifies the feed, which must exist). */
gw_admin_result gw_admin_set_feed_policy(gw_admin *a, const char *actor, const gw_feed *policy,
                                         uint64_t *seq, char *detail, size_t cap);
/* Revokes address for feed: its signatures are refused from the next submission on. */
gw_admin_result gw_admin_revoke_signer(gw_admin *a, const char *actor,
                                       const uint8_t address[CUSTOS_ADDRESS_LEN],
                                       const char *feed, uint64_t *seq, char *detail,
                                       size_t cap);

/* Registers account to feed for good (rule 9), as the adapter's registerAccount: from then
 * on only feed's signers attest it. There is no unregistering: an account keeps its feed
 * (docs/rules.md rule 9). */
gw_admin_result gw_admin_register_account(gw_admin *a, const char *actor,
                                          const uint8_t account[CUSTOS_HASH_LEN],
                                          const char *feed, uint64_t *seq, char *detail,
                                          size_t cap);
/* The registered accounts in force (of feed only, unless feed is NULL or empty), in
 * account order: copies at most max of them, from the offset-th on, into out and returns
 * how many; *total gets how many there are in all. */
size_t gw_admin_list_accounts(gw_admin *a, const char *feed, size_t offset, gw_account *out,
                              size_t max, size_t *total);

#endif
