#include "jsonin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


custos_rc at_json_fail(custos_error *err, const char *file, const char *path, const char *fmt, ...)
{
    char msg[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path[0] == '\0')
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: %s", file, msg);
    return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: %s: %s", file, path, msg);
}

custos_rc at_json_parse(const char *file, const char *text, size_t len, json_t **root,
                        custos_error *err)
{
    json_error_t jerr;
    *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*root == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s: line %d column %d: not valid JSON: %s", file, jerr.line,
                                jerr.column, jerr.text);
    if (!json_is_object(*root)) {
        json_decref(*root);
        *root = NULL;
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: the document must be a JSON object",
                                file);
    }
    return CUSTOS_OK;
}

void at_jpath_key(char out[AT_JPATH_MAX], const char *parent, const char *key)
{
    if (parent[0] == '\0')
        snprintf(out, AT_JPATH_MAX, "%s", key);
    else
        snprintf(out, AT_JPATH_MAX, "%s.%s", parent, key);
}

void at_jpath_index(char out[AT_JPATH_MAX], const char *parent, size_t i)
{
    snprintf(out, AT_JPATH_MAX, "%s[%zu]", parent, i);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "an unknown value";
}

custos_rc at_json_only_keys(const char *file, const char *path, const json_t *obj,
                            const char *const *allowed, custos_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = path[0] == '\0' && strcmp(key, "_comment") == 0;
        for (size_t i = 0; !ok && allowed[i] != NULL; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            char p[AT_JPATH_MAX];
            at_jpath_key(p, path, key);
            return at_json_fail(err, file, p, "unknown field");
        }
    }
    return CUSTOS_OK;
}

custos_rc at_json_member(const char *file, const char *path, const json_t *obj, const char *key,
                         json_t **out, custos_error *err)
{
    *out = json_object_get(obj, key);
    if (*out == NULL) {
        char p[AT_JPATH_MAX];
        at_jpath_key(p, path, key);
        return at_json_fail(err, file, p, "missing");
    }
    return CUSTOS_OK;
}

custos_rc at_json_expect_object(const char *file, const char *path, const json_t *v,
                                custos_error *err)
{
    if (!json_is_object(v))
        return at_json_fail(err, file, path, "expected an object, found %s", type_name(v));
    return CUSTOS_OK;
}

custos_rc at_json_expect_array(const char *file, const char *path, const json_t *v,
                               custos_error *err)
{
    if (!json_is_array(v))
        return at_json_fail(err, file, path, "expected an array, found %s", type_name(v));
    return CUSTOS_OK;
}

custos_rc at_json_text(const char *file, const char *path, const json_t *v, size_t max,
                       bool allow_inner_space, const char **out, custos_error *err)
{
    if (!json_is_string(v))
        return at_json_fail(err, file, path, "expected a string, found %s", type_name(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len == 0)
        return at_json_fail(err, file, path, "empty");
    if (len > max)
        return at_json_fail(err, file, path, "%zu bytes, longer than the %zu allowed", len, max);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool blank_ok = allow_inner_space && c == ' ' && i > 0 && i + 1 < len;
        if ((c <= ' ' && !blank_ok) || c >= 0x7f)
            return at_json_fail(err, file, path,
                                "character %zu is not printable ASCII%s: '%.40s'", i + 1,
                                allow_inner_space ? " (or an inner space)" : "", s);
    }
    *out = s;
    return CUSTOS_OK;
}

custos_rc at_json_decimal(const char *file, const char *path, const json_t *v, custos_u256 *out,
                          custos_error *err)
{
    if (!json_is_string(v))
        return at_json_fail(err, file, path,
                            "expected a decimal number in a string (e.g. \"12.5\"), found %s",
                            type_name(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    /* Checked here rather than left to custos_fixed_parse so the message says what is wrong. */
    size_t int_digits = 0, frac_digits = 0;
    bool dot = false, ok = len > 0;
    for (size_t i = 0; ok && i < len; i++) {
        if (s[i] == '.' && !dot)
            dot = true;
        else if (s[i] >= '0' && s[i] <= '9' && dot)
            frac_digits++;
        else if (s[i] >= '0' && s[i] <= '9')
            int_digits++;
        else
            ok = false;
    }
    if (!ok || int_digits == 0 || (dot && frac_digits == 0))
        return at_json_fail(err, file, path, "not a decimal number: '%.40s'", s);
    if (frac_digits > CUSTOS_MONEY_DECIMALS)
        return at_json_fail(err, file, path, "more than %d decimals: '%.40s'",
                            CUSTOS_MONEY_DECIMALS, s);
    custos_error perr;
    custos_rc rc = custos_fixed_parse(out, s, len, CUSTOS_MONEY_DECIMALS, &perr);
    if (rc == CUSTOS_ERR_OVERFLOW)
        return at_json_fail(err, file, path, "too large: '%.40s'", s);
    if (rc != CUSTOS_OK)
        return at_json_fail(err, file, path, "not a decimal number: '%.40s' (%s)", s,
                            perr.message);
    return CUSTOS_OK;
}

custos_rc at_json_uint(const char *file, const char *path, const json_t *v, uint64_t min,
                       uint64_t max, uint64_t *out, custos_error *err)
{
    if (!json_is_integer(v))
        return at_json_fail(err, file, path, "expected an integer, found %s", type_name(v));
    json_int_t n = json_integer_value(v);
    if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
        return at_json_fail(err, file, path, "%lld is outside %llu..%llu", (long long)n,
                            (unsigned long long)min, (unsigned long long)max);
    *out = (uint64_t)n;
    return CUSTOS_OK;
}
