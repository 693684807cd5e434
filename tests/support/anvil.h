/* anvil, the local Ethereum node from node_modules, for the tests that need a chain. */
#ifndef CUSTOS_TEST_ANVIL_H
#define CUSTOS_TEST_ANVIL_H

#include <stddef.h>

#include "testutil.h"

#define TU_FOUNDRY_DIR CUSTOS_SOURCE_DIR "/node_modules/@foundry-rs"
#define TU_ANVIL_BIN TU_FOUNDRY_DIR "/anvil-linux-amd64/bin/anvil"

/* Starts anvil on a loopback port it binds itself (port 0), its output in <dir>/anvil.log
 * (one line per RPC method called), reads the port from that log and waits until it
 * answers eth_chainId; url gets http://127.0.0.1:PORT. Returns 0, or -1 after printing
 * anvil's log when it did not start. */
int tu_anvil_start(tu_proc *p, const char *dir, char *url, size_t cap);

#endif
