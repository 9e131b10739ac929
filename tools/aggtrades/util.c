/*
 * util.c - the tool's plumbing: option parsing (global and per command),
 * one-line error messages, exit statuses, signals, clocks, argument
 * validation, and opening the lake and the exchange client.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ui/progress.h"

/* ---- messages ----------------------------------------------------------------- */

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("aggtrades: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_warn(const cli_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    if (ctx && ctx->quiet) return;
    fputs("aggtrades: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_usage(const char *text)
{
    fputs(text, stdout);
    fputs("\n", stdout);
    fputs(cli_global_help, stdout);
}

void cli_strlcpy(char *dst, size_t n, const char *src)
{
    size_t l = strlen(src);
    if (n == 0) return;
    if (l >= n) l = n - 1;
    memcpy(dst, src, l);
    dst[l] = 0;
}

int cli_exit_for(agt_status s)
{
    switch (s) {
    case AGT_OK: return EXIT_DONE;
    case AGT_EINVAL: return EXIT_USAGE;
    case AGT_ELOCKED:
    case AGT_EIO:
    case AGT_ENOSPC:
    case AGT_ECORRUPT:
    case AGT_ENOMEM: return EXIT_LAKE;
    case AGT_ECANCELLED: return EXIT_INTERRUPTED;
    default: return EXIT_FAILED;
    }
}

int cli_color(const cli_ctx *ctx, int fd)
{
    if (ctx->color_mode == COLOR_ALWAYS) return 1;
    if (ctx->color_mode == COLOR_NEVER) return 0;
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc) return 0;
    const char *term = getenv("TERM");
    if (term && !strcmp(term, "dumb")) return 0;
    return isatty(fd);
}

int cli_finish_stdout(int rc)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno;
        if (e == EPIPE) return rc; /* the reader went away: not our failure */
        cli_error("error writing to standard output: %s", strerror(e ? e : EIO));
        return rc ? rc : EXIT_LAKE;
    }
    return rc;
}

/* ---- option parsing --------------------------------------------------------------- */

static const char *g_color_arg;
static const char *g_market_arg;
static int g_interval_set;
static long g_interval;

static const cli_opt global_opts[] = {
    { OPT_STRING, "root", NULL },     { OPT_STRING, "market", NULL },
    { OPT_STRING, "api-url", NULL },
    { OPT_STRING, "archive-url", NULL }, { OPT_INT, "interval-ms", NULL },
    { OPT_STRING, "paging", NULL },   { OPT_INT, "low-speed-limit", NULL },
    { OPT_INT, "low-speed-time", NULL }, { OPT_INT, "unit-deadline", NULL },
    { OPT_STRING, "color", NULL },    { OPT_FLAG, "no-progress", NULL },
    { OPT_FLAG, "quiet", NULL },      { OPT_END, NULL, NULL },
};

static void *global_dest(cli_ctx *ctx, const char *name)
{
    if (!strcmp(name, "root")) return &ctx->root;
    if (!strcmp(name, "market")) return &g_market_arg;
    if (!strcmp(name, "api-url")) return &ctx->api_url;
    if (!strcmp(name, "archive-url")) return &ctx->archive_url;
    if (!strcmp(name, "interval-ms")) return &g_interval;
    if (!strcmp(name, "paging")) return &ctx->paging;
    if (!strcmp(name, "low-speed-limit")) return &ctx->low_speed_limit;
    if (!strcmp(name, "low-speed-time")) return &ctx->low_speed_time_s;
    if (!strcmp(name, "unit-deadline")) return &ctx->unit_deadline_s;
    if (!strcmp(name, "color")) return &g_color_arg;
    if (!strcmp(name, "no-progress")) return &ctx->no_progress;
    if (!strcmp(name, "quiet")) return &ctx->quiet;
    return NULL;
}

static int apply_globals(cli_ctx *ctx)
{
    if (g_color_arg) {
        if (!strcmp(g_color_arg, "auto")) ctx->color_mode = COLOR_AUTO;
        else if (!strcmp(g_color_arg, "always")) ctx->color_mode = COLOR_ALWAYS;
        else if (!strcmp(g_color_arg, "never")) ctx->color_mode = COLOR_NEVER;
        else {
            cli_error("invalid --color '%s' (expected auto, always or never)", g_color_arg);
            return EXIT_USAGE;
        }
        g_color_arg = NULL;
    }
    if (g_interval_set) {
        if (g_interval < 0 || g_interval > 600000) {
            cli_error("invalid --interval-ms '%ld' (expected 0 to 600000)", g_interval);
            return EXIT_USAGE;
        }
        ctx->interval_ms = (int)g_interval;
        g_interval_set = 0;
    }
    if (ctx->paging && strcmp(ctx->paging, "time") && strcmp(ctx->paging, "id")) {
        cli_error("invalid --paging '%s' (expected time or id)", ctx->paging);
        return EXIT_USAGE;
    }
    if (ctx->root && !*ctx->root) {
        cli_error("empty --root");
        return EXIT_USAGE;
    }
    if (g_market_arg) {
        agt_error e;
        agt_error_clear(&e);
        if (agt_market_parse(g_market_arg, &ctx->market, &e) != AGT_OK) {
            cli_error("%s", e.message);
            return EXIT_USAGE;
        }
        g_market_arg = NULL;
    }
    /* a futures market's lake is a folder of the root (market.h) */
    static char lake[4096];
    const char *dir = agt_market_lake_dir(ctx->market);
    if (ctx->root && *dir) {
        snprintf(lake, sizeof lake, "%s/%s", ctx->root, dir);
        ctx->lake = lake;
    } else {
        ctx->lake = ctx->root;
    }
    return 0;
}

