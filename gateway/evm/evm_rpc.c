#include "evm/evm_rpc.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/hex.h"

/* JSON-RPC codes meaning "this node does not implement the method" (JSON-RPC 2.0 and
 * EIP-1474). */
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_METHOD_NOT_SUPPORTED (-32004)

/* "0x" + 64 hex digits + NUL */
#define QUANTITY_MAX CUSTOS_HEX_LEN(CUSTOS_U256_LEN)

struct evm_rpc {
    CURL *curl;
    struct curl_slist *headers;
    char *url;
    size_t max_response;
    long timeout_ms;
    custos_u256 fallback_tip;
    uint64_t next_id;
    char curl_error[CURL_ERROR_SIZE];
    /* The answer being received. */
    char *body;
    size_t body_len;
    size_t body_cap;
    bool body_too_large;
    bool body_nomem;
    /* The last JSON-RPC error. */
    bool has_fault;
    evm_rpc_fault fault;
    char *fault_message;
    uint8_t *fault_data;
};

static void fault_clear(evm_rpc *c)
{
    free(c->fault_message);
    free(c->fault_data);
    c->fault_message = NULL;
    c->fault_data = NULL;
    c->has_fault = false;
    memset(&c->fault, 0, sizeof c->fault);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    evm_rpc *c = userdata;
    size_t n = size * nmemb;
    if (n > c->max_response - c->body_len) {
        c->body_too_large = true;
        return 0; /* aborts the transfer */
    }
    if (c->body_len + n + 1 > c->body_cap) {
        size_t cap = c->body_cap == 0 ? 4096 : c->body_cap;
        while (cap < c->body_len + n + 1)
            cap *= 2;
        char *b = realloc(c->body, cap);
        if (b == NULL) {
            c->body_nomem = true;
            return 0;
        }
        c->body = b;
        c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, ptr, n);
    c->body_len += n;
    c->body[c->body_len] = '\0';
    return n;
}

#define SETOPT(c, opt, val)                                                                 \
    do {                                                                                    \
        CURLcode sc_ = curl_easy_setopt((c)->curl, opt, val);                               \
        if (sc_ != CURLE_OK) {                                                              \
            evm_rpc_free(c);                                                                \
            return custos_error_set(err, CUSTOS_ERR_INTERNAL, "curl option %s: %s", #opt,   \
                                    curl_easy_strerror(sc_));                               \
        }                                                                                   \
    } while (0)

