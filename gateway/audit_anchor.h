/* The audit log's anchor file ([gateway] audit_anchor): a file outside the store, kept by
 * the operator, to which the gateway appends the head of the audit log it applied, one
 * line "SEQ:0xHASH" per head (the form custos audit head prints and custos audit verify
 * --expect-head takes). The hash chain shows an entry changed or inserted among the
 * others, but not the newest entries removed (a revoke_signer deleted re-enables the key):
 * the anchor's last head must still be in the store, or the gateway refuses to start
 * (rule 13). */
#ifndef GATEWAY_AUDIT_ANCHOR_H
#define GATEWAY_AUDIT_ANCHOR_H

#include <stdbool.h>
#include <stdint.h>

#include "custos/audit.h"
#include "custos/error.h"

/* The last head recorded in path: *present false (and CUSTOS_OK) when the file does not
 * exist or holds no line yet. A last line that does not parse is CUSTOS_ERR_INVALID. */
CUSTOS_MUST_USE
custos_rc gw_anchor_read(const char *path, bool *present, uint64_t *seq,
                         uint8_t hash[CUSTOS_AUDIT_HASH_LEN], custos_error *err);

/* Appends "SEQ:0xHASH\n" to path (created 0600 if missing) and syncs it to disk. */
CUSTOS_MUST_USE
custos_rc gw_anchor_append(const char *path, uint64_t seq,
                           const uint8_t hash[CUSTOS_AUDIT_HASH_LEN], custos_error *err);

/* Parses "SEQ:0xHASH" (SEQ above 0, HASH 32 bytes in hex) of length len. */
bool gw_anchor_parse(const char *text, size_t len, uint64_t *seq,
                     uint8_t hash[CUSTOS_AUDIT_HASH_LEN]);

#endif