int cli_int_arg(const char *opt, const char *arg, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (!*arg || *end || errno || v < min || v > max) {
        cli_error("invalid %s '%s' (expected a whole number from %ld to %ld)", opt, arg, min, max);
        return EXIT_USAGE;
    }
    *out = v;
    return 0;
}

/* Store one option's value. 0 or EXIT_USAGE. */
static int set_opt(cli_ctx *ctx, const cli_opt *o, void *dest, const char *name, const char *value)
{
    char optname[80];
    snprintf(optname, sizeof optname, "--%s", name);
    switch (o->kind) {
    case OPT_FLAG: *(int *)dest = 1; return 0;
    case OPT_STRING: *(const char **)dest = value; return 0;
    case OPT_INT: {
        long v;
        if (dest == &g_interval) {
            if (cli_int_arg(optname, value, 0, 600000, &v)) return EXIT_USAGE;
            g_interval = v;
            g_interval_set = 1;
            return 0;
        }
        if (cli_int_arg(optname, value, 0, 2000000000L, &v)) return EXIT_USAGE;
        *(long *)dest = v;
        return 0;
    }
    }
    return 0;
}

/*
 * Handle argv[*i] if it is an option of `opts` or a global option.
 * Returns 1 if consumed, 0 if not an option we know, -1 on error (printed).
 */
static int take_option(cli_ctx *ctx, int argc, char **argv, int *i, const cli_opt *opts)
{
    const char *arg = argv[*i];
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
        ctx->help = 1;
        return 1;
    }
    if (strncmp(arg, "--", 2) != 0) return 0;
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    char nbuf[64];
    if (nlen >= sizeof nbuf) return 0;
    memcpy(nbuf, name, nlen);
    nbuf[nlen] = 0;

    const cli_opt *o = NULL;
    void *dest = NULL;
    for (const cli_opt *p = opts; p && p->kind != OPT_END; p++)
        if (!strcmp(p->name, nbuf)) {
            o = p;
            dest = p->dest;
            break;
        }
    if (!o)
        for (const cli_opt *p = global_opts; p->kind != OPT_END; p++)
            if (!strcmp(p->name, nbuf)) {
                o = p;
                dest = global_dest(ctx, nbuf);
                break;
            }
    if (!o) return 0;
    const char *value = NULL;
    if (o->kind == OPT_FLAG) {
        if (eq) {
            cli_error("option '--%s' takes no value", nbuf);
            return -1;
        }
    } else if (eq) {
        value = eq + 1;
    } else {
        if (*i + 1 >= argc) {
            cli_error("option '--%s' needs a value", nbuf);
            return -1;
        }
        value = argv[++*i];
    }
    return set_opt(ctx, o, dest, nbuf, value) ? -1 : 1;
}

int cli_need_symbols(const char *verb, int npos)
{
    if (npos > 0) return 0;
    cli_error("%s needs at least one symbol (see 'aggtrades %s --help')", verb, verb);
    return EXIT_USAGE;
}

int cli_parse_global(cli_ctx *ctx, int argc, char **argv)
{
    /* A new command line: nothing of an earlier one's (that failed before
     * apply_globals) may be applied to it, its argv may be gone. */
    g_color_arg = NULL;
    g_interval_set = 0;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
            ctx->version = 1;
            continue;
        }
        if (a[0] != '-') break;
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        int r = take_option(ctx, argc, argv, &i, NULL);
        if (r < 0) return -1;
        if (r == 0) {
            cli_error("unknown option '%s' (see 'aggtrades --help')", a);
            return -1;
        }
    }
    if (apply_globals(ctx)) return -1;
    return i;
}

