/*
 * cmd_query.c - "aggtrades query SYMBOL --start T --end T": the trades of a
 * time window (both ends inclusive, to the microsecond). By default a table
 * of the first rows and the total count; --stats an aggregate answered
 * mostly from the statistics index; --output csv|json|jsonl streams every
 * row, --output parquet writes the window as one Parquet file (--file).
 * The lake is opened read-only: queries never wait for a running download.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ui/export.h"
#include "ui/format.h"
#include "ui/table.h"

enum { O_START, O_END, O_STATS, O_OUTPUT, O_FILE, O_FORCE, O_LIMIT };

static const cli_option options[] = {
    [O_START] = { "start", CLI_TIME, "TIME", NULL, 0, "first instant of the window" },
    [O_END] = { "end", CLI_TIME, "TIME", NULL, 0, "last instant of the window (inclusive)" },
    [O_STATS] = { "stats", CLI_FLAG, NULL, NULL, 0,
                  "print an aggregate: row count, first and last trade time,\n"
                  "summed quantity, summed quote volume (price x quantity),\n"
                  "VWAP and the share of trades where the buyer was the maker" },
    [O_OUTPUT] = { "output", CLI_ENUM, "FORMAT", "table csv json jsonl parquet", 0,
                   "the format: table (default: the first 10 rows and the total\n"
                   "count), csv, json or jsonl (every row, streamed), or parquet\n"
                   "(one ZSTD Parquet file of the window; needs --file)" },
    [O_FILE] = { "file", CLI_FILE, "PATH", NULL, 0,
                 "write to PATH instead of standard output (written whole\n"
                 "under a temporary name, then renamed); an existing PATH\n"
                 "is refused" },
    [O_FORCE] = { "force", CLI_FLAG, NULL, NULL, 0, "replace PATH if it exists (with --file)" },
    [O_LIMIT] = { "limit", CLI_INT, "N", NULL, 0,
                  "at most N rows (table default 10, otherwise all)" },
    { NULL, CLI_FLAG, NULL, NULL, 0, NULL },
};

static int run_query(cli_ctx *ctx, const cli_args *args);

const cli_command cmd_query = {
    .name = "query",
    .summary = "print, summarise or export the trades of a time window",
    .synopsis = "SYMBOL --start TIME --end TIME [--stats]\n"
                "[--output table|csv|json|jsonl|parquet]\n"
                "[--file PATH [--force]] [--limit N]",
    .about =
        "Read the trades of SYMBOL between two UTC times, both inclusive. TIME is a\n"
        "day (YYYY-MM-DD: as --start its first microsecond, as --end its last) or a\n"
        "time: 'YYYY-MM-DD HH:MM:SS[.fff[fff]]' or ISO 8601 (2023-10-05T12:30:00.5Z).\n",
    .options = options,
    .more =
        "CSV columns: trade_id,timestamp,price,quantity,is_buyer_maker with\n"
        "timestamps as 2023-10-05T12:30:00.500Z (microseconds when the data has them).\n"
        "JSON: an array with one object a line, the same five fields. JSONL: the same\n"
        "objects, one a line, without the array (pandas.read_json(lines=True), DuckDB\n"
        "read_json). Parquet: the lake's schema (timestamp a UTC instant), readable\n"
        "by pandas, pyarrow, polars, DuckDB and Spark.\n"
        "\n"
        "Examples:\n"
        "  aggtrades query BTCUSDT --start 2023-10-01 --end 2023-10-31 --stats\n"
        "  aggtrades query BTCUSDT --start \"2023-10-05 12:30:00.500\" \\\n"
        "                          --end \"2023-10-05 12:35:00\" --output csv\n"
        "  aggtrades query ETHUSDT --start 2023-10-05 --end 2023-10-05 --output json \\\n"
        "                          --file eth.json\n"
        "  aggtrades query ETHUSDT --start 2023-10-05 --end 2023-10-05 --output parquet \\\n"
        "                          --file eth-2023-10-05.parquet\n",
    .operand = CLI_SYMBOL,
    .run = run_query,
};

enum { FMT_TABLE, FMT_CSV, FMT_JSON, FMT_JSONL, FMT_PARQUET };
static const char *const fmt_name[] = {"table", "csv", "json", "jsonl", "parquet"};

typedef struct qout {
    FILE *f;
    char *path; /* --file: final name */
    char *tmp;  /* --file: written here, renamed at the end */
} qout;

