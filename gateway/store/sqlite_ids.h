/* The SQLite store's map of account ids to their places in accounts (docs/storage.md §4).
 *
 * Account ids are Keccak outputs, so an index on them puts each new account at a random
 * leaf: a batch of 100 new accounts wrote about 90 leaves of that index at every commit, as
 * much as the rest of the batch's pages together. The store keeps every account's place
 * here instead and reads and writes accounts by place alone (schema step 25).
 *
 * The map holds the places of committed rows and of the rows the open transaction inserted;
 * the store takes the latter out again when that transaction rolls back. It also knows up
 * to which place it holds every committed row (upto): rows of other connections beyond it
 * are read in when an account is not found (sqlite_store.c, sq_ids_refresh). One mutex
 * guards it, for the writer and the reader's threads. 40 bytes per slot, at most half the
 * slots used: 80 bytes per account at most. */
#ifndef GATEWAY_STORE_SQLITE_IDS_H
#define GATEWAY_STORE_SQLITE_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"
#include "custos/common.h"

typedef struct gw_sqids gw_sqids;

/* An empty map, NULL when out of memory. The caller frees it with gw_sqids_free. */
CUSTOS_MUST_USE
gw_sqids *gw_sqids_new(void);
void gw_sqids_free(gw_sqids *m);

/* The account's place, 0 when the map does not hold it. */
CUSTOS_MUST_USE
int64_t gw_sqids_find(gw_sqids *m, const uint8_t account[CUSTOS_HASH_LEN]);

/* Holds account at place ordinal (> 0). A place that follows upto at once moves upto on.
 * CUSTOS_ERR_INTERNAL, the map unchanged, when the map holds the account at another place:
 * the accounts table would have two rows of it. CUSTOS_ERR_NOMEM when the map cannot grow. */
CUSTOS_MUST_USE
custos_rc gw_sqids_put(gw_sqids *m, const uint8_t account[CUSTOS_HASH_LEN], int64_t ordinal,
                       custos_error *err);

/* Forgets the account (nothing if the map does not hold it). */
void gw_sqids_remove(gw_sqids *m, const uint8_t account[CUSTOS_HASH_LEN]);

/* Up to which place the map holds every committed row. */
CUSTOS_MUST_USE
int64_t gw_sqids_upto(gw_sqids *m);

/* Raises upto to at least place, after every row up to place was put. */
void gw_sqids_raise_upto(gw_sqids *m, int64_t place);

/* Lowers upto to at most place, when rows put beyond it were taken out again. */
void gw_sqids_lower_upto(gw_sqids *m, int64_t place);

/* The number of accounts held. */
CUSTOS_MUST_USE
size_t gw_sqids_count(gw_sqids *m);

#endif