custos_rc evm_rpc_new(const evm_rpc_options *opt, evm_rpc **out, custos_error *err)
{
    if (opt->url == NULL || (strncmp(opt->url, "http://", 7) != 0 &&
                             strncmp(opt->url, "https://", 8) != 0))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "node URL must start with http:// or https://");
    if (opt->connect_timeout_ms < 0 || opt->timeout_ms < 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "node timeouts must not be negative");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "curl_global_init failed");
    evm_rpc *c = calloc(1, sizeof *c);
    if (c == NULL) {
        curl_global_cleanup();
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "node client: out of memory");
    }
    c->max_response = opt->max_response_bytes > 0 ? opt->max_response_bytes
                                                  : EVM_RPC_MAX_RESPONSE;
    c->timeout_ms = opt->timeout_ms > 0 ? opt->timeout_ms : EVM_RPC_TIMEOUT_MS;
    c->fallback_tip = opt->fallback_priority_fee;
    c->next_id = 1;
    c->url = strdup(opt->url);
    c->curl = curl_easy_init();
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (c->url == NULL || c->curl == NULL || c->headers == NULL) {
        evm_rpc_free(c);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "node client: out of memory");
    }
    long connect_ms = opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms
                                                  : EVM_RPC_CONNECT_TIMEOUT_MS;
    SETOPT(c, CURLOPT_URL, c->url);
    SETOPT(c, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(c, CURLOPT_HTTPHEADER, c->headers);
    SETOPT(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SETOPT(c, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    /* Timeouts without SIGALRM: the gateway is multi-threaded. */
    SETOPT(c, CURLOPT_NOSIGNAL, 1L);
    SETOPT(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response);
    SETOPT(c, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(c, CURLOPT_WRITEDATA, c);
    SETOPT(c, CURLOPT_ERRORBUFFER, c->curl_error);
    SETOPT(c, CURLOPT_ACCEPT_ENCODING, "");
    *out = c;
    return CUSTOS_OK;
}

void evm_rpc_free(evm_rpc *c)
{
    if (c == NULL)
        return;
    fault_clear(c);
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->headers);
    free(c->url);
    free(c->body);
    free(c);
    curl_global_cleanup();
}

const evm_rpc_fault *evm_rpc_last_fault(const evm_rpc *c)
{
    return c->has_fault ? &c->fault : NULL;
}

/* "0x" + an even number of hex digits -> malloc'd bytes (NULL for none). */
static bool parse_hex_data(const char *s, uint8_t **out, size_t *len)
{
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return false;
    size_t n = strlen(s + 2);
    if (n % 2 != 0)
        return false;
    uint8_t *b = NULL;
    if (n > 0 && (b = malloc(n / 2)) == NULL)
        return false;
    if (custos_hex_decode(s, b, n / 2, NULL) != CUSTOS_OK) {
        free(b);
        return false;
    }
    *out = b;
    *len = n / 2;
    return true;
}

/* A JSON-RPC quantity: "0x" and 1..64 hex digits. */
static bool parse_quantity(const json_t *v, custos_u256 *out)
{
    const char *s = json_string_value(v);
    if (s == NULL || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return false;
    s += 2;
    size_t n = strlen(s);
    if (n == 0 || n > 2 * CUSTOS_U256_LEN)
        return false;
    /* Left-padded to a whole uint256, then read as its big-endian bytes. */
    char digits[2 * CUSTOS_U256_LEN + 1];
    memset(digits, '0', sizeof digits - 1 - n);
    memcpy(digits + sizeof digits - 1 - n, s, n + 1);
    uint8_t be[CUSTOS_U256_LEN];
    if (custos_hex_decode(digits, be, sizeof be, NULL) != CUSTOS_OK)
        return false;
    custos_u256_from_be(out, be);
    return true;
}

static bool parse_quantity64(const json_t *v, uint64_t *out)
{
    custos_u256 q;
    if (!parse_quantity(v, &q) || q.limb[1] != 0 || q.limb[2] != 0 || q.limb[3] != 0)
        return false;
    *out = q.limb[0];
    return true;
}

/* Minimal hex quantity, as nodes require ("0x0", never leading zeros); NULL when it cannot
 * be built, which json_pack reports. */
static json_t *quantity_json(const custos_u256 *v)
{
    uint8_t be[CUSTOS_U256_LEN];
    custos_u256_to_be(v, be);
    char hex[CUSTOS_HEX_LEN(CUSTOS_U256_LEN)];
    if (custos_hex_encode(be, sizeof be, hex, sizeof hex) != CUSTOS_OK)
        return NULL;
    const char *digits = hex + 2;
    while (digits[0] == '0' && digits[1] != '\0')
        digits++;
    char buf[QUANTITY_MAX];
    snprintf(buf, sizeof buf, "0x%s", digits);
    return json_string(buf);
}

static json_t *hex_json(const uint8_t *data, size_t len)
{
    char *buf = malloc(CUSTOS_HEX_LEN(len));
    if (buf == NULL)
        return NULL;
    json_t *j = custos_hex_encode(data, len, buf, CUSTOS_HEX_LEN(len)) == CUSTOS_OK
                    ? json_string(buf)
                    : NULL;
    free(buf);
    return j;
}

static custos_rc invalid_field(const char *method, const char *field, custos_error *err)
{
    return custos_error_set(err, CUSTOS_ERR_INVALID,
                            "%s: the node's answer has no valid %s", method, field);
}

/* Records error (an object) as the last fault and describes it in err. */
static custos_rc take_fault(evm_rpc *c, const char *method, const json_t *error,
                            custos_error *err)
{
    const json_t *code = json_object_get(error, "code");
    const char *message = json_string_value(json_object_get(error, "message"));
    const char *data = json_string_value(json_object_get(error, "data"));
    if (!json_is_integer(code))
        return invalid_field(method, "error.code", err);
    c->fault_message = strdup(message != NULL ? message : "");
    if (c->fault_message == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", method);
    c->has_fault = true;
    c->fault.code = json_integer_value(code);
    c->fault.message = c->fault_message;
    if (data != NULL && parse_hex_data(data, &c->fault_data, &c->fault.data_len)) {
        c->fault.data = c->fault_data;
        c->fault.has_data = true;
    }
    return custos_error_set(err, CUSTOS_ERR_REFUSED, "%s: node error %lld: %s%s%.80s", method,
                            (long long)c->fault.code, c->fault_message,
                            c->fault.has_data ? "; data " : "",
                            c->fault.has_data ? data : "");
}

custos_rc evm_rpc_request(evm_rpc *c, const char *method, json_t *params, json_t **result,
                          custos_error *err)
{
    fault_clear(c);
    if (params == NULL && (params = json_array()) == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", method);
    uint64_t id = c->next_id++;
    json_t *req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id,
                            "method", method, "params", params);
    if (req == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: cannot build the request", method);
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (text == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: cannot build the request", method);

    c->body_len = 0;
    c->body_too_large = false;
    c->body_nomem = false;
    c->curl_error[0] = '\0';
    CURLcode cc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, text);
    if (cc == CURLE_OK)
        cc = curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(text));
    if (cc != CURLE_OK) {
        free(text);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "%s: curl option: %s", method,
                                curl_easy_strerror(cc));
    }
    cc = curl_easy_perform(c->curl);
    free(text);
    if (c->body_too_large || cc == CURLE_FILESIZE_EXCEEDED)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "%s: the node's answer exceeds %zu bytes", method,
                                c->max_response);
    if (c->body_nomem)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory for the answer",
                                method);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return custos_error_set(err, CUSTOS_ERR_UNAVAILABLE, "%s: node timed out (%s)", method,
                                c->curl_error[0] ? c->curl_error : curl_easy_strerror(cc));
    if (cc != CURLE_OK)
        return custos_error_set(err, CUSTOS_ERR_UNAVAILABLE, "%s: cannot reach node: %s",
                                method, c->curl_error[0] ? c->curl_error
                                                         : curl_easy_strerror(cc));
    long http = 0;
    if ((cc = curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &http)) != CURLE_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "%s: curl info: %s", method,
                                curl_easy_strerror(cc));

    json_error_t jerr;
    /* Nodes put a revert's raw bytes, NULs included, into error messages (anvil: "execution
     * reverted: \u0000..."): such an answer is still a JSON-RPC error with its data. */
    json_t *resp =
        c->body_len > 0 ? json_loadb(c->body, c->body_len, JSON_ALLOW_NUL, &jerr) : NULL;
    const json_t *error = json_object_get(resp, "error");
    custos_rc rc;
    if (json_is_object(error)) {
        rc = take_fault(c, method, error, err);
    } else if (http < 200 || http > 299) {
        /* 429: a provider's rate limit, which serves nobody for a while (the publisher
         * turns to another node); other 4xx refuse the request itself. */
        rc = custos_error_set(err, http >= 400 && http < 500 && http != 429
                                       ? CUSTOS_ERR_REFUSED
                                       : CUSTOS_ERR_UNAVAILABLE,
                              "%s: node answered HTTP %ld", method, http);
    } else if (resp == NULL) {
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: the node's answer is not JSON (%s)",
                              method, c->body_len > 0 ? jerr.text : "empty body");
    } else if (!json_is_integer(json_object_get(resp, "id")) ||
               json_integer_value(json_object_get(resp, "id")) != (json_int_t)id) {
        rc = invalid_field(method, "id matching the request", err);
    } else if (json_object_get(resp, "result") == NULL) {
        rc = invalid_field(method, "result", err);
    } else {
        *result = json_incref(json_object_get(resp, "result"));
        rc = CUSTOS_OK;
    }
    json_decref(resp);
    return rc;
}

