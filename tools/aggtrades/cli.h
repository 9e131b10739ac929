/*
 * cli.h - what the files of the aggtrades tool share: the run context built
 * from the global options, the command descriptors and their parser, exit
 * statuses, error output, and the bridge to the library's engine
 * (aggtrades/sync.h) used by download, update, retry and verify --repair.
 *
 * The tool only calls the public API (include/aggtrades/): it parses and
 * draws, the library does the work.
 */
#ifndef AGT_CLI_H
#define AGT_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "aggtrades/aggtrades.h"

#if defined(__GNUC__)
#define AGT_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define AGT_PRINTF(a, b)
#endif

/* Exit statuses (docs/architecture.md, "Exit statuses"). */
enum {
    EXIT_DONE = 0,     /* all done */
    EXIT_FAILED = 1,   /* some units failed and are listed in .retry */
    EXIT_USAGE = 2,    /* bad usage or input, nothing written */
    EXIT_LAKE = 3,     /* lake locked, unreadable, or the disk failed */
    EXIT_UNREACHABLE = 4, /* the exchange could not be reached or refused us (a geo-block 451,
                             a firewall 403, a ban) before any unit was tried: nothing written */
    EXIT_INTERRUPTED = 130
};

/* The earliest day the exchange has aggregate trades for. */
#define CLI_EPOCH_DATE AGT_EPOCH_DATE

enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

/* Global options and facts about the terminal, shared by every command. */
typedef struct cli_ctx {
    const char *root;        /* --root, AGT_ROOT, "./data" */
    agt_market market;       /* --market spot|um|cm (default spot) */
    int market_given;        /* --market was given (retry without it runs every market) */
    const char *lake;        /* the market's lake: root, or its futures folder under root */
    const char *api_url;     /* --api-url, AGT_API_URL */
    const char *archive_url; /* --archive-url, AGT_ARCHIVE_URL */
    int interval_ms;         /* --interval-ms */
    const char *paging;      /* --paging time|id (NULL: the library's default, time) */
    long low_speed_limit;    /* --low-speed-limit bytes/s; -1: the library's default */
    long low_speed_time_s;   /* --low-speed-time seconds; -1: the library's default */
    long unit_deadline_s;    /* --unit-deadline seconds; -1: the library's default */
    long jobs;               /* --jobs of download, update, retry; 0: the library's default */
    int no_monthly;          /* --no-monthly of download, update, verify: daily files only */
    int color_mode;          /* --color */
    int no_progress;         /* --no-progress */
    int quiet;               /* --quiet */
    int help;                /* --help / -h seen */
    int version;             /* --version seen (main only) */
    const char *cmd;         /* the command's name, for messages */
    const struct cli_commands *commands; /* every command (for the completion scripts) */
    int argc;                /* the whole command line, for "run it again" hints */
    char **argv;
    char lake_buf[4096];     /* ctx->lake when it is a folder of the root */
} cli_ctx;

/* ---- commands and their options (parse.c, globals.c, help.c, completion_*.c) -- */

/* What an option's value (or a command's operand) is: it decides how the
 * value is checked and how the shells complete it. */
typedef enum cli_kind {
    CLI_FLAG,   /* no value */
    CLI_TEXT,   /* any text (a URL) */
    CLI_INT,    /* a whole number from 0 to the option's max */
    CLI_TIME,   /* a day (YYYY-MM-DD) or a time */
    CLI_DATE,   /* a day */
    CLI_ENUM,   /* one of the option's values */
    CLI_FILE,   /* a file to write */
    CLI_DIR,    /* a directory */
    CLI_SYMBOL  /* operands only: a symbol (completed from the lake) */
} cli_kind;

/* One option of a command, or a global one. */
typedef struct cli_option {
    const char *name;   /* long name without "--"; NULL ends a table */
    cli_kind kind;
    const char *meta;   /* the value's name in help (DATE, SRC, N); NULL for a flag */
    const char *values; /* CLI_ENUM: the values, separated by spaces */
    long max;           /* CLI_INT: the largest value (0: 2000000000) */
    /* Help, lines separated by '\n'. Its first line up to a ':', ';' or
     * " (" is the option's description in zsh completion. */
    const char *help;
    long min;           /* CLI_INT: the smallest value (default 0) */
} cli_option;

