/*
 * cli.h - what the files of the aggtrades tool share: the run context built
 * from the global options, the option parser, exit statuses, error output,
 * the .retry file, and the download engine used by download, update, retry
 * and verify --repair.
 *
 * The tool only calls the public API (include/aggtrades/) plus the UTC
 * calendar helpers of src/common/common_int.h.
 */
#ifndef AGT_CLI_H
#define AGT_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "aggtrades/aggtrades.h"
#include "common/common_int.h"

/* Exit statuses (architecture.md §3). */
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
#define CLI_EPOCH_DATE "2017-07-01"

enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

/* Global options and facts about the terminal, shared by every command. */
typedef struct cli_ctx {
    const char *root;        /* --root, AGT_ROOT, "./data" */
    const char *api_url;     /* --api-url, AGT_API_URL */
    const char *archive_url; /* --archive-url, AGT_ARCHIVE_URL */
    int interval_ms;         /* --interval-ms */
    const char *paging;      /* --paging time|id (NULL: the library's default, time) */
    long low_speed_limit;    /* --low-speed-limit bytes/s; -1: the library's default */
    long low_speed_time_s;   /* --low-speed-time seconds; -1: the library's default */
    long unit_deadline_s;    /* --unit-deadline seconds; -1: the library's default */
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
/* Open the lake for writing (lock). Prints the error and returns the exit status on failure. */
int cli_lake_open_write(const cli_ctx *ctx, agt_lake **out);
/* Open the lake for reading. */
int cli_lake_open_read(const cli_ctx *ctx, agt_lake **out);

/* Print "cannot read the lake '<root>': <why>" for a failed lake call; returns EXIT_LAKE. */
int cli_lake_error(const cli_ctx *ctx, agt_status s, const agt_error *err);
/* The oldest committed hour of `symbol` if it is not after `end_us`, or -1.
 * 0, or EXIT_LAKE after printing. */
int cli_first_stored_hour(const cli_ctx *ctx, agt_lake *lake, const char *symbol, int64_t end_us,
                          int64_t *hour_us);

/* Create the exchange client with the global options (and an optional progress hook). */
/* The slow-server options given on the command line (--low-speed-limit,
 * --low-speed-time, --unit-deadline) over a source's defaults. */
void cli_slow_server_opts(const cli_ctx *ctx, long *low_speed_limit, int *low_speed_time_s,
                          int *unit_deadline_s);
int cli_client_new(const cli_ctx *ctx, agt_fetch_progress_fn fn, void *user, agt_client **out);

/* The exchange's clock ("now"). Prints the error and returns EXIT_FAILED on failure. */
int cli_server_now(const cli_ctx *ctx, agt_client *c, int64_t *now_us);
/* Before any request: can the root be used (an existing directory, or creatable
 * under a writable one)? 0, or EXIT_LAKE after printing why not. */
int cli_root_check(const cli_ctx *ctx);
/* 1 if a lake exists at the root (its metadata directory; an empty root is no lake),
 * or the root is not a directory (opening it then says so). */
int cli_root_exists(const cli_ctx *ctx);

/* ---- the .retry file ------------------------------------------------------------ */

/*
 * <root>/.retry holds the units that failed after all their attempts, one JSON
 * object a line:
 *   {"symbol":"BTCUSDT","date":"2023-10-01","hour":5,"error":"...","attempts":4,
 *    "time":"2023-10-02T08:00:00Z"}
 * "hour" is 0-23 (UTC), "attempts" counts HTTP requests tried over every run,
 * "time" is when it last failed. The file is rewritten atomically (temporary
 * name + rename) by the one writer that holds the lake lock.
 */
typedef struct retry_unit {
    char symbol[24];
    int64_t hour_us;  /* start of the hour */
    char error[256];
    int attempts;
    int64_t time_us;
} retry_unit;

typedef struct retry_list {
    retry_unit *v;
    size_t n, cap;
} retry_list;

void retry_list_release(retry_list *l);
/* Load <root>/.retry (missing file = empty list). Bad lines are skipped with a warning. */
int retry_load(const cli_ctx *ctx, retry_list *l);
/* Atomically rewrite (or remove, when empty) <root>/.retry. 0 or EXIT_LAKE. */
int retry_save(const cli_ctx *ctx, const retry_list *l);
/* Add or replace the entry for (symbol, hour). */
int retry_put(retry_list *l, const retry_unit *u);
/* Remove the entry for (symbol, hour) if present. */
void retry_drop(retry_list *l, const char *symbol, int64_t hour_us);
/* Index of (symbol, hour) or -1. */
long retry_find(const retry_list *l, const char *symbol, int64_t hour_us);

/* ---- the download engine --------------------------------------------------------- */

/* One unit of work: a symbol-hour to fetch and commit. */
typedef struct job_hour {
    int64_t hour_us;
    int day_index; /* which of the symbol's days it belongs to (for "dates done") */
    int whole_day; /* 1 on the 24 hours of a day fetched as one unit through
                      agt_source_fetch_day (job_plan.day_source) */
} job_hour;

typedef struct job_symbol {
    char symbol[24];
    job_hour *hours;
    size_t nhours, cap;
    int days_total;   /* days in the request (for the panel) */
    int days_skipped; /* days already complete */
    int64_t first_day_us;
} job_symbol;

typedef struct job_plan {
    job_symbol *syms;
    size_t nsyms;
    const char *verb; /* "download", "update", "retry", "repair" */
    int force;        /* overwrite: committed as a replacement */
    const char *resume_hint; /* the command to run again after Ctrl-C */
    agt_source *day_source;  /* for whole_day hours; NULL: everything hour by hour */
    agt_source_policy policy; /* what day_source is asked for */
} job_plan;

int job_add_hour(job_symbol *s, int64_t hour_us, int day_index);
/* The plan's entry for `symbol`, appended if new (p->syms must have room). */
job_symbol *job_plan_symbol(job_plan *p, const char *symbol);
/* Validate the symbols args[0..n) into p->syms (allocated here), once each, in
 * the order given. 0, EXIT_USAGE after printing, or EXIT_LAKE out of memory. */
int job_plan_symbols(job_plan *p, char **args, int n);
void job_plan_release(job_plan *p);
/* Free what a command ran `plan` with: the lake, the day source, the client
 * and the plan itself (any may be unset). */
void job_release(job_plan *plan, agt_lake *lake, agt_client *client);

/*
 * Run the plan: fetch every hour, commit it, record failures in .retry (and
 * drop units that succeed from it), draw progress. The first hour of every
 * symbol is fetched before anything is committed, so an unknown symbol ends
 * the run (EXIT_USAGE) with nothing written. If *lake is NULL the lake is
 * opened for writing only after that check (and closed by the caller).
 * `client` must have been made with job_progress_cb. Returns the exit status.
 */
int job_run(const cli_ctx *ctx, agt_lake **lake, agt_client *client, job_plan *plan);

/* The fetch progress callback to give cli_client_new (user = NULL). */
int job_progress_cb(void *user, uint64_t body_bytes, uint64_t trades);

/* Sort a symbol's hours ascending and drop repeats. */
void job_sort_hours(job_symbol *s);

/*
 * --source for download, update and verify --repair: parse `arg` (NULL =
 * "auto") into plan->policy and, unless it is "rest", create the archive
 * handle (--archive-url) and the day source over `client` into
 * plan->day_source. 0 or EXIT_USAGE after printing.
 */
/* Parse --source `arg` (NULL = "auto"): 0, or EXIT_USAGE after printing. */
int job_source_policy(const char *arg, agt_source_policy *out);
int job_source_open(const cli_ctx *ctx, const char *arg, agt_client *client, job_plan *plan);
/* Free what job_source_open made. */
void job_source_close(job_plan *plan);
/* 1 if the plan has a day source and the day is older than the exchange's
 * yesterday (the archive publishes the next day). The caller checks that no
 * hour of the day is stored. */
int job_day_unit_ok(const job_plan *plan, int64_t day_us, int64_t now_us);
/* Mark every day of `s` (hours sorted, unique) whose 24 hours are all in the
 * plan and that job_day_unit_ok allows as a whole-day unit (update, verify
 * --repair: stored hours are fetched again and merged as usual). Returns the
 * number of days marked. */
int job_mark_day_units(const job_plan *plan, job_symbol *s, int64_t now_us);

/* The command line as a shell would need it, for "run it again" hints. */
void cli_cmdline(const cli_ctx *ctx, char *out, size_t n);

/* ---- commands -------------------------------------------------------------------- */

int cmd_download(int argc, char **argv, cli_ctx *ctx);
int cmd_update(int argc, char **argv, cli_ctx *ctx);
int cmd_query(int argc, char **argv, cli_ctx *ctx);
int cmd_retry(int argc, char **argv, cli_ctx *ctx);
int cmd_verify(int argc, char **argv, cli_ctx *ctx);
int cmd_completion(int argc, char **argv, cli_ctx *ctx);

/* The global options' help text (shared by every usage text). */
extern const char cli_global_help[];

#endif