/* A request whose params the caller has just built: NULL params (out of memory while
 * building them) is CUSTOS_ERR_NOMEM, not a request without params. */
static custos_rc request_built(evm_rpc *c, const char *method, json_t *params,
                               json_t **result, custos_error *err)
{
    if (params == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", method);
    return evm_rpc_request(c, method, params, result, err);
}

/* A method whose result is one quantity. */
static custos_rc request_quantity(evm_rpc *c, const char *method, json_t *params,
                                  custos_u256 *out, custos_error *err)
{
    json_t *res;
    custos_rc rc = evm_rpc_request(c, method, params, &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (!parse_quantity(res, out))
        rc = invalid_field(method, "result quantity", err);
    json_decref(res);
    return rc;
}

static custos_rc request_quantity64(evm_rpc *c, const char *method, json_t *params,
                                    uint64_t *out, custos_error *err)
{
    custos_u256 q;
    custos_rc rc = request_quantity(c, method, params, &q, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (q.limb[1] != 0 || q.limb[2] != 0 || q.limb[3] != 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: result does not fit in 64 bits",
                                method);
    *out = q.limb[0];
    return CUSTOS_OK;
}

custos_rc evm_rpc_chain_id(evm_rpc *c, uint64_t *out, custos_error *err)
{
    return request_quantity64(c, "eth_chainId", NULL, out, err);
}

custos_rc evm_rpc_block_number(evm_rpc *c, uint64_t *out, custos_error *err)
{
    return request_quantity64(c, "eth_blockNumber", NULL, out, err);
}

/* [address, tag] for account queries; NULL when out of memory. */
static json_t *account_params(const uint8_t addr[CUSTOS_ADDRESS_LEN], const char *tag)
{
    return json_pack("[o, s]", hex_json(addr, CUSTOS_ADDRESS_LEN), tag);
}

custos_rc evm_rpc_get_transaction_count(evm_rpc *c, const uint8_t addr[CUSTOS_ADDRESS_LEN],
                                        evm_block_tag tag, uint64_t *out, custos_error *err)
{
    json_t *params = account_params(addr, tag == EVM_BLOCK_PENDING ? "pending" : "latest");
    if (params == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "eth_getTransactionCount: out of memory");
    return request_quantity64(c, "eth_getTransactionCount", params, out, err);
}

custos_rc evm_rpc_get_balance(evm_rpc *c, const uint8_t addr[CUSTOS_ADDRESS_LEN],
                              custos_u256 *out, custos_error *err)
{
    json_t *params = account_params(addr, "latest");
    if (params == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "eth_getBalance: out of memory");
    return request_quantity(c, "eth_getBalance", params, out, err);
}

static json_t *call_json(const evm_call *call)
{
    json_t *o = json_pack("{s:o, s:o, s:o}", "to", hex_json(call->to, CUSTOS_ADDRESS_LEN),
                          "value", quantity_json(&call->value), "data",
                          hex_json(call->data, call->data_len));
    if (o != NULL && call->from != NULL &&
        json_object_set_new(o, "from", hex_json(call->from, CUSTOS_ADDRESS_LEN)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

custos_rc evm_rpc_estimate_gas(evm_rpc *c, const evm_call *call, uint64_t *gas,
                               custos_error *err)
{
    json_t *params = json_pack("[o]", call_json(call));
    if (params == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "eth_estimateGas: out of memory");
    return request_quantity64(c, "eth_estimateGas", params, gas, err);
}

custos_rc evm_rpc_max_priority_fee(evm_rpc *c, custos_u256 *out, bool *fallback,
                                   custos_error *err)
{
    custos_rc rc = request_quantity(c, "eth_maxPriorityFeePerGas", NULL, out, err);
    bool missing = rc == CUSTOS_ERR_REFUSED && c->has_fault &&
                   (c->fault.code == RPC_METHOD_NOT_FOUND ||
                    c->fault.code == RPC_METHOD_NOT_SUPPORTED);
    if (missing) {
        fault_clear(c);
        *out = c->fallback_tip;
        custos_error_clear(err);
        rc = CUSTOS_OK;
    }
    if (rc == CUSTOS_OK && fallback != NULL)
        *fallback = missing;
    return rc;
}

/* The latest block's header (eth_getBlockByNumber without its transactions): a JSON
 * object the caller releases. */
static custos_rc latest_block(evm_rpc *c, json_t **block, custos_error *err)
{
    static const char method[] = "eth_getBlockByNumber";
    json_t *params = json_pack("[s, b]", "latest", 0);
    custos_rc rc = request_built(c, method, params, block, err);
    if (rc == CUSTOS_OK && !json_is_object(*block)) {
        json_decref(*block);
        *block = NULL;
        rc = invalid_field(method, "latest block", err);
    }
    return rc;
}

custos_rc evm_rpc_base_fee(evm_rpc *c, custos_u256 *out, custos_error *err)
{
    json_t *res;
    custos_rc rc = latest_block(c, &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (!parse_quantity(json_object_get(res, "baseFeePerGas"), out))
        rc = invalid_field("eth_getBlockByNumber",
                           "baseFeePerGas (is EIP-1559 active on this chain?)", err);
    json_decref(res);
    return rc;
}

/* result as exactly len bytes of hex. */
static custos_rc result_fixed_hex(const char *method, const json_t *res, uint8_t *out,
                                  size_t len, custos_error *err)
{
    const char *s = json_string_value(res);
    uint8_t *b;
    size_t n;
    if (s == NULL || !parse_hex_data(s, &b, &n))
        return invalid_field(method, "result hex", err);
    bool ok = n == len;
    if (ok)
        memcpy(out, b, len);
    free(b);
    return ok ? CUSTOS_OK : invalid_field(method, "result of the expected length", err);
}

custos_rc evm_rpc_send_raw_transaction(evm_rpc *c, const uint8_t *raw, size_t len,
                                       uint8_t hash[CUSTOS_HASH_LEN], custos_error *err)
{
    static const char method[] = "eth_sendRawTransaction";
    json_t *params = json_pack("[o]", hex_json(raw, len));
    json_t *res;
    custos_rc rc = request_built(c, method, params, &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = result_fixed_hex(method, res, hash, CUSTOS_HASH_LEN, err);
    json_decref(res);
    return rc;
}

custos_rc evm_rpc_get_receipt(evm_rpc *c, const uint8_t hash[CUSTOS_HASH_LEN],
                              evm_receipt *out, bool *found, custos_error *err)
{
    static const char method[] = "eth_getTransactionReceipt";
    json_t *params = json_pack("[o]", hex_json(hash, CUSTOS_HASH_LEN));
    json_t *res;
    custos_rc rc = request_built(c, method, params, &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint64_t status;
    evm_receipt r;
    if (json_is_null(res)) {
        *found = false;
    } else if (!json_is_object(res)) {
        rc = invalid_field(method, "receipt object", err);
    } else if (!parse_quantity64(json_object_get(res, "status"), &status) || status > 1) {
        rc = invalid_field(method, "status", err);
    } else if (!parse_quantity64(json_object_get(res, "blockNumber"), &r.block_number)) {
        rc = invalid_field(method, "blockNumber", err);
    } else if (!parse_quantity64(json_object_get(res, "gasUsed"), &r.gas_used)) {
        rc = invalid_field(method, "gasUsed", err);
    } else if (!parse_quantity(json_object_get(res, "effectiveGasPrice"),
                               &r.effective_gas_price)) {
        rc = invalid_field(method, "effectiveGasPrice", err);
    } else if (result_fixed_hex(method, json_object_get(res, "blockHash"), r.block_hash,
                                sizeof r.block_hash, NULL) != CUSTOS_OK) {
        rc = invalid_field(method, "blockHash", err);
    } else {
        r.success = status == 1;
        *out = r;
        *found = true;
    }
    json_decref(res);
    return rc;
}

/* Whether a log's field v is "0x" + exactly len bytes equal to want. */
static bool log_field_is(const json_t *v, const uint8_t *want, size_t len)
{
    uint8_t got[CUSTOS_HASH_LEN];
    return len <= sizeof got &&
           result_fixed_hex("eth_getTransactionReceipt", v, got, len, NULL) == CUSTOS_OK &&
           memcmp(got, want, len) == 0;
}

custos_rc evm_rpc_receipt_logs(evm_rpc *c, const uint8_t hash[CUSTOS_HASH_LEN],
                               const uint8_t emitter[CUSTOS_ADDRESS_LEN],
                               const uint8_t topic0[CUSTOS_HASH_LEN], evm_log *out, size_t max,
                               size_t *n, bool *found, custos_error *err)
{
    static const char method[] = "eth_getTransactionReceipt";
    *n = 0;
    *found = false;
    json_t *params = json_pack("[o]", hex_json(hash, CUSTOS_HASH_LEN));
    json_t *res;
    custos_rc rc = request_built(c, method, params, &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    json_t *logs = json_is_object(res) ? json_object_get(res, "logs") : NULL;
    if (json_is_null(res)) {
        json_decref(res);
        return CUSTOS_OK;
    }
    if (!json_is_array(logs)) {
        json_decref(res);
        return invalid_field(method, "logs", err);
    }
    size_t i;
    json_t *log;
    json_array_foreach(logs, i, log) {
        json_t *topics = json_object_get(log, "topics");
        if (!json_is_array(topics) || json_array_size(topics) < 2 ||
            !log_field_is(json_object_get(log, "address"), emitter, CUSTOS_ADDRESS_LEN) ||
            !log_field_is(json_array_get(topics, 0), topic0, CUSTOS_HASH_LEN))
            continue;
        if (*n < max) {
            evm_log *l = &out[*n];
            const char *data = json_string_value(json_object_get(log, "data"));
            uint8_t *bytes = NULL;
            size_t len = 0;
            if (result_fixed_hex(method, json_array_get(topics, 1), l->topic1,
                                 CUSTOS_HASH_LEN, err) != CUSTOS_OK ||
                data == NULL || !parse_hex_data(data, &bytes, &len)) {
                rc = invalid_field(method, "log", err);
                break;
            }
            l->data_len = len < EVM_LOG_DATA_MAX ? len : EVM_LOG_DATA_MAX;
            if (l->data_len > 0)
                memcpy(l->data, bytes, l->data_len);
            free(bytes);
        }
        (*n)++;
    }
    *found = rc == CUSTOS_OK;
    json_decref(res);
    return rc;
}

/* A block number as a JSON-RPC quantity. */
static json_t *block_json(uint64_t number)
{
    char text[24];
    snprintf(text, sizeof text, "0x%" PRIx64, number);
    return json_string(text);
}

/* One entry of eth_getLogs' answer into e. */
static custos_rc event_from_json(const json_t *log, evm_event *e, custos_error *err)
{
    static const char method[] = "eth_getLogs";
    const json_t *topics = json_object_get(log, "topics");
    if (!json_is_array(topics) || json_array_size(topics) == 0 ||
        json_array_size(topics) > EVM_EVENT_TOPICS_MAX ||
        !parse_quantity64(json_object_get(log, "blockNumber"), &e->block))
        return invalid_field(method, "log", err);
    e->n_topics = json_array_size(topics);
    for (size_t t = 0; t < e->n_topics; t++)
        if (result_fixed_hex(method, json_array_get(topics, t), e->topics[t], CUSTOS_HASH_LEN,
                             err) != CUSTOS_OK)
            return invalid_field(method, "log topic", err);
    return CUSTOS_OK;
}

custos_rc evm_rpc_get_logs(evm_rpc *c, const uint8_t emitter[CUSTOS_ADDRESS_LEN],
                           const uint8_t (*topic0s)[CUSTOS_HASH_LEN], size_t n_topic0,
                           uint64_t from, uint64_t to, evm_event **out, size_t *n,
                           custos_error *err)
{
    static const char method[] = "eth_getLogs";
    *out = NULL;
    *n = 0;
    json_t *first = json_array();
    for (size_t i = 0; first != NULL && i < n_topic0; i++)
        if (json_array_append_new(first, hex_json(topic0s[i], CUSTOS_HASH_LEN)) != 0) {
            json_decref(first);
            first = NULL;
        }
    json_t *params = first == NULL ? NULL
                                   : json_pack("[{s:o, s:o, s:o, s:[o]}]", "address",
                                               hex_json(emitter, CUSTOS_ADDRESS_LEN),
                                               "fromBlock", block_json(from), "toBlock",
                                               block_json(to), "topics", first);
    json_t *res;
    custos_rc rc = request_built(c, method, params, &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (!json_is_array(res)) {
        json_decref(res);
        return invalid_field(method, "result", err);
    }
    size_t count = json_array_size(res);
    evm_event *v = count > 0 ? calloc(count, sizeof *v) : NULL;
    if (count > 0 && v == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory for %zu logs", method,
                              count);
    for (size_t i = 0; rc == CUSTOS_OK && i < count; i++)
        rc = event_from_json(json_array_get(res, i), &v[i], err);
    json_decref(res);
    if (rc != CUSTOS_OK) {
        free(v);
        return rc;
    }
    *out = v;
    *n = count;
    return CUSTOS_OK;
}

custos_rc evm_rpc_block_gas_limit(evm_rpc *c, uint64_t *out, custos_error *err)
{
    json_t *res;
    custos_rc rc = latest_block(c, &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (!parse_quantity64(json_object_get(res, "gasLimit"), out))
        rc = invalid_field("eth_getBlockByNumber", "gasLimit", err);
    json_decref(res);
    return rc;
}

custos_rc evm_rpc_block_hash(evm_rpc *c, uint64_t number, uint8_t hash[CUSTOS_HASH_LEN],
                             bool *found, custos_error *err)
{
    static const char method[] = "eth_getBlockByNumber";
    custos_u256 n;
    custos_u256_from_u64(&n, number);
    json_t *params = json_pack("[o, b]", quantity_json(&n), 0);
    json_t *res;
    custos_rc rc = request_built(c, method, params, &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    *found = false;
    if (json_is_object(res))
        rc = result_fixed_hex(method, json_object_get(res, "hash"), hash, CUSTOS_HASH_LEN, err);
    else if (!json_is_null(res))
        rc = invalid_field(method, "block", err);
    *found = rc == CUSTOS_OK && json_is_object(res);
    json_decref(res);
    return rc;
}

custos_rc evm_rpc_call(evm_rpc *c, const evm_call *call, uint8_t **out, size_t *len,
                       custos_error *err)
{
    json_t *params = json_pack("[o, s]", call_json(call), "latest");
    json_t *res;
    custos_rc rc = request_built(c, "eth_call", params, &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    const char *s = json_string_value(res);
    if (s == NULL || !parse_hex_data(s, out, len))
        rc = invalid_field("eth_call", "result hex", err);
    json_decref(res);
    return rc;
}
