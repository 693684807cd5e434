/* The allow-list in force being composed (admin.c): the config file's feeds, signers and
 * account registrations, then the audit log's admin changes applied in order (rules 2 and
 * 9; docs/operations.md §5). Internal to the gateway's admin module. */
#ifndef GATEWAY_ADMIN_LIST_H
#define GATEWAY_ADMIN_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/audit.h"
#include "custos/common.h"
#include "custos/error.h"

#include "config/config.h"

/* The audit log's actions of admin changes. */
#define ACTION_ADD "add_signer"
#define ACTION_REVOKE "revoke_signer"
#define ACTION_ROTATE "rotate_signer"
#define ACTION_FEED "set_feed_policy"
#define ACTION_REGISTER "register_account"
/* The bounds of the config file's [feed] keys. */
#define ADMIN_MAX_SECONDS 4294967295u

/* A list being composed: the file's entries, then admin changes. */
typedef struct admin_list {
    gw_feed *feeds;
    size_t n_feeds;
    gw_signer *signers;
    size_t n_signers, cap;
    /* The file's registrations, then the audit log's appended: sorted by admin_list_finish. */
    gw_account *accounts;
    size_t n_accounts, accounts_cap;
} admin_list;

/* The file's lists, as a list being composed. */
typedef struct admin_base {
    const gw_feed *feeds;
    size_t n_feeds;
    const gw_signer *signers;
    size_t n_signers;
    const gw_account *accounts;
    size_t n_accounts;
} admin_base;

void admin_list_clear(admin_list *l);

CUSTOS_MUST_USE
custos_rc admin_list_from(admin_list *l, const admin_base *b, custos_error *err);

/* Appends a registration; admin_list_finish sorts and checks the whole list. */
bool admin_list_register(admin_list *l, const uint8_t account[CUSTOS_HASH_LEN],
                         const char *feed);

/* Sorts the registrations for lookups, drops an account registered twice to one feed, and
 * refuses one registered to two feeds (the file and the log disagree): rule 9 gives an
 * account one feed for good. */
CUSTOS_MUST_USE
custos_rc admin_list_finish(admin_list *l, custos_error *err);

gw_signer *admin_list_find(admin_list *l, const uint8_t address[CUSTOS_ADDRESS_LEN],
                           const char *feed);

const gw_feed *admin_list_feed(const admin_list *l, const char *name);

/* Makes (address, feed) active with role, adding the entry if it is not there. */
bool admin_list_add(admin_list *l, const uint8_t address[CUSTOS_ADDRESS_LEN],
                    const char *feed, gw_role role);

bool admin_role_parse(const char *name, gw_role *out);

/* The payload of an admin change: "signer ADDRESS feed=NAME[ role=ROLE]\n". */
int admin_change_text(char *out, size_t cap, const uint8_t address[CUSTOS_ADDRESS_LEN],
                      const char *feed, const char *role);

/* The payload of a rotation: "rotate OLD NEW feed=NAME role=ROLE not_after=N\n". */
int admin_rotate_text(char *out, size_t cap, const uint8_t old_address[CUSTOS_ADDRESS_LEN],
                      const uint8_t new_address[CUSTOS_ADDRESS_LEN], const char *feed,
                      const char *role, uint64_t not_after);

/* Puts a rotation in l: the new key active with the role, the old one until not_after. */
bool admin_list_rotate(admin_list *l, const uint8_t old_address[CUSTOS_ADDRESS_LEN],
                       const uint8_t new_address[CUSTOS_ADDRESS_LEN], const char *feed,
                       gw_role role, uint64_t not_after);

/* The payload of a feed policy: the policy text's feed line (audit.h). */
int admin_feed_text(char *out, size_t cap, const gw_feed *f);

CUSTOS_MUST_USE
custos_rc admin_list_apply_feed(admin_list *l, const custos_audit_entry *e, char *text,
                                custos_error *err);

/* The payload of a registration: "account ID feed=NAME\n" (rule 9). */
int admin_register_text(char *out, size_t cap, const uint8_t account[CUSTOS_HASH_LEN],
                        const char *feed);

/* Applies one audit entry of an admin change to l; other entries (reloads) change
 * nothing here. A change that does not parse means a damaged log: an error. */
CUSTOS_MUST_USE
custos_rc admin_list_apply(admin_list *l, const custos_audit_entry *e, custos_error *err);

#endif
