/*
 * test_lake.c - the lake end to end: layout, lock, commit + upsert counts,
 * change feed, queries at boundaries, aggregates, lookups by id, stash,
 * WAL checkpoints, clean errors on success, completeness and verification
 * of damaged files.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "harness.h"
#include "lake/lake_int.h"
#include "test_lake_util.h"

static const agt_hour_meta meta_ok = {-1, 1, "rest", 0};

TEST(layout_and_lock)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL, *l2 = NULL;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/metadata/wal", root);
    ASSERT(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
    snprintf(p, sizeof p, "%s/metadata/stats", root);
    ASSERT(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
    snprintf(p, sizeof p, "%s/metadata/schema_version=1/_trades.avsc", root);
    ASSERT(stat(p, &st) == 0 && st.st_size > 50);
    /* second writer: locked, naming our pid */
    ASSERT_EQ_INT(agt_lake_open(root, AGT_LAKE_WRITE, &l2, &e), AGT_ELOCKED);
    ASSERT(l2 == NULL);
    char want[300];
    snprintf(want, sizeof want, "lake '%s' is locked by pid %ld", root, (long)getpid());
    ASSERT_EQ_STR(e.message, want);
    /* readers never block */
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l2, &e));
    agt_lake_close(l2);

    agt_trades t;
    agt_trades_init(&t);
    int64_t h = lt_hour(2024, 2, 9, 7);
    lt_make_hour(&t, h, 1000, 10, 0);
    agt_commit_result r;
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h, &t, &meta_ok, &r, &e));
    snprintf(p, sizeof p, "%s/symbol=BTCUSDT/year=2024/month=2/day=9/BTCUSDT_20240209_07.parquet", root);
    ASSERT(stat(p, &st) == 0);
    snprintf(p, sizeof p, "%s/metadata/stats/symbol=BTCUSDT/_2024-02-09.json", root);
    ASSERT(stat(p, &st) == 0);
    /* bad symbols never make paths */
    ASSERT_EQ_INT(agt_lake_commit_hour(l, "../x", h, &t, &meta_ok, &r, &e), AGT_EINVAL);
    ASSERT_EQ_INT(agt_lake_commit_hour(l, "btcusdt", h, &t, &meta_ok, &r, &e), AGT_EINVAL);
    /* rows outside the hour are refused */
    ASSERT_EQ_INT(agt_lake_commit_hour(l, "BTCUSDT", h + AGT_US_PER_HOUR, &t, &meta_ok, &r, &e),
                  AGT_EINVAL);
    ASSERT_EQ_INT(agt_lake_commit_hour(l, "BTCUSDT", h + 1, &t, &meta_ok, &r, &e), AGT_EINVAL);
    char **names;
    size_t n;
    ASSERT_OK(agt_lake_symbols(l, &names, &n, &e));
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_STR(names[0], "BTCUSDT");
    agt_lake_symbols_free(names, n);
    uint64_t bytes = 0;
    ASSERT_OK(agt_lake_disk_bytes(l, &bytes, &e));
    ASSERT(bytes > 1000);
    agt_lake_close(l);
    /* lock released on close */
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    agt_lake_close(l);
    agt_trades_release(&t);
    lt_cleanup(root);
}

/* The change feed collected into arrays. */
typedef struct feed {
    agt_commit_info commits[16];
    int n_commits;
    agt_change ch[64];
    int n;
} feed;

static int on_commit(void *u, const agt_commit_info *c)
{
    feed *f = u;
    if (f->n_commits < 16) f->commits[f->n_commits++] = *c;
    return 0;
}
static int on_change(void *u, const agt_change *c)
{
    feed *f = u;
    if (f->n < 64) f->ch[f->n++] = *c;
    return 0;
}

/* A commit's result: rows inserted, updated and skipped. */
#define ASSERT_COUNTS(r, ins, upd, skip)                                           \
    do {                                                                           \
        ASSERT_EQ_INT((r).inserted, ins);                                          \
        ASSERT_EQ_INT((r).updated, upd);                                           \
        ASSERT_EQ_INT((r).skipped, skip);                                          \
    } while (0)

