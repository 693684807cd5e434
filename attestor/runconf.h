/* The daemon's configuration (custos-attestor run --config FILE), a JSON object with the
 * settings the attest flags take:
 *   {"holdings": "holdings.json", "prices": "prices.json",
 *    "policy": "policy.json", "key": "attestor.key", "feed": "acme-custody",
 *    "chain_id": 1, "contract": "0x...", "state": "state.json", "gateway": "host:port",
 *    "spool": "spool", "interval_seconds": 300, "heartbeat_seconds": 3600}
 * "price_sources" (1 to 8 URLs) with optional "price_ca" replaces "prices"; "registry"
 * (optional) is the pledge registry (pledge.h); "retry_max_seconds" (60) caps the back-off
 * while the gateway cannot be reached; "reserves_interval_seconds" (0, off) how often the
 * daemon also signs and submits the reserves attestation of all accounts. The gateway is
 * reached over TLS: "tls_ca" (CA of its certificate; absent: the system's roots),
 * "tls_cert" and "tls_key" (the attestor's client certificate), or "insecure": true for a
 * plaintext gateway. "metrics_textfile" (optional) is where the daemon writes its
 * Prometheus metrics after every cycle (runmetrics.h). Relative paths are relative
 * to the config file's directory. An HSM key replaces "key": "pkcs11_module" (the PKCS#11
 * library), "pkcs11_token" and "pkcs11_key" (labels), optional "pkcs11_pin_file" (else the
 * PIN comes from CUSTOS_PKCS11_PIN). "batch": true values and signs the whole book as one
 * batch (docs/attestation.md §16) whenever one of its accounts needs attesting, spools it
 * (batchspool.h) and submits it with SubmitBatch, instead of one attestation per account.
 * Unknown keys are refused; every message names the file and the key. */
#ifndef AT_RUNCONF_H
#define AT_RUNCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "price_source.h"

#define AT_RUNCONF_PATH_MAX 4096

typedef struct at_runconf {
    char holdings[AT_RUNCONF_PATH_MAX], prices[AT_RUNCONF_PATH_MAX],
        policy[AT_RUNCONF_PATH_MAX], key[AT_RUNCONF_PATH_MAX], state[AT_RUNCONF_PATH_MAX],
        spool[AT_RUNCONF_PATH_MAX], registry[AT_RUNCONF_PATH_MAX],
        price_ca[AT_RUNCONF_PATH_MAX], tls_ca[AT_RUNCONF_PATH_MAX],
        tls_cert[AT_RUNCONF_PATH_MAX], tls_key[AT_RUNCONF_PATH_MAX],
        pkcs11_module[AT_RUNCONF_PATH_MAX],
        pkcs11_pin_file[AT_RUNCONF_PATH_MAX],
        metrics_textfile[AT_RUNCONF_PATH_MAX]; /* "" when absent */
    char pkcs11_token[33], pkcs11_key[256]; /* "" without pkcs11_module */
    char sources[AT_PRICE_SOURCES_MAX][1024];
    size_t n_sources;
    char gateway[256];
    bool insecure;
    bool batch; /* the book as one batch */
    custos_submission ctx; /* feed and domain */
    uint64_t interval_seconds, heartbeat_seconds, retry_max_seconds;
    uint64_t reserves_interval_seconds; /* 0: no reserves */
} at_runconf;

custos_rc at_runconf_load(const char *path, at_runconf *out, custos_error *err);

#endif
