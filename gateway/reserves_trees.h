/* The sum tree of each feed's latest reserves attestation, kept between GetReservesProof
 * calls: a tree over 100,000 accounts costs about 0.1 s of CPU to build (sorting and
 * hashing), so building it per call would let any reader of the feed keep the gateway's
 * cores busy with a few calls a second.
 * One tree per feed, built on the first proof asked of an attestation and replaced when a
 * proof of a newer one (another digest) is asked. Feeds are the configured ones, so the
 * memory is bounded: about 200 bytes per account of each feed's latest attestation (its
 * entry, sorted, and about two (hash, sum) nodes). */
#ifndef GATEWAY_RESERVES_TREES_H
#define GATEWAY_RESERVES_TREES_H

#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"
#include "custos/reserves.h"

#include "store/store.h"

typedef struct gw_reserves_trees gw_reserves_trees;

CUSTOS_MUST_USE
custos_rc gw_reserves_trees_new(gw_reserves_trees **out, custos_error *err);
void gw_reserves_trees_free(gw_reserves_trees *t);

/* account's proof in res's sum tree (custos_reserves_tree_proof). res is the feed's reserves
 * as read from the store; its tree is built when this feed's cached one is of another
 * digest. CUSTOS_ERR_NOT_FOUND: the account is not among the leaves. Thread-safe. */
CUSTOS_MUST_USE
custos_rc gw_reserves_trees_proof(gw_reserves_trees *t, const gw_store_reserves *res,
                                  const uint8_t account[CUSTOS_HASH_LEN],
                                  custos_reserves_proof *out, custos_error *err);

#endif
