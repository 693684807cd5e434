/* The collateral manager's config file (manage_config.h). */
#include "manage_config.h"

#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "jsonin.h"

#define MC_TEXT_MAX 1024

/* One pledge's text, owned: the options point into it. */
typedef struct mc_pledge {
    at_pledge_opts opts;
    char account_id[MC_TEXT_MAX], lender[MC_TEXT_MAX], loan_price[MC_TEXT_MAX],
        feed[MC_TEXT_MAX];
    char loan_decimals[24], margin_return[24], margin_call[24], liquidation[24],
        hysteresis[24], cure_seconds[24], cure_hours[24];
    char state[MC_TEXT_MAX * 2], seq_state[MC_TEXT_MAX * 2];
} mc_pledge;

struct at_manage_conf {
    mc_pledge *pledges;
    size_t n;
};

/* An optional text member into buf; *set NULL when absent. */
static custos_rc mc_text(const char *file, const char *path, const json_t *o, const char *key,
                         char *buf, size_t cap, const char **set, custos_error *err)
{
    json_t *v = json_object_get(o, key);
    *set = NULL;
    if (v == NULL)
        return CUSTOS_OK;
    char jp[AT_JPATH_MAX];
    at_jpath_key(jp, path, key);
    const char *text = NULL;
    custos_rc rc = at_json_text(file, jp, v, cap - 1, false, &text, err);
    if (rc == CUSTOS_OK) {
        memcpy(buf, text, strlen(text) + 1);
        *set = buf;
    }
    return rc;
}

/* An optional path member, resolved against dir unless absolute. */
static custos_rc mc_path(const char *file, const char *dir, const char *path, const json_t *o,
                         const char *key, char *buf, size_t cap, const char **set,
                         custos_error *err)
{
    char text[MC_TEXT_MAX];
    custos_rc rc = mc_text(file, path, o, key, text, sizeof text, set, err);
    if (rc != CUSTOS_OK || *set == NULL)
        return rc;
    int n = text[0] == '/' ? snprintf(buf, cap, "%s", text)
                           : snprintf(buf, cap, "%s/%s", dir, text);
    if (n < 0 || (size_t)n >= cap) {
        char jp[AT_JPATH_MAX];
        at_jpath_key(jp, path, key);
        return at_json_fail(err, file, jp, "path too long");
    }
    *set = buf;
    return CUSTOS_OK;
}

/* An optional JSON integer member, kept as its decimal text (the options' form). */
static custos_rc mc_uint(const char *file, const char *path, const json_t *o, const char *key,
                         char buf[24], const char **set, custos_error *err)
{
    json_t *v = json_object_get(o, key);
    *set = NULL;
    if (v == NULL)
        return CUSTOS_OK;
    char jp[AT_JPATH_MAX];
    at_jpath_key(jp, path, key);
    uint64_t x = 0;
    custos_rc rc = at_json_uint(file, jp, v, 0, UINT64_MAX, &x, err);
    if (rc == CUSTOS_OK) {
        snprintf(buf, 24, "%" PRIu64, x);
        *set = buf;
    }
    return rc;
}

static custos_rc mc_required(const char *file, const char *path, const char *key,
                             const char *set, custos_error *err)
{
    char jp[AT_JPATH_MAX];
    at_jpath_key(jp, path, key);
    return set != NULL ? CUSTOS_OK : at_json_fail(err, file, jp, "required");
}

