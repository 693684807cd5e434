#include "signopts.h"

const clopt at_sign_options[] = {
    {"holdings", "F", CLOPT_STR, offsetof(at_sign_opts, holdings),
     "the custody ledger's holdings file (JSON)"},
    {"feed", "NAME", CLOPT_STR, offsetof(at_sign_opts, feed), "the feed to attest for"},
    {"chain-id", "N", CLOPT_STR, offsetof(at_sign_opts, chain_id),
     "chain id of the EIP-712 domain"},
    {"contract", "0xADDR", CLOPT_STR, offsetof(at_sign_opts, contract),
     "the adapter contract (the EIP-712 verifying contract)"},
    {"state", "F", CLOPT_STR, offsetof(at_sign_opts, state),
     "sequence state file (the next sequence is stored there before signing)"},
    {"policy", "F", CLOPT_STR, offsetof(at_sign_opts, policy),
     "valuation policy file (haircuts, price age, validity)"},
    {"now", "UNIXSECONDS", CLOPT_STR, offsetof(at_sign_opts, now),
     "the time to sign at (default: the system clock)"},
    {0}};

const clopt at_account_options[] = {
    {"account", "REF", CLOPT_STR, offsetof(at_sign_opts, account),
     "the account's reference in the holdings file"},
    {"export", "OUT.json", CLOPT_STR, offsetof(at_sign_opts, export_path),
     "write the signed attestation (EIP-712 typed data) to this file"},
    {0}};

const clopt at_key_options[] = {
    {"key", "F", CLOPT_STR, offsetof(at_key_spec, file),
     "the signing key file (custos-attestor keygen --out)"},
    {0}};

const clopt at_p11_options[] = {
    {"pkcs11-module", "SO", CLOPT_STR, offsetof(at_key_spec, p11.module),
     "the HSM's PKCS#11 module, for a key in a token"},
    {"pkcs11-token", "LABEL", CLOPT_STR, offsetof(at_key_spec, p11.token), "the token's label"},
    {"pkcs11-key", "LABEL", CLOPT_STR, offsetof(at_key_spec, p11.key),
     "the key's label in the token"},
    {"pkcs11-pin-file", "F", CLOPT_STR, offsetof(at_key_spec, p11.pin_file),
     "file holding the token's PIN (default: CUSTOS_PKCS11_PIN)"},
    {0}};
