#include "policy.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fileio.h"
#include "jsonin.h"

static custos_rc parse_haircuts(const char *file, const json_t *m, at_policy *out,
                                custos_error *err)
{
    custos_rc rc = at_json_expect_object(file, "haircuts_bps", m, err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t n = json_object_size(m);
    if (n == 0)
        return at_json_fail(err, file, "haircuts_bps", "no asset classes");
    out->haircuts = calloc(n, sizeof *out->haircuts);
    if (out->haircuts == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", file);
    const char *cls;
    json_t *v;
    json_object_foreach((json_t *)m, cls, v) {
        char p[AT_JPATH_MAX];
        at_jpath_key(p, "haircuts_bps", cls);
        if (strlen(cls) == 0 || strlen(cls) > AT_CLASS_MAX)
            return at_json_fail(err, file, p, "an asset class has 1 to %d characters",
                                AT_CLASS_MAX);
        uint64_t bps;
        rc = at_json_uint(file, p, v, 0, 10000, &bps, err);
        if (rc != CUSTOS_OK)
            return rc;
        at_haircut *h = &out->haircuts[out->n_haircuts++];
        strcpy(h->asset_class, cls);
        h->bps = (uint32_t)bps;
    }
    return CUSTOS_OK;
}

/* Exactly one of "<name>_seconds" and "<name>_business_days"; *in_days says which. */
static custos_rc parse_limit(const char *file, const json_t *root, const char *seconds_key,
                             const char *days_key, uint64_t min_seconds, bool *in_days,
                             uint64_t *seconds, uint32_t *days, custos_error *err)
{
    json_t *s = json_object_get(root, seconds_key), *d = json_object_get(root, days_key);
    if (s != NULL && d != NULL)
        return at_json_fail(err, file, days_key, "give %s or %s, not both", seconds_key,
                            days_key);
    if (s == NULL && d == NULL)
        return at_json_fail(err, file, seconds_key, "missing (or give %s)", days_key);
    *in_days = d != NULL;
    if (s != NULL)
        return at_json_uint(file, seconds_key, s, min_seconds, AT_POLICY_SECONDS_MAX, seconds,
                            err);
    uint64_t v;
    custos_rc rc = at_json_uint(file, days_key, d, 1, AT_POLICY_BUSINESS_DAYS_MAX, &v, err);
    if (rc == CUSTOS_OK)
        *days = (uint32_t)v;
    return rc;
}

/* The calendar file named relative to the policy file's directory, or the built-in one. */
static custos_rc load_calendar(const char *file, const json_t *root, at_policy *out,
                               custos_error *err)
{
    json_t *m = json_object_get(root, "calendar");
    if (m == NULL)
        return custos_calendar_load_builtin(&out->calendar, err);
    const char *name;
    custos_rc rc = at_json_text(file, "calendar", m, 1024, true, &name, err);
    if (rc != CUSTOS_OK)
        return rc;
    char path[4096];
    const char *slash = strrchr(file, '/');
    int n = name[0] == '/' || slash == NULL
                ? snprintf(path, sizeof path, "%s", name)
                : snprintf(path, sizeof path, "%.*s/%s", (int)(slash - file), file, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return at_json_fail(err, file, "calendar", "path too long");
    return custos_calendar_load(path, &out->calendar, err);
}

static custos_rc parse_document(const char *file, const json_t *root, at_policy *out,
                                custos_error *err)
{
    static const char *const keys[] = {"haircuts_bps",
                                       "ttl_seconds",
                                       "ttl_business_days",
                                       "max_price_age_seconds",
                                       "max_price_age_business_days",
                                       "calendar",
                                       "long_bond_years",
                                       "max_price_disagreement_bps",
                                       "price_connect_timeout_ms",
                                       "price_timeout_ms",
                                       "price_retries",
                                       "price_backoff_ms",
                                       "price_quorum",
                                       NULL};
    json_t *m;
    custos_rc rc = at_json_only_keys(file, "", root, keys, err);
    if (rc == CUSTOS_OK)
        rc = at_json_member(file, "", root, "haircuts_bps", &m, err);
    if (rc == CUSTOS_OK)
        rc = parse_haircuts(file, m, out, err);
    if (rc == CUSTOS_OK)
        rc = parse_limit(file, root, "ttl_seconds", "ttl_business_days", 1,
                         &out->ttl_in_business_days, &out->ttl_seconds, &out->ttl_business_days,
                         err);
    if (rc == CUSTOS_OK)
        rc = parse_limit(file, root, "max_price_age_seconds", "max_price_age_business_days", 0,
                         &out->age_in_business_days, &out->max_price_age_seconds,
                         &out->max_price_age_business_days, err);
    static const struct {
        const char *key;
        uint64_t min, max, dflt;
        size_t offset;
    } opts[] = {
        {"max_price_disagreement_bps", 0, 10000, 50,
         offsetof(at_policy, max_price_disagreement_bps)},
        {"price_connect_timeout_ms", 1, 600000, 3000,
         offsetof(at_policy, price_connect_timeout_ms)},
        {"price_timeout_ms", 1, 600000, 10000, offsetof(at_policy, price_timeout_ms)},
        {"price_retries", 0, 10, 2, offsetof(at_policy, price_retries)},
        {"price_backoff_ms", 0, 60000, 250, offsetof(at_policy, price_backoff_ms)},
        /* 0, absent: every source must agree. */
        {"price_quorum", 1, 8, 0, offsetof(at_policy, price_quorum)},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0] && rc == CUSTOS_OK; i++) {
        uint64_t v = opts[i].dflt;
        m = json_object_get(root, opts[i].key);
        if (m != NULL)
            rc = at_json_uint(file, opts[i].key, m, opts[i].min, opts[i].max, &v, err);
        uint32_t v32 = (uint32_t)v;
        memcpy((char *)out + opts[i].offset, &v32, sizeof v32);
    }
    m = json_object_get(root, "long_bond_years");
    if (rc == CUSTOS_OK && m != NULL) {
        uint64_t years = 0;
        uint32_t bps;
        rc = at_json_uint(file, "long_bond_years", m, 1, 100, &years, err);
        if (rc == CUSTOS_OK && !at_policy_haircut(out, "long_bond", &bps))
            rc = at_json_fail(err, file, "long_bond_years",
                              "haircuts_bps has no \"long_bond\" class for these bonds");
        out->long_bond_years = (uint32_t)years;
    }
    if (rc != CUSTOS_OK)
        return rc;
    /* Always: Treasuries settle T+1 on it, whatever the limits are counted in. */
    return load_calendar(file, root, out, err);
}

custos_rc at_policy_parse(const char *file, const char *text, size_t len, at_policy *out,
                          custos_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *root;
    custos_rc rc = at_json_parse(file, text, len, &root, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = parse_document(file, root, out, err);
    json_decref(root);
    if (rc != CUSTOS_OK)
        at_policy_free(out);
    return rc;
}

custos_rc at_policy_load(const char *path, at_policy *out, custos_error *err)
{
    char *text;
    size_t len;
    memset(out, 0, sizeof *out);
    custos_rc rc = at_file_read(path, AT_INPUT_MAX_BYTES, &text, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = at_policy_parse(path, text, len, out, err);
    free(text);
    return rc;
}

void at_policy_free(at_policy *p)
{
    free(p->haircuts);
    custos_calendar_free(&p->calendar);
    memset(p, 0, sizeof *p);
}

bool at_policy_haircut(const at_policy *p, const char *asset_class, uint32_t *bps)
{
    for (size_t i = 0; i < p->n_haircuts; i++)
        if (strcmp(p->haircuts[i].asset_class, asset_class) == 0) {
            *bps = p->haircuts[i].bps;
            return true;
        }
    return false;
}

custos_rc at_policy_valid_until(const at_policy *p, uint64_t as_of, uint64_t *out,
                                custos_error *err)
{
    if (!p->ttl_in_business_days) {
        if (p->ttl_seconds > UINT64_MAX - as_of)
            return custos_error_set(err, CUSTOS_ERR_OVERFLOW,
                                    "as_of %llu plus ttl_seconds %llu overflows",
                                    (unsigned long long)as_of,
                                    (unsigned long long)p->ttl_seconds);
        *out = as_of + p->ttl_seconds;
        return CUSTOS_OK;
    }
    custos_day day, last;
    custos_rc rc = custos_ny_day(as_of, &day, err);
    if (rc == CUSTOS_OK)
        rc = custos_calendar_add_business_days(&p->calendar, day, p->ttl_business_days, &last,
                                               err);
    if (rc == CUSTOS_OK)
        rc = custos_ny_end_of_day(last, out, err);
    return rc;
}

custos_rc at_policy_check_price_age(const at_policy *p, const char *asset, uint64_t as_of,
                                    uint64_t now, custos_error *err)
{
    if (as_of > now)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "price of %s is dated %llu s in the future (as_of %llu, now "
                                "%llu): nothing signed",
                                asset, (unsigned long long)(as_of - now),
                                (unsigned long long)as_of, (unsigned long long)now);
    if (!p->age_in_business_days) {
        uint64_t age = now - as_of;
        if (age > p->max_price_age_seconds)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "price of %s is %llu s old (as_of %llu), over the policy's "
                                    "max_price_age_seconds %llu: refusing to sign a stale value",
                                    asset, (unsigned long long)age, (unsigned long long)as_of,
                                    (unsigned long long)p->max_price_age_seconds);
        return CUSTOS_OK;
    }
    custos_day priced, today;
    uint32_t days = 0;
    custos_rc rc = custos_ny_day(as_of, &priced, err);
    if (rc == CUSTOS_OK)
        rc = custos_ny_day(now, &today, err);
    if (rc == CUSTOS_OK)
        rc = custos_calendar_business_days_between(&p->calendar, priced, today, &days, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (days > p->max_price_age_business_days) {
        char from[CUSTOS_ISO_DATE_LEN], to[CUSTOS_ISO_DATE_LEN];
        custos_day_format(priced, from);
        custos_day_format(today, to);
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "price of %s is %u business days old (New York %s, today %s), "
                                "over the policy's max_price_age_business_days %u: refusing "
                                "to sign a stale value",
                                asset, days, from, to, p->max_price_age_business_days);
    }
    return CUSTOS_OK;
}
