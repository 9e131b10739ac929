/*
 * dispatch.c - the aggtrades command-line tool: global options, then the
 * table of commands (after git.c). Each command lives in its own file as a
 * descriptor (cli.h: its options, help and run function); the parser, the
 * help and the shell completion scripts are all drawn from the descriptors.
 * cli_main is the whole tool but for the process entry (main.c), so that the
 * fuzz target fuzz/fuzz_tool_cli.c drives the same dispatch with its argv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Every command, in the order of 'aggtrades --help'. A new command is its file
 * cmd_<name>.c, defining `const cli_command cmd_<name>`, and one line here. */
#define COMMANDS(X) \
    X(download)     \
    X(update)       \
    X(query)        \
    X(retry)        \
    X(verify)       \
    X(status)       \
    X(completion)

#define DECLARE(name) extern const cli_command cmd_##name;
#define ENTRY(name) &cmd_##name,
COMMANDS(DECLARE)
static const cli_command *const command_table[] = { COMMANDS(ENTRY) };

static const cli_commands commands = { command_table,
                                       sizeof command_table / sizeof command_table[0] };

static const cli_command *find_command(const char *name)
{
    for (size_t k = 0; k < commands.n; k++)
        if (!strcmp(name, commands.v[k]->name)) return commands.v[k];
    return NULL;
}

/* Parse the command's line and run it (or print its help). */
static int run_command(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv)
{
    cli_args args;
    ctx->cmd = cmd->name;
    int rc = cli_parse(ctx, cmd, argc, argv, &args);
    if (rc == 0 && ctx->help) cli_help_command(cmd, stdout);
    else if (rc == 0) rc = cmd->run(ctx, &args);
    free(args.pos);
    return cli_finish_stdout(rc);
}

/* The context before any option: the defaults and the environment. */
static void ctx_init(cli_ctx *ctx, int argc, char **argv)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->root = getenv("AGT_ROOT");
    if (!ctx->root || !*ctx->root) ctx->root = "./data";
    ctx->lake = ctx->root;
    ctx->api_url = getenv("AGT_API_URL");
    if (ctx->api_url && !*ctx->api_url) ctx->api_url = NULL;
    ctx->archive_url = getenv("AGT_ARCHIVE_URL");
    if (ctx->archive_url && !*ctx->archive_url) ctx->archive_url = NULL;
    ctx->interval_ms = 50;
    ctx->low_speed_limit = ctx->low_speed_time_s = ctx->unit_deadline_s = -1;
    ctx->color_mode = COLOR_AUTO;
    ctx->commands = &commands;
    ctx->argc = argc;
    ctx->argv = argv;
}

int cli_main(int argc, char **argv)
{
    cli_ctx ctx;
    ctx_init(&ctx, argc, argv);
    cli_signals_install();

    int first = cli_parse_global(&ctx, argc, argv);
    if (first < 0) return EXIT_USAGE;
    if (ctx.version) {
        printf("aggtrades %s (build %s)\n", agt_version(), AGT_BUILD_HASH);
        return cli_finish_stdout(EXIT_DONE);
    }
    if (first >= argc) {
        cli_help_main(&commands, ctx.help ? stdout : stderr);
        return ctx.help ? cli_finish_stdout(EXIT_DONE) : EXIT_USAGE;
    }
    const char *name = argv[first];
    if (!strcmp(name, "help")) {
        if (first + 1 >= argc) {
            cli_help_main(&commands, stdout);
            return cli_finish_stdout(EXIT_DONE);
        }
        /* "aggtrades help CMD" == "aggtrades CMD --help" */
        const cli_command *cmd = find_command(argv[first + 1]);
        if (!cmd) {
            cli_error("unknown command '%s'", argv[first + 1]);
            return EXIT_USAGE;
        }
        cli_help_command(cmd, stdout);
        return cli_finish_stdout(EXIT_DONE);
    }
    const cli_command *cmd = find_command(name);
    if (cmd) return run_command(&ctx, cmd, argc - first, argv + first);
    cli_error("unknown command '%s' (see 'aggtrades --help')", name);
    return EXIT_USAGE;
}
