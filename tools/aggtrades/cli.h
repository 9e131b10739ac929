/*
 * cli.h - what the files of the aggtrades tool share: the run context built
 * from the global options, the option parser, exit statuses, error output,
 * and the bridge to the library's engine (aggtrades/sync.h) used by
 * download, update, retry and verify --repair.
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
    const char *lake;        /* the market's lake: root, or its futures folder under root */
    const char *api_url;     /* --api-url, AGT_API_URL */
    const char *archive_url; /* --archive-url, AGT_ARCHIVE_URL */
    int interval_ms;         /* --interval-ms */
    const char *paging;      /* --paging time|id (NULL: the library's default, time) */
    long low_speed_limit;    /* --low-speed-limit bytes/s; -1: the library's default */
    long low_speed_time_s;   /* --low-speed-time seconds; -1: the library's default */
    long unit_deadline_s;    /* --unit-deadline seconds; -1: the library's default */
    long jobs;               /* --jobs of download, update, retry; -1 (not given): one per CPU */
    int color_mode;          /* --color */
    int no_progress;         /* --no-progress */
    int quiet;               /* --quiet */
    int help;                /* --help / -h seen */
    int version;             /* --version seen (main only) */
    const char *cmd;         /* the command's name, for messages */
    int argc;                /* the whole command line, for "run it again" hints */
    char **argv;
} cli_ctx;

/* ---- option parsing ------------------------------------------------------ */

enum { OPT_END, OPT_FLAG, OPT_STRING, OPT_INT };

typedef struct cli_opt {
    int kind;
    const char *name; /* long name without "--" */
    void *dest;       /* int* for OPT_FLAG/OPT_INT, const char** for OPT_STRING */
} cli_opt;

/*
 * The start of every command: parse argv[1..argc-1] against the command's
 * `opts` (terminated by OPT_END) and the global options. Positional arguments
 * are collected, in order, into *pos, allocated here (room for argc entries;
 * the caller frees it, also on failure), and counted in *npos. Accepts
 * "--name value", "--name=value", "-h" and "--" (everything after is
 * positional). For --help sets ctx->help and prints `usage` and the global
 * options' help (NULL: the command prints its own); the command is then done.
 * On error prints one line and returns EXIT_USAGE (EXIT_LAKE out of memory);
 * otherwise 0.
 */
int cli_parse(cli_ctx *ctx, int argc, char **argv, const cli_opt *opts, const char *usage,
              char ***pos, int *npos);

/* Global option parsing for main (before the command name). Returns the index of
 * the first non-option argument, or -1 after printing an error. */
int cli_parse_global(cli_ctx *ctx, int argc, char **argv);

/* 0 if a command `verb` was given symbols (npos > 0), else EXIT_USAGE after
 * saying it needs one. */
int cli_need_symbols(const char *verb, int npos);

/* ---- messages -------------------------------------------------------------- */

/* "aggtrades: <message>\n" on stderr. Always printed (even with --quiet). */
void cli_error(const char *fmt, ...) AGT_PRINTF(1, 2);
/* "aggtrades: warning: <message>\n" on stderr unless --quiet. */
void cli_warn(const cli_ctx *ctx, const char *fmt, ...) AGT_PRINTF(2, 3);
/* Print a command's usage text on stdout (for --help). */
void cli_usage(const char *text);

/* Copy `src` into dst[n], cut if needed, always NUL-terminated. */
void cli_strlcpy(char *dst, size_t n, const char *src);

/* Map a library status to an exit status. */
int cli_exit_for(agt_status s);

/* 1 if colour should be used on the stream `fd` (1 or 2). */
int cli_color(const cli_ctx *ctx, int fd);

/* Flush stdout and report a write error (EPIPE is quiet). Returns `rc` or EXIT_LAKE. */
int cli_finish_stdout(int rc);

/* ---- inputs ------------------------------------------------------------------ */

/* Upper-case and validate a symbol into out[24]. 0 on success, else prints and EXIT_USAGE. */
int cli_symbol(const char *arg, char out[24]);
/* Parse a --start/--end value: a date (whole UTC day; as an end it means the
 * day's last microsecond) or a time. 0 or EXIT_USAGE after printing. */
int cli_time_arg(const char *opt, const char *arg, int is_end, int64_t *us, int *date_only);
/* Parse a strictly positive integer option. */
int cli_int_arg(const char *opt, const char *arg, long min, long max, long *out);

/* ---- signals ---------------------------------------------------------------- */

/* SIGINT/SIGTERM: the first sets the stop flag, the second exits at once.
 * SIGPIPE is ignored. */
void cli_signals_install(void);
/* Non-zero once the user asked to stop. */
int cli_stop_requested(void);

/* ---- time helpers -------------------------------------------------------------- */

double cli_mono(void);              /* monotonic seconds */
int64_t cli_wall_us(void);          /* the local wall clock, UTC µs (logs only) */
/* "YYYY-MM-DD" of a time */
void cli_date_str(int64_t us, char out[16]);

/* ---- the lake ---------------------------------------------------------------- */

/* Print what the lake did on its own (agt_lake_next_notice) as warnings. */
void cli_lake_notices(const cli_ctx *ctx, agt_lake *lake);
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

/* The --jobs text every command that fetches shows in its --help. */
#define CLI_JOBS_HELP                                                                             \
    "  --jobs N       units (archive days or months, rest hours) fetched at once, each on\n"     \
    "                 a connection of its own (1 to 64; default: one per CPU, at most 8);\n"     \
    "                 rest requests of all jobs share one weight budget, and hours are\n"       \
    "                 still committed one at a time in order\n"
/* Check --jobs (`v`, -1 when not given) into ctx->jobs: 0, or EXIT_USAGE after printing. */
int cli_jobs(cli_ctx *ctx, long v);
/* Parse --source `arg` (NULL = "auto"): 0, or EXIT_USAGE after printing. */
int cli_source_policy(const char *arg, agt_source_policy *out);
/* A session of the engine over ctx->root with the global options and --source
 * `source_arg`, its events drawn through `run`. 0, or the exit status after
 * printing. The caller frees *out with agt_sync_close. */
int cli_sync_open(const cli_ctx *ctx, const char *source_arg, cli_run *run, agt_sync **out);
/* The exchange's clock through the session. 0, or the exit status after printing. */
int cli_sync_now(agt_sync *s, int64_t *now_us);
/* The end of a run: the display taken down, the outcome `st` said (with the
 * "run it again" hint after an interruption) and mapped, with the run's
 * report, to the exit status. */
int cli_sync_done(cli_run *run, agt_status st, const agt_error *err, const agt_sync_report *rep);

/* The command line as a shell would need it, for "run it again" hints. */
void cli_cmdline(const cli_ctx *ctx, char *out, size_t n);

/* ---- commands -------------------------------------------------------------------- */

int cmd_download(int argc, char **argv, cli_ctx *ctx);
int cmd_update(int argc, char **argv, cli_ctx *ctx);
int cmd_query(int argc, char **argv, cli_ctx *ctx);
int cmd_retry(int argc, char **argv, cli_ctx *ctx);
int cmd_verify(int argc, char **argv, cli_ctx *ctx);
int cmd_status(int argc, char **argv, cli_ctx *ctx);
int cmd_completion(int argc, char **argv, cli_ctx *ctx);

/* The global options' help text (shared by every usage text). */
extern const char cli_global_help[];

/* The whole tool (dispatch.c): global options from the environment and argv,
 * then the command; returns the process exit status. */
int cli_main(int argc, char **argv);

#endif
