/*
 * cmd_completion.c - "aggtrades completion bash|zsh": print a completion
 * script, drawn from the command descriptors (completion_bash.c,
 * completion_zsh.c).
 */
#include <string.h>

#include "cli.h"

static int run_completion(cli_ctx *ctx, const cli_args *args);

const cli_command cmd_completion = {
    .name = "completion",
    .summary = "print a shell completion script (bash or zsh)",
    .synopsis = "bash|zsh",
    .about = "Print a shell completion script on standard output. It completes the\n"
             "commands, their options, the values of options with a fixed set, file\n"
             "and directory names, and the symbols already in the lake.\n",
    .more = "Examples:\n"
            "  source <(aggtrades completion bash)          # bash, this shell\n"
            "  aggtrades completion bash > ~/.local/share/bash-completion/completions/aggtrades\n"
            "  aggtrades completion zsh > \"${fpath[1]}/_aggtrades\"   # zsh\n",
    .operand = CLI_ENUM,
    .operand_values = "bash zsh",
    /* its help leaves out the global options: they do not apply */
    .no_globals = 1,
    .run = run_completion,
};

static int run_completion(cli_ctx *ctx, const cli_args *args)
{
    if (args->npos != 1) {
        cli_error("completion needs one shell: bash or zsh");
        return EXIT_USAGE;
    }
    if (!strcmp(args->pos[0], "bash")) {
        cli_completion_bash(ctx->commands, stdout);
    } else if (!strcmp(args->pos[0], "zsh")) {
        cli_completion_zsh(ctx->commands, stdout);
    } else {
        cli_error("unsupported shell '%s' (expected bash or zsh)", args->pos[0]);
        return EXIT_USAGE;
    }
    return 0;
}
