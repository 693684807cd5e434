/* The command-line parser custos and custos-attestor share (cli/clopt): what it reads, where
 * the values go, and the exact message for each kind of bad command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clopt.h"

typedef struct demo_args {
    const char *feed, *prices, *price_ca, *custodian, *ref;
    uint64_t count;
    clopt_list sources;
    clopt_gateway gw;
} demo_args;

static const clopt demo_options[] = {
    {"feed", "NAME", CLOPT_STR, offsetof(demo_args, feed), "the feed"},
    {"prices", "F", CLOPT_STR, offsetof(demo_args, prices), "prices file"},
    {"price-source", "URL", CLOPT_LIST, offsetof(demo_args, sources), "a price source"},
    {"price-ca", "F", CLOPT_STR, offsetof(demo_args, price_ca), "CA of the price sources"},
    {"count", "N", CLOPT_U64, offsetof(demo_args, count), "how many"},
    {"custodian", "ID", CLOPT_STR, offsetof(demo_args, custodian), "the custodian"},
    {"ref", "REF", CLOPT_STR, offsetof(demo_args, ref), "the account's reference"},
    {"after", "SEQ", CLOPT_REFUSE, 0, "--after is for demo list"},
    {0}};
static const clopt_set demo_sets[] = {{demo_options, 0},
                                      {clopt_gateway_options, offsetof(demo_args, gw)}};
static const clopt_rule demo_rules[] = {
    {CLOPT_REQUIRED, {"feed"}, NULL},
    {CLOPT_ONE, {"prices", "price-source"}, NULL},
    {CLOPT_NEEDS, {"price-ca", "price-source"}, NULL},
    {CLOPT_CONFLICT, {"insecure", "tls-ca", "tls-cert"}, NULL},
    {CLOPT_TOGETHER, {"custodian", "ref"}, NULL},
    {CLOPT_ANY, {"gateway", "count"}, NULL},
    {CLOPT_TOGETHER, {"tls-cert", "tls-key"}, "a client certificate and its key, please"}};
static const clopt_command demo_cmd = {
    .name = "demo",
    .usage = "usage: prog demo --feed NAME (--prices F | --price-source URL...) [FILE]",
    .summary = "a command that exercises every kind of option and rule the parser knows, "
               "with a summary long enough to be wrapped",
    .sets = demo_sets,
    .n_sets = CLOPT_N(demo_sets),
    .rules = demo_rules,
    .n_rules = CLOPT_N(demo_rules),
    .max_operands = 1};

#define ARGS_MAX 24
/* A command line every rule accepts: each case adds what breaks the rule it is about. */
#define OK_BASE "--feed", "f", "--prices", "p", "--gateway", "g:1"

static clopt_status parse(const char *const *words, demo_args *a, clopt_list *ops,
                          custos_error *err)
{
    char *argv[ARGS_MAX + 1] = {"demo"};
    int argc = 1;
    for (; words[argc - 1] != NULL; argc++) {
        assert_true(argc < ARGS_MAX);
        argv[argc] = (char *)words[argc - 1];
    }
    memset(err, 0, sizeof *err);
    return clopt_parse(&demo_cmd, argc, argv, a, ops, err);
}