static custos_rc mc_pledge_parse(const char *file, const char *dir, const char *path,
                                 const json_t *o, mc_pledge *p, custos_error *err)
{
    static const char *const keys[] = {
        "account_id", "lender", "loan_decimals", "loan_price_usd", "margin_return_ltv",
        "margin_call_ltv", "liquidation_ltv", "hysteresis", "cure_seconds",
        "cure_business_hours", "state", "feed", "attestor_state", NULL};
    at_pledge_opts *x = &p->opts;
    custos_rc rc = at_json_expect_object(file, path, o, err);
    if (rc == CUSTOS_OK)
        rc = at_json_only_keys(file, path, o, keys, err);
    if (rc == CUSTOS_OK)
        rc = mc_text(file, path, o, "account_id", p->account_id, sizeof p->account_id,
                     &x->account_id, err);
    if (rc == CUSTOS_OK)
        rc = mc_text(file, path, o, "lender", p->lender, sizeof p->lender, &x->lender, err);
    if (rc == CUSTOS_OK)
        rc = mc_uint(file, path, o, "loan_decimals", p->loan_decimals, &x->loan_decimals, err);
    if (rc == CUSTOS_OK)
        rc = mc_text(file, path, o, "loan_price_usd", p->loan_price, sizeof p->loan_price,
                     &x->loan_price, err);
    if (rc == CUSTOS_OK)
        rc = mc_uint(file, path, o, "margin_return_ltv", p->margin_return, &x->margin_return,
                     err);
    if (rc == CUSTOS_OK)
        rc = mc_uint(file, path, o, "margin_call_ltv", p->margin_call, &x->margin_call, err);
    if (rc == CUSTOS_OK)
        rc = mc_uint(file, path, o, "liquidation_ltv", p->liquidation, &x->liquidation, err);
    if (rc == CUSTOS_OK)
        rc = mc_uint(file, path, o, "hysteresis", p->hysteresis, &x->hysteresis, err);
    if (rc == CUSTOS_OK)
        rc = mc_uint(file, path, o, "cure_seconds", p->cure_seconds, &x->cure_seconds, err);
    if (rc == CUSTOS_OK)
        rc = mc_uint(file, path, o, "cure_business_hours", p->cure_hours, &x->cure_hours, err);
    if (rc == CUSTOS_OK)
        rc = mc_path(file, dir, path, o, "state", p->state, sizeof p->state, &x->state, err);
    if (rc == CUSTOS_OK)
        rc = mc_text(file, path, o, "feed", p->feed, sizeof p->feed, &x->feed, err);
    if (rc == CUSTOS_OK)
        rc = mc_path(file, dir, path, o, "attestor_state", p->seq_state, sizeof p->seq_state,
                     &x->seq_state, err);
    static const char *const required[] = {"account_id", "lender", "loan_decimals",
                                           "loan_price_usd", "margin_return_ltv",
                                           "margin_call_ltv", "liquidation_ltv", "state"};
    const char *const given[] = {x->account_id, x->lender, x->loan_decimals, x->loan_price,
                                 x->margin_return, x->margin_call, x->liquidation, x->state};
    for (size_t i = 0; rc == CUSTOS_OK && i < sizeof required / sizeof required[0]; i++)
        rc = mc_required(file, path, required[i], given[i], err);
    if (rc == CUSTOS_OK && (x->cure_seconds == NULL) == (x->cure_hours == NULL))
        rc = at_json_fail(err, file, path,
                          "give one of \"cure_seconds\" and \"cure_business_hours\"");
    if (rc == CUSTOS_OK && (x->feed == NULL) != (x->seq_state == NULL))
        rc = at_json_fail(err, file, path, "\"feed\" and \"attestor_state\" go together");
    return rc;
}

custos_rc at_manage_conf_load(const char *path, at_manage_conf **out, custos_error *err)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    json_t *root = NULL;
    custos_rc rc = at_file_read(path, AT_INPUT_MAX_BYTES, &text, &len, err);
    if (rc == CUSTOS_OK)
        rc = at_json_parse(path, text, len, &root, err);
    free(text);
    static const char *const keys[] = {"pledges", NULL};
    if (rc == CUSTOS_OK)
        rc = at_json_expect_object(path, "", root, err);
    if (rc == CUSTOS_OK)
        rc = at_json_only_keys(path, "", root, keys, err);
    json_t *list = NULL;
    if (rc == CUSTOS_OK)
        rc = at_json_member(path, "", root, "pledges", &list, err);
    if (rc == CUSTOS_OK)
        rc = at_json_expect_array(path, "pledges", list, err);
    size_t n = rc == CUSTOS_OK ? json_array_size(list) : 0;
    if (rc == CUSTOS_OK && (n == 0 || n > AT_MANAGE_PLEDGES_MAX))
        rc = at_json_fail(err, path, "pledges", "1 to %u pledges", AT_MANAGE_PLEDGES_MAX);
    at_manage_conf *c = NULL;
    if (rc == CUSTOS_OK) {
        c = calloc(1, sizeof *c);
        if (c != NULL)
            c->pledges = calloc(n, sizeof *c->pledges);
        if (c == NULL || c->pledges == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", path);
    }
    char dir_buf[MC_TEXT_MAX * 2];
    snprintf(dir_buf, sizeof dir_buf, "%s", path);
    const char *dir = dirname(dir_buf);
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++) {
        char jp[AT_JPATH_MAX];
        at_jpath_index(jp, "pledges", i);
        rc = mc_pledge_parse(path, dir, jp, json_array_get(list, i), &c->pledges[i], err);
        c->n = i + 1;
    }
    json_decref(root);
    if (rc != CUSTOS_OK) {
        at_manage_conf_free(c);
        return rc;
    }
    *out = c;
    return CUSTOS_OK;
}

void at_manage_conf_free(at_manage_conf *c)
{
    if (c == NULL)
        return;
    free(c->pledges);
    free(c);
}

size_t at_manage_conf_count(const at_manage_conf *c)
{
    return c->n;
}

const at_pledge_opts *at_manage_conf_pledge(const at_manage_conf *c, size_t i)
{
    return &c->pledges[i].opts;
}
