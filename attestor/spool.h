/* The daemon's spool: every signed attestation not yet acknowledged by the gateway, one file
 * per account and sequence, "<dir>/0x<account id>-<sequence, 20 digits>.json" holding its
 * typed-data export with the signatures, written atomically and fsynced before the first
 * submission. Names sort by account, then sequence. An acknowledged attestation is removed;
 * a refused one moves to "<dir>/refused/" next to a ".reason" file. */
#ifndef AT_SPOOL_H
#define AT_SPOOL_H

#include <stddef.h>

#include "custos/attestation.h"
#include "custos/error.h"

/* File name of a spool entry, without the directory. */
#define AT_SPOOL_NAME_LEN (2 + 2 * CUSTOS_HASH_LEN + 1 + 20 + 5 + 1)

/* Creates dir and dir/refused when missing. */
custos_rc at_spool_open(const char *dir, custos_error *err);
custos_rc at_spool_put(const char *dir, const custos_submission *s, custos_error *err);
/* The entries, sorted (account, then sequence); *names is malloc'd. */
custos_rc at_spool_list(const char *dir, char (**names)[AT_SPOOL_NAME_LEN], size_t *n,
                        custos_error *err);
/* true when an entry of this account is waiting. */
custos_rc at_spool_has_account(const char *dir, const uint8_t account[CUSTOS_HASH_LEN],
                               bool *has, custos_error *err);
custos_rc at_spool_get(const char *dir, const char *name, custos_submission *s,
                       custos_error *err);
custos_rc at_spool_remove(const char *dir, const char *name, custos_error *err);
/* Moves the entry to refused/ with reason (one line) in refused/<name>.reason. */
custos_rc at_spool_refuse(const char *dir, const char *name, const char *reason,
                          custos_error *err);

#endif
