#include "evm/evm_nodes.h"

#include <stdlib.h>
#include <string.h>

/* A down node is probed again after its back-off, doubling up to this: a node that
 * swallows connections costs a connect timeout per probe. */
#define NODES_RETRY_MAX_MS 60000

typedef enum node_chain { CHAIN_UNKNOWN, CHAIN_RIGHT, CHAIN_WRONG } node_chain;

typedef struct node {
    evm_rpc *rpc;
    bool asked;           /* a call was reported */
    bool down;            /* its last call could not reach it */
    int64_t down_since_ms;
    int64_t last_ms;      /* its last reported call */
    int64_t retry_ms;     /* back-off while down */
    node_chain chain;
} node;

struct evm_nodes {
    node nodes[EVM_NODES_MAX];
    size_t n;
};

custos_rc evm_nodes_new(const char *const *urls, size_t n, const evm_rpc_options *opt,
                        evm_nodes **out, custos_error *err)
{
    *out = NULL;
    if (n == 0 || n > EVM_NODES_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "between 1 and %d node URLs, got %zu",
                                EVM_NODES_MAX, n);
    evm_nodes *s = calloc(1, sizeof *s);
    if (s == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "node list: out of memory");
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < n && rc == CUSTOS_OK; i++) {
        evm_rpc_options o = *opt;
        o.url = urls[i];
        rc = evm_rpc_new(&o, &s->nodes[i].rpc, err);
        if (rc == CUSTOS_OK) {
            s->n = i + 1;
        } else if (err != NULL) {
            /* evm_rpc's message names no URL; say which node it was. */
            char why[sizeof err->message];
            memcpy(why, err->message, sizeof why);
            rc = custos_error_set(err, rc, "node %zu: %.200s", i + 1, why);
        }
    }
    if (rc != CUSTOS_OK) {
        evm_nodes_free(s);
        return rc;
    }
    *out = s;
    return CUSTOS_OK;
}

void evm_nodes_free(evm_nodes *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        evm_rpc_free(s->nodes[i].rpc);
    free(s);
}

size_t evm_nodes_count(const evm_nodes *s)
{
    return s->n;
}

evm_rpc *evm_nodes_client(evm_nodes *s, size_t i)
{
    return s->nodes[i].rpc;
}

void evm_nodes_report(evm_nodes *s, size_t i, custos_rc rc, int64_t now_ms, int64_t retry_ms)
{
    node *d = &s->nodes[i];
    d->asked = true;
    d->last_ms = now_ms;
    if (rc != CUSTOS_ERR_UNAVAILABLE) {
        d->down = false;
        d->down_since_ms = 0;
        d->retry_ms = 0;
        return;
    }
    if (!d->down) {
        d->down = true;
        d->down_since_ms = now_ms;
        d->retry_ms = retry_ms;
    } else {
        d->retry_ms = d->retry_ms * 2 > NODES_RETRY_MAX_MS ? NODES_RETRY_MAX_MS
                                                            : d->retry_ms * 2;
    }
}

void evm_nodes_set_chain(evm_nodes *s, size_t i, bool right)
{
    s->nodes[i].chain = right ? CHAIN_RIGHT : CHAIN_WRONG;
}

bool evm_nodes_chain_known(const evm_nodes *s, size_t i)
{
    return s->nodes[i].chain != CHAIN_UNKNOWN;
}

bool evm_nodes_up(const evm_nodes *s, size_t i)
{
    const node *d = &s->nodes[i];
    return d->asked && !d->down && d->chain != CHAIN_WRONG;
}

size_t evm_nodes_pick(const evm_nodes *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (!s->nodes[i].down && s->nodes[i].chain != CHAIN_WRONG)
            return i;
    for (size_t i = 0; i < s->n; i++)
        if (s->nodes[i].chain != CHAIN_WRONG)
            return i;
    return 0;
}

bool evm_nodes_probe_due(const evm_nodes *s, size_t i, int64_t now_ms, int64_t interval_ms)
{
    const node *d = &s->nodes[i];
    if (!d->asked)
        return true;
    return now_ms - d->last_ms >= (d->down ? d->retry_ms : interval_ms);
}

int64_t evm_nodes_all_down_since(const evm_nodes *s)
{
    int64_t since = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!s->nodes[i].down)
            return 0;
        if (s->nodes[i].down_since_ms > since)
            since = s->nodes[i].down_since_ms;
    }
    return since;
}
