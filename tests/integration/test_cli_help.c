/* The command lines of custos and custos-attestor as a user meets them: every command,
 * two-word ones included, answers --help and -h with its own usage on stdout and nothing on
 * stderr; the programs print their whole usage and their version; an unknown option fails
 * naming it; and the messages users know stay word for word. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

typedef struct command {
    const char *bin, *program;
    const char *words[2]; /* the command: one or two words */
} command;

static const command commands[] = {
    {CUSTOS_CLI_BIN, "custos", {"get-latest"}},
    {CUSTOS_CLI_BIN, "custos", {"watch"}},
    {CUSTOS_CLI_BIN, "custos", {"held"}},
    {CUSTOS_CLI_BIN, "custos", {"signers"}},
    {CUSTOS_CLI_BIN, "custos", {"health"}},
    {CUSTOS_CLI_BIN, "custos", {"chain-head"}},
    {CUSTOS_CLI_BIN, "custos", {"audit", "list"}},
    {CUSTOS_CLI_BIN, "custos", {"audit", "verify"}},
    {CUSTOS_CLI_BIN, "custos", {"audit", "verify-log"}},
    {CUSTOS_CLI_BIN, "custos", {"admin", "add-signer"}},
    {CUSTOS_CLI_BIN, "custos", {"admin", "revoke-signer"}},
    {CUSTOS_CLI_BIN, "custos", {"admin", "rotate-signer"}},
    {CUSTOS_CLI_BIN, "custos", {"admin", "set-feed-policy"}},
    {CUSTOS_CLI_BIN, "custos", {"admin", "release-held"}},
    {CUSTOS_CLI_BIN, "custos", {"pledge"}},
    {CUSTOS_CLI_BIN, "custos", {"get-proof"}},
    {CUSTOS_CLI_BIN, "custos", {"get-reserves"}},
    {CUSTOS_CLI_BIN, "custos", {"get-reserves-proof"}},
    {CUSTOS_CLI_BIN, "custos", {"verify"}},
    {CUSTOS_CLI_BIN, "custos", {"verify-proof"}},
    {CUSTOS_CLI_BIN, "custos", {"verify-reserves-proof"}},
    {CUSTOS_ATTESTOR_BIN, "custos-attestor", {"keygen"}},
    {CUSTOS_ATTESTOR_BIN, "custos-attestor", {"attest"}},
    {CUSTOS_ATTESTOR_BIN, "custos-attestor", {"cosign"}},
    {CUSTOS_ATTESTOR_BIN, "custos-attestor", {"freeze"}},
    {CUSTOS_ATTESTOR_BIN, "custos-attestor", {"pledge"}},
    {CUSTOS_ATTESTOR_BIN, "custos-attestor", {"release"}},
    {CUSTOS_ATTESTOR_BIN, "custos-attestor", {"run"}},
    {CUSTOS_ATTESTOR_BIN, "custos-attestor", {"reserves"}},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static char out[32768], err[32768];

/* Runs bin with the words of c (after "help" when help_word), then extra (may be NULL). */
static int run_command(const command *c, bool help_word, const char *extra)
{
    const char *argv[6] = {c->bin};
    size_t n = 1;
    if (help_word)
        argv[n++] = "help";
    argv[n++] = c->words[0];
    if (c->words[1] != NULL)
        argv[n++] = c->words[1];
    if (extra != NULL)
        argv[n++] = extra;
    argv[n] = NULL;
    return tu_run_split(argv, out, sizeof out, err, sizeof err);
}

static void name_of(const command *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s %s%s%s", c->program, c->words[0], c->words[1] != NULL ? " " : "",
             c->words[1] != NULL ? c->words[1] : "");
}

static void test_every_command_answers_help(void **state)
{
    (void)state;
    static const char *const flags[] = {"--help", "-h"};
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char name[80], usage[100], first[sizeof out];
        name_of(&commands[i], name, sizeof name);
        snprintf(usage, sizeof usage, "usage: %s ", name);
        for (size_t f = 0; f < 2; f++) {
            int rc = run_command(&commands[i], false, flags[f]);
            if (rc != 0 || err[0] != '\0' || strncmp(out, usage, strlen(usage)) != 0 ||
                strstr(out, "\noptions:\n") == NULL || strstr(out, "-h, --help") == NULL)
                fail_msg("%s %s: exit %d, stdout:\n%s\nstderr:\n%s", name, flags[f], rc, out,
                         err);
            if (f == 0)
                memcpy(first, out, sizeof first);
            else
                assert_string_equal(out, first);
        }
        /* "help COMMAND" is the command's own --help. */
        int rc = run_command(&commands[i], true, NULL);
        if (rc != 0 || err[0] != '\0' || strcmp(out, first) != 0)
            fail_msg("%s help: exit %d, stdout:\n%s\nstderr:\n%s", name, rc, out, err);
    }
}

