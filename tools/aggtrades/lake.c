/*
 * lake.c - the lake as the commands that read it open it, its notices said
 * as warnings and its errors on one line.
 */
#include <sys/stat.h>

#include "cli.h"

/* What the lake did on its own (agt_lake_next_notice), as warnings. */
static void lake_notices(const cli_ctx *ctx, agt_lake *lake)
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

int cli_lake_open_read(const cli_ctx *ctx, agt_lake **out)
{
    agt_error err;
    agt_error_clear(&err);
    if (root_not_dir(ctx)) return EXIT_LAKE;
    agt_lake_opts o;
    agt_lake_opts_default(&o);
    o.market = agt_market_name(ctx->market); /* a futures lake's names (market.h) */
    agt_status s = agt_lake_open_opts(ctx->lake, AGT_LAKE_READ, &o, out, &err);
    if (s == AGT_OK) {
        lake_notices(ctx, *out); /* e.g. a damaged write-ahead log set aside */
        return 0;
    }
    /* no lake there: a wrong --root is bad input, as for retry (nothing is created) */
    if (s == AGT_ENOTFOUND)
        cli_error("no lake at '%s' (run 'aggtrades download' first or set --root)", ctx->lake);
    else
        cli_error("%s", err.message[0] ? err.message : agt_status_name(s));
    return s == AGT_EINVAL || s == AGT_ENOTFOUND ? EXIT_USAGE : EXIT_LAKE;
}