TEST(upsert_and_cdc)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    int64_t h = lt_hour(2023, 10, 1, 0);
    agt_trades t;
    agt_trades_init(&t);
    lt_make_hour(&t, h, 100, 5, 0); /* ids 100..104 */
    agt_commit_result r;
    ASSERT_OK(agt_lake_commit_hour(l, "ETHUSDT", h, &t, &meta_ok, &r, &e));
    ASSERT_COUNTS(r, 5, 0, 0);
    ASSERT_EQ_INT(r.version, 1);

    /* the same rows again: all duplicates */
    ASSERT_OK(agt_lake_commit_hour(l, "ETHUSDT", h, &t, &meta_ok, &r, &e));
    ASSERT_EQ_INT(r.inserted, 0);
    ASSERT_EQ_INT(r.skipped, 5);
    ASSERT_EQ_INT(r.version, 2);

    /* overwrite 101 (new price), add 105, keep 102 identical */
    agt_trades u;
    agt_trades_init(&u);
    agt_trades_push(&u, 101, t.ts_us[1], 555.5, t.quantity[1], t.is_buyer_maker[1]);
    agt_trades_push(&u, 102, t.ts_us[2], t.price[2], t.quantity[2], t.is_buyer_maker[2]);
    agt_trades_push(&u, 105, h + 3599999999, 7.0, 1.5, 1);
    ASSERT_OK(agt_lake_commit_hour(l, "ETHUSDT", h, &u, &meta_ok, &r, &e));
    ASSERT_COUNTS(r, 1, 1, 1);
    ASSERT_EQ_INT(r.rows, 6);

    agt_trades all;
    agt_trades_init(&all);
    ASSERT_OK(agt_lake_read_range(l, "ETHUSDT", h, h + AGT_US_PER_HOUR - 1, AGT_LAKE_COL_ALL, &all, &e));
    ASSERT_EQ_INT(all.len, 6);
    ASSERT_EQ_INT(all.trade_id[1], 101);
    ASSERT_EQ_DBL_BITS(all.price[1], 555.5);
    ASSERT_EQ_INT(all.trade_id[5], 105);
    ASSERT_EQ_INT(all.ts_us[5], h + 3599999999);

    feed f;
    memset(&f, 0, sizeof f);
    ASSERT_OK(agt_lake_read_changes(l, "ETHUSDT", 0, on_commit, on_change, &f, &e));
    ASSERT_EQ_INT(f.n_commits, 3);
    ASSERT_EQ_INT(f.commits[1].skipped, 5);
    ASSERT_EQ_INT(f.commits[1].inserted, 0);
    ASSERT_EQ_INT(f.commits[2].updated, 1);
    ASSERT_EQ_INT(f.n, 5 + 3); /* 5 inserts, then pre+post of 101 and insert of 105 */
    ASSERT_EQ_INT(f.ch[0].type, AGT_CHANGE_INSERT);
    ASSERT_EQ_INT(f.ch[0].version, 1);
    ASSERT_EQ_INT(f.ch[5].type, AGT_CHANGE_UPDATE_PREIMAGE);
    ASSERT_EQ_INT(f.ch[5].trade_id, 101);
    ASSERT_EQ_DBL_BITS(f.ch[5].price, t.price[1]);
    ASSERT_EQ_INT(f.ch[6].type, AGT_CHANGE_UPDATE_POSTIMAGE);
    ASSERT_EQ_DBL_BITS(f.ch[6].price, 555.5);
    ASSERT_EQ_INT(f.ch[6].version, 3);
    ASSERT_EQ_INT(f.ch[7].type, AGT_CHANGE_INSERT);
    ASSERT_EQ_INT(f.ch[7].trade_id, 105);
    /* since_version filters */
    memset(&f, 0, sizeof f);
    ASSERT_OK(agt_lake_read_changes(l, "ETHUSDT", 2, on_commit, on_change, &f, &e));
    ASSERT_EQ_INT(f.n_commits, 1);
    ASSERT_EQ_INT(f.n, 3);
    agt_changes tab;
    agt_changes_init(&tab);
    ASSERT_OK(agt_lake_read_changes_table(l, "ETHUSDT", 0, &tab, &e));
    ASSERT_EQ_INT(tab.len, 8);
    ASSERT_EQ_INT(tab.type[6], AGT_CHANGE_UPDATE_POSTIMAGE);
    agt_changes_release(&tab);

    agt_file_stats fs;
    ASSERT_OK(agt_lake_hour_stats(l, "ETHUSDT", h, &fs, &e));
    ASSERT_EQ_INT(fs.rows, 6);
    ASSERT_EQ_INT(fs.first_id, 100);
    ASSERT_EQ_INT(fs.last_id, 105);
    ASSERT_EQ_INT(fs.version, 3);
    ASSERT_EQ_INT(fs.complete, 1); /* contiguous 100..105, proven by the fetch */
    agt_trades_release(&t);
    agt_trades_release(&u);
    agt_trades_release(&all);
    agt_lake_close(l);
    lt_cleanup(root);
}

TEST(upsert_append_and_unordered_input)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    int64_t h = lt_hour(2023, 10, 1, 5);
    agt_trades t, all;
    agt_trades_init(&t);
    agt_trades_init(&all);
    agt_commit_result r;
    for (int64_t id = 200; id < 204; id++) /* ids 200..203 in the first minutes */
        agt_trades_push(&t, id, h + (id - 200) * 60000000, 1.0 + (double)id, 0.5, 0);
    ASSERT_OK(agt_lake_commit_hour(l, "ETHUSDT", h, &t, &meta_ok, &r, &e));
    /* rows after every stored id: appended whole */
    agt_trades_clear(&t);
    agt_trades_push(&t, 204, h + 3000000000, 1.25, 0.5, 0);
    agt_trades_push(&t, 206, h + 3000000001, 1.5, 0.25, 1);
    ASSERT_OK(agt_lake_commit_hour(l, "ETHUSDT", h, &t, &meta_ok, &r, &e));
    ASSERT_COUNTS(r, 2, 0, 0);
    ASSERT_EQ_INT(r.rows, 6);
    /* out of order, 205 twice (the later row wins), 206 identical, 200 changed */
    agt_trades_clear(&t);
    agt_trades_push(&t, 206, h + 3000000001, 1.5, 0.25, 1);
    agt_trades_push(&t, 205, h + 3000000000, 9.0, 9.0, 0);
    agt_trades_push(&t, 200, h, 2.5, 0.125, 1); /* same time, new price, quantity and side */
    agt_trades_push(&t, 205, h + 3000000000, 1.75, 0.75, 0);
    ASSERT_OK(agt_lake_commit_hour(l, "ETHUSDT", h, &t, &meta_ok, &r, &e));
    ASSERT_COUNTS(r, 1, 1, 2); /* skipped: the repeat of 205 and the identical 206 */
    ASSERT_EQ_INT(r.rows, 7);
    ASSERT_OK(agt_lake_read_range(l, "ETHUSDT", h, h + AGT_US_PER_HOUR - 1, AGT_LAKE_COL_ALL, &all, &e));
    ASSERT_EQ_INT(all.len, 7);
    for (size_t i = 0; i < all.len; i++) ASSERT_EQ_INT(all.trade_id[i], 200 + (int64_t)i);
    ASSERT_EQ_DBL_BITS(all.price[0], 2.5);
    ASSERT_EQ_DBL_BITS(all.price[4], 1.25);
    ASSERT_EQ_DBL_BITS(all.price[5], 1.75);
    ASSERT_EQ_DBL_BITS(all.quantity[6], 0.25);
    agt_trades_release(&t);
    agt_trades_release(&all);
    agt_lake_close(l);
    lt_cleanup(root);
}

