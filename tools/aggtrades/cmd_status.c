/*
 * cmd_status.c - "aggtrades status [SYMBOL...]": what the lake of the
 * market holds per symbol (agt_lake_status, aggtrades/status.h): the span
 * of hours, how many are complete, open, failed and missing, trades, bytes
 * of the data files and of the change feed, change-feed versions. Told
 * from the statistics, the .retry ledger and the change feed's file names;
 * no data file is read, no lock taken, nothing written.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ui/format.h"

enum { O_OUTPUT };

static const cli_option options[] = {
    [O_OUTPUT] = { "output", CLI_ENUM, "FORMAT", "table json", 0,
                   "the format: table (default) or json (one object: \"market\"\n"
                   "and \"symbols\", an array with one object per symbol)" },
    { NULL, CLI_FLAG, NULL, NULL, 0, NULL },
};

static int run_status(cli_ctx *ctx, const cli_args *args);

const cli_command cmd_status = {
    .name = "status",
    .summary = "what the lake holds: hours complete, open, failed, missing",
    .synopsis = "[SYMBOL...] [--output table|json]",
    .about =
        "What the lake holds for each SYMBOL (default: every symbol stored or listed\n"
        "in <root>/.retry), from its statistics alone: no data file is read, nothing\n"
        "is written, and a running download is neither waited for nor disturbed.\n"
        "\n"
        "The span runs from the first to the last hour stored or failed; each of its\n"
        "hours is counted once, as\n"
        "  failed    listed in <root>/.retry ('aggtrades retry' fetches it again)\n"
        "  complete  proven complete\n"
        "  open      stored before the hour had ended ('aggtrades update' completes it)\n"
        "  missing   any other hour: never stored (a gap), or stored unproven\n"
        "'aggtrades verify' reads the data files themselves.\n",
    .options = options,
    .more =
        "Columns: trades (rows stored), data (bytes of the data files), changes\n"
        "(change-feed files, one per commit), latest (the newest commit version),\n"
        "feed (bytes of the change-feed files).\n"
        "\n"
        "Examples:\n"
        "  aggtrades status\n"
        "  aggtrades status BTCUSDT ETHUSDT --output json\n"
        "  aggtrades --market um status\n",
    .operand = CLI_SYMBOL,
    .operands_many = 1,
    .run = run_status,
};

enum { C_SYMBOL, C_FIRST, C_LAST, C_HOURS, C_COMPLETE, C_OPEN, C_FAILED, C_MISSING, C_TRADES,
       C_DATA, C_CHANGES, C_LATEST, C_FEED, C_N };
static const char *const head[C_N] = { "symbol", "first hour", "last hour", "hours", "complete",
                                       "open", "failed", "missing", "trades", "data", "changes",
                                       "latest", "feed" };

typedef char cell[32];

/* "2024-02-26 00:00" (table) or "2024-02-26T00:00:00Z" (json). */
static char *hour_text(int64_t us, int iso, char *out, size_t n)
{
    fmt_ts(us, 0, iso, out, n);
    if (!iso && strlen(out) > 16) out[16] = 0;
    return out;
}

static void row_cells(const agt_symbol_status *s, cell c[C_N])
{
    cli_strlcpy(c[C_SYMBOL], sizeof c[0], s->symbol);
    hour_text(s->first_hour_us, 0, c[C_FIRST], sizeof c[0]);
    hour_text(s->last_hour_us, 0, c[C_LAST], sizeof c[0]);
    agt_format_count((uint64_t)s->hours, c[C_HOURS], sizeof c[0]);
    agt_format_count((uint64_t)s->complete, c[C_COMPLETE], sizeof c[0]);
    agt_format_count((uint64_t)s->open, c[C_OPEN], sizeof c[0]);
    agt_format_count((uint64_t)s->failed, c[C_FAILED], sizeof c[0]);
    agt_format_count((uint64_t)s->missing, c[C_MISSING], sizeof c[0]);
    agt_format_count((uint64_t)s->trades, c[C_TRADES], sizeof c[0]);
    fmt_bytes(s->data_bytes, c[C_DATA], sizeof c[0]);
    agt_format_count((uint64_t)s->change_versions, c[C_CHANGES], sizeof c[0]);
    if (s->latest_version > 0) snprintf(c[C_LATEST], sizeof c[0], "%lld", (long long)s->latest_version);
    else cli_strlcpy(c[C_LATEST], sizeof c[0], "-");
    fmt_bytes(s->change_bytes, c[C_FEED], sizeof c[0]);
}

