/*
 * dispatch.c - the aggtrades command-line tool: global options, then a
 * dispatch table of commands (after git.c). Each command lives in its own
 * file with its usage text and options and returns the process exit status.
 * cli_main is the whole tool but for the process entry (main.c), so that the
 * fuzz target fuzz/fuzz_tool_cli.c drives the same dispatch with its argv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct cmd_struct {
    const char *name;
    int (*fn)(int argc, char **argv, cli_ctx *ctx);
    int flags;
    const char *summary;
};

enum { CMD_HIDDEN = 1 };

static const struct cmd_struct commands[] = {
    { "download", cmd_download, 0, "fetch symbols over a range of days into the lake" },
    { "update", cmd_update, 0, "fetch everything after the newest stored trade" },
    { "query", cmd_query, 0, "print, summarise or export the trades of a time window" },
    { "retry", cmd_retry, 0, "re-run the failed units recorded in <root>/.retry" },
    { "verify", cmd_verify, 0, "check stored hours for holes and damage; --repair them" },
    { "status", cmd_status, 0, "what the lake holds: hours complete, open, failed, missing" },
    { "completion", cmd_completion, 0, "print a shell completion script (bash or zsh)" },
};

const char cli_global_help[] =
    "Global options (accepted before or after the command):\n"
    "  --root DIR         the lake (default ./data, env AGT_ROOT)\n"
    "  --market M         spot (default), um (USD-M futures) or cm (COIN-M futures);\n"
    "                     a futures market is kept in DIR/_futures/um (cm)\n"
    "  --api-url URL      REST API (default https://api.binance.com, env AGT_API_URL)\n"
    "  --archive-url URL  archive (default https://data.binance.vision, env AGT_ARCHIVE_URL)\n"
    "  --interval-ms N    minimum gap between requests (default 50)\n"
    "  --paging WALK      time (default: endTime + limit backwards, fromId only inside\n"
    "                     a millisecond holding more than 1000 trades) or id (fromId)\n"
    "  --low-speed-limit N, --low-speed-time S\n"
    "                     abort and retry a response slower than N bytes/s for S s\n"
    "                     (default 1024 and 20; 0 turns it off)\n"
    "  --unit-deadline S  give up an hour (or an archive day's file) after S seconds,\n"
    "                     retries included; it goes to .retry (default 600; 1800 for\n"
    "                     a file; 0 = none)\n"
    "  --color WHEN       auto, always or never (NO_COLOR turns auto off)\n"
    "  --no-progress      no live display; plain log lines\n"
    "  --quiet            only errors\n"
    "  -h, --help         this help\n";

static void main_usage(FILE *f)
{
    fputs("usage: aggtrades [--version] [--help] [global options] <command> [<args>]\n"
          "\n"
          "Keep an exact local copy of Binance spot aggregate trades in a Parquet lake.\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!(commands[i].flags & CMD_HIDDEN))
            fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fputs("\n", f);
    fputs(cli_global_help, f);
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

int cli_main(int argc, char **argv)
{
    cli_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.root = getenv("AGT_ROOT");
    if (!ctx.root || !*ctx.root) ctx.root = "./data";
    ctx.api_url = getenv("AGT_API_URL");
    if (ctx.api_url && !*ctx.api_url) ctx.api_url = NULL;
    ctx.archive_url = getenv("AGT_ARCHIVE_URL");
    if (ctx.archive_url && !*ctx.archive_url) ctx.archive_url = NULL;
    ctx.interval_ms = 50;
    ctx.low_speed_limit = ctx.low_speed_time_s = ctx.unit_deadline_s = -1;
    ctx.color_mode = COLOR_AUTO;
    ctx.argc = argc;
    ctx.argv = argv;

    cli_signals_install();

    int first = cli_parse_global(&ctx, argc, argv);
    if (first < 0) return EXIT_USAGE;
    if (ctx.version) {
        printf("aggtrades %s (build %s)\n", agt_version(), AGT_BUILD_HASH);
        return cli_finish_stdout(EXIT_DONE);
    }
    if (first >= argc) {
        if (ctx.help) {
            main_usage(stdout);
            return cli_finish_stdout(EXIT_DONE);
        }
        main_usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[first];
    if (!strcmp(name, "help")) {
        if (first + 1 < argc) {
            /* "aggtrades help CMD" == "aggtrades CMD --help" */
            for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
                if (!strcmp(argv[first + 1], commands[k].name)) {
                    char *av[] = { argv[first + 1], "--help", NULL };
                    ctx.cmd = commands[k].name;
                    return commands[k].fn(2, av, &ctx);
                }
            cli_error("unknown command '%s'", argv[first + 1]);
            return EXIT_USAGE;
        }
        main_usage(stdout);
        return cli_finish_stdout(EXIT_DONE);
    }
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
        if (!strcmp(name, commands[k].name)) {
            ctx.cmd = commands[k].name;
            int rc = commands[k].fn(argc - first, argv + first, &ctx);
            return cli_finish_stdout(rc);
        }
    }
    cli_error("unknown command '%s' (see 'aggtrades --help')", name);
    return EXIT_USAGE;
}
