/* Shared by the fuzz targets and the seed maker: fixed keys, the gateway configuration the
 * verification target checks against, and a private temporary directory. */
#ifndef CUSTOS_FUZZ_COMMON_H
#define CUSTOS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/sig.h"

#define FZ_FEED "acme-custody"
#define FZ_CHAIN_ID 31337
#define FZ_CONTRACT "0x5FbDB2315678afecb367f032d93F642f64180aa3"
/* The verification target's clock: fixed, so a crash reproduces whatever the date. */
#define FZ_NOW 1800000000u
/* The account of every seed, registered to FZ_FEED in the gateway config (rule 9). */
#define FZ_SEED_REF "FUZZ-1"

/* Allow-listed as custodian, valuation agent, revoked auditor; the last is on no list. */
enum { FZ_KEY_CUSTODIAN, FZ_KEY_AGENT, FZ_KEY_REVOKED, FZ_KEY_UNKNOWN, FZ_KEY_COUNT };

void fz_seckey(unsigned idx, uint8_t sk[CUSTOS_SECKEY_LEN]);
/* Creates (once per process) a private directory under $TMPDIR or /tmp and returns it. */
const char *fz_tmpdir(void);
/* Writes the gateway configuration allow-listing the fixed keys; returns its path. */
const char *fz_write_gateway_config(void);
/* Writes data to path (whole file); aborts on failure: the harness itself is broken. */
void fz_write_file(const char *path, const uint8_t *data, size_t len);
/* A signed valuation (positions included) of ref at FZ_NOW with the given signers. */
void fz_make_submission(custos_submission *s, const char *ref, uint64_t sequence,
                        const unsigned *keys, size_t n_keys);

#endif