/* --jobs of the commands that fetch (download, update, retry): into ctx->jobs. */
#define CLI_JOBS_OPTION                                                                       \
    { "jobs", CLI_INT, "N", NULL, AGT_SYNC_JOBS_MAX,                                          \
      "units (archive days or months, rest hours) fetched at once, each\n"                    \
      "on a connection of its own (1 to 64; default: one per CPU, at most\n"                  \
      "8); rest requests of all jobs share one weight budget, and hours\n"                    \
      "are still committed one at a time in order",                                           \
      1 }

/* --no-monthly of the commands that may take a month whole (download, update,
 * verify --repair): into ctx->no_monthly (agt_sync_opts.archive_months = 0). */
#define CLI_NO_MONTHLY_OPTION                                                                 \
    { "no-monthly", CLI_FLAG, NULL, NULL, 0,                                                  \
      "take the archive's daily files, not the monthly one, for a month\n"                    \
      "needed whole (the monthly file is one request instead of 31;\n"                        \
      "the lake is the same either way)",                                                     \
      0 }

/* Most options a command may have (its own or the global ones). */
#define CLI_MAX_OPTIONS 24

/* A command line parsed against a command's options (or the global ones). */
typedef struct cli_args {
    const char *value[CLI_MAX_OPTIONS]; /* option i's value, as given; a flag: ""; NULL if absent */
    long num[CLI_MAX_OPTIONS];          /* a CLI_INT option's value */
    char **pos;                         /* the operands, in order */
    int npos;
} cli_args;

/*
 * One command: everything --help prints and the shells complete comes from
 * here (help.c, completion_bash.c, completion_zsh.c). A command is one file
 * cmd_<name>.c defining its cli_command, and one line in dispatch.c's table.
 */
typedef struct cli_command {
    const char *name;
    const char *summary;  /* one line in 'aggtrades --help' */
    const char *synopsis; /* after "usage: aggtrades NAME "; '\n' starts an aligned line */
    const char *about;    /* what it does: between the usage and the options */
    const cli_option *options; /* ended by { NULL } */
    const char *more;     /* after the options: details, then "Examples:" */
    cli_kind operand;     /* CLI_SYMBOL, CLI_ENUM (operand_values) or CLI_FLAG: none */
    const char *operand_values;
    int operands_many;    /* any number of operands (SYMBOL...), else at most one */
    int no_globals;       /* the global options do not apply */
    /* Run the parsed command line; returns the exit status. */
    int (*run)(cli_ctx *ctx, const cli_args *args);
} cli_command;

/* The commands, in the order of 'aggtrades --help' (dispatch.c). */
typedef struct cli_commands {
    const cli_command *const *v;
    size_t n;
} cli_commands;

/* The global options (globals.c), accepted before or after the command. */
extern const cli_option cli_global_options[];

/*
 * Parse argv[1..argc-1] of `cmd` against its options and (unless
 * cmd->no_globals) the global ones, then apply the global ones to ctx.
 * Accepts "--name value", "--name=value", "-h"/"--help" (sets ctx->help:
 * parsing stops there) and "--" (everything after is an operand). Checks
 * CLI_INT and CLI_ENUM values. The caller frees args->pos (also on failure).
 * On error prints one line and returns EXIT_USAGE (EXIT_LAKE out of memory);
 * otherwise 0.
 */
int cli_parse(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv, cli_args *args);

/* Global option parsing for main (before the command name). Returns the index of
 * the first non-option argument, or -1 after printing an error. */
int cli_parse_global(cli_ctx *ctx, int argc, char **argv);

/* Apply the parsed global options `g` (cli_global_options) to ctx.
 * 0, or EXIT_USAGE after printing. */
int cli_globals_apply(cli_ctx *ctx, const cli_args *g);
/* Work on market `m`: ctx->market, and ctx->lake its folder of ctx->root. */
void cli_use_market(cli_ctx *ctx, agt_market m);

/* 'aggtrades --help' (help.c). */
void cli_help_main(const cli_commands *cmds, FILE *f);
/* 'aggtrades CMD --help'. */
void cli_help_command(const cli_command *cmd, FILE *f);

/* The completion scripts (completion_bash.c, completion_zsh.c). */
void cli_completion_bash(const cli_commands *cmds, FILE *f);
void cli_completion_zsh(const cli_commands *cmds, FILE *f);