/* 0 if the directory `file` would be created in exists and can be written, else an errno. */
static int dir_unwritable(const char *file)
{
    const char *slash = strrchr(file, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", slash == file ? 1 : (int)(slash - file), file);
    struct stat st;
    if (stat(dir, &st) != 0) return errno;
    if (!S_ISDIR(st.st_mode)) return ENOTDIR;
    return access(dir, W_OK) != 0 ? errno : 0;
}

/*
 * --file PATH names a file to create: an existing one is replaced only with
 * --force (the new content is renamed over it once complete), a directory
 * never, nor one in a directory that does not exist or cannot be written.
 * Checked before the lake is opened: bad input (exit 2) writes nothing.
 */
static int out_check(const char *file, int force)
{
    struct stat st;
    if (!file || !strcmp(file, "-")) return 0;
    int e = dir_unwritable(file);
    if (e) {
        cli_error("cannot write '%s': %s", file, strerror(e));
        return EXIT_USAGE;
    }
    if (stat(file, &st) != 0) return 0;
    if (S_ISDIR(st.st_mode)) {
        cli_error("cannot write '%s': it is a directory", file);
        return EXIT_USAGE;
    }
    if (!force) {
        cli_error("'%s' exists; add --force to replace it", file);
        return EXIT_USAGE;
    }
    return 0;
}

static int out_open(qout *o, const char *file)
{
    memset(o, 0, sizeof o[0]);
    if (!file || !strcmp(file, "-")) {
        o->f = stdout;
        return 0;
    }
    size_t n = strlen(file) + 16;
    o->path = strdup(file);
    o->tmp = malloc(n);
    if (!o->path || !o->tmp) return EXIT_LAKE;
    snprintf(o->tmp, n, "%s.tmp%ld", file, (long)getpid());
    o->f = fopen(o->tmp, "w");
    if (!o->f) {
        cli_error("cannot write '%s': %s", file, strerror(errno));
        return EXIT_USAGE;
    }
    return 0;
}

/* Non-zero once the output cannot take more (closed pipe or write error). */
static int out_broken(qout *o)
{
    return ferror(o->f) != 0;
}

/* Finish the output: flush, rename into place (or drop it if `rc`). */
static int out_close(qout *o, int rc)
{
    if (!o->f) { /* never opened */
        free(o->path);
        free(o->tmp);
        return rc;
    }
    if (o->f == stdout) {
        if (ferror(stdout) && errno == EPIPE) return rc; /* reader gone */
        return rc;                                     /* main() checks and reports */
    }
    int e = 0;
    if (fflush(o->f) != 0 || ferror(o->f)) e = errno ? errno : EIO;
    if (!e && fsync(fileno(o->f)) != 0) e = errno;
    if (fclose(o->f) != 0 && !e) e = errno;
    o->f = NULL;
    if (!rc && !e && rename(o->tmp, o->path) != 0) e = errno;
    if (rc || e) unlink(o->tmp);
    if (e && !rc) {
        cli_error("cannot write '%s': %s", o->path, strerror(e));
        rc = EXIT_LAKE;
    }
    free(o->path);
    free(o->tmp);
    return rc;
}

static void stats_line(FILE *f, const char *k, const char *v)
{
    fprintf(f, "%-14s %s\n", k, v);
}

typedef struct exact_out {
    char qty[64], quote[64], vwap[64], share[64];
} exact_out;

/*
 * The figures of --stats. The lake keeps exact sums (quantity in 1e-8, quote
 * volume in 1e-16: prices and quantities are decimals of at most 8 fraction
 * digits) per file in its statistics, so a month is answered from them
 * without reading data, and the decimals printed are exact; VWAP is their
 * quotient rounded once. Should some value be off that grid (never seen
 * from the exchange), the lake says so and the doubles are printed instead.
 */
static void exact_finish(const agt_range_stats *st, exact_out *o)
{
    if (st->sums_exact) {
        agt_lake_units_decimal(st->qty_e8_lo, st->qty_e8_hi, 8, o->qty, sizeof o->qty);
        agt_lake_units_decimal(st->quote_e16_lo, st->quote_e16_hi, 16, o->quote, sizeof o->quote);
    } else {
        fmt_decimal(st->sum_qty, o->qty, sizeof o->qty);
        fmt_decimal(st->quote_volume, o->quote, sizeof o->quote);
    }
    fmt_decimal(st->vwap, o->vwap, sizeof o->vwap);
    fmt_decimal(st->count ? (double)st->buyer_maker / (double)st->count : 0, o->share, sizeof o->share);
}

/* Fraction digits that show `us` exactly: 0, 3 or 6. */
static int ts_min_digits(int64_t us)
{
    return us % AGT_US_PER_SEC == 0 ? 0 : fmt_ts_digits(us);
}

static int query_err(agt_status s, const agt_error *err);

static int do_stats(agt_lake *lake, const char *sym, int64_t start, int64_t end, int fmt, qout *o)
{
    agt_range_stats st;
    agt_error err;
    exact_out ex;
    agt_error_clear(&err);
    memset(&st, 0, sizeof st);
    agt_status s = agt_lake_query_stats(lake, sym, start, end, &st, &err);
    if (s != AGT_OK) return query_err(s, &err);
    exact_finish(&st, &ex);

    char a[64], b[64], c[160];
    if (fmt == FMT_JSON || fmt == FMT_JSONL) { /* one object, on one line */
        fprintf(o->f, "{\"symbol\":\"%s\",\"start\":\"%s\",", sym, fmt_ts(start, 6, 1, a, sizeof a));
        fprintf(o->f, "\"end\":\"%s\",\"count\":%lld,", fmt_ts(end, 6, 1, a, sizeof a),
                (long long)st.count);
        if (st.count > 0) {
            fprintf(o->f, "\"first_trade\":\"%s\",",
                    fmt_ts(st.first_ts_us, fmt_ts_digits(st.first_ts_us), 1, a, sizeof a));
            fprintf(o->f, "\"last_trade\":\"%s\",",
                    fmt_ts(st.last_ts_us, fmt_ts_digits(st.last_ts_us), 1, a, sizeof a));
            fprintf(o->f, "\"first_id\":%lld,\"last_id\":%lld,", (long long)st.first_id,
                    (long long)st.last_id);
        } else {
            fputs("\"first_trade\":null,\"last_trade\":null,\"first_id\":null,\"last_id\":null,",
                  o->f);
        }
        fprintf(o->f, "\"quantity\":%s,\"quote_volume\":%s,", ex.qty, ex.quote);
        if (st.count > 0)
            fprintf(o->f, "\"vwap\":%s,\"buyer_maker\":%lld,\"buyer_maker_share\":%s}\n", ex.vwap,
                    (long long)st.buyer_maker, ex.share);
        else
            fputs("\"vwap\":null,\"buyer_maker\":0,\"buyer_maker_share\":null}\n", o->f);
        return 0;
    }
    stats_line(o->f, "symbol", sym);
    stats_line(o->f, "from", fmt_ts(start, ts_min_digits(start), 0, a, sizeof a));
    stats_line(o->f, "to", fmt_ts(end, ts_min_digits(end), 0, a, sizeof a));
    stats_line(o->f, "trades", agt_format_count((uint64_t)st.count, a, sizeof a));
    if (st.count == 0) return 0;
    stats_line(o->f, "first trade",
               fmt_ts(st.first_ts_us, fmt_ts_digits(st.first_ts_us), 0, a, sizeof a));
    stats_line(o->f, "last trade", fmt_ts(st.last_ts_us, fmt_ts_digits(st.last_ts_us), 0, a, sizeof a));
    snprintf(c, sizeof c, "%lld .. %lld", (long long)st.first_id, (long long)st.last_id);
    stats_line(o->f, "trade ids", c);
    stats_line(o->f, "quantity", ex.qty);
    stats_line(o->f, "quote volume", ex.quote);
    stats_line(o->f, "vwap", ex.vwap);
    agt_format_count((uint64_t)st.buyer_maker, b, sizeof b);
    snprintf(c, sizeof c, "%s (%s trades)", fmt_pct((double)st.buyer_maker / (double)st.count, a, sizeof a), b);
    stats_line(o->f, "buyer-maker", c);
    return 0;
}

static int query_err(agt_status s, const agt_error *err)
{
    cli_error("%s", err->message[0] ? err->message : agt_status_name(s));
    return s == AGT_ECANCELLED ? EXIT_INTERRUPTED : EXIT_LAKE;
}

/* Table: the first `limit` rows and the window's total count. */
static int do_table(agt_lake *lake, const char *sym, int64_t start, int64_t end, long limit,
                    qout *o, int color)
{
    agt_query *q = NULL;
    agt_trades rows, batch;
    agt_error err;
    agt_range_stats st;
    agt_status s;
    int rc = 0, done = 0;
    agt_trades_init(&rows);
    agt_trades_init(&batch);
    agt_error_clear(&err);
    memset(&st, 0, sizeof st);
    if ((s = agt_lake_query_stats(lake, sym, start, end, &st, &err)) != AGT_OK) return query_err(s, &err);
    if ((s = agt_lake_query_open(lake, sym, start, end, AGT_LAKE_COL_ALL, &q, &err)) != AGT_OK)
        return query_err(s, &err);
    while (!done && rows.len < (size_t)limit) {
        if ((s = agt_query_next(q, &batch, &done, &err)) != AGT_OK) {
            rc = query_err(s, &err);
            goto out;
        }
        size_t take = batch.len;
        if (rows.len + take > (size_t)limit) take = (size_t)limit - rows.len;
        for (size_t i = 0; i < take; i++)
            if (agt_trades_push(&rows, batch.trade_id[i], batch.ts_us[i], batch.price[i],
                                batch.quantity[i], batch.is_buyer_maker[i]) != AGT_OK) {
                cli_error("out of memory");
                rc = EXIT_LAKE;
                goto out;
            }
    }
    char a[64], b[64], c[64];
    fmt_ts(start, ts_min_digits(start), 0, a, sizeof a);
    fmt_ts(end, ts_min_digits(end), 0, b, sizeof b);
    if (st.count == 0 && rows.len == 0) {
        fprintf(o->f, "no trades of %s from %s to %s (UTC)\n", sym, a, b);
        goto out;
    }
    out_table(o->f, &rows, rows.len, color);
    agt_format_count((uint64_t)(st.count > (int64_t)rows.len ? st.count : (int64_t)rows.len), c, sizeof c);
    fprintf(o->f, "(%zu of %s trades of %s from %s to %s UTC)\n", rows.len, c, sym, a, b);
out:
    agt_query_close(q);
    agt_trades_release(&rows);
    agt_trades_release(&batch);
    return rc;
}

/* CSV or JSON: every row (up to --limit), streamed batch by batch. */
static int do_stream(agt_lake *lake, const char *sym, int64_t start, int64_t end, long limit,
                     int fmt, qout *o)
{
    agt_query *q = NULL;
    agt_trades batch;
    agt_error err;
    agt_status s;
    int rc = 0, done = 0;
    uint64_t written = 0;
    agt_trades_init(&batch);
    agt_error_clear(&err);
    if ((s = agt_lake_query_open(lake, sym, start, end, AGT_LAKE_COL_ALL, &q, &err)) != AGT_OK)
        return query_err(s, &err);
    export_writer w;
    export_fmt ef = fmt == FMT_CSV ? EXPORT_CSV : fmt == FMT_JSON ? EXPORT_JSON : EXPORT_JSONL;
    if (export_begin(&w, o->f, ef) != 0) {
        agt_query_close(q);
        cli_error("out of memory");
        return EXIT_LAKE;
    }
    while (!done && (limit < 0 || written < (uint64_t)limit)) {
        if (cli_stop_requested()) {
            rc = EXIT_INTERRUPTED;
            break;
        }
        if ((s = agt_query_next(q, &batch, &done, &err)) != AGT_OK) {
            rc = query_err(s, &err);
            break;
        }
        size_t take = batch.len;
        if (limit >= 0 && written + take > (uint64_t)limit) take = (size_t)((uint64_t)limit - written);
        export_rows(&w, &batch, 0, take);
        written += take;
        if (out_broken(o)) break; /* closed pipe or full disk: stop reading */
    }
    export_end(&w);
    agt_query_close(q);
    agt_trades_release(&batch);
    if (o->f == stdout && w.write_errno == EPIPE) { /* the reader went away: not our failure */
        clearerr(stdout);
    }
    return rc;
}

/* Parquet: the whole window (up to --limit) as one file, written by the library. */
static int do_parquet(agt_lake *lake, const char *sym, int64_t start, int64_t end, long limit,
                      qout *o)
{
    agt_error err;
    agt_error_clear(&err);
    if (fflush(o->f) != 0) return EXIT_LAKE;
    agt_status s = agt_lake_export_parquet(lake, sym, start, end, limit, fileno(o->f), NULL, &err);
    return s == AGT_OK ? 0 : query_err(s, &err);
}

/* What the command line asks for, checked. */
typedef struct qreq {
    char sym[24];
    int64_t start, end;
    int fmt, stats, force;
    long limit; /* -1: all */
    const char *file;
} qreq;

/* The command line into *q; 0, or EXIT_USAGE after printing. Writes nothing. */
static int query_args(const cli_args *args, qreq *q)
{
    const char *start_arg = args->value[O_START], *end_arg = args->value[O_END];
    const char *output = args->value[O_OUTPUT];
    int rc;
    memset(q, 0, sizeof *q);
    q->stats = args->value[O_STATS] != NULL;
    q->force = args->value[O_FORCE] != NULL;
    q->file = args->value[O_FILE];
    q->limit = args->value[O_LIMIT] ? args->num[O_LIMIT] : -1;
    if (args->npos != 1) {
        cli_error(args->npos == 0 ? "query needs a symbol (see 'aggtrades query --help')"
                                  : "query takes one symbol, not %d", args->npos);
        return EXIT_USAGE;
    }
    if ((rc = cli_symbol(args->pos[0], q->sym))) return rc;
    if (!start_arg || !end_arg) {
        cli_error("query needs --start and --end (see 'aggtrades query --help')");
        return EXIT_USAGE;
    }
    if ((rc = cli_time_arg("--start", start_arg, 0, &q->start, NULL))) return rc;
    if ((rc = cli_time_arg("--end", end_arg, 1, &q->end, NULL))) return rc;
    if (q->end < q->start) {
        cli_error("reversed range: --end '%s' is before --start '%s'", end_arg, start_arg);
        return EXIT_USAGE;
    }
    /* the parser took only a value of the option's table */
    q->fmt = FMT_TABLE;
    if (output)
        for (q->fmt = FMT_PARQUET; q->fmt > FMT_TABLE && strcmp(output, fmt_name[q->fmt]); q->fmt--)
            continue;
    if (q->stats && (q->fmt == FMT_CSV || q->fmt == FMT_PARQUET)) {
        cli_error("--stats prints a table, json or jsonl, not %s", fmt_name[q->fmt]);
        return EXIT_USAGE;
    }
    if (q->fmt == FMT_PARQUET && (!q->file || !strcmp(q->file, "-"))) {
        cli_error("--output parquet needs --file PATH");
        return EXIT_USAGE;
    }
    if (q->force && !q->file) {
        cli_error("--force goes with --file PATH");
        return EXIT_USAGE;
    }
    if ((rc = out_check(q->file, q->force))) return rc;
    if (q->limit < 0 && q->fmt == FMT_TABLE) q->limit = 10;
    return 0;
}

static int run_query(cli_ctx *ctx, const cli_args *args)
{
    agt_lake *lake = NULL;
    qreq q;
    qout o;
    memset(&o, 0, sizeof o);
    int rc = query_args(args, &q);
    if (rc) return rc;
    if ((rc = cli_lake_open_read(ctx, &lake))) return rc;
    if ((rc = out_open(&o, q.file)) == 0) {
        int color = o.f == stdout && cli_color(ctx, 1);
        if (q.stats) rc = do_stats(lake, q.sym, q.start, q.end, q.fmt, &o);
        else if (q.fmt == FMT_TABLE) rc = do_table(lake, q.sym, q.start, q.end, q.limit, &o, color);
        else if (q.fmt == FMT_PARQUET) rc = do_parquet(lake, q.sym, q.start, q.end, q.limit, &o);
        else rc = do_stream(lake, q.sym, q.start, q.end, q.limit, q.fmt, &o);
    }
    rc = out_close(&o, rc);
    agt_lake_close(lake);
    return rc;
}
