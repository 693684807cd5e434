/* custos-attestor: values a custody account, signs the EIP-712 attestation, submits it. */
#include "clopt.h"
#include "cmd.h"
#include "custos/version.h"
#include "gwconn.h"

static const char usage[] =
    "usage: custos-attestor COMMAND [OPTIONS]\n"
    "  keygen  --out FILE                    new signing key (mode 0600); prints its address\n"
    "  keygen  --pkcs11-module SO --pkcs11-token LABEL --pkcs11-key LABEL\n"
    "          [--pkcs11-pin-file F] [--import KEYFILE]\n"
    "                                        new key in the HSM token (or the key file's key\n"
    "                                        moved into it); prints its address\n"
    "  attest  --holdings F (--prices F | --price-source URL... [--price-ca F])\n"
    "          --policy F --key F --account REF --feed NAME\n"
    "          --chain-id N --contract 0xADDR --state F\n"
    "          [--gateway HOST:PORT " AT_GATEWAY_USAGE "] [--export OUT.json] [--now UNIXSECONDS]\n"
    "          [--registry PLEDGES.json]\n"
    "                                        value, sign, submit and/or export\n"
    "  cosign  --in FILE.json --key F\n"
    "          [--gateway HOST:PORT " AT_GATEWAY_USAGE "] [--export OUT.json]\n"
    "                                        add this key's signature, submit and/or export\n"
    "  freeze  --holdings F --account REF --reason TEXT --key F --feed NAME\n"
    "          --chain-id N --contract 0xADDR --state F (--policy F | --valid-until T)\n"
    "          [--now T] [--gateway HOST:PORT " AT_GATEWAY_USAGE "] [--export OUT.json]\n"
    "                                        void the account's value at once (custodian key)\n"
    "  pledge  --account REF --beneficiary 0xADDR --registry F\n"
    "                                        record the account's one lender\n"
    "  release --account REF --registry F --holdings F --key F --feed NAME\n"
    "          --chain-id N --contract 0xADDR --state F (--policy F | --valid-until T)\n"
    "          [--now T] --gateway HOST:PORT " AT_GATEWAY_USAGE " [--export OUT.json]\n"
    "                                        end the pledge (cleared once ACCEPTED)\n"
    "  run     --config FILE.json            daemon: re-value, sign, spool and submit every\n"
    "                                        account on an interval and on holdings changes\n"
    "  reserves --holdings F --prices F --policy F --key F --feed NAME\n"
    "          --chain-id N --contract 0xADDR --state F --out-dir DIR [--now T]\n"
    "                                        sign the feed's total collateral and write one\n"
    "                                        inclusion proof per account\n"
    "  cosign-reserves --dir DIR --key F [--gateway HOST:PORT " AT_GATEWAY_USAGE "]\n"
    "                                        add this key's signature to DIR's reserves and\n"
    "                                        proof files; submit them with every leaf\n"
    "  notice  --account-id 0xHEX --lender 0xADDR --state NAME --exposure USD\n"
    "          --collateral-value USD [--deadline T] --sequence N --chain-id N\n"
    "          --contract 0xADDR --key F [--gateway HOST:PORT " AT_GATEWAY_USAGE "]\n"
    "          [--export OUT.json]           sign a collateral notice (margin call, ...),\n"
    "                                        submit and/or export it\n"
    "  manage  --account-id 0xHEX --lender 0xADDR --loan-decimals N --loan-price-usd USD\n"
    "          --margin-return-ltv BPS --margin-call-ltv BPS --liquidation-ltv BPS\n"
    "          (--cure-seconds N | --cure-business-hours N) --state F --chain-id N\n"
    "          --contract 0xADDR --key F --gateway HOST:PORT [--once]\n"
    "                                        the collateral manager of one pledge\n"
    "  submit-batch --dir DIR --gateway HOST:PORT " AT_GATEWAY_USAGE "\n"
    "                                        send a signed batch directory (attest --batch,\n"
    "                                        cosign); report each account's answer\n"
    "every --key F also takes an HSM key: --pkcs11-module SO --pkcs11-token LABEL\n"
    "  --pkcs11-key LABEL [--pkcs11-pin-file F] (else the PIN is in CUSTOS_PKCS11_PIN)\n"
    "environment: CUSTOS_GATEWAY, CUSTOS_CA, CUSTOS_CERT, CUSTOS_KEY stand for --gateway,\n"
    "  --tls-ca, --tls-cert, --tls-key when those are not given (--insecure ignores the\n"
    "  TLS ones); --timeout-ms N bounds each call to the gateway (default 10000)\n"
    "COMMAND --help describes a command and its options; --version prints the version\n"
    "exit status: 0 done, 1 bad input (nothing submitted), 2 refused by the gateway,\n"
    "             3 gateway unreachable or cannot take it now: try again later\n";

int main(int argc, char **argv)
{
    static const clopt_entry commands[] = {
        {"keygen", at_cmd_keygen, NULL},   {"attest", at_cmd_attest, NULL},
        {"cosign", at_cmd_cosign, NULL},   {"freeze", at_cmd_freeze, NULL},
        {"pledge", at_cmd_pledge, NULL},   {"release", at_cmd_release, NULL},
        {"run", at_cmd_run, NULL},         {"reserves", at_cmd_reserves, NULL},
        {"cosign-reserves", at_cmd_cosign_reserves, NULL},
        {"notice", at_cmd_notice, NULL},   {"manage", at_cmd_manage, NULL},
        {"submit-batch", at_cmd_submit_batch, NULL},
        {NULL, NULL, NULL}};
    const clopt_program attestor = {"custos-attestor", custos_version(), usage, commands};
    return clopt_main(&attestor, argc, argv);
}
