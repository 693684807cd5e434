/* clopt_parse: the options, their values, the operands, then the rules between options. */
#include "clopt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The command's options over all its sets, and which were given. */
typedef struct table {
    const clopt *opts[CLOPT_OPTIONS_MAX];
    size_t base[CLOPT_OPTIONS_MAX];
    bool given[CLOPT_OPTIONS_MAX];
    size_t n;
} table;

static clopt_status say(custos_error *err, custos_rc code, clopt_status status, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
static clopt_status say(custos_error *err, custos_rc code, clopt_status status, const char *fmt,
                        ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->code = code;
    return status;
}

/* The index of the option named exactly name (len bytes), or t->n. */
static size_t table_find(const table *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->n; i++)
        if (strncmp(t->opts[i]->name, name, len) == 0 && t->opts[i]->name[len] == '\0')
            return i;
    return t->n;
}

static bool rule_arity_ok(const clopt_rule *r, size_t n)
{
    return n >= (r->kind == CLOPT_REQUIRED || r->kind == CLOPT_ANY ? 1 : 2);
}

/* Collects the command's options and checks the declaration holds together, so that a
 * mistake in it is found by any run of the command (its --help included). */
static clopt_status table_build(const clopt_command *cmd, table *t, custos_error *err)
{
    memset(t, 0, sizeof *t);
    for (size_t s = 0; s < cmd->n_sets; s++) {
        for (const clopt *o = cmd->sets[s].opts; o->name != NULL; o++) {
            if (t->n == CLOPT_OPTIONS_MAX)
                return say(err, CUSTOS_ERR_INTERNAL, CLOPT_BAD_USAGE,
                           "%s: more than %d options declared", cmd->name, CLOPT_OPTIONS_MAX);
            if ((o->value == NULL) != (o->kind == CLOPT_FLAG))
                return say(err, CUSTOS_ERR_INTERNAL, CLOPT_BAD_USAGE,
                           "%s: --%s: only a flag is declared without a value name", cmd->name,
                           o->name);
            if (table_find(t, o->name, strlen(o->name)) != t->n)
                return say(err, CUSTOS_ERR_INTERNAL, CLOPT_BAD_USAGE,
                           "%s: --%s is declared twice", cmd->name, o->name);
            t->opts[t->n] = o;
            t->base[t->n] = cmd->sets[s].base;
            t->n++;
        }
    }
    if (cmd->min_operands > cmd->max_operands || cmd->max_operands > CLOPT_LIST_MAX)
        return say(err, CUSTOS_ERR_INTERNAL, CLOPT_BAD_USAGE,
                   "%s: from %zu to %zu operands declared, at most %d", cmd->name,
                   cmd->min_operands, cmd->max_operands, CLOPT_LIST_MAX);
    for (size_t r = 0; r < cmd->n_rules; r++) {
        const clopt_rule *rule = &cmd->rules[r];
        size_t n = 0;
        for (; n < CLOPT_RULE_NAMES && rule->names[n] != NULL; n++)
            if (table_find(t, rule->names[n], strlen(rule->names[n])) == t->n)
                return say(err, CUSTOS_ERR_INTERNAL, CLOPT_BAD_USAGE,
                           "%s: rule %zu names --%s, which is not an option", cmd->name, r,
                           rule->names[n]);
        if (!rule_arity_ok(rule, n))
            return say(err, CUSTOS_ERR_INTERNAL, CLOPT_BAD_USAGE,
                       "%s: rule %zu names too few options", cmd->name, r);
    }
    return CLOPT_RUN;
}

/* The option --name (len bytes) stands for: its exact name, else the one it begins. */
static clopt_status table_lookup(const clopt_command *cmd, const table *t, const char *name,
                                 size_t len, size_t *at, custos_error *err)
{
    *at = table_find(t, name, len);
    if (*at != t->n)
        return CLOPT_RUN;
    char also[160] = "";
    size_t hits = 0, used = 0;
    for (size_t i = 0; len > 0 && i < t->n; i++) {
        if (strncmp(t->opts[i]->name, name, len) != 0)
            continue;
        *at = i;
        hits++;
        int w = snprintf(also + used, sizeof also - used, " '--%s'", t->opts[i]->name);
        if (w > 0 && (size_t)w < sizeof also - used)
            used += (size_t)w;
    }
    if (hits == 1)
        return CLOPT_RUN;
    int shown = len > 60 ? 60 : (int)len;
    if (hits == 0)
        return say(err, CUSTOS_ERR_INVALID, CLOPT_BAD_USAGE, "%s: unrecognized option '--%.*s'",
                   cmd->name, shown, name);
    return say(err, CUSTOS_ERR_INVALID, CLOPT_BAD_USAGE,
               "%s: option '--%.*s' is ambiguous; possibilities:%s", cmd->name, shown, name,
               also);
}