static int parse_args(cli_ctx *ctx, int argc, char **argv, const cli_opt *opts, char **pos,
                      int *npos)
{
    int n = 0, dashdash = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (dashdash || a[0] != '-' || !strcmp(a, "-")) {
            pos[n++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--")) {
            dashdash = 1;
            continue;
        }
        int r = take_option(ctx, argc, argv, &i, opts);
        if (r < 0) return EXIT_USAGE;
        if (ctx->help) break;
        if (r == 0) {
            cli_error("unknown option '%s' (see 'aggtrades %s --help')", a, ctx->cmd);
            return EXIT_USAGE;
        }
    }
    *npos = n;
    if (ctx->help) return 0;
    return apply_globals(ctx);
}

int cli_parse(cli_ctx *ctx, int argc, char **argv, const cli_opt *opts, const char *usage,
              char ***pos, int *npos)
{
    *npos = 0;
    *pos = calloc((size_t)argc + 1, sizeof **pos);
    if (!*pos) return EXIT_LAKE;
    int rc = parse_args(ctx, argc, argv, opts, *pos, npos);
    if (rc == 0 && ctx->help && usage) cli_usage(usage);
    return rc;
}

/* ---- inputs -------------------------------------------------------------------------- */

int cli_symbol(const char *arg, char out[24])
{
    agt_error err;
    if (agt_symbol_normalize(arg, out, &err) == AGT_OK) return 0;
    cli_error("%s", err.message);
    return EXIT_USAGE;
}

int cli_time_arg(const char *opt, const char *arg, int is_end, int64_t *us, int *date_only)
{
    agt_error err;
    int dat = 0;
    agt_error_clear(&err);
    /* the lake keeps microseconds: say so rather than "cannot parse" */
    const char *dot = strchr(arg, '.');
    if (dot && strchr(arg, ':') && strchr(arg, ':') < dot) {
        size_t nd = strspn(dot + 1, "0123456789");
        if (nd > 6) {
            cli_error("invalid %s: '%s' has %zu fraction digits (at most 6: microseconds)", opt,
                      arg, nd);
            return EXIT_USAGE;
        }
    }
    if (agt_parse_time(arg, us, &dat, &err) != AGT_OK) {
        cli_error("invalid %s: %s", opt, err.message);
        return EXIT_USAGE;
    }
    if (dat && is_end) *us += AGT_US_PER_DAY - 1;
    if (date_only) *date_only = dat;
    return 0;
}

/* ---- signals ---------------------------------------------------------------------------- */

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    if (g_stop) {
        ui_term_restore();
        static const char msg[] = "\naggtrades: interrupted again, quitting at once\n";
        ssize_t r = write(2, msg, sizeof msg - 1);
        (void)r;
        _exit(EXIT_INTERRUPTED);
    }
    g_stop = 1;
}

void cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int cli_stop_requested(void)
{
    return g_stop != 0;
}

/* ---- clocks ----------------------------------------------------------------------------- */

double cli_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t cli_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * AGT_US_PER_SEC + ts.tv_nsec / 1000;
}

void cli_date_str(int64_t us, char out[16])
{
    agt_tm tm;
    agt_tm_from_us(us, &tm);
    snprintf(out, 16, "%04d-%02d-%02d", tm.year % 10000, tm.month, tm.day);
}

/* ---- lake and client --------------------------------------------------------------------- */

void cli_lake_notices(const cli_ctx *ctx, agt_lake *lake)
{
    char msg[700];
    while (agt_lake_next_notice(lake, msg, sizeof msg)) cli_warn(ctx, "%s", msg);
}

/* The root exists but is not a directory: say so (exit 3). */
static int root_not_dir(const cli_ctx *ctx)
{
    struct stat st;
    if (stat(ctx->lake, &st) != 0 || S_ISDIR(st.st_mode)) return 0;
    cli_error("cannot use '%s' as the lake: not a directory", ctx->lake);
    return EXIT_LAKE;
}

static int lake_open(const cli_ctx *ctx, unsigned flags, agt_lake **out)
{
    agt_error err;
    agt_error_clear(&err);
    if (root_not_dir(ctx)) return EXIT_LAKE;
    agt_lake_opts o;
    agt_lake_opts_default(&o);
    o.market = agt_market_name(ctx->market); /* a futures lake's names (market.h) */
    agt_status s = agt_lake_open_opts(ctx->lake, flags, &o, out, &err);
    if (s == AGT_OK) {
        cli_lake_notices(ctx, *out); /* e.g. a damaged write-ahead log set aside */
        return 0;
    }
    /* no lake there: a wrong --root is bad input, as for retry (nothing is created) */
    if (s == AGT_ENOTFOUND)
        cli_error("no lake at '%s' (run 'aggtrades download' first or set --root)", ctx->lake);
    else
        cli_error("%s", err.message[0] ? err.message : agt_status_name(s));
    return s == AGT_EINVAL || s == AGT_ENOTFOUND ? EXIT_USAGE : EXIT_LAKE;
}

int cli_lake_open_read(const cli_ctx *ctx, agt_lake **out)
{
    return lake_open(ctx, AGT_LAKE_READ, out);
}