TEST(query_boundaries)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    /* trades at the very edges of hours across year, month, day and 29 February */
    struct { int y, m, d, h; } hours[] = {{2023, 12, 31, 23}, {2024, 1, 1, 0}, {2024, 2, 28, 23},
                                          {2024, 2, 29, 0},   {2024, 2, 29, 23}, {2024, 3, 1, 0}};
    agt_trades t;
    agt_trades_init(&t);
    int64_t id = 1;
    for (size_t i = 0; i < sizeof hours / sizeof hours[0]; i++) {
        int64_t h = lt_hour(hours[i].y, hours[i].m, hours[i].d, hours[i].h);
        agt_trades_clear(&t);
        agt_trades_push(&t, id, h, 1.0, 1.0, 0);                       /* first µs */
        agt_trades_push(&t, id + 1, h + 1500000000, 2.0, 2.0, 1);      /* :25:00.000 */
        agt_trades_push(&t, id + 2, h + AGT_US_PER_HOUR - 1, 3.0, 3.0, 0); /* last µs */
        agt_commit_result r;
        agt_hour_meta m = {id - 1, 1, "archive", 0};
        ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h, &t, &m, &r, &e));
        id += 3;
    }
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/symbol=BTCUSDT/year=2024/month=2/day=29/BTCUSDT_20240229_23.parquet", root);
    ASSERT(stat(p, &st) == 0);
    snprintf(p, sizeof p, "%s/symbol=BTCUSDT/year=2023/month=12/day=31/BTCUSDT_20231231_23.parquet", root);
    ASSERT(stat(p, &st) == 0);

    agt_trades out;
    agt_trades_init(&out);
    int64_t ny = lt_hour(2024, 1, 1, 0);
    /* inclusive both ends, µs exact */
    ASSERT_OK(agt_lake_read_range(l, "BTCUSDT", ny - 1, ny, AGT_LAKE_COL_ALL, &out, &e));
    ASSERT_EQ_INT(out.len, 2);
    ASSERT_EQ_INT(out.ts_us[0], ny - 1);
    ASSERT_EQ_INT(out.ts_us[1], ny);
    agt_trades_clear(&out);
    ASSERT_OK(agt_lake_read_range(l, "BTCUSDT", ny + 1, ny + 1500000000 - 1, AGT_LAKE_COL_ALL, &out, &e));
    ASSERT_EQ_INT(out.len, 0);
    agt_trades_clear(&out);
    ASSERT_OK(agt_lake_read_range(l, "BTCUSDT", ny + 1500000000, ny + 1500000000, AGT_LAKE_COL_ALL, &out, &e));
    ASSERT_EQ_INT(out.len, 1);
    /* 29 February whole day */
    agt_trades_clear(&out);
    int64_t d29 = lt_hour(2024, 2, 29, 0);
    ASSERT_OK(agt_lake_read_range(l, "BTCUSDT", d29, d29 + AGT_US_PER_DAY - 1, AGT_LAKE_COL_ALL, &out, &e));
    ASSERT_EQ_INT(out.len, 6);
    for (size_t i = 1; i < out.len; i++) ASSERT(out.ts_us[i] > out.ts_us[i - 1]);
    /* everything, in order */
    agt_trades_clear(&out);
    ASSERT_OK(agt_lake_read_range(l, "BTCUSDT", 0, INT64_MAX, AGT_LAKE_COL_ALL, &out, &e));
    ASSERT_EQ_INT(out.len, 18);
    for (size_t i = 0; i < out.len; i++) ASSERT_EQ_INT(out.trade_id[i], (int64_t)i + 1);

    /* aggregates: whole files from statistics, edges decoded */
    agt_range_stats rs;
    ASSERT_OK(agt_lake_query_stats(l, "BTCUSDT", d29, d29 + AGT_US_PER_DAY - 1, &rs, &e));
    ASSERT_EQ_INT(rs.count, 6);
    ASSERT_EQ_INT(rs.files_from_stats, 2);
    ASSERT_EQ_INT(rs.files_read, 0);
    ASSERT(fabs(rs.sum_qty - 12.0) < 1e-12);
    ASSERT(fabs(rs.quote_volume - 28.0) < 1e-12);
    ASSERT_EQ_INT(rs.buyer_maker, 2);
    ASSERT_OK(agt_lake_query_stats(l, "BTCUSDT", d29 + 1, d29 + AGT_US_PER_DAY - 1, &rs, &e));
    ASSERT_EQ_INT(rs.count, 5);
    ASSERT_EQ_INT(rs.files_read, 1);
    ASSERT_EQ_INT(rs.files_from_stats, 1);

    /* lookups: inside, outside, in a gap (ids are global here: 1..18 contiguous) */
    agt_trades one;
    agt_trades_init(&one);
    int found = 0;
    agt_lookup_info info;
    ASSERT_OK(agt_lake_find_trade(l, "BTCUSDT", 11, 1, &one, &found, &info, &e));
    ASSERT_EQ_INT(found, 1);
    ASSERT_EQ_INT(one.trade_id[0], 11);
    ASSERT_EQ_INT(info.hour_start_us, lt_hour(2024, 2, 29, 0));
    ASSERT_EQ_INT(info.files_opened, 1);
    ASSERT_OK(agt_lake_find_trade(l, "BTCUSDT", 19, 1, &one, &found, &info, &e));
    ASSERT_EQ_INT(found, 0);
    ASSERT_EQ_INT(info.files_opened, 0);
    ASSERT_OK(agt_lake_find_trade(l, "BTCUSDT", 0, 1, &one, &found, &info, &e));
    ASSERT_EQ_INT(found, 0);
    ASSERT_OK(agt_lake_find_trade(l, "NOSUCH", 5, 1, &one, &found, &info, &e));
    ASSERT_EQ_INT(found, 0);

    int64_t nh, nts, nid;
    ASSERT_OK(agt_lake_newest(l, "BTCUSDT", &nh, &nts, &nid, &e));
    ASSERT_EQ_INT(nh, lt_hour(2024, 3, 1, 0));
    ASSERT_EQ_INT(nts, lt_hour(2024, 3, 1, 1) - 1);
    ASSERT_EQ_INT(nid, 18);
    ASSERT_EQ_INT(agt_lake_newest(l, "ETHUSDT", &nh, &nts, &nid, &e), AGT_ENOTFOUND);

    agt_trades_release(&one);
    agt_trades_release(&out);
    agt_trades_release(&t);
    agt_lake_close(l);
    lt_cleanup(root);
}