bool clopt_u64(const char *text, uint64_t *out)
{
    if (text[0] < '0' || text[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* Puts option i's value (NULL for a flag) where its declaration says. */
static clopt_status table_take(const clopt_command *cmd, table *t, size_t i, const char *value,
                               void *args, custos_error *err)
{
    const clopt *o = t->opts[i];
    char *at = (char *)args + t->base[i] + o->offset;
    t->given[i] = true;
    switch (o->kind) {
    case CLOPT_FLAG:
        *(bool *)at = true;
        return CLOPT_RUN;
    case CLOPT_STR:
        *(const char **)at = value;
        return CLOPT_RUN;
    case CLOPT_U64:
        if (!clopt_u64(value, (uint64_t *)at))
            return say(err, CUSTOS_ERR_INVALID, CLOPT_BAD_VALUE,
                       "--%s: not an unsigned integer: '%.40s'", o->name, value);
        return CLOPT_RUN;
    case CLOPT_LIST: {
        clopt_list *list = (clopt_list *)at;
        if (list->n == CLOPT_LIST_MAX)
            return say(err, CUSTOS_ERR_INVALID, CLOPT_BAD_VALUE, "%s: at most %d --%s",
                       cmd->name, CLOPT_LIST_MAX, o->name);
        list->items[list->n++] = value;
        return CLOPT_RUN;
    }
    case CLOPT_REFUSE:
        break;
    }
    return say(err, CUSTOS_ERR_INVALID, CLOPT_BAD_USAGE, "%s: %s", cmd->name, o->help);
}

/* One argument that starts with "--" and is not "--" or "--help"; *i moves past a value
 * taken from the next argument. */
static clopt_status parse_option(const clopt_command *cmd, table *t, int argc, char **argv,
                                 int *i, void *args, custos_error *err)
{
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    size_t at;
    clopt_status st = table_lookup(cmd, t, name, len, &at, err);
    if (st != CLOPT_RUN)
        return st;
    const clopt *o = t->opts[at];
    const char *value = NULL;
    if (o->kind == CLOPT_FLAG) {
        if (eq != NULL)
            return say(err, CUSTOS_ERR_INVALID, CLOPT_BAD_USAGE,
                       "%s: option '--%s' doesn't allow an argument", cmd->name, o->name);
    } else if (eq != NULL) {
        value = eq + 1;
    } else if (*i + 1 < argc) {
        value = argv[++*i];
    } else {
        return say(err, CUSTOS_ERR_INVALID, CLOPT_BAD_USAGE,
                   "%s: option '--%s' requires an argument", cmd->name, o->name);
    }
    return table_take(cmd, t, at, value, args, err);
}

/* Writes "--a, --b and --c" (last_word "and" or "or") of names[from..] into buf. */
static void names_join(const clopt_rule *r, size_t from, const char *last_word, char *buf,
                       size_t cap)
{
    size_t n = from;
    while (n < CLOPT_RULE_NAMES && r->names[n] != NULL)
        n++;
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = from; i < n; i++) {
        int w;
        if (i == from)
            w = snprintf(buf + used, cap - used, "--%s", r->names[i]);
        else if (i + 1 < n)
            w = snprintf(buf + used, cap - used, ", --%s", r->names[i]);
        else
            w = snprintf(buf + used, cap - used, " %s --%s", last_word, r->names[i]);
        if (w < 0 || (size_t)w >= cap - used)
            return;
        used += (size_t)w;
    }
}

/* The message of a broken rule that declares none. */
static void rule_describe(const clopt_rule *r, char *buf, size_t cap)
{
    char all[120], rest[120];
    size_t n = 0;
    while (n < CLOPT_RULE_NAMES && r->names[n] != NULL)
        n++;
    switch (r->kind) {
    case CLOPT_REQUIRED:
        names_join(r, 0, "and", all, sizeof all);
        snprintf(buf, cap, "%s %s required", all, n == 1 ? "is" : "are");
        return;
    case CLOPT_ANY:
        if (n == 2) {
            snprintf(buf, cap, "give --%s, --%s or both", r->names[0], r->names[1]);
            return;
        }
        names_join(r, 0, "or", all, sizeof all);
        snprintf(buf, cap, "give at least one of %s", all);
        return;
    case CLOPT_ONE:
        names_join(r, 0, "or", all, sizeof all);
        if (n == 2)
            snprintf(buf, cap, "give %s, not both", all);
        else
            snprintf(buf, cap, "give exactly one of %s", all);
        return;
    case CLOPT_CONFLICT:
        names_join(r, 1, "or", rest, sizeof rest);
        snprintf(buf, cap, "--%s cannot go with %s", r->names[0], rest);
        return;
    case CLOPT_TOGETHER:
        names_join(r, 0, "and", all, sizeof all);
        snprintf(buf, cap, "%s go together", all);
        return;
    case CLOPT_NEEDS:
        names_join(r, 1, "or", rest, sizeof rest);
        snprintf(buf, cap, "--%s is for %s", r->names[0], rest);
        return;
    }
}

static bool rule_holds(const clopt_rule *r, const table *t)
{
    size_t n = 0, given = 0;
    bool first = false;
    for (; n < CLOPT_RULE_NAMES && r->names[n] != NULL; n++) {
        bool g = t->given[table_find(t, r->names[n], strlen(r->names[n]))];
        given += g;
        if (n == 0)
            first = g;
    }
    switch (r->kind) {
    case CLOPT_REQUIRED: return given == n;
    case CLOPT_ANY: return given >= 1;
    case CLOPT_ONE: return given == 1;
    case CLOPT_CONFLICT: return !first || given == 1;
    case CLOPT_TOGETHER: return given == 0 || given == n;
    case CLOPT_NEEDS: return !first || given >= 2;
    }
    return false;
}

/* Gives each option not on the command line its environment variable's value, if set and
 * not stopped by an option that is on the command line. Runs before the rules, which then
 * hold for the values wherever they came from. */
static clopt_status take_env(const clopt_command *cmd, table *t, void *args, custos_error *err)
{
    bool on_line[CLOPT_OPTIONS_MAX];
    memcpy(on_line, t->given, sizeof on_line);
    for (size_t i = 0; i < t->n; i++) {
        const clopt_env *e = clopt_env_of(t->opts[i]);
        if (on_line[i] || e == NULL)
            continue;
        const char *value = getenv(e->env);
        if (value == NULL || value[0] == '\0')
            continue;
        if (e->unless != NULL) {
            size_t stop = table_find(t, e->unless, strlen(e->unless));
            if (stop < t->n && on_line[stop])
                continue;
        }
        clopt_status st = table_take(cmd, t, i, value, args, err);
        if (st != CLOPT_RUN) {
            char why[sizeof err->message];
            memcpy(why, err->message, sizeof why);
            return say(err, CUSTOS_ERR_INVALID, CLOPT_BAD_VALUE, "%.200s (from %s)", why,
                       e->env);
        }
    }
    return CLOPT_RUN;
}

clopt_status clopt_parse(const clopt_command *cmd, int argc, char **argv, void *args,
                         clopt_list *operands, custos_error *err)
{
    table t;
    clopt_status st = table_build(cmd, &t, err);
    if (st != CLOPT_RUN)
        return st;
    if (operands == NULL && cmd->max_operands > 0)
        return say(err, CUSTOS_ERR_INTERNAL, CLOPT_BAD_USAGE,
                   "%s: operands declared but nowhere to put them", cmd->name);
    size_t n_operands = 0;
    const char *extra = NULL;
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == '\0') {
            if (n_operands < cmd->max_operands)
                operands->items[n_operands] = a;
            else if (extra == NULL)
                extra = a;
            n_operands++;
        } else if (strcmp(a, "--") == 0) {
            options_done = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return CLOPT_HELP;
        } else if (a[1] != '-') {
            return say(err, CUSTOS_ERR_INVALID, CLOPT_BAD_USAGE,
                       "%s: unrecognized option '%.40s'", cmd->name, a);
        } else {
            st = parse_option(cmd, &t, argc, argv, &i, args, err);
            if (st != CLOPT_RUN)
                return st;
        }
    }
    st = take_env(cmd, &t, args, err);
    if (st != CLOPT_RUN)
        return st;
    if (operands != NULL)
        operands->n = n_operands < cmd->max_operands ? n_operands : cmd->max_operands;
    if (n_operands > cmd->max_operands || n_operands < cmd->min_operands) {
        if (cmd->operand_message != NULL)
            return say(err, CUSTOS_ERR_INVALID, CLOPT_BAD_USAGE, "%s: %s", cmd->name,
                       cmd->operand_message);
        if (extra != NULL)
            return say(err, CUSTOS_ERR_INVALID, CLOPT_BAD_USAGE,
                       "%s: unexpected argument '%.80s'", cmd->name, extra);
        return say(err, CUSTOS_ERR_INVALID, CLOPT_BAD_USAGE, "%s: missing argument",
                   cmd->name);
    }
    for (size_t r = 0; r < cmd->n_rules; r++) {
        const clopt_rule *rule = &cmd->rules[r];
        if (rule_holds(rule, &t))
            continue;
        char text[200];
        if (rule->message == NULL)
            rule_describe(rule, text, sizeof text);
        return say(err, CUSTOS_ERR_INVALID, CLOPT_BAD_USAGE, "%s: %s", cmd->name,
                   rule->message != NULL ? rule->message : text);
    }
    return CLOPT_RUN;
}