/* One line: text columns left-aligned, figures right-aligned, two spaces apart. */
static void print_line(const char *const *v, const int *w)
{
    for (int k = 0; k < C_N; k++) {
        int left = k <= C_LAST;
        printf("%s%*s", k ? "  " : "", left ? -w[k] : w[k], v[k]);
    }
    putchar('\n');
}

static int print_table(const cli_ctx *ctx, const agt_symbol_status *v, size_t n)
{
    if (n == 0) {
        printf("nothing stored in '%s'\n", ctx->lake);
        return 0;
    }
    cell *rows = calloc(n, sizeof(cell[C_N]));
    if (!rows) {
        cli_error("out of memory");
        return EXIT_LAKE;
    }
    int w[C_N];
    for (int k = 0; k < C_N; k++) w[k] = (int)strlen(head[k]);
    for (size_t i = 0; i < n; i++) {
        row_cells(&v[i], &rows[i * C_N]);
        for (int k = 0; k < C_N; k++) {
            int l = (int)strlen(rows[i * C_N + k]);
            if (l > w[k]) w[k] = l;
        }
    }
    int color = cli_color(ctx, 1);
    if (color) fputs("\033[1m", stdout);
    print_line(head, w);
    if (color) fputs("\033[0m", stdout);
    for (size_t i = 0; i < n; i++) {
        const char *line[C_N];
        for (int k = 0; k < C_N; k++) line[k] = rows[i * C_N + k];
        print_line(line, w);
    }
    free(rows);
    return 0;
}

/* docs/cli-outputs.md names these fields; keep them stable. */
static void print_json(const cli_ctx *ctx, const agt_symbol_status *v, size_t n)
{
    printf("{\"market\":\"%s\",\"symbols\":[", agt_market_name(ctx->market));
    for (size_t i = 0; i < n; i++) {
        const agt_symbol_status *s = &v[i];
        char a[40], b[40];
        printf("%s\n{\"symbol\":\"%s\",\"first_hour\":\"%s\",\"last_hour\":\"%s\",\"hours\":%lld,"
               "\"complete\":%lld,\"open\":%lld,\"failed\":%lld,\"missing\":%lld,\"trades\":%lld,"
               "\"data_files\":%lld,\"data_bytes\":%llu,\"change_versions\":%lld,"
               "\"latest_version\":%lld,\"change_bytes\":%llu}",
               i ? "," : "", s->symbol, hour_text(s->first_hour_us, 1, a, sizeof a),
               hour_text(s->last_hour_us, 1, b, sizeof b), (long long)s->hours,
               (long long)s->complete, (long long)s->open, (long long)s->failed,
               (long long)s->missing, (long long)s->trades, (long long)s->data_files,
               (unsigned long long)s->data_bytes, (long long)s->change_versions,
               (long long)s->latest_version, (unsigned long long)s->change_bytes);
    }
    printf("%s]}\n", n ? "\n" : "");
}

static int run_status(cli_ctx *ctx, const cli_args *args)
{
    const char *output = args->value[O_OUTPUT];
    char **pos = args->pos;
    int npos = args->npos;
    agt_lake *lake = NULL;
    agt_symbol_status *v = NULL;
    size_t n = 0;
    char (*syms)[24] = NULL;
    const char **names = NULL;
    int rc = 0;
    int json = output && !strcmp(output, "json"); /* the parser took table or json */
    syms = calloc((size_t)npos + 1, sizeof *syms);
    names = calloc((size_t)npos + 1, sizeof *names);
    if (!syms || !names) {
        rc = EXIT_LAKE;
        goto out;
    }
    for (int i = 0; i < npos; i++) {
        if ((rc = cli_symbol(pos[i], syms[i]))) goto out;
        names[i] = syms[i];
    }
    if ((rc = cli_lake_open_read(ctx, &lake))) goto out;
    agt_error err;
    agt_error_clear(&err);
    agt_status st = agt_lake_status(lake, names, (size_t)npos, &v, &n, &err);
    if (st == AGT_ENOTFOUND) { /* a symbol asked for that the lake does not hold */
        cli_error("%s", err.message);
        rc = EXIT_USAGE;
        goto out;
    }
    if (st != AGT_OK) { /* a damaged statistics file, named */
        cli_error("cannot read the lake '%s': %s", ctx->lake,
                  err.message[0] ? err.message : agt_status_name(st));
        rc = cli_exit_for(st);
        goto out;
    }
    if (json) print_json(ctx, v, n);
    else rc = print_table(ctx, v, n);
out:
    agt_symbol_status_free(v);
    agt_lake_close(lake);
    free(syms);
    free(names);
    return rc;
}