TEST(lookup_gap)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    agt_trades t;
    agt_trades_init(&t);
    int64_t h = lt_hour(2023, 5, 1, 10);
    lt_make_hour(&t, h, 1000, 50, 0);
    agt_trades_push(&t, 2000, h + 10, 1, 1, 0); /* ids 1000..1049 and 2000: gap inside */
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h, &t, NULL, NULL, &e));
    lt_make_hour(&t, h + 3 * AGT_US_PER_DAY, 5000, 10, 0); /* a later day: gap between days */
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h + 3 * AGT_US_PER_DAY, &t, NULL, NULL, &e));
    agt_trades one;
    agt_trades_init(&one);
    int found;
    agt_lookup_info info;
    ASSERT_OK(agt_lake_find_trade(l, "BTCUSDT", 1500, 1, &one, &found, &info, &e));
    ASSERT_EQ_INT(found, 0); /* inside the file's id range, absent */
    ASSERT_EQ_INT(info.files_opened, 1);
    ASSERT_OK(agt_lake_find_trade(l, "BTCUSDT", 3000, 1, &one, &found, &info, &e));
    ASSERT_EQ_INT(found, 0); /* between days */
    ASSERT_EQ_INT(info.files_opened, 0);
    ASSERT_OK(agt_lake_find_trade(l, "BTCUSDT", 5009, 0, &one, &found, &info, &e));
    ASSERT_EQ_INT(found, 1);
    ASSERT_EQ_INT(one.trade_id[0], 5009);
    ASSERT_OK(agt_lake_find_trade(l, "BTCUSDT", 1049, 1, &one, &found, &info, &e));
    ASSERT_EQ_INT(found, 1);
    ASSERT_EQ_INT(one.trade_id[1], 1049);
    agt_trades_release(&one);
    agt_trades_release(&t);
    agt_lake_close(l);
    lt_cleanup(root);
}

typedef struct scan_rec {
    int n;
    agt_hour_status st[64];
} scan_rec;

static int scan_cb(void *u, int64_t h, agt_hour_status st, const agt_file_stats *f)
{
    scan_rec *r = u;
    if (r->n < 64) r->st[r->n++] = st;
    return 0;
}

TEST(completeness)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    int64_t h0 = lt_hour(2023, 1, 1, 0);
    agt_trades t;
    agt_trades_init(&t);
    /* h0: ids 10..19; h1: empty, complete; h2: 20..29 chained through h1; h3: missing;
       h4: 40..49 with prev 39 (cannot check: h3 missing); h5: prev 45 (gap); h6 incomplete */
    agt_hour_meta m = {9, 1, "rest", 0};
    lt_make_hour(&t, h0, 10, 10, 0);
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h0, &t, &m, NULL, &e));
    agt_trades_clear(&t);
    m.prev_id = 19;
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h0 + AGT_US_PER_HOUR, &t, &m, NULL, &e));
    lt_make_hour(&t, h0 + 2 * AGT_US_PER_HOUR, 20, 10, 0);
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h0 + 2 * AGT_US_PER_HOUR, &t, &m, NULL, &e));
    m.prev_id = 39;
    lt_make_hour(&t, h0 + 4 * AGT_US_PER_HOUR, 40, 10, 0);
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h0 + 4 * AGT_US_PER_HOUR, &t, &m, NULL, &e));
    m.prev_id = 45;
    lt_make_hour(&t, h0 + 5 * AGT_US_PER_HOUR, 46, 10, 0);
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h0 + 5 * AGT_US_PER_HOUR, &t, &m, NULL, &e));
    m.prev_id = 55;
    m.complete = 0;
    lt_make_hour(&t, h0 + 6 * AGT_US_PER_HOUR, 56, 10, 0);
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h0 + 6 * AGT_US_PER_HOUR, &t, &m, NULL, &e));
    scan_rec r;
    memset(&r, 0, sizeof r);
    ASSERT_OK(agt_lake_scan_hours(l, "BTCUSDT", h0, h0 + 7 * AGT_US_PER_HOUR, scan_cb, &r, &e));
    ASSERT_EQ_INT(r.n, 8);
    ASSERT_EQ_INT(r.st[0], AGT_HOUR_COMPLETE);
    ASSERT_EQ_INT(r.st[1], AGT_HOUR_COMPLETE);
    ASSERT_EQ_INT(r.st[2], AGT_HOUR_COMPLETE);
    ASSERT_EQ_INT(r.st[3], AGT_HOUR_MISSING);
    ASSERT_EQ_INT(r.st[4], AGT_HOUR_COMPLETE);
    ASSERT_EQ_INT(r.st[5], AGT_HOUR_GAP);
    ASSERT_EQ_INT(r.st[6], AGT_HOUR_INCOMPLETE);
    ASSERT_EQ_INT(r.st[7], AGT_HOUR_MISSING);
    /* non-contiguous ids never count as complete */
    agt_trades_clear(&t);
    agt_trades_push(&t, 100, h0 + 8 * AGT_US_PER_HOUR, 1, 1, 0);
    agt_trades_push(&t, 102, h0 + 8 * AGT_US_PER_HOUR + 5, 1, 1, 0);
    m.complete = 1;
    m.prev_id = 99;
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h0 + 8 * AGT_US_PER_HOUR, &t, &m, NULL, &e));
    memset(&r, 0, sizeof r);
    ASSERT_OK(agt_lake_scan_hours(l, "BTCUSDT", h0 + 8 * AGT_US_PER_HOUR, h0 + 8 * AGT_US_PER_HOUR, scan_cb, &r, &e));
    ASSERT_EQ_INT(r.st[0], AGT_HOUR_INCOMPLETE);
    size_t problems = 0;
    ASSERT_OK(agt_lake_verify(l, "BTCUSDT", 0, INT64_MAX, NULL, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 1); /* the chain gap at h5 */
    agt_trades_release(&t);
    agt_lake_close(l);
    lt_cleanup(root);
}

