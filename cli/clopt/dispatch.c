/* Picking the command: the program's top-level words and the two-word groups. */
#include "clopt.h"

#include <string.h>

static const clopt_entry *entry_find(const clopt_entry *table, const char *word)
{
    for (const clopt_entry *e = table; e->word != NULL; e++)
        if (strcmp(e->word, word) == 0)
            return e;
    return NULL;
}

static bool is_help(const char *word)
{
    return strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0 || strcmp(word, "help") == 0;
}

static int print_stdout(const char *program, const char *text)
{
    if (fputs(text, stdout) != EOF && fflush(stdout) == 0)
        return 0;
    fprintf(stderr, "%s: cannot write to standard output\n", program);
    return 1;
}

/* help COMMAND [SUBCOMMAND]: the command's own --help. */
static int help_of(const clopt_program *p, int argc, char **argv)
{
    const clopt_entry *e = entry_find(p->commands, argv[0]);
    if (e == NULL || argc > 2) {
        fprintf(stderr, "%s: help: '%.80s%s%.80s' is not a command\n%s", p->name, argv[0],
                argc > 1 ? " " : "", argc > 1 ? argv[1] : "", p->usage);
        return 1;
    }
    char help[] = "--help";
    char *with_help[] = {argv[0], argc > 1 ? argv[1] : help, argc > 1 ? help : NULL, NULL};
    return e->run(argc + 1, with_help);
}

int clopt_main(const clopt_program *p, int argc, char **argv)
{
    if (argc < 2) {
        fputs(p->usage, stderr);
        return 1;
    }
    const char *word = argv[1];
    if (strcmp(word, "--version") == 0) {
        char line[80];
        snprintf(line, sizeof line, "%s %s\n", p->name, p->version);
        return print_stdout(p->name, line);
    }
    if (strcmp(word, "help") == 0 && argc > 2)
        return help_of(p, argc - 2, argv + 2);
    if (is_help(word))
        return print_stdout(p->name, p->usage);
    const clopt_entry *e = entry_find(p->commands, word);
    if (e == NULL) {
        fprintf(stderr, "%s: unknown command '%s'\n%s", p->name, word, p->usage);
        return 1;
    }
    return e->run(argc - 1, argv + 1);
}

int clopt_group(const char *program, const clopt_entry *subs, const char *after_error,
                int argc, char **argv)
{
    const char *group = argv[0];
    if (argc >= 2 && is_help(argv[1])) {
        if (clopt_group_help(stdout, program, group, subs))
            return 0;
        fprintf(stderr, "%s: cannot write to standard output\n", program);
        return 1;
    }
    const clopt_entry *e = argc >= 2 ? entry_find(subs, argv[1]) : NULL;
    if (e != NULL)
        return e->run(argc - 1, argv + 1);
    fprintf(stderr, "%s: %s: expected ", program, group);
    for (const clopt_entry *s = subs; s->word != NULL; s++)
        fprintf(stderr, "%s'%s'", s == subs ? "" : s[1].word == NULL ? " or " : ", ", s->word);
    fputc('\n', stderr);
    if (after_error != NULL)
        fputs(after_error, stderr);
    return 1;
}
