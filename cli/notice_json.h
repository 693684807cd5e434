/* A collateral notice as custos prints it (notices, watch --notices): its fields, its place
 * in the accepted log, whether it verifies, and its typed data for ethers. */
#ifndef CLI_NOTICE_JSON_H
#define CLI_NOTICE_JSON_H

#include <stdbool.h>

#include <jansson.h>

#include "custos/client.h"
#include "custos/sig.h"

/* The notice as JSON, with *verified: its digest recomputed from its fields on domain d
 * equals the stored one, and its signature recovers to the signer the gateway names. NULL
 * when out of memory. */
json_t *cli_notice_json(custos_secp *ctx, const custos_domain *d, const custos_stored_notice *s,
                        bool *verified);

#endif
