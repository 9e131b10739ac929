/*
 * test_sync_status.c - agt_lake_status on a lake built hour by hour with
 * agt_lake_commit_hour and a hand-written .retry, so that every class of
 * hour and every precedence rule of aggtrades/status.h is met once:
 * a proven-empty hour (complete, no file), a complete hour the ledger
 * lists (failed wins), an open hour, an unproven ended hour and a lost
 * one (missing), never-committed hours (missing), ledger hours before and
 * after every stored hour (they widen the span), a symbol only the ledger
 * names, a malformed ledger line, and the errors for symbols asked for.
 */
#include <sys/stat.h>

#include "harness.h"
#include "test_lake_util.h"


static agt_status commit(agt_lake *l, const char *sym, int64_t hour, size_t rows, int64_t first_id,
                         int complete, int64_t fetched_at, agt_error *e)
{
    agt_trades t;
    agt_trades_init(&t);
    lt_make_hour(&t, hour, first_id, rows, 0);
    agt_hour_meta m = { first_id - 1, complete, "rest", fetched_at };
    agt_status s = agt_lake_commit_hour(l, sym, hour, &t, &m, NULL, e);
    agt_trades_release(&t);
    return s;
}

static int64_t file_size(const char *root, const char *sym, int64_t hour)
{
    agt_tm tm;
    agt_tm_from_us(hour, &tm);
    char p[1024];
    snprintf(p, sizeof p, "%s/symbol=%s/year=%d/month=%d/day=%d/%s_%04d%02d%02d_%02d.parquet", root,
             sym, tm.year, tm.month, tm.day, sym, tm.year, tm.month, tm.day, tm.hour);
    struct stat st;
    return stat(p, &st) == 0 ? (int64_t)st.st_size : -1;
}

static void write_ledger(const char *root)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/.retry", root);
    FILE *f = fopen(p, "w");
    if (!f) abort();
    fputs("{\"symbol\":\"BTCUSDT\",\"date\":\"2024-01-10\",\"hour\":2,\"error\":\"x\",\"attempts\":4,"
          "\"time\":\"2024-01-11T00:00:00Z\"}\n"
          "{\"symbol\":\"BTCUSDT\",\"date\":\"2024-01-09\",\"hour\":23,\"error\":\"x\",\"attempts\":4,"
          "\"time\":\"2024-01-11T00:00:00Z\"}\n"
          "this line is not a unit\n"
          "{\"symbol\":\"BTCUSDT\",\"date\":\"2024-01-10\",\"hour\":9,\"error\":\"x\",\"attempts\":1,"
          "\"time\":\"2024-01-11T00:00:00Z\"}\n"
          "{\"symbol\":\"ETHUSDT\",\"date\":\"2024-01-12\",\"hour\":5,\"error\":\"x\",\"attempts\":4,"
          "\"time\":\"2024-01-12T08:00:00Z\"}\n",
          f);
    fclose(f);
}

/* The lake described at the top; returns the data bytes of BTCUSDT's files. */
static int64_t build(const char *root, agt_lake *l, int *failed_)
{
    int *agt_failed_ = failed_;
    agt_error e;
    int64_t h0 = lt_hour(2024, 1, 10, 0), H = AGT_US_PER_HOUR, after = 2 * H;
    agt_status s = AGT_OK;
    if (s == AGT_OK) s = commit(l, "BTCUSDT", h0, 10, 100, 1, h0 + after, &e);          /* complete */
    if (s == AGT_OK) s = commit(l, "BTCUSDT", h0 + H, 0, 110, 1, h0 + H + after, &e);   /* empty */
    if (s == AGT_OK) s = commit(l, "BTCUSDT", h0 + 2 * H, 5, 110, 1, h0 + 4 * H, &e);   /* + .retry */
    if (s == AGT_OK) s = commit(l, "BTCUSDT", h0 + 3 * H, 3, 115, 0, h0 + 3 * H + H / 2, &e); /* open */
    if (s == AGT_OK) s = commit(l, "BTCUSDT", h0 + 4 * H, 4, 118, 0, h0 + 4 * H + after, &e); /* unproven */
    if (s == AGT_OK) s = commit(l, "BTCUSDT", h0 + 7 * H, 6, 140, 1, h0 + 7 * H + after, &e);
    if (s == AGT_OK) s = agt_lake_quarantine_hour(l, "BTCUSDT", h0 + 7 * H, NULL, 0, &e); /* lost */
    if (s != AGT_OK) {
        fprintf(stderr, "  build: %s\n", e.message);
        *agt_failed_ = 1;
        return -1;
    }
    write_ledger(root);
    int64_t bytes = 0;
    for (int h = 0; h < 5; h++)
        if (h != 1) bytes += file_size(root, "BTCUSDT", h0 + h * H);
    return bytes;
}

