#include "status.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/sig.h"
#include "custos/u256.h"

#include "health.h"
#include "store/schema.h"
#include "store/store.h"

/* A section: a new JSON value (json_null() when absent), NULL only when out of memory. */
typedef json_t *(*status_section_fn)(const gw_status_src *src, const gw_pub_status *pub);

void gw_status_redact_url(const char *url, char *out, size_t cap)
{
    if (cap == 0)
        return;
    const char *hidden = "(hidden)";
    /* A scheme is letters, digits, '+', '-' and '.' from a letter (RFC 3986 §3.1): a
     * "://" further on is inside the path or query and shows nothing. */
    size_t scheme_len = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                    "0123456789+-.");
    const char *scheme_end = url + scheme_len;
    if (scheme_len == 0 || !isalpha((unsigned char)url[0]) ||
        strncmp(scheme_end, "://", 3) != 0) {
        snprintf(out, cap, "%s", hidden);
        return;
    }
    const char *auth = scheme_end + 3;
    size_t auth_len = strcspn(auth, "/?#");
    /* The host is what follows the last '@' of the authority. */
    const char *host = auth;
    for (const char *at = auth; at < auth + auth_len; at++)
        if (*at == '@')
            host = at + 1;
    size_t host_len = (size_t)(auth + auth_len - host);
    const char *rest = auth + auth_len;
    bool cut = host != auth || (rest[0] != '\0' && strcmp(rest, "/") != 0);
    if (host_len == 0) {
        snprintf(out, cap, "%s", hidden);
        return;
    }
    int n = snprintf(out, cap, "%.*s://%.*s%s", (int)(scheme_end - url), url, (int)host_len,
                     host, cut ? "/..." : "");
    if (n < 0 || (size_t)n >= cap)
        snprintf(out, cap, "%s", hidden);
}

static json_t *section_store(const gw_status_src *src, const gw_pub_status *pub)
{
    (void)pub;
    uint64_t held = 0;
    custos_error err;
    bool counted = gw_engine_count_held(src->engine, &held, &err) == CUSTOS_OK;
    return json_pack("{s:b, s:s, s:i, s:I, s:o}", "ok", gw_health_ready(src->engine),
                     "backend", gw_store_config_shared(src->cfg) ? "postgresql" : "sqlite",
                     "schema", (int)gw_schema_latest(), "head",
                     (json_int_t)gw_engine_head(src->engine), "held",
                     counted ? json_integer((json_int_t)held) : json_null());
}

static json_t *section_chain(const gw_status_src *src, const gw_pub_status *pub)
{
    if (src->publisher == NULL)
        return json_null();
    json_t *nodes = json_array();
    for (size_t i = 0; nodes != NULL && i < pub->n_nodes; i++) {
        char url[128];
        gw_status_redact_url(src->cfg->evm.rpc_urls[i], url, sizeof url);
        json_t *node = json_pack(
            "{s:i, s:s, s:b, s:b, s:o, s:o}", "node", (int)(i + 1), "url", url, "up",
            pub->node_up[i], "in_use", i == pub->node_current, "block",
            pub->node_block_known[i] ? json_integer((json_int_t)pub->node_block[i]) : json_null(),
            "last_error", pub->node_error[i][0] != '\0' ? json_string(pub->node_error[i])
                                                         : json_null());
        if (node == NULL || json_array_append_new(nodes, node) != 0) {
            json_decref(nodes);
            nodes = NULL;
        }
    }
    if (nodes == NULL)
        return NULL;
    return json_pack("{s:I, s:o}", "chain_id", (json_int_t)src->cfg->domain.chain_id, "nodes",
                     nodes);
}

static json_t *section_publisher(const gw_status_src *src, const gw_pub_status *pub)
{
    if (src->publisher == NULL)
        return json_null();
    uint64_t head = gw_engine_record_head(src->engine);
    uint64_t lag = head > pub->cursor ? head - pub->cursor : 0;
    return json_pack("{s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "serving",
                     pub->serving, "leader", pub->leader, "cursor", (json_int_t)pub->cursor,
                     "lag_records", (json_int_t)lag, "max_lag_records",
                     (json_int_t)src->cfg->evm.max_lag_records, "last_published_cursor",
                     (json_int_t)pub->last_published_cursor, "pending_transactions",
                     (json_int_t)pub->pending, "node_errors", (json_int_t)pub->node_errors,
                     "batches_sent", (json_int_t)pub->batches_sent, "batches_too_large",
                     (json_int_t)pub->batches_too_large);
}