/* 0 if a command `verb` was given symbols (npos > 0), else EXIT_USAGE after
 * saying it needs one. */
int cli_need_symbols(const char *verb, int npos);

/* ---- messages (util.c) --------------------------------------------------------- */

/* "aggtrades: <message>\n" on stderr. Always printed (even with --quiet). */
void cli_error(const char *fmt, ...) AGT_PRINTF(1, 2);
/* "aggtrades: warning: <message>\n" on stderr unless --quiet. */
void cli_warn(const cli_ctx *ctx, const char *fmt, ...) AGT_PRINTF(2, 3);

/* Copy `src` into dst[n], cut if needed, always NUL-terminated. */
void cli_strlcpy(char *dst, size_t n, const char *src);

/* Map a library status to an exit status. */
int cli_exit_for(agt_status s);

/* 1 if colour should be used on the stream `fd` (1 or 2). */
int cli_color(const cli_ctx *ctx, int fd);

/* Flush stdout and report a write error (EPIPE is quiet). Returns `rc` or EXIT_LAKE. */
int cli_finish_stdout(int rc);

/* ---- inputs (util.c) ----------------------------------------------------------- */

/* Upper-case and validate a symbol into out[24]. 0 on success, else prints and EXIT_USAGE. */
int cli_symbol(const char *arg, char out[24]);
/* Parse a --start/--end value: a date (whole UTC day; as an end it means the
 * day's last microsecond) or a time. 0 or EXIT_USAGE after printing. */
int cli_time_arg(const char *opt, const char *arg, int is_end, int64_t *us, int *date_only);
/* Parse a whole-number argument from min to max: 0, or EXIT_USAGE after printing. */
int cli_int_arg(const char *opt, const char *arg, long min, long max, long *out);

/* ---- signals (signals.c) ------------------------------------------------------- */

/* SIGINT/SIGTERM: the first sets the stop flag, the second exits at once.
 * SIGPIPE is ignored. */
void cli_signals_install(void);
/* Non-zero once the user asked to stop. */
int cli_stop_requested(void);

/* ---- time helpers (clock.c) ------------------------------------------------------ */

double cli_mono(void);              /* monotonic seconds */
int64_t cli_wall_us(void);          /* the local wall clock, UTC µs (logs only) */
/* "YYYY-MM-DD" of a time */
void cli_date_str(int64_t us, char out[16]);

/* ---- the lake (lake.c) --------------------------------------------------------- */

/* Open the lake for reading. Prints the error and returns the exit status on failure. */
int cli_lake_open_read(const cli_ctx *ctx, agt_lake **out);

/* ---- the engine (run.c) ------------------------------------------------------------ */

/* The display of one run of the library's engine, fed by its events. */
typedef struct cli_run {
    const cli_ctx *ctx;
    struct ui_progress *ui; /* made at the run's START event */
    int finished;           /* the FINISH event was seen */
    int interrupted;        /* ... saying the run was interrupted */
    int failed;             /* the display could not be made (out of memory) */
    char verb[16];
    /* verify's checks (AGT_SYNC_CHECKED), drawn by the command; may be NULL */
    void (*on_checked)(void *user, const agt_verify_report *rep);
    void *checked_user;
} cli_run;

/* A session of the engine over ctx->root with the global options and --source
 * `source_arg`, its events drawn through `run`. 0, or the exit status after
 * printing. The caller frees *out with agt_sync_close. */
int cli_sync_open(const cli_ctx *ctx, const char *source_arg, cli_run *run, agt_sync **out);
/* Say a failed call of the engine on one line, with the hint a user of this
 * tool needs (what to run next), and return its exit status. `rep` may be NULL. */
int cli_sync_error(agt_status st, const agt_error *err, const agt_sync_report *rep);
/* The end of a run: the display taken down, the outcome `st` said (with the
 * "run it again" hint after an interruption) and mapped, with the run's
 * report, to the exit status. */
int cli_sync_done(cli_run *run, agt_status st, const agt_error *err, const agt_sync_report *rep);

/* The command line as a shell would need it, for "run it again" hints. */
void cli_cmdline(const cli_ctx *ctx, char *out, size_t n);

/* The whole tool (dispatch.c): global options from the environment and argv,
 * then the command; returns the process exit status. */
int cli_main(int argc, char **argv);

#endif