static void test_bad_command_lines_get_exact_messages(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *argv[ARGS_MAX];
        clopt_status status;
        const char *message;
    } cases[] = {
        {"required option missing", {"--prices", "p", "--gateway", "g:1"},
         CLOPT_BAD_USAGE, "demo: --feed is required"},
        {"conflicting options", {OK_BASE, "--price-source", "https://a"},
         CLOPT_BAD_USAGE, "demo: give --prices or --price-source, not both"},
        {"neither of one-of", {"--feed", "f", "--gateway", "g:1"},
         CLOPT_BAD_USAGE, "demo: give --prices or --price-source, not both"},
        {"unknown option", {OK_BASE, "--nope", "x"},
         CLOPT_BAD_USAGE, "demo: unrecognized option '--nope'"},
        {"unknown option with a value", {"--nope=3"},
         CLOPT_BAD_USAGE, "demo: unrecognized option '--nope'"},
        {"unknown short option", {"-x"}, CLOPT_BAD_USAGE, "demo: unrecognized option '-x'"},
        {"value not a number", {OK_BASE, "--count", "ten"},
         CLOPT_BAD_VALUE, "--count: not an unsigned integer: 'ten'"},
        {"negative number", {"--count", "-1"},
         CLOPT_BAD_VALUE, "--count: not an unsigned integer: '-1'"},
        {"number with a sign", {"--count", "+1"},
         CLOPT_BAD_VALUE, "--count: not an unsigned integer: '+1'"},
        {"number with trailing text", {"--count", "12s"},
         CLOPT_BAD_VALUE, "--count: not an unsigned integer: '12s'"},
        {"number beyond 64 bits", {"--count", "18446744073709551616"},
         CLOPT_BAD_VALUE, "--count: not an unsigned integer: '18446744073709551616'"},
        {"value missing at the end", {"--prices", "p", "--feed"},
         CLOPT_BAD_USAGE, "demo: option '--feed' requires an argument"},
        {"value given to a flag", {"--insecure=yes"},
         CLOPT_BAD_USAGE, "demo: option '--insecure' doesn't allow an argument"},
        {"ambiguous prefix", {"--price", "x"},
         CLOPT_BAD_USAGE, "demo: option '--price' is ambiguous; possibilities: '--prices' "
                          "'--price-source' '--price-ca'"},
        {"option for another one", {OK_BASE, "--price-ca", "ca.pem"},
         CLOPT_BAD_USAGE, "demo: --price-ca is for --price-source"},
        {"option that goes with none of others", {OK_BASE, "--insecure", "--tls-ca", "ca.pem"},
         CLOPT_BAD_USAGE, "demo: --insecure cannot go with --tls-ca or --tls-cert"},
        {"half of a pair", {OK_BASE, "--custodian", "acme"},
         CLOPT_BAD_USAGE, "demo: --custodian and --ref go together"},
        {"none of at least one", {"--feed", "f", "--prices", "p"},
         CLOPT_BAD_USAGE, "demo: give --gateway, --count or both"},
        {"a rule's own message", {"--feed", "f", "--prices", "p", "--count", "1", "--tls-cert",
                                  "c.pem"},
         CLOPT_BAD_USAGE, "demo: a client certificate and its key, please"},
        {"one operand too many", {OK_BASE, "a.json", "b.json"},
         CLOPT_BAD_USAGE, "demo: unexpected argument 'b.json'"},
        {"refused option", {OK_BASE, "--after", "3"},
         CLOPT_BAD_USAGE, "demo: --after is for demo list"},
        {"repeatable option given too often",
         {"--price-source", "1", "--price-source", "2", "--price-source", "3", "--price-source",
          "4", "--price-source", "5", "--price-source", "6", "--price-source", "7",
          "--price-source", "8", "--price-source", "9"},
         CLOPT_BAD_VALUE, "demo: at most 8 --price-source"},
        {"--help among bad options", {"--count", "1", "--help", "--nope"}, CLOPT_HELP, ""},
        {"-h alone", {"-h"}, CLOPT_HELP, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        demo_args a = {0};
        clopt_list ops = {0};
        custos_error err;
        clopt_status st = parse(cases[i].argv, &a, &ops, &err);
        if (st != cases[i].status || strcmp(err.message, cases[i].message) != 0)
            fail_msg("%s: status %d '%s', expected %d '%s'", cases[i].name, (int)st,
                     err.message, (int)cases[i].status, cases[i].message);
    }
}

static void test_values_go_where_declared(void **state)
{
    (void)state;
    static const char *const argv[] = {
        "--fe", "acme", "in.json", "--price-source=https://a", "--price-source", "https://b",
        "--price-ca", "ca.pem", "--gate", "g:1", "--insecure", "--custodian", "C",
        "--ref=R", NULL};
    demo_args a = {.count = 7};
    clopt_list ops = {0};
    custos_error err;
    assert_int_equal(parse(argv, &a, &ops, &err), CLOPT_RUN);
    assert_string_equal(a.feed, "acme");
    assert_null(a.prices);
    assert_int_equal(a.sources.n, 2);
    assert_string_equal(a.sources.items[0], "https://a");
    assert_string_equal(a.sources.items[1], "https://b");
    assert_string_equal(a.price_ca, "ca.pem");
    assert_int_equal(a.count, 7); /* not given: the caller's default stays */
    assert_string_equal(a.custodian, "C");
    assert_string_equal(a.ref, "R");
    assert_string_equal(a.gw.target, "g:1");
    assert_true(a.gw.insecure);
    assert_null(a.gw.tls_ca);
    assert_null(a.gw.tls_cert);
    assert_int_equal(ops.n, 1);
    assert_string_equal(ops.items[0], "in.json");
}