static json_t *section_relayer(const gw_status_src *src, const gw_pub_status *pub)
{
    if (src->publisher == NULL)
        return json_null();
    char address[CUSTOS_ADDRESS_HEX_LEN], balance[80], low[80];
    custos_address_to_hex(pub->relayer, address);
    if (custos_u256_to_dec(&pub->balance_wei, balance, sizeof balance) != CUSTOS_OK ||
        custos_u256_to_dec(&pub->low_balance_wei, low, sizeof low) != CUSTOS_OK)
        return NULL;
    bool below = pub->balance_known && custos_u256_cmp(&pub->balance_wei,
                                                       &pub->low_balance_wei) < 0;
    /* Wei as decimal strings: they exceed what a JSON number keeps exactly. */
    return json_pack("{s:s, s:o, s:o, s:s, s:b}", "address", address, "balance_wei",
                     pub->balance_known ? json_string(balance) : json_null(), "balance_at",
                     pub->balance_known ? json_integer((json_int_t)pub->balance_at)
                                        : json_null(),
                     "low_balance_wei", low, "low", below);
}

/* Digests waiting for their quorum: how many, and since when the oldest waits. */
static json_t *section_pending(const gw_status_src *src, const gw_pub_status *pub)
{
    (void)pub;
    uint64_t count = 0, oldest = 0;
    custos_error err;
    if (gw_engine_pending_summary(src->engine, &count, &oldest, &err) != CUSTOS_OK)
        return json_pack("{s:s}", "error", "the store did not answer");
    return json_pack("{s:I, s:o}", "count", (json_int_t)count, "oldest_first_seen",
                     count > 0 ? json_integer((json_int_t)oldest) : json_null());
}

/* The policy fields of one feed that differ from the adapter's, each with both values
 * (in the adapter's unit); an empty array when they agree. */
static json_t *section_drift_policy(const gw_drift_feed *f)
{
    json_t *out = json_array();
    for (int k = 0; out != NULL && k < GW_POLICY_FIELDS; k++) {
        const gw_policy_value *v = &f->policy[k];
        if (!v->drift)
            continue;
        json_t *e = json_pack("{s:s, s:I, s:I}", "field",
                              gw_policy_field_name((gw_policy_field)k), "gateway",
                              (json_int_t)v->gateway, "adapter", (json_int_t)v->adapter);
        if (e == NULL || json_array_append_new(out, e) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    return out;
}

/* Allow-list, registry and feed-policy drift against the chain (docs/rules.md rule 10):
 * the last check's differences per feed; null without the check. */
static json_t *section_drift(const gw_status_src *src, const gw_pub_status *pub)
{
    (void)pub;
    if (src->drift == NULL)
        return json_null();
    gw_drift_report r;
    memset(&r, 0, sizeof r);
    custos_error err;
    if (gw_drift_snapshot(src->drift, &r, &err) != CUSTOS_OK)
        return NULL;
    json_t *feeds = json_array();
    for (size_t i = 0; feeds != NULL && i < r.n_feeds; i++) {
        json_t *policy = section_drift_policy(&r.feeds[i]);
        const char *unread = r.feeds[i].policy_error;
        json_t *f = policy == NULL ? NULL
                                   : json_pack("{s:s, s:I, s:I, s:o, s:o}", "feed",
                                               r.feeds[i].feed, "signers",
                                               (json_int_t)r.feeds[i].signers, "accounts",
                                               (json_int_t)r.feeds[i].accounts, "policy", policy,
                                               "policy_error",
                                               unread[0] != '\0' ? json_string(unread)
                                                                 : json_null());
        if (f == NULL || json_array_append_new(feeds, f) != 0) {
            json_decref(feeds);
            feeds = NULL;
        }
    }
    json_t *out = feeds == NULL ? NULL
                                : json_pack("{s:o, s:b, s:o, s:o, s:I, s:o}", "checked_at",
                                            r.checked_at > 0
                                                ? json_integer((json_int_t)r.checked_at)
                                                : json_null(),
                                            "failing", r.failing, "error",
                                            r.failing ? json_string(r.error) : json_null(),
                                            "feeds", feeds, "logs_read_to",
                                            (json_int_t)r.logs_read_to, "logs_error",
                                            r.logs_error[0] != '\0' ? json_string(r.logs_error)
                                                                    : json_null());
    gw_drift_report_clear(&r);
    return out;
}

static const struct {
    const char *name;
    status_section_fn fn;
} status_sections[] = {
    {"store", section_store},
    {"chain", section_chain},
    {"publisher", section_publisher},
    {"relayer", section_relayer},
    {"pending", section_pending},
    {"drift", section_drift},
};

custos_rc gw_status_render(const gw_status_src *src, char **out, size_t *len,
                           custos_error *err)
{
    *out = NULL;
    *len = 0;
    gw_pub_status pub;
    memset(&pub, 0, sizeof pub);
    if (src->publisher != NULL)
        gw_publisher_status(src->publisher, &pub);
    json_t *page = json_object();
    for (size_t i = 0; page != NULL && i < sizeof status_sections / sizeof status_sections[0];
         i++) {
        json_t *v = status_sections[i].fn(src, &pub);
        if (v == NULL || json_object_set_new(page, status_sections[i].name, v) != 0) {
            json_decref(page);
            page = NULL;
        }
    }
    char *text = page != NULL ? json_dumps(page, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(page);
    if (text == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "status: out of memory");
    *out = text;
    *len = strlen(text);
    return CUSTOS_OK;
}
