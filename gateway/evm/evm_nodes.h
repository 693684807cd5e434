/* Several JSON-RPC endpoints of one chain, in order of preference, each with its health:
 * the publisher uses the first node that is not known to be down or on another chain,
 * turns to the next one when it cannot be reached, and back to a preferred one once it
 * answers again (docs/publishing.md §8). URLs never leave this module, since they may
 * carry an API key: nodes are named by their position, 1 for the first.
 *
 * Not thread-safe: the publisher thread owns it. */
#ifndef GATEWAY_EVM_NODES_H
#define GATEWAY_EVM_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"
#include "evm/evm_rpc.h"

#define EVM_NODES_MAX 8

typedef struct evm_nodes evm_nodes;

/* One client per URL (opt gives everything but the URL); touches no network. */
CUSTOS_MUST_USE
custos_rc evm_nodes_new(const char *const *urls, size_t n, const evm_rpc_options *opt,
                        evm_nodes **out, custos_error *err);
void evm_nodes_free(evm_nodes *s);

size_t evm_nodes_count(const evm_nodes *s);
evm_rpc *evm_nodes_client(evm_nodes *s, size_t i);

/* The outcome of a call to node i at monotonic now_ms: CUSTOS_ERR_UNAVAILABLE (it could
 * not be reached) marks it down and doubles the wait before it is probed again, from
 * retry_ms up to 60 s; anything else is an answer and marks it up. */
void evm_nodes_report(evm_nodes *s, size_t i, custos_rc rc, int64_t now_ms, int64_t retry_ms);
/* Whether node i is on the configured chain (its eth_chainId was compared). A node on
 * another chain is never picked. */
void evm_nodes_set_chain(evm_nodes *s, size_t i, bool right);
/* true once the chain of node i was compared (and found right or wrong). */
bool evm_nodes_chain_known(const evm_nodes *s, size_t i);

/* Up: it answered its last call and is not on another chain. */
bool evm_nodes_up(const evm_nodes *s, size_t i);
/* The node to use: the first, in order, that is not down and not on another chain; when
 * every node is, the first not on another chain, else the first (each is retried). */
size_t evm_nodes_pick(const evm_nodes *s);
/* Whether node i should be asked something now to learn its health: an up node silent
 * for interval_ms, a down node once its back-off has passed, a node never asked. */
bool evm_nodes_probe_due(const evm_nodes *s, size_t i, int64_t now_ms, int64_t interval_ms);
/* Since when (monotonic ms) every node has been unreachable; 0 while one answers. */
int64_t evm_nodes_all_down_since(const evm_nodes *s);

#endif