TEST(stash)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    int64_t h = lt_hour(2023, 3, 3, 3);
    agt_trades p1, p2, out;
    agt_trades_init(&p1);
    agt_trades_init(&p2);
    agt_trades_init(&out);
    lt_make_hour(&p1, h, 1, 10, 0);
    lt_make_hour(&p2, h, 8, 10, 1); /* overlaps 8..10, newer wins */
    ASSERT_OK(agt_lake_stash_put(l, "BTCUSDT", h, &p1, &e));
    ASSERT_OK(agt_lake_stash_put(l, "BTCUSDT", h, &p2, &e));
    ASSERT_OK(agt_lake_stash_put(l, "ETHUSDT", h, &p1, &e));
    agt_lake_close(l);
    /* survives reopen (a resume) */
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    size_t pages = 0;
    ASSERT_OK(agt_lake_stash_get(l, "BTCUSDT", h, &out, &pages, &e));
    ASSERT_EQ_INT(pages, 2);
    ASSERT_EQ_INT(out.len, 17);
    ASSERT_EQ_DBL_BITS(out.price[7], p2.price[0]);
    /* committing drops the stash of that hour only */
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h, &out, NULL, NULL, &e));
    agt_trades_clear(&out);
    ASSERT_OK(agt_lake_stash_get(l, "BTCUSDT", h, &out, &pages, &e));
    ASSERT_EQ_INT(pages, 0);
    ASSERT_OK(agt_lake_stash_get(l, "ETHUSDT", h, &out, &pages, &e));
    ASSERT_EQ_INT(pages, 1);
    agt_lake_close(l);
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    agt_trades_clear(&out);
    ASSERT_OK(agt_lake_stash_get(l, "BTCUSDT", h, &out, &pages, &e));
    ASSERT_EQ_INT(pages, 0);
    ASSERT_OK(agt_lake_stash_get(l, "ETHUSDT", h, &out, &pages, &e));
    ASSERT_EQ_INT(pages, 1);
    ASSERT_EQ_INT(out.len, 10);
    ASSERT_OK(agt_lake_stash_drop(l, "ETHUSDT", h, &e));
    ASSERT_OK(agt_lake_stash_get(l, "ETHUSDT", h, &out, &pages, &e));
    ASSERT_EQ_INT(pages, 0);
    agt_lake_close(l);
    agt_trades_release(&p1);
    agt_trades_release(&p2);
    agt_trades_release(&out);
    lt_cleanup(root);
}

/* A writer on a fresh lake under `root` with these WAL and fsync options (`o` is filled). */
static agt_status open_fresh(char *root, size_t n, uint64_t ckpt_bytes, int no_fsync,
                             agt_lake_opts *o, agt_lake **l, agt_error *e)
{
    lt_tmpdir(root, n, "data");
    agt_lake_opts_default(o);
    o->wal_checkpoint_bytes = ckpt_bytes;
    o->no_fsync = no_fsync;
    return agt_lake_open_opts(root, AGT_LAKE_WRITE, o, l, e);
}

TEST(wal_checkpoint_bounded)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    agt_lake_opts o;
    ASSERT_OK(open_fresh(root, sizeof root, 4096, 0, &o, &l, &e));
    agt_trades t;
    agt_trades_init(&t);
    int64_t h = lt_hour(2022, 6, 1, 0);
    ASSERT_OK(agt_lake_stash_put(l, "SOLUSDT", h, &t, &e));
    for (int i = 0; i < 40; i++) {
        lt_make_hour(&t, h + i * AGT_US_PER_HOUR, 1000 * i, 200, 0);
        ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h + i * AGT_US_PER_HOUR, &t, NULL, NULL, &e));
    }
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/metadata/wal/_wal.log", root);
    ASSERT(stat(p, &st) == 0);
    ASSERT(st.st_size < 4096 + 200 * 33 + 200);
    size_t pages;
    agt_trades out;
    agt_trades_init(&out);
    ASSERT_OK(agt_lake_stash_get(l, "SOLUSDT", h, &out, &pages, &e));
    ASSERT_EQ_INT(pages, 1);
    agt_lake_close(l);
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    agt_commit_result r;
    lt_make_hour(&t, h, 0, 5, 0);
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h, &t, NULL, &r, &e));
    ASSERT_EQ_INT(r.version, 41); /* versions survive the checkpoint */
    ASSERT_OK(agt_lake_stash_get(l, "SOLUSDT", h, &out, &pages, &e));
    ASSERT_EQ_INT(pages, 1);
    agt_lake_close(l);
    agt_trades_release(&t);
    agt_trades_release(&out);
    lt_cleanup(root);
}

static long long wal_bytes(const char *root)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/metadata/wal/_wal.log", root);
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

