/*
 * util.c - the tool's plumbing: one-line error messages, exit statuses,
 * colour, and the checks of symbols, times and numbers given as arguments.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

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
    case AGT_EINVAL:
    case AGT_ENOTFOUND: return EXIT_USAGE; /* no lake at the root, nothing stored for a symbol */
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

/* ---- inputs -------------------------------------------------------------------------- */

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

int cli_need_symbols(const char *verb, int npos)
{
    if (npos > 0) return 0;
    cli_error("%s needs at least one symbol (see 'aggtrades %s --help')", verb, verb);
    return EXIT_USAGE;
}


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