static void test_whole_usage_names_every_command(void **state)
{
    (void)state;
    static const struct {
        const char *bin, *program, *word;
    } asks[] = {{CUSTOS_CLI_BIN, "custos", "--help"},
                {CUSTOS_CLI_BIN, "custos", "help"},
                {CUSTOS_CLI_BIN, "custos", "-h"},
                {CUSTOS_ATTESTOR_BIN, "custos-attestor", "--help"},
                {CUSTOS_ATTESTOR_BIN, "custos-attestor", "help"},
                {CUSTOS_ATTESTOR_BIN, "custos-attestor", "-h"}};
    for (size_t a = 0; a < sizeof asks / sizeof asks[0]; a++) {
        const char *argv[] = {asks[a].bin, asks[a].word, NULL};
        int rc = tu_run_split(argv, out, sizeof out, err, sizeof err);
        char head[80];
        snprintf(head, sizeof head, "usage: %s COMMAND [OPTIONS]\n", asks[a].program);
        if (rc != 0 || err[0] != '\0' || strncmp(out, head, strlen(head)) != 0 ||
            strstr(out, "--help") == NULL || strstr(out, "--version") == NULL)
            fail_msg("%s %s: exit %d, stdout:\n%s\nstderr:\n%s", asks[a].program, asks[a].word,
                     rc, out, err);
        for (size_t i = 0; i < N_COMMANDS; i++) {
            if (strcmp(commands[i].program, asks[a].program) != 0)
                continue;
            char line[80];
            snprintf(line, sizeof line, "\n  %s%s%s ", commands[i].words[0],
                     commands[i].words[1] != NULL ? " " : "",
                     commands[i].words[1] != NULL ? commands[i].words[1] : "");
            if (strstr(out, line) == NULL)
                fail_msg("%s %s does not list '%s'", asks[a].program, asks[a].word, line + 1);
        }
    }
    /* Without a command the usage goes to stderr and the exit status is 1. */
    const char *none[] = {CUSTOS_CLI_BIN, NULL};
    assert_int_equal(tu_run_split(none, out, sizeof out, err, sizeof err), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "usage: custos COMMAND"));
}

static void test_groups_list_their_commands(void **state)
{
    (void)state;
    static const struct {
        const char *group, *flag, *subs[5];
    } groups[] = {
        {"audit", "--help", {"list", "verify", "verify-log"}},
        {"admin", "-h",
         {"add-signer", "revoke-signer", "rotate-signer", "set-feed-policy", "release-held"}}};
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        const char *argv[] = {CUSTOS_CLI_BIN, groups[g].group, groups[g].flag, NULL};
        int rc = tu_run_split(argv, out, sizeof out, err, sizeof err);
        char head[80];
        snprintf(head, sizeof head, "usage: custos %s COMMAND [OPTIONS]\n", groups[g].group);
        if (rc != 0 || err[0] != '\0' || strncmp(out, head, strlen(head)) != 0)
            fail_msg("custos %s %s: exit %d, stdout:\n%s\nstderr:\n%s", groups[g].group,
                     groups[g].flag, rc, out, err);
        for (size_t s = 0; s < 5 && groups[g].subs[s] != NULL; s++) {
            char line[80];
            snprintf(line, sizeof line, "\n  %s ", groups[g].subs[s]);
            if (strstr(out, line) == NULL)
                fail_msg("custos %s --help does not list %s:\n%s", groups[g].group,
                         groups[g].subs[s], out);
        }
    }
}

static void test_version(void **state)
{
    (void)state;
    static const struct {
        const char *bin, *want;
    } bins[] = {{CUSTOS_CLI_BIN, "custos " CUSTOS_VERSION "\n"},
                {CUSTOS_ATTESTOR_BIN, "custos-attestor " CUSTOS_VERSION "\n"}};
    for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++) {
        const char *argv[] = {bins[i].bin, "--version", NULL};
        assert_int_equal(tu_run_split(argv, out, sizeof out, err, sizeof err), 0);
        assert_string_equal(out, bins[i].want);
        assert_string_equal(err, "");
    }
    /* The version is the project's, three numbers. */
    unsigned major, minor, patch;
    char end;
    assert_int_equal(sscanf(CUSTOS_VERSION, "%u.%u.%u%c", &major, &minor, &patch, &end), 3);
}