/*
 * With the default threshold the WAL keeps finished commits only up to
 * 4 MiB of them, and a clean close leaves a header plus the live stash.
 */
TEST(wal_small_after_close)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    agt_lake_opts o;
    ASSERT_OK(open_fresh(root, sizeof root, 0, 1, &o, &l, &e)); /* 0: the default threshold */
    agt_trades t, out;
    agt_trades_init(&t);
    agt_trades_init(&out);
    int64_t h = lt_hour(2022, 6, 1, 0);
    lt_make_hour(&t, h, 1, 10, 0);
    ASSERT_OK(agt_lake_stash_put(l, "ETHUSDT", h, &t, &e)); /* an hour still being fetched */
    const long long stash_rec = AGT_WAL_REC_HEAD + 1 + 7 + 8 + 8 + 10 * AGT_WAL_ROW + 8;
    for (int i = 0; i < 30; i++) {
        lt_make_hour(&t, h + i * AGT_US_PER_HOUR, 1000 * i, 500, 0);
        /* the hour's first commit goes by reference: its BEGIN holds no rows */
        long long was = wal_bytes(root);
        ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h + i * AGT_US_PER_HOUR, &t, NULL, NULL, &e));
        ASSERT(wal_bytes(root) - was < 200);
        /* a second one merges into the hour's file: its rows are logged */
        ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h + i * AGT_US_PER_HOUR, &t, NULL, NULL, &e));
    }
    ASSERT(wal_bytes(root) > 30 * 500 * AGT_WAL_ROW); /* under the threshold: kept until the close */
    agt_lake_close(l);
    ASSERT_EQ_INT(wal_bytes(root), AGT_WAL_HEADER + stash_rec);
    ASSERT_OK(agt_lake_open_opts(root, AGT_LAKE_WRITE, &o, &l, &e));
    size_t pages = 0;
    ASSERT_OK(agt_lake_stash_get(l, "ETHUSDT", h, &out, &pages, &e));
    ASSERT_EQ_INT(pages, 1);
    ASSERT_EQ_INT(out.len, 10);
    /* big commits: checkpointed once 4 MiB of them are dead, never much later */
    const size_t rows = 20000;
    long long most = 0, shrank = 0;
    int64_t version = 0;
    for (int i = 0; i < 10; i++) {
        agt_commit_result r;
        lt_make_hour(&t, h + i * AGT_US_PER_HOUR, 100000 + (int64_t)rows * i, rows, 1);
        long long was = wal_bytes(root);
        ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h + i * AGT_US_PER_HOUR, &t, NULL, &r, &e));
        long long now = wal_bytes(root);
        if (now > most) most = now;
        if (now < was) shrank++;
        version = r.version;
    }
    ASSERT(shrank >= 1);
    ASSERT(most <= (long long)AGT_WAL_CHECKPOINT_DEFAULT + AGT_WAL_HEADER + stash_rec +
                       (long long)(rows * AGT_WAL_ROW + 200));
    ASSERT_EQ_INT(version, 70); /* versions go on across checkpoints */
    agt_lake_close(l);
    ASSERT_EQ_INT(wal_bytes(root), AGT_WAL_HEADER + stash_rec);
    agt_trades_release(&t);
    agt_trades_release(&out);
    lt_cleanup(root);
}

