/* custos: the borrower's and operator's command line. Queries a gateway (latest attestation,
 * watch, signers, health, chain head), checks a gateway's accepted chain, and verifies
 * exported attestations offline. Output is JSON. This file holds the usage and the command
 * table; each command area has its file (cmd_*.c). */
#include "cli.h"
#include "custos/version.h"

const char cli_usage[] =
    "usage: custos COMMAND [OPTIONS]\n"
    "  get-latest --gateway H:P (--account 0xHEX | --custodian ID --ref REF)\n"
    "                               the latest accepted attestation of an account\n"
    "  watch --gateway H:P [--after N] [--count N] [--idle-timeout-ms N] [--notices]\n"
    "                               accepted attestations (and notices), one JSON line each\n"
    "  pledge --gateway H:P (--account 0xHEX | --custodian ID --ref REF)\n"
    "         [--beneficiary 0xADDR]\n"
    "                               the account's pledge read from the chain: receipt,\n"
    "                               oracles, Morpho market, lender, agent, exposure\n"
    "  notices --gateway H:P (--account 0xHEX | --custodian ID --ref REF) [--limit N]\n"
    "          [--follow [--count N] [--idle-timeout-ms N]]\n"
    "                               the account's collateral notices, newest first, each\n"
    "                               verified against its signer; --follow streams new ones\n"
    "  held --gateway H:P [--account 0xHEX]\n"
    "                               attestations the circuit breaker holds, one JSON line\n"
    "                               each\n"
    "  signers --gateway H:P        the signer allow-list\n"
    "  health --gateway H:P [--service NAME]\n"
    "                               exit 0 when the gateway (or the service) is serving\n"
    "  chain-head --gateway H:P     the head (cursor, hash) of the accepted chain\n"
    "  audit verify-log --gateway H:P [--head CURSOR:0xHASH] [--idle-timeout-ms N]\n"
    "                               replays the accepted log and checks every chain link\n"
    "                               and digest up to the head (and a head kept from\n"
    "                               before); exit 1 at the first break\n"
    "  audit list --gateway H:P [--after SEQ]\n"
    "                               the audit log (admin or auditor certificate), one JSON\n"
    "                               line each\n"
    "  audit verify --gateway H:P [--expect-head SEQ:0xHASH]\n"
    "                               fetches the whole audit log (admin or auditor\n"
    "                               certificate) and checks its hash chain (and that a kept\n"
    "                               head is still in it); exit 1 at the first break\n"
    "  audit head --gateway H:P     the audit log's head as SEQ:0xHASH, to keep for\n"
    "                               audit verify --expect-head\n"
    "  admin add-signer --gateway H:P --address 0x.. --feed NAME --role ROLE\n"
    "  admin revoke-signer --gateway H:P --address 0x.. --feed NAME\n"
    "  admin rotate-signer --gateway H:P --old 0x.. --new 0x.. --feed NAME --overlap S\n"
    "  admin release-held --gateway H:P --digest 0x.. --note TEXT\n"
    "  admin register-account --gateway H:P --feed NAME\n"
    "                         (--account 0xHEX | --custodian ID --ref REF)\n"
    "  admin set-feed-policy --gateway H:P --feed NAME --max-age S --max-skew S\n"
    "                        --max-ttl S --threshold N --distinct-roles true|false\n"
    "                               change the allow-list or the account registry (admin\n"
    "                               certificate); prints the audit entry's seq\n"
    "  admin list-accounts --gateway H:P [--feed NAME]\n"
    "                               the registered accounts (admin or auditor certificate),\n"
    "                               one JSON line each\n"
    "  get-proof --gateway H:P (--account 0xHEX | --custodian ID --ref REF) --asset ID\n"
    "                               one position of the latest attestation, with its\n"
    "                               Merkle proof (input of verify-proof)\n"
    "  get-reserves --gateway H:P --feed NAME\n"
    "                               the feed's latest reserves attestation (summary)\n"
    "  get-reserves-proof --gateway H:P --feed NAME\n"
    "                     (--account 0xHEX | --custodian ID --ref REF)\n"
    "                               the account's leaf of it with its Merkle proof (input\n"
    "                               of verify-reserves-proof)\n"
    "  verify FILE.json             offline: digest and recovered signers of an export\n"
    "  verify-proof FILE.json [--root 0xHEX]\n"
    "                               offline: the position hashes to the leaf and the proof\n"
    "                               leads to the root (and the root is the one you trust)\n"
    "  verify-reserves-proof FILE.json --signer 0xADDR\n"
    "                               offline: the account is counted in a reserves\n"
    "                               attestation signed by that custodian key\n"
    "gateway commands take TLS options: --tls-ca FILE (CA of the gateway's certificate;\n"
    "  default: the system's roots), --tls-cert FILE --tls-key FILE (client certificate),\n"
    "  or --insecure for a plaintext gateway ([tls] insecure = true), and --timeout-ms N\n"
    "  (deadline of each call, default 10000)\n"
    "environment: CUSTOS_GATEWAY, CUSTOS_CA, CUSTOS_CERT, CUSTOS_KEY stand for --gateway,\n"
    "  --tls-ca, --tls-cert, --tls-key when those are not given (--insecure ignores the\n"
    "  TLS ones)\n"
    "COMMAND --help describes a command and its options; --version prints the version\n"
    "exit status: 0 ok, 1 error or failed verification, 2 not found or not serving,\n"
    "             3 gateway unreachable or cannot take it now: try again later\n";

int main(int argc, char **argv)
{
    static const clopt_entry commands[] = {
        {"get-latest", cli_get_latest, NULL},
        {"watch", cli_watch, NULL},
        {"pledge", cli_pledge, NULL},
        {"notices", cli_notices, NULL},
        {"held", cli_held, NULL},
        {"signers", cli_signers, NULL},
        {"health", cli_health, NULL},
        {"chain-head", cli_chain_head, NULL},
        {"audit", cli_audit, NULL},
        {"admin", cli_admin, NULL},
        {"get-proof", cli_get_proof, NULL},
        {"get-reserves", cli_get_reserves, NULL},
        {"get-reserves-proof", cli_get_reserves_proof, NULL},
        {"verify", cli_verify, NULL},
        {"verify-proof", cli_verify_proof, NULL},
        {"verify-reserves-proof", cli_verify_reserves_proof, NULL},
        {NULL, NULL, NULL}};
    const clopt_program custos = {"custos", custos_version(), cli_usage, commands};
    return clopt_main(&custos, argc, argv);
}