static void test_unknown_option_fails_naming_it(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char name[80];
        name_of(&commands[i], name, sizeof name);
        int rc = run_command(&commands[i], false, "--no-such-option");
        if (rc != 1 || out[0] != '\0' ||
            strstr(err, "unrecognized option '--no-such-option'") == NULL)
            fail_msg("%s --no-such-option: exit %d, stdout:\n%s\nstderr:\n%s", name, rc, out,
                     err);
    }
}

/* The first line each program writes on stderr for a few bad command lines, word for word:
 * the messages users and scripts already know. */
static void test_messages_stay_word_for_word(void **state)
{
    (void)state;
    static const struct {
        const char *argv[24];
        const char *first_line;
    } cases[] = {
        {{CUSTOS_CLI_BIN, "get-latest", "--gateway", "127.0.0.1:1", "--account", "0x01",
          "--ref", "R"},
         "custos: get-latest: give either --account 0xHEX or both --custodian ID and --ref REF"},
        {{CUSTOS_CLI_BIN, "get-reserves", "--gateway", "127.0.0.1:1"},
         "custos: get-reserves: --feed NAME is required"},
        {{CUSTOS_CLI_BIN, "watch", "--gateway", "127.0.0.1:1", "--after", "x"},
         "custos: --after: not an unsigned integer: 'x'"},
        {{CUSTOS_CLI_BIN, "audit", "verify", "--gateway", "127.0.0.1:1", "--after", "3"},
         "custos: audit verify: checks the whole log; --after is for audit list"},
        {{CUSTOS_CLI_BIN, "audit"}, "custos: audit: expected 'list', 'verify', 'verify-log' or 'head'"},
        {{CUSTOS_CLI_BIN, "admin", "rotate-signer", "--gateway", "127.0.0.1:1", "--old", "0x1",
          "--new", "0x2", "--feed", "f", "--overlap", "0"},
         "custos: admin rotate-signer: --old, --new, --feed and --overlap SECONDS are required"},
        {{CUSTOS_CLI_BIN, "verify"}, "custos: verify: one FILE.json"},
        {{CUSTOS_CLI_BIN, "frobnicate"}, "custos: unknown command 'frobnicate'"},
        {{CUSTOS_ATTESTOR_BIN, "attest", "--holdings", "h.json"},
         "custos-attestor: attest: --account REF or --batch is required (not both)"},
        {{CUSTOS_ATTESTOR_BIN, "attest", "--holdings", "h", "--account", "A", "--feed", "f",
          "--chain-id", "1", "--contract", "c", "--state", "s", "--key", "k", "--policy", "p",
          "--prices", "p.json", "--price-source", "https://prices.example"},
         "custos-attestor: attest: give --prices or --price-source, not both"},
        {{CUSTOS_ATTESTOR_BIN, "freeze", "--holdings", "h", "--account", "A", "--feed", "f",
          "--chain-id", "1", "--contract", "c", "--state", "s", "--pkcs11-module", "m.so",
          "--reason", "r", "--export", "e.json"},
         "custos-attestor: freeze: give --policy or --valid-until, not both"},
        {{CUSTOS_ATTESTOR_BIN, "reserves", "--holdings", "h"},
         "custos-attestor: reserves: --prices is required"},
        {{CUSTOS_ATTESTOR_BIN, "keygen", "--out", "k", "--pkcs11-module", "m.so"},
         "custos-attestor: keygen: give --out FILE, or the --pkcs11-* options of the token "
         "(--import only with them)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = tu_run_split(cases[i].argv, out, sizeof out, err, sizeof err);
        size_t n = strcspn(err, "\n");
        if (rc != 1 || out[0] != '\0' || n != strlen(cases[i].first_line) ||
            strncmp(err, cases[i].first_line, n) != 0)
            fail_msg("case %zu: exit %d, stdout:\n%s\nstderr:\n%s\nexpected first line:\n%s",
                     i, rc, out, err, cases[i].first_line);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_command_answers_help),
        cmocka_unit_test(test_whole_usage_names_every_command),
        cmocka_unit_test(test_groups_list_their_commands),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_unknown_option_fails_naming_it),
        cmocka_unit_test(test_messages_stay_word_for_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