/* Calls that succeed leave the caller's error clean (no "no such file" of a first write). */
TEST(success_leaves_error_clean)
{
    char root[256];
    lt_tmpdir(root, sizeof root, "data");
    agt_error e;
    agt_lake *l = NULL, *r = NULL;
    agt_trades t, out;
    agt_trades_init(&t);
    agt_trades_init(&out);
    int64_t h = lt_hour(2023, 7, 1, 5);
    lt_make_hour(&t, h, 1, 20, 0);
#define CLEAN(call)                                                                \
    do {                                                                           \
        agt_error_clear(&e);                                                       \
        ASSERT_OK(call);                                                           \
        if (e.message[0] || e.status != AGT_OK) FAIL_("%s left '%s'", #call, e.message); \
    } while (0)
    CLEAN(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    CLEAN(agt_lake_stash_put(l, "BTCUSDT", h, &t, &e));
    CLEAN(agt_lake_commit_hour(l, "BTCUSDT", h, &t, &meta_ok, NULL, &e)); /* first write */
    CLEAN(agt_lake_commit_hour(l, "BTCUSDT", h, &t, &meta_ok, NULL, &e)); /* a merge */
    CLEAN(agt_lake_commit_hour(l, "BTCUSDT", h + AGT_US_PER_DAY, NULL, &meta_ok, NULL, &e)); /* empty */
    CLEAN(agt_lake_open(root, AGT_LAKE_READ, &r, &e));
    CLEAN(agt_lake_read_range(r, "BTCUSDT", h - AGT_US_PER_DAY, h + 2 * AGT_US_PER_DAY,
                              AGT_LAKE_COL_ALL, &out, &e));
    CLEAN(agt_lake_read_range(r, "ETHUSDT", 0, INT64_MAX, AGT_LAKE_COL_ALL, &out, &e));
    agt_range_stats rs;
    CLEAN(agt_lake_query_stats(r, "BTCUSDT", 0, INT64_MAX, &rs, &e));
    int found = 0;
    CLEAN(agt_lake_find_trade(r, "BTCUSDT", 7, 1, &out, &found, NULL, &e));
    CLEAN(agt_lake_find_trade(r, "BTCUSDT", 70000, 1, &out, &found, NULL, &e));
    CLEAN(agt_lake_newest(r, "BTCUSDT", NULL, NULL, NULL, &e));
    size_t problems = 9;
    CLEAN(agt_lake_verify(r, NULL, 0, INT64_MAX, NULL, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 0);
    CLEAN(agt_lake_rebuild_stats(l, "BTCUSDT", 0, INT64_MAX, NULL, &e));
    size_t pages;
    CLEAN(agt_lake_stash_get(l, "BTCUSDT", h, &out, &pages, &e));
    CLEAN(agt_lake_stash_drop(l, "ETHUSDT", h, &e));
    agt_changes ch;
    agt_changes_init(&ch);
    CLEAN(agt_lake_read_changes_table(r, "BTCUSDT", 0, &ch, &e));
    agt_changes_release(&ch);
#undef CLEAN
    agt_lake_close(r);
    agt_lake_close(l);
    agt_trades_release(&t);
    agt_trades_release(&out);
    lt_cleanup(root);
}

TEST(damaged_file)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    agt_trades t;
    agt_trades_init(&t);
    int64_t h = lt_hour(2023, 7, 4, 12);
    lt_make_hour(&t, h, 1, 1000, 0);
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h, &t, &meta_ok, NULL, &e));
    lt_make_hour(&t, h + AGT_US_PER_HOUR, 1001, 1000, 0);
    agt_hour_meta m2 = {1000, 1, "rest", 0};
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h + AGT_US_PER_HOUR, &t, &m2, NULL, &e));
    size_t problems = 9;
    ASSERT_OK(agt_lake_verify(l, NULL, 0, INT64_MAX, NULL, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 0);
    agt_lake_close(l);

    /* damage: truncate the first file to half, scribble on the second */
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/symbol=BTCUSDT/year=2023/month=7/day=4/BTCUSDT_20230704_12.parquet", root);
    snprintf(p2, sizeof p2, "%s/symbol=BTCUSDT/year=2023/month=7/day=4/BTCUSDT_20230704_13.parquet", root);
    struct stat st;
    ASSERT(stat(p1, &st) == 0);
    ASSERT(truncate(p1, st.st_size / 2) == 0);
    int fd = open(p2, O_WRONLY);
    ASSERT(fd >= 0);
    ASSERT(pwrite(fd, "XXXXXXXX", 8, 100) == 8);
    close(fd);

    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));
    agt_trades out;
    agt_trades_init(&out);
    agt_status s = agt_lake_read_range(l, "BTCUSDT", h, h + 10, AGT_LAKE_COL_ALL, &out, &e);
    ASSERT_EQ_INT(s, AGT_ECORRUPT);
    ASSERT(strstr(e.message, "BTCUSDT_20230704_12.parquet") != NULL);
    lt_vrec v;
    memset(&v, 0, sizeof v);
    ASSERT_OK(agt_lake_verify(l, "BTCUSDT", 0, INT64_MAX, lt_verify_cb, &v, &problems, &e));
    ASSERT_EQ_INT(problems, 2); /* one per damaged file, however many ways it is wrong */
    ASSERT_EQ_INT(v.kinds[0], AGT_VERIFY_UNREADABLE);
    ASSERT(strstr(v.path[0], "_12.parquet") != NULL);
    ASSERT_EQ_INT(v.kinds[1], AGT_VERIFY_UNREADABLE);
    ASSERT(strstr(v.path[1], "_13.parquet") != NULL);

    /* a deleted file is missing, not damaged: one problem of its own kind */
    ASSERT(unlink(p1) == 0);
    memset(&v, 0, sizeof v);
    ASSERT_OK(agt_lake_verify(l, "BTCUSDT", h, h + AGT_US_PER_HOUR - 1, lt_verify_cb, &v, &problems, &e));
    ASSERT_EQ_INT(problems, 1);
    ASSERT_EQ_INT(v.kinds[0], AGT_VERIFY_MISSING_FILE);
    ASSERT(strstr(v.path[0], "_12.parquet") != NULL);
    agt_lake_close(l);
    agt_trades_release(&t);
    agt_trades_release(&out);
    lt_cleanup(root);
}