TEST(every_class_of_hour)
{
    char root[512];
    agt_lake *l;
    agt_error e;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    int64_t bytes = build(root, l, agt_failed_);
    if (*agt_failed_) return;
    agt_lake_close(l);
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));

    agt_symbol_status *v = NULL;
    size_t n = 0;
    ASSERT_OK(agt_lake_status(l, NULL, 0, &v, &n, &e));
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_STR(v[0].symbol, "BTCUSDT");
    const agt_symbol_status *b = &v[0];
    ASSERT_EQ_INT(b->first_hour_us, lt_hour(2024, 1, 9, 23));  /* a ledger hour */
    ASSERT_EQ_INT(b->last_hour_us, lt_hour(2024, 1, 10, 9));   /* a ledger hour */
    ASSERT_EQ_INT(b->hours, 11);
    ASSERT_EQ_INT(b->complete, 2); /* 00 and the empty 01 */
    ASSERT_EQ_INT(b->failed, 3);   /* 23 the day before, 02 (stored complete), 09 */
    ASSERT_EQ_INT(b->open, 1);     /* 03 */
    ASSERT_EQ_INT(b->missing, 5);  /* 04 unproven, 05 and 06 never stored, 07 lost, 08 */
    ASSERT_EQ_INT(b->trades, 10 + 5 + 3 + 4);
    ASSERT_EQ_INT(b->data_files, 4);
    ASSERT_EQ_INT((int64_t)b->data_bytes, bytes);
    ASSERT_EQ_INT(b->change_versions, 6); /* one per commit; setting aside writes none */
    ASSERT_EQ_INT(b->latest_version, 6);
    ASSERT(b->change_bytes > 0);
    /* a symbol only the ledger names */
    ASSERT_EQ_STR(v[1].symbol, "ETHUSDT");
    ASSERT_EQ_INT(v[1].hours, 1);
    ASSERT_EQ_INT(v[1].failed, 1);
    ASSERT_EQ_INT(v[1].first_hour_us, lt_hour(2024, 1, 12, 5));
    ASSERT_EQ_INT(v[1].trades + v[1].complete + v[1].open + v[1].missing + v[1].change_versions, 0);
    agt_symbol_status_free(v);

    /* asked for by name: that order, once each, any case */
    const char *ask[] = { "ethusdt", "BTCUSDT", "ETHUSDT" };
    ASSERT_OK(agt_lake_status(l, ask, 3, &v, &n, &e));
    ASSERT_EQ_INT(n, 2);
    ASSERT_EQ_STR(v[0].symbol, "ETHUSDT");
    ASSERT_EQ_INT(v[1].hours, 11);
    agt_symbol_status_free(v);

    const char *unknown[] = { "BTCUSDT", "XRPUSDT" };
    v = (agt_symbol_status *)1;
    ASSERT_EQ_INT(agt_lake_status(l, unknown, 2, &v, &n, &e), AGT_ENOTFOUND);
    ASSERT(v == NULL && n == 0);
    ASSERT(strstr(e.message, "nothing stored for 'XRPUSDT' in '") != NULL);
    const char *bad[] = { "BTC/USDT" };
    ASSERT_EQ_INT(agt_lake_status(l, bad, 1, &v, &n, &e), AGT_EINVAL);
    ASSERT(strstr(e.message, "invalid symbol 'BTC/USDT'") != NULL);
    agt_lake_close(l);
    lt_cleanup(root);
}

TEST(damaged_statistics_are_named)
{
    char root[512];
    agt_lake *l;
    agt_error e;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    int64_t h = lt_hour(2024, 1, 10, 0);
    ASSERT_OK(commit(l, "BTCUSDT", h, 10, 100, 1, h + 2 * AGT_US_PER_HOUR, &e));
    agt_lake_close(l);
    ASSERT_OK(lt_scribble_stats(root, "BTCUSDT", "2024-01-10"));
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));
    agt_symbol_status *v = NULL;
    size_t n = 0;
    ASSERT_EQ_INT(agt_lake_status(l, NULL, 0, &v, &n, &e), AGT_ECORRUPT);
    ASSERT(strstr(e.message, "_2024-01-10.json") != NULL);
    ASSERT(v == NULL);
    agt_lake_close(l);
    lt_cleanup(root);
}

TEST(an_empty_lake_holds_nothing)
{
    char root[512];
    agt_lake *l;
    agt_error e;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    agt_symbol_status *v = (agt_symbol_status *)1;
    size_t n = 7;
    ASSERT_OK(agt_lake_status(l, NULL, 0, &v, &n, &e));
    ASSERT(v == NULL && n == 0);
    ASSERT_EQ_INT(agt_lake_status(NULL, NULL, 0, &v, &n, &e), AGT_EINVAL);
    agt_lake_close(l);
    lt_cleanup(root);
}

TEST_MAIN(TEST_REF(every_class_of_hour), TEST_REF(damaged_statistics_are_named),
          TEST_REF(an_empty_lake_holds_nothing))