static void test_numbers_and_operands(void **state)
{
    (void)state;
    static const char *const largest[] = {OK_BASE, "--count", "18446744073709551615", NULL};
    demo_args a = {0};
    clopt_list ops = {0};
    custos_error err;
    assert_int_equal(parse(largest, &a, &ops, &err), CLOPT_RUN);
    assert_true(a.count == UINT64_MAX);

    /* After "--" everything is an operand; a value may look like an option; "-" is one. */
    static const char *const after_dashes[] = {"--feed", "--prices", "--prices", "p",
                                               "--gateway", "g:1", "--", "-h", NULL};
    memset(&a, 0, sizeof a);
    assert_int_equal(parse(after_dashes, &a, &ops, &err), CLOPT_RUN);
    assert_string_equal(a.feed, "--prices");
    assert_int_equal(ops.n, 1);
    assert_string_equal(ops.items[0], "-h");
    static const char *const dash[] = {OK_BASE, "-", NULL};
    memset(&a, 0, sizeof a);
    assert_int_equal(parse(dash, &a, &ops, &err), CLOPT_RUN);
    assert_string_equal(ops.items[0], "-");

    /* A value given twice keeps the last. */
    static const char *const twice[] = {OK_BASE, "--feed", "second", NULL};
    memset(&a, 0, sizeof a);
    assert_int_equal(parse(twice, &a, &ops, &err), CLOPT_RUN);
    assert_string_equal(a.feed, "second");
}

static void test_declaration_mistakes_are_internal_errors(void **state)
{
    (void)state;
    static const clopt flag_with_value[] = {
        {"quiet", "Q", CLOPT_FLAG, 0, "a flag that claims a value"}, {0}};
    static const clopt again[] = {{"gateway", "H", CLOPT_STR, 0, "declared twice"}, {0}};
    static const clopt one[] = {{"feed", "NAME", CLOPT_STR, 0, "the feed"}, {0}};
    static const clopt_set flag_sets[] = {{flag_with_value, 0}};
    static const clopt_set twice_sets[] = {{again, 0}, {clopt_gateway_options, 0}};
    static const clopt_set one_sets[] = {{one, 0}};
    static const clopt_rule unknown_rule[] = {{CLOPT_REQUIRED, {"fed"}, NULL}};
    static const clopt_rule lonely_rule[] = {{CLOPT_ONE, {"feed"}, NULL}};
    const clopt_command bad[] = {
        {.name = "flag", .usage = "u", .summary = "s", .sets = flag_sets, .n_sets = 1},
        {.name = "twice", .usage = "u", .summary = "s", .sets = twice_sets, .n_sets = 2},
        {.name = "rule", .usage = "u", .summary = "s", .sets = one_sets, .n_sets = 1,
         .rules = unknown_rule, .n_rules = 1},
        {.name = "arity", .usage = "u", .summary = "s", .sets = one_sets, .n_sets = 1,
         .rules = lonely_rule, .n_rules = 1},
        {.name = "operands", .usage = "u", .summary = "s", .max_operands = CLOPT_LIST_MAX + 1},
    };
    const char *const expect[] = {
        "flag: --quiet: only a flag is declared without a value name",
        "twice: --gateway is declared twice",
        "rule: rule 0 names --fed, which is not an option",
        "arity: rule 0 names too few options",
        "operands: from 0 to 9 operands declared, at most 8",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {"x", "--help", NULL};
        char args[256] = {0};
        clopt_list ops;
        custos_error err;
        /* Found even by --help, so no declaration mistake ships. */
        assert_int_equal(clopt_parse(&bad[i], 2, argv, args, &ops, &err), CLOPT_BAD_USAGE);
        assert_int_equal(err.code, CUSTOS_ERR_INTERNAL);
        assert_string_equal(err.message, expect[i]);
    }
}