TEST(stats_json_roundtrip)
{
    agt_day_stats d, d2;
    memset(&d, 0, sizeof d);
    d.day_start_us = lt_hour(2024, 2, 29, 0);
    d.n = 2;
    agt_file_stats *f = &d.h[0];
    f->hour_start_us = d.day_start_us + 5 * AGT_US_PER_HOUR;
    f->rows = 3;
    f->min_ts_us = f->hour_start_us + 1;
    f->max_ts_us = f->hour_start_us + 99;
    f->first_id = 7;
    f->last_id = 9;
    f->prev_id = 6;
    f->sum_qty = 0.1 + 0.2;
    f->quote_volume = 1.0 / 3.0;
    f->buyer_maker = 2;
    f->size = 1234;
    f->checksum = UINT64_C(0xfedcba9876543210);
    snprintf(f->source, sizeof f->source, "archive");
    f->version = 77;
    f->complete = 1;
    agt_lake_hour_rel("XRPUSDT", f->hour_start_us, AGT_LAKE_SPOT_EXT, f->path, sizeof f->path, NULL);
    d.h[1].hour_start_us = d.day_start_us + 23 * AGT_US_PER_HOUR;
    d.h[1].first_id = d.h[1].last_id = -1;
    d.h[1].prev_id = -2;
    snprintf(d.h[1].source, sizeof d.h[1].source, "rest");
    agt_buf b;
    agt_buf_init(&b, 0);
    ASSERT_OK(agt_stats_format("XRPUSDT", &d, &b));
    char sym[32];
    agt_error e;
    ASSERT_OK(agt_stats_parse((const char *)b.data, b.len, &d2, sym, sizeof sym, &e));
    ASSERT_EQ_STR(sym, "XRPUSDT");
    ASSERT_EQ_INT(d2.n, 2);
    ASSERT(memcmp(&d.h[0], &d2.h[0], sizeof d.h[0]) == 0);
    ASSERT_EQ_INT(d2.h[1].prev_id, -2);
    /* strictness: any change of shape is refused */
    ASSERT_EQ_INT(agt_stats_parse((const char *)b.data, b.len - 3, &d2, sym, sizeof sym, &e), AGT_ECORRUPT);
    const char *bad[] = {
        "{\"format\":1,\"symbol\":\"XRPUSDT\",\"date\":\"2024-02-30\",\"hours\":[]}",
        "{\"format\":2,\"symbol\":\"XRPUSDT\",\"date\":\"2024-02-29\",\"hours\":[]}",
        "{\"format\":1,\"symbol\":\"../x\",\"date\":\"2024-02-29\",\"hours\":[]}",
        "{\"format\":1,\"symbol\":\"XRPUSDT\",\"date\":\"2024-02-29\",\"hours\":[]} x",
        "{\"format\":1,\"format\":1,\"symbol\":\"XRPUSDT\",\"date\":\"2024-02-29\",\"hours\":[]}",
        "{\"format\":1,\"symbol\":\"XRPUSDT\",\"date\":\"2024-02-29\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ASSERT_EQ_INT(agt_stats_parse(bad[i], strlen(bad[i]), &d2, sym, sizeof sym, &e), AGT_ECORRUPT);
    const char *ok = "{\"format\":1,\"symbol\":\"XRPUSDT\",\"date\":\"2024-02-29\",\"hours\":[]}";
    ASSERT_OK(agt_stats_parse(ok, strlen(ok), &d2, sym, sizeof sym, &e));
    /* a path that does not match the layout is refused (no escaping the root) */
    agt_buf_printf(&b, "%s", "");
    char *j = strdup((const char *)b.data);
    char *at = strstr(j, "symbol=XRPUSDT/year");
    ASSERT(at != NULL);
    memcpy(at, "../../../etc/pa", 15);
    ASSERT_EQ_INT(agt_stats_parse(j, strlen(j), &d2, sym, sizeof sym, &e), AGT_ECORRUPT);
    free(j);
    agt_buf_release(&b);
}

/* Make a file or directory `rel` under the lake root (a directory when rel
 * ends with '/'); 1 on success. */
static int put(agt_lake *l, const char *rel)
{
    char p[1024];
    if (agt_lake_path(l, p, sizeof p, rel, NULL) != AGT_OK) return 0;
    size_t n = strlen(p);
    if (p[n - 1] == '/') {
        p[n - 1] = 0;
        return agt_lake_mkdirs(l, p, NULL) == AGT_OK;
    }
    FILE *f = fopen(p, "w");
    return f && fclose(f) == 0;
}

/* Names the layout does not write (zero-padded, out of range, spaced) are not
 * taken for the lake's: no day listed twice or invented, no hour 24. */
TEST(foreign_names_are_not_ours)
{
    char root[512];
    agt_lake *l;
    agt_error e;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    static const char *const names[] = {
        "symbol=BTCUSDT/year=2024/month=1/day=1/",
        "symbol=BTCUSDT/year=2024/month=01/day=1/",
        "symbol=BTCUSDT/year=2024/month=1/day=01/",
        "symbol=BTCUSDT/year=02024/month=1/day=2/",
        "symbol=BTCUSDT/year=2024/month=1/day=1/BTCUSDT_20240101_24.parquet",
        "symbol=BTCUSDT/year=2024/month=1/day=1/ETHUSDT_20240101_05.parquet",
        "metadata/stats/symbol=BTCUSDT/",
        "metadata/stats/symbol=BTCUSDT/_2024- 1- 2.json",
        "metadata/stats/symbol=BTCUSDT/_+024-01-02.json",
        "metadata/stats/symbol=BTCUSDT/2024-01-04.json", /* the first layout's name */
        "metadata/stats/symbol=BTCUSDT/_2024-01-03.json",
        "metadata/_changes/symbol=BTCUSDT/",
        "metadata/_changes/symbol=BTCUSDT/v99999999999999999999.pq",
        "metadata/_changes/symbol=BTCUSDT/v00000000000000000008.parquet",
        "metadata/_changes/symbol=BTCUSDT/v00000000000000000007.pq",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) ASSERT(put(l, names[i]));
    int64_t *v;
    size_t n;
    ASSERT_OK(agt_lake_data_days(l, "BTCUSDT", 0, INT64_MAX, &v, &n, &e));
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(v[0], lt_hour(2024, 1, 1, 0));
    free(v);
    ASSERT_EQ_INT(agt_lake_day_has_data(l, "BTCUSDT", lt_hour(2024, 1, 1, 0)), 0);
    ASSERT(put(l, "symbol=BTCUSDT/year=2024/month=1/day=1/BTCUSDT_20240101_23.parquet"));
    ASSERT_EQ_INT(agt_lake_day_has_data(l, "BTCUSDT", lt_hour(2024, 1, 1, 0)), 1);
    ASSERT_OK(agt_stats_list_days(l, "BTCUSDT", &v, &n, &e));
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(v[0], lt_hour(2024, 1, 3, 0));
    free(v);
    ASSERT_OK(agt_cdc_versions(l, "BTCUSDT", -1, &v, &n, &e));
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(v[0], 7);
    free(v);
    agt_lake_close(l);
    lt_cleanup(root);
}

TEST_MAIN(TEST_REF(layout_and_lock), TEST_REF(upsert_and_cdc),
          TEST_REF(upsert_append_and_unordered_input), TEST_REF(query_boundaries),
          TEST_REF(lookup_gap), TEST_REF(completeness), TEST_REF(stash),
          TEST_REF(wal_checkpoint_bounded), TEST_REF(wal_small_after_close),
          TEST_REF(success_leaves_error_clean), TEST_REF(damaged_file),
          TEST_REF(stats_json_roundtrip), TEST_REF(foreign_names_are_not_ours))
