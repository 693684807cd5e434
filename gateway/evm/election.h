/* Election of the one replica that publishes on-chain, when several gateways share one
 * PostgreSQL store: the replica holding a session-level advisory lock
 * (pg_try_advisory_lock on a fixed key) on its own dedicated connection is the leader.
 * The lock lives as long as that session: when the leader dies, or loses its connection,
 * the server releases the lock and the next replica to try takes it. */
#ifndef GATEWAY_ELECTION_H
#define GATEWAY_ELECTION_H

#include <stdbool.h>

#include "custos/error.h"

typedef struct gw_election gw_election;

/* Keeps conninfo (the store's) for later; touches no network. */
CUSTOS_MUST_USE
custos_rc gw_election_new(const char *conninfo, gw_election **out, custos_error *err);
/* Ends the session, which releases the lock. */
void gw_election_free(gw_election *e);

/* Whether this process is the leader now: checks that the session holding the lock is
 * alive, or tries to take the lock (connecting first if needed). false, with err set,
 * when the database cannot be reached: a lost session has lost the lock. */
bool gw_election_check(gw_election *e, custos_error *err);

#endif
