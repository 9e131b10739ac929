/*
 * globals.c - the global options: their table (parsed by parse.c, printed
 * by help.c, completed by the completion scripts) and how their values
 * become the run context.
 */
#include <string.h>

#include "cli.h"

/* The order of cli_global_options. */
enum {
    G_ROOT, G_MARKET, G_API_URL, G_ARCHIVE_URL, G_INTERVAL_MS, G_PAGING, G_LOW_SPEED_LIMIT,
    G_LOW_SPEED_TIME, G_UNIT_DEADLINE, G_COLOR, G_NO_PROGRESS, G_QUIET
};

const cli_option cli_global_options[] = {
    [G_ROOT] = { "root", CLI_DIR, "DIR", NULL, 0,
                 "the lake (default ./data, env AGT_ROOT)" },
    [G_MARKET] = { "market", CLI_ENUM, "M", "spot um cm", 0,
                   "the market: spot (default), um (USD-M futures) or cm\n"
                   "(COIN-M futures); a futures market is kept in\n"
                   "DIR/_futures/um (cm)" },
    [G_API_URL] = { "api-url", CLI_TEXT, "URL", NULL, 0,
                    "the REST API (default https://api.binance.com,\n"
                    "env AGT_API_URL)" },
    [G_ARCHIVE_URL] = { "archive-url", CLI_TEXT, "URL", NULL, 0,
                        "the archive (default https://data.binance.vision,\n"
                        "env AGT_ARCHIVE_URL)" },
    [G_INTERVAL_MS] = { "interval-ms", CLI_INT, "N", NULL, 600000,
                        "minimum gap between requests in milliseconds (default 50)" },
    [G_PAGING] = { "paging", CLI_ENUM, "WALK", "time id", 0,
                   "how an hour is walked: time (default: endTime + limit\n"
                   "backwards, fromId only inside a millisecond holding more\n"
                   "than 1000 trades) or id (fromId)" },
    [G_LOW_SPEED_LIMIT] = { "low-speed-limit", CLI_INT, "N", NULL, 0,
                            "abort and retry a response slower than N bytes/s\n"
                            "for --low-speed-time seconds (default 1024; 0 turns\n"
                            "it off)" },
    [G_LOW_SPEED_TIME] = { "low-speed-time", CLI_INT, "S", NULL, 0,
                           "how long a response may stay below --low-speed-limit\n"
                           "(default 20)" },
    [G_UNIT_DEADLINE] = { "unit-deadline", CLI_INT, "S", NULL, 0,
                          "give up a unit after S seconds, retries included: an\n"
                          "hour (or an archive day's file) then goes to .retry\n"
                          "(default 600; 1800 for a file; 0 = none)" },
    [G_COLOR] = { "color", CLI_ENUM, "WHEN", "auto always never", 0,
                  "colour output: auto, always or never (NO_COLOR turns\n"
                  "auto off)" },
    [G_NO_PROGRESS] = { "no-progress", CLI_FLAG, NULL, NULL, 0,
                        "no live display; plain log lines" },
    [G_QUIET] = { "quiet", CLI_FLAG, NULL, NULL, 0, "only errors" },
    { NULL, CLI_FLAG, NULL, NULL, 0, NULL },
};

int cli_globals_apply(cli_ctx *ctx, const cli_args *g)
{
    const char *const *v = g->value;
    if (v[G_ROOT]) {
        if (!*v[G_ROOT]) {
            cli_error("empty --root");
            return EXIT_USAGE;
        }
        ctx->root = v[G_ROOT];
    }
    if (v[G_MARKET]) {
        agt_error e;
        agt_error_clear(&e);
        if (agt_market_parse(v[G_MARKET], &ctx->market, &e) != AGT_OK) {
            cli_error("%s", e.message);
            return EXIT_USAGE;
        }
        ctx->market_given = 1;
    }
    if (v[G_API_URL]) ctx->api_url = v[G_API_URL];
    if (v[G_ARCHIVE_URL]) ctx->archive_url = v[G_ARCHIVE_URL];
    if (v[G_INTERVAL_MS]) ctx->interval_ms = (int)g->num[G_INTERVAL_MS];
    if (v[G_PAGING]) ctx->paging = v[G_PAGING];
    if (v[G_LOW_SPEED_LIMIT]) ctx->low_speed_limit = g->num[G_LOW_SPEED_LIMIT];
    if (v[G_LOW_SPEED_TIME]) ctx->low_speed_time_s = g->num[G_LOW_SPEED_TIME];
    if (v[G_UNIT_DEADLINE]) ctx->unit_deadline_s = g->num[G_UNIT_DEADLINE];
    if (v[G_COLOR])
        ctx->color_mode = !strcmp(v[G_COLOR], "always") ? COLOR_ALWAYS
                          : !strcmp(v[G_COLOR], "never") ? COLOR_NEVER
                                                         : COLOR_AUTO;
    if (v[G_NO_PROGRESS]) ctx->no_progress = 1;
    if (v[G_QUIET]) ctx->quiet = 1;
    cli_use_market(ctx, ctx->market);
    return 0;
}

void cli_use_market(cli_ctx *ctx, agt_market m)
{
    ctx->market = m;
    /* a futures market's lake is a folder of the root (market.h) */
    const char *dir = agt_market_lake_dir(m);
    if (dir && *dir) {
        snprintf(ctx->lake_buf, sizeof ctx->lake_buf, "%s/%s", ctx->root, dir);
        ctx->lake = ctx->lake_buf;
    } else {
        ctx->lake = ctx->root;
    }
}
