/*
 * futures.c - a futures market's lake: which one it is, and why its data
 * files are not named ".parquet".
 *
 * A futures market is a lake of its own in a folder of the spot root
 * (<root>/_futures/um, <root>/_futures/cm: agt_market_lake_dir). DuckDB and
 * polars read the spot lake through a glob of every ".parquet" at any depth
 * below the root, which descends into every folder, hidden or not: if
 * futures data files ended in ".parquet" too, a USD-M BTCUSDT hour would be
 * read as spot BTCUSDT, with the same schema and no error. So a futures lake
 * names its data files "<SYM>_YYYYMMDD_HH.parq" (AGT_LAKE_FUTURES_EXT; still
 * Parquet, which no engine decides by the name), and its market's one line is
 * the glob of every ".parq" below its folder; its change feed keeps ".pq", as
 * spot's, so that line does not take change files for trades either.
 * pyarrow, pandas and Spark skip "_futures" when they list the spot root,
 * and read every file not hidden (by content) when pointed at a market's
 * folder. The lines are in docs/engines.md, run by
 * tests/integration/test_engines.py.
 *
 * The lake records its market in AGT_LAKE_MARKET ("um\n" or "cm\n"), written
 * by the first writer before anything else, so a reader needs no option to
 * find the names, and a writer of another market (or of spot) is refused
 * instead of mixing names in one folder. A spot lake has no such file: its
 * layout is the specification's, unchanged.
 *
 * A futures lake written before this (its data files named ".parquet", no
 * AGT_LAKE_MARKET) is not migrated: the previous layout was never released,
 * and renaming its data files would also have to rewrite every statistics
 * file and every change file that refers to a data file by name. A writer
 * refuses such a lake with a message saying what to do; a reader opens it as
 * it is.
 */
#include <stdio.h>
#include <string.h>

#include "lake/lake_int.h"

agt_status agt_lake_read_market(agt_lake *l, agt_error *err)
{
    char p[AGT_LAKE_PATH_MAX];
    l->market[0] = '\0';
    AGT_TRY(agt_lake_path(l, p, sizeof p, AGT_LAKE_MARKET, err));
    agt_buf b;
    agt_buf_init(&b, 0);
    agt_error e;
    agt_error_clear(&e);
    agt_status s = agt_lake_read_file(l, p, &b, sizeof l->market, &e);
    size_t n = b.len;
    int ok = s == AGT_OK && n >= 3 && n < sizeof l->market && b.data[n - 1] == '\n';
    for (size_t i = 0; ok && i + 1 < n; i++) ok = b.data[i] >= 'a' && b.data[i] <= 'z';
    if (ok) {
        memcpy(l->market, b.data, n - 1);
        l->market[n - 1] = '\0';
    }
    agt_buf_release(&b);
    if (s == AGT_ENOTFOUND) return AGT_OK; /* a spot lake */
    if (s != AGT_OK) return agt_err(err, s, "%s", e.message);
    if (!ok) return agt_err(err, AGT_ECORRUPT, "'%s' does not name a market", p);
    return AGT_OK;
}

/* The market a writer of `market` finds: AGT_OK, *mark set when the folder still needs its
   AGT_LAKE_MARKET (a new futures lake); AGT_EINVAL for a folder that is not its market's. */
static agt_status check_market(agt_lake *l, const char *market, int *mark, agt_error *err)
{
    const char *want = (!market || strcmp(market, "spot") == 0) ? "" : market;
    size_t wn = strlen(want);
    *mark = 0;
    if (wn == 1 || wn >= sizeof l->market || strspn(want, "abcdefghijklmnopqrstuvwxyz") != wn)
        return agt_err(err, AGT_EINVAL, "invalid market '%s'", want);
    AGT_TRY(agt_lake_read_market(l, err));
    if (l->market[0] || !*want) {
        if (strcmp(l->market, want) == 0) return AGT_OK;
        return agt_err(err, AGT_EINVAL, "'%s' holds the %s market's lake, not %s's", l->root,
                       l->market[0] ? l->market : "spot", *want ? want : "spot");
    }
    /* a futures writer on a folder without the file: new, or of an older layout */
    char p[AGT_LAKE_PATH_MAX], q[AGT_LAKE_PATH_MAX];
    AGT_TRY(agt_lake_path(l, p, sizeof p, AGT_LAKE_AVSC, err));
    AGT_TRY(agt_lake_path(l, q, sizeof q, AGT_LAKE_LEGACY_AVSC, err));
    if (agt_lake_exists(p) || agt_lake_exists(q))
        return agt_err(err, AGT_EINVAL,
                       "'%s' holds a lake that does not say its market: a spot lake, or a %s lake "
                       "of an earlier layout (data files named .parquet, which the spot glob "
                       "would read as spot); move it aside and download the market again",
                       l->root, want);
    *mark = 1;
    return AGT_OK;
}

agt_status agt_lake_check_market(agt_lake *l, const char *market, agt_error *err)
{
    int mark;
    return check_market(l, market, &mark, err);
}

agt_status agt_lake_claim_market(agt_lake *l, const char *market, agt_error *err)
{
    int mark;
    AGT_TRY(check_market(l, market, &mark, err));
    if (!mark) return AGT_OK;
    char p[AGT_LAKE_PATH_MAX], line[sizeof l->market + 1];
    snprintf(line, sizeof line, "%s\n", market);
    AGT_TRY(agt_lake_path(l, p, sizeof p, AGT_LAKE_MARKET, err));
    AGT_TRY(agt_lake_write_atomic(l, p, line, strlen(line), err));
    snprintf(l->market, sizeof l->market, "%s", market);
    return AGT_OK;
}
