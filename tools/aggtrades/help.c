/*
 * help.c - 'aggtrades --help' and 'aggtrades CMD --help', drawn from the
 * command descriptors and the global options' table.
 */
#include <string.h>

#include "cli.h"

/* Help text starts in this column at most; a longer "--name META" puts it on the next line. */
#define HELP_COL_MAX 24

/* "--name META" of an option into out[n]; its length. */
static int option_head(const cli_option *o, char *out, size_t n)
{
    return snprintf(out, n, "--%s%s%s", o->name, o->meta ? " " : "", o->meta ? o->meta : "");
}

/* `text`'s lines, the first after what is already on the line, the others from column `col`. */
static void print_indented(FILE *f, const char *text, int col)
{
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        fprintf(f, "%.*s\n", (int)n, p);
        p += n;
        if (*p) p++;
        if (*p) fprintf(f, "%*s", col, "");
    }
}

/* The options of table `o`, their help aligned; returns the column of the help. */
static int print_options(FILE *f, const cli_option *o)
{
    char head[80];
    int w = 0;
    for (size_t i = 0; o[i].name; i++) {
        int l = option_head(&o[i], head, sizeof head);
        if (l > w && 2 + l + 2 <= HELP_COL_MAX) w = l;
    }
    int col = 2 + w + 2;
    for (size_t i = 0; o[i].name; i++) {
        int l = option_head(&o[i], head, sizeof head);
        if (2 + l + 2 > col) fprintf(f, "  %s\n%*s", head, col, "");
        else fprintf(f, "  %-*s", col - 2, head);
        print_indented(f, o[i].help, col);
    }
    return col;
}

static void print_globals(FILE *f)
{
    fputs("Global options (accepted before or after the command):\n", f);
    int col = print_options(f, cli_global_options);
    fprintf(f, "  %-*sthis help\n", col - 2, "-h, --help");
}

void cli_help_main(const cli_commands *cmds, FILE *f)
{
    fputs("usage: aggtrades [--version] [--help] [global options] <command> [<args>]\n"
          "\n"
          "Keep an exact local copy of Binance spot aggregate trades in a Parquet lake.\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < cmds->n; i++)
        fprintf(f, "  %-11s %s\n", cmds->v[i]->name, cmds->v[i]->summary);
    fputs("\n", f);
    print_globals(f);
    fputs("\n"
          "Examples:\n"
          "  aggtrades download BTCUSDT ETHUSDT --start 2023-01-01 --end 2023-12-31\n"
          "  aggtrades update ETHUSDT\n"
          "  aggtrades update ETHUSDT --force\n"
          "  aggtrades query BTCUSDT --start 2023-10-01 --end 2023-10-31 --stats\n"
          "  aggtrades query BTCUSDT --start \"2023-10-05 12:30:00.500\" \\\n"
          "                          --end \"2023-10-05 12:35:00\" --output csv\n"
          "  aggtrades retry\n"
          "  aggtrades verify BTCUSDT --repair\n"
          "  aggtrades status\n"
          "\n"
          "Exit status: 0 done, 1 some units failed (listed in <root>/.retry),\n"
          "2 bad usage or input (nothing written), 3 lake locked, unreadable or disk\n"
          "failure, 4 the exchange unreachable or refusing this address (a network\n"
          "failure, HTTP 451 geo-block, 403 firewall, a ban) before any unit was tried\n"
          "(nothing written; try again later), 130 interrupted (run the same command\n"
          "again to resume).\n"
          "\n"
          "'aggtrades <command> --help' describes one command.\n",
          f);
}

void cli_help_command(const cli_command *cmd, FILE *f)
{
    int col = fprintf(f, "usage: aggtrades %s%s", cmd->name, *cmd->synopsis ? " " : "\n");
    print_indented(f, cmd->synopsis, col);
    if (cmd->about) fprintf(f, "\n%s", cmd->about);
    if (cmd->options && cmd->options[0].name) {
        fputs("\nOptions:\n", f);
        print_options(f, cmd->options);
    }
    if (cmd->more) fprintf(f, "\n%s", cmd->more);
    if (!cmd->no_globals) {
        fputs("\n", f);
        print_globals(f);
    }
}
