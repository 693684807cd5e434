/* Answers of an Ethereum node, as the on-chain publisher's JSON-RPC client parses them.
 * The client only talks HTTP, so a loopback responder in this process serves each input
 * as the HTTP body. First byte: low 4 bits pick the method called (modulo 12), the next 3
 * bits the HTTP status (200, 200, 404, 503, 429, then 200); the rest is the body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evm/evm_rpc.h"
#include "httpstub.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The node: its canned answer is each input's, copied (httpstub_set_canned), as the
 * responder may still be writing an answer the client gave up on (size cap, bad framing)
 * when libFuzzer frees the input and moves on. */
static httpstub *node;
/* Written, never read: keeps the reads of the fault from being optimised away. */
static volatile size_t fault_sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    custos_error err;
    if (httpstub_new(NULL, NULL, &node, &err) != CUSTOS_OK) {
        fprintf(stderr, "%s\n", err.message);
        abort();
    }
    return 0;
}

static void call(evm_rpc *c, unsigned method)
{
    static const uint8_t addr[CUSTOS_ADDRESS_LEN] = {0xaa};
    static const uint8_t hash[CUSTOS_HASH_LEN] = {0x11};
    static const uint8_t raw[] = {0x02, 0xf8, 0x01};
    evm_call ec;
    memset(&ec, 0, sizeof ec);
    ec.from = addr;
    ec.data = raw;
    ec.data_len = sizeof raw;
    custos_error err;
    uint64_t u64;
    custos_u256 u256;
    bool fallback;
    uint8_t out_hash[CUSTOS_HASH_LEN];
    evm_receipt receipt;
    bool found;
    uint8_t *out = NULL;
    size_t out_len = 0;
    custos_rc rc;
    custos_error_clear(&err);
    evm_event *events = NULL;
    size_t n_events = 0;
    switch (method % 12) {
    case 0: rc = evm_rpc_chain_id(c, &u64, &err); break;
    case 1: rc = evm_rpc_block_number(c, &u64, &err); break;
    case 2: rc = evm_rpc_get_transaction_count(c, addr, EVM_BLOCK_PENDING, &u64, &err); break;
    case 3: rc = evm_rpc_get_balance(c, addr, &u256, &err); break;
    case 4: rc = evm_rpc_estimate_gas(c, &ec, &u64, &err); break;
    case 5: rc = evm_rpc_max_priority_fee(c, &u256, &fallback, &err); break;
    case 6: rc = evm_rpc_base_fee(c, &u256, &err); break;
    case 7: rc = evm_rpc_send_raw_transaction(c, raw, sizeof raw, out_hash, &err); break;
    case 8: rc = evm_rpc_get_receipt(c, hash, &receipt, &found, &err); break;
    case 10: rc = evm_rpc_block_hash(c, 7, out_hash, &found, &err); break;
    case 11:
        rc = evm_rpc_get_logs(c, addr, &hash, 1, 1, 10000, &events, &n_events, &err);
        /* Every log kept is whole: touch its topics. */
        for (size_t i = 0; rc == CUSTOS_OK && i < n_events; i++)
            for (size_t t = 0; t < events[i].n_topics; t++)
                fault_sink += events[i].topics[t][0];
        free(events);
        break;
    default:
        rc = evm_rpc_call(c, &ec, &out, &out_len, &err);
        if (rc == CUSTOS_OK)
            free(out);
        break;
    }
    /* A refused answer comes with a message saying what was wrong with it. */
    if (rc != CUSTOS_OK && err.message[0] == '\0')
        abort();
    /* A JSON-RPC error's fields must stay readable until the next call: touch them all
     * so the address sanitizer sees a dangling or short buffer. */
    const evm_rpc_fault *f = evm_rpc_last_fault(c);
    if (f != NULL) {
        fault_sink = f->message != NULL ? strlen(f->message) : 0;
        for (size_t i = 0; f->has_data && i < f->data_len; i++)
            fault_sink += f->data[i];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int statuses[8] = {200, 200, 404, 503, 429, 200, 200, 200};
    if (size < 1)
        return 0;
    custos_error err;
    if (httpstub_set_canned(node, statuses[(data[0] >> 4) & 7], data + 1, size - 1, true,
                            &err) != CUSTOS_OK) {
        fprintf(stderr, "%s\n", err.message);
        abort();
    }

    evm_rpc_options opt;
    memset(&opt, 0, sizeof opt);
    opt.url = httpstub_url(node);
    opt.timeout_ms = 5000;
    opt.max_response_bytes = 65536;
    custos_u256_from_u64(&opt.fallback_priority_fee, 1000000000u);
    evm_rpc *c;
    if (evm_rpc_new(&opt, &c, &err) != CUSTOS_OK)
        abort();
    call(c, data[0] & 0x0f);
    evm_rpc_free(c);
    return 0;
}
