/* A command's help, made from its declaration, and what a command does with a parse that
 * asks for help or failed. */
#include "clopt.h"

#include <string.h>

/* Column at which option help starts, and the width help text is wrapped to. */
#define HELP_COLUMN 26
#define HELP_WIDTH 90

/* Writes text from column col, where the cursor is, breaking lines before HELP_WIDTH and
 * starting each further line at column indent; ends the line. */
static void put_wrapped(FILE *out, size_t col, size_t indent, const char *text)
{
    bool line_start = true;
    for (const char *p = text; *p != '\0';) {
        size_t word = strcspn(p, " ");
        if (!line_start && col + 1 + word > HELP_WIDTH) {
            fprintf(out, "\n%*s", (int)indent, "");
            col = indent;
        } else if (!line_start) {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, word, out);
        col += word;
        line_start = false;
        p += word;
        p += strspn(p, " ");
    }
    fputc('\n', out);
}

/* "  head    help", the help wrapped from column (on the next line after a long head). */
static void put_item(FILE *out, const char *head, size_t column, const char *help)
{
    if (strlen(head) + 4 <= column)
        fprintf(out, "  %-*s", (int)column - 2, head);
    else
        fprintf(out, "  %s\n%*s", head, (int)column, "");
    put_wrapped(out, column, column, help);
}

static void put_text(FILE *out, const char *text)
{
    size_t len = strlen(text);
    fputs(text, out);
    if (len == 0 || text[len - 1] != '\n')
        fputc('\n', out);
}

bool clopt_help(FILE *out, const clopt_command *cmd)
{
    put_text(out, cmd->usage);
    fputc('\n', out);
    put_wrapped(out, 0, 0, cmd->summary);
    fputs("\noptions:\n", out);
    for (size_t s = 0; s < cmd->n_sets; s++) {
        for (const clopt *o = cmd->sets[s].opts; o->name != NULL; o++) {
            if (o->kind == CLOPT_REFUSE)
                continue;
            char head[80], help[240];
            snprintf(head, sizeof head, "--%s%s%s", o->name, o->value != NULL ? " " : "",
                     o->value != NULL ? o->value : "");
            if (o->kind == CLOPT_LIST)
                snprintf(help, sizeof help, "%s (up to %d times)", o->help, CLOPT_LIST_MAX);
            else if (clopt_env_of(o) != NULL)
                snprintf(help, sizeof help, "%s (or the environment variable %s)", o->help,
                         clopt_env_of(o)->env);
            else
                snprintf(help, sizeof help, "%s", o->help);
            put_item(out, head, HELP_COLUMN, help);
        }
    }
    put_item(out, "-h, --help", HELP_COLUMN, "this help");
    return fflush(out) == 0 && !ferror(out);
}

bool clopt_group_help(FILE *out, const char *program, const char *group,
                      const clopt_entry *subs)
{
    fprintf(out, "usage: %s %s COMMAND [OPTIONS]\n", program, group);
    for (const clopt_entry *e = subs; e->word != NULL; e++)
        put_item(out, e->word, 20, e->cmd != NULL ? e->cmd->summary : "");
    fprintf(out, "'%s %s COMMAND --help' shows a command's options\n", program, group);
    return fflush(out) == 0 && !ferror(out);
}

int clopt_finish(const char *program, const clopt_command *cmd, clopt_status status,
                 const custos_error *err, const char *after_error)
{
    if (status == CLOPT_HELP) {
        if (clopt_help(stdout, cmd))
            return 0;
        fprintf(stderr, "%s: cannot write to standard output\n", program);
        return 1;
    }
    fprintf(stderr, "%s: %s\n", program, err->message);
    if (status == CLOPT_BAD_USAGE && after_error != NULL)
        put_text(stderr, after_error);
    return 1;
}