static void test_help_lists_every_option_within_the_width(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_true(clopt_help(f, &demo_cmd));
    assert_int_equal(fclose(f), 0);
    assert_true(strncmp(text, demo_cmd.usage, strlen(demo_cmd.usage)) == 0);
    static const char *const lines[] = {
        "  --feed NAME             the feed\n",
        "  --price-source URL      a price source (up to 8 times)\n",
        "  --count N               how many\n",
        "  --insecure              plaintext, for a gateway run with [tls] insecure = true\n",
        "  -h, --help              this help\n"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (strstr(text, lines[i]) == NULL)
            fail_msg("no line '%s' in:\n%s", lines[i], text);
    assert_null(strstr(text, "--after")); /* refused options are not offered */
    for (const char *line = text; *line != '\0';) {
        size_t n = strcspn(line, "\n");
        if (n > 90)
            fail_msg("line longer than 90 columns: %.*s", (int)n, line);
        line += n + (line[n] == '\n');
    }
    free(text);
}

/* ---- picking the command ---- */

static int last_argc;
static char last_argv[4][32];

static int record_run(int argc, char **argv)
{
    last_argc = argc;
    for (int i = 0; i < argc && i < 4; i++)
        snprintf(last_argv[i], sizeof last_argv[i], "%s", argv[i]);
    return 42;
}

static const clopt_entry group_subs[] = {{"one", record_run, &demo_cmd},
                                         {"two", record_run, &demo_cmd},
                                         {"three", record_run, &demo_cmd},
                                         {NULL, NULL, NULL}};

static int group_run(int argc, char **argv)
{
    return clopt_group("prog", group_subs, NULL, argc, argv);
}

static void test_main_and_group_pick_the_command(void **state)
{
    (void)state;
    static const clopt_entry commands[] = {
        {"demo", record_run, NULL}, {"grp", group_run, NULL}, {NULL, NULL, NULL}};
    static const clopt_program prog = {"prog", "9.9.9", "usage: prog COMMAND\n", commands};

    char *run_demo[] = {"prog", "demo", "--feed", "f", NULL};
    assert_int_equal(clopt_main(&prog, 4, run_demo), 42);
    assert_int_equal(last_argc, 3);
    assert_string_equal(last_argv[0], "demo");
    assert_string_equal(last_argv[2], "f");

    /* help WORD [WORD] is the command's own --help. */
    char *help_demo[] = {"prog", "help", "demo", NULL};
    assert_int_equal(clopt_main(&prog, 3, help_demo), 42);
    assert_int_equal(last_argc, 2);
    assert_string_equal(last_argv[1], "--help");
    char *help_sub[] = {"prog", "help", "grp", "two", NULL};
    assert_int_equal(clopt_main(&prog, 4, help_sub), 42);
    assert_int_equal(last_argc, 2);
    assert_string_equal(last_argv[0], "two");
    assert_string_equal(last_argv[1], "--help");

    char *sub[] = {"prog", "grp", "three", "x", NULL};
    assert_int_equal(clopt_main(&prog, 4, sub), 42);
    assert_string_equal(last_argv[0], "three");
    assert_string_equal(last_argv[1], "x");

    last_argc = 0;
    char *unknown[] = {"prog", "nope", NULL};
    assert_int_equal(clopt_main(&prog, 2, unknown), 1);
    char *unknown_sub[] = {"prog", "grp", "four", NULL};
    assert_int_equal(clopt_main(&prog, 3, unknown_sub), 1);
    char *no_sub[] = {"prog", "grp", NULL};
    assert_int_equal(clopt_main(&prog, 2, no_sub), 1);
    char *nothing[] = {"prog", NULL};
    assert_int_equal(clopt_main(&prog, 1, nothing), 1);
    assert_int_equal(last_argc, 0);
}

/* CUSTOS_GATEWAY and the TLS variables fill the gateway options not given, before the
 * rules; the command line wins; --insecure stops the TLS ones; empty is unset. */
static void test_environment_fills_gateway_options(void **state)
{
    (void)state;
    assert_int_equal(setenv("CUSTOS_GATEWAY", "env:1", 1), 0);
    assert_int_equal(setenv("CUSTOS_CA", "env-ca.pem", 1), 0);
    assert_int_equal(setenv("CUSTOS_CERT", "env-cert.pem", 1), 0);
    assert_int_equal(setenv("CUSTOS_KEY", "env.key", 1), 0);
    custos_error err;
    demo_args a;
    clopt_list ops;
    /* No --gateway: the rule that wants one (or --count) holds through the variable. */
    memset(&a, 0, sizeof a);
    const char *const env_only[] = {"--feed", "f", "--prices", "p", NULL};
    assert_int_equal(parse(env_only, &a, &ops, &err), CLOPT_RUN);
    assert_string_equal(a.gw.target, "env:1");
    assert_string_equal(a.gw.tls_ca, "env-ca.pem");
    assert_string_equal(a.gw.tls_cert, "env-cert.pem");
    assert_string_equal(a.gw.tls_key, "env.key");
    /* An empty variable is not set. */
    assert_int_equal(setenv("CUSTOS_CA", "", 1), 0);
    memset(&a, 0, sizeof a);
    assert_int_equal(parse(env_only, &a, &ops, &err), CLOPT_RUN);
    assert_null(a.gw.tls_ca);
    assert_int_equal(setenv("CUSTOS_CA", "env-ca.pem", 1), 0);
    /* The command line wins. */
    memset(&a, 0, sizeof a);
    const char *const flags[] = {OK_BASE, "--tls-ca", "flag-ca.pem", NULL};
    assert_int_equal(parse(flags, &a, &ops, &err), CLOPT_RUN);
    assert_string_equal(a.gw.target, "g:1");
    assert_string_equal(a.gw.tls_ca, "flag-ca.pem");
    /* --insecure takes no file: the TLS variables stay out (the conflict rule holds). */
    memset(&a, 0, sizeof a);
    const char *const plain[] = {OK_BASE, "--insecure", NULL};
    assert_int_equal(parse(plain, &a, &ops, &err), CLOPT_RUN);
    assert_true(a.gw.insecure);
    assert_null(a.gw.tls_ca);
    assert_null(a.gw.tls_cert);
    assert_null(a.gw.tls_key);
    /* --timeout-ms is read as a number. */
    memset(&a, 0, sizeof a);
    const char *const timeout[] = {OK_BASE, "--timeout-ms", "2500", NULL};
    assert_int_equal(parse(timeout, &a, &ops, &err), CLOPT_RUN);
    assert_int_equal(a.gw.timeout_ms, 2500);
    int ms;
    assert_true(clopt_gateway_timeout(&a.gw, 0, &ms, &err));
    assert_int_equal(ms, 2500);
    a.gw.timeout_ms = 0;
    assert_true(clopt_gateway_timeout(&a.gw, 5000, &ms, &err));
    assert_int_equal(ms, 5000);
    a.gw.timeout_ms = (uint64_t)CLOPT_TIMEOUT_MS_MAX + 1;
    assert_false(clopt_gateway_timeout(&a.gw, 0, &ms, &err));
    assert_non_null(strstr(err.message, "--timeout-ms"));
    /* Only the shared gateway options have variables. */
    assert_null(clopt_env_of(&demo_options[0]));
    assert_non_null(clopt_env_of(&clopt_gateway_options[0]));
    unsetenv("CUSTOS_GATEWAY");
    unsetenv("CUSTOS_CA");
    unsetenv("CUSTOS_CERT");
    unsetenv("CUSTOS_KEY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_command_lines_get_exact_messages),
        cmocka_unit_test(test_values_go_where_declared),
        cmocka_unit_test(test_numbers_and_operands),
        cmocka_unit_test(test_declaration_mistakes_are_internal_errors),
        cmocka_unit_test(test_help_lists_every_option_within_the_width),
        cmocka_unit_test(test_main_and_group_pick_the_command),
        cmocka_unit_test(test_environment_fills_gateway_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
