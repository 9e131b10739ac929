/*
 * test_lake_read_into.c - agt_query_count + agt_query_read_into: the same
 * rows as agt_lake_read_range for ranges with partial and whole hours, with
 * one and several threads, into caller arrays (some columns left out),
 * unchanged by a commit between counting and reading, and refusing too
 * little room or a damaged file; columns left out of files out of time
 * order (sorted with only the columns given); timestamps in nanoseconds
 * (AGT_LAKE_TS_NS); the memory for result columns
 * (agt_lake_column_alloc): large blocks 2 MiB aligned, kept when freed and
 * reused by a request of a similar size only.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "harness.h"
#include "lake/lake_int.h"
#include "test_lake_util.h"
#include "trades_util.h"

#define HOURS 6
#define ROWS 700

/* A lake of HOURS consecutive hours of ROWS trades from 2023-07-04 10:00. */
static agt_status six_hours(char *root, size_t n, agt_lake **l, int64_t *h0, agt_error *e)
{
    AGT_TRY(lt_open_new(root, n, l, e));
    agt_trades t;
    agt_trades_init(&t);
    *h0 = lt_hour(2023, 7, 4, 10);
    agt_status s = AGT_OK;
    for (int k = 0; k < HOURS && s == AGT_OK; k++) {
        lt_make_hour(&t, *h0 + k * AGT_US_PER_HOUR, 1 + (int64_t)k * ROWS, ROWS, k);
        agt_hour_meta m = {(int64_t)k * ROWS, 1, "rest", 0};
        s = agt_lake_commit_hour(*l, "BTCUSDT", *h0 + k * AGT_US_PER_HOUR, &t, &m, NULL, e);
    }
    agt_trades_release(&t);
    return s;
}

/* read_into over caller arrays of exactly the counted size, with `threads`. */
static agt_status read_all(agt_lake *l, int64_t a, int64_t b, unsigned cols, unsigned threads,
                           agt_trades *out, agt_error *e)
{
    agt_query *q = NULL;
    size_t n = 0;
    AGT_TRY(agt_lake_query_open(l, "BTCUSDT", a, b, cols, &q, e));
    agt_status s = agt_query_count(q, &n, e);
    if (s == AGT_OK) s = agt_trades_reserve(out, n);
    if (s == AGT_OK) {
        agt_trades dst = *out; /* the caller's arrays, as a binding would pass them */
        s = agt_query_read_into(q, &dst, threads, e);
        out->len = dst.len;
    }
    agt_query_close(q);
    return s;
}

TEST(same_rows_as_read_range)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    int64_t h0;
    ASSERT_OK(six_hours(root, sizeof root, &l, &h0, &e));
    const int64_t ranges[][2] = {
        {h0, h0 + HOURS * AGT_US_PER_HOUR - 1},                  /* whole files only */
        {h0 + 1234567, h0 + 4 * AGT_US_PER_HOUR + 999},          /* two edges */
        {h0 + 600000000, h0 + 700000000},                        /* inside one file */
        {h0 - AGT_US_PER_DAY, h0 + 10 * AGT_US_PER_DAY},         /* beyond the data */
        {h0 + 10 * AGT_US_PER_DAY, h0 + 11 * AGT_US_PER_DAY},    /* no data */
    };
    agt_trades want, got;
    agt_trades_init(&want);
    agt_trades_init(&got);
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        agt_trades_clear(&want);
        ASSERT_OK(agt_lake_read_range(l, "BTCUSDT", ranges[r][0], ranges[r][1], AGT_LAKE_COL_ALL,
                                      &want, &e));
        for (unsigned threads = 1; threads <= 3; threads++) {
            agt_trades_clear(&got);
            ASSERT_OK(read_all(l, ranges[r][0], ranges[r][1], AGT_LAKE_COL_ALL, threads, &got, &e));
            ASSERT(trades_equal(&want, &got));
        }
    }
    ASSERT_EQ_INT(want.len, 0); /* the last range */
    agt_trades_release(&want);
    agt_trades_release(&got);
    agt_lake_close(l);
    lt_cleanup(root);
}

TEST(columns_left_out_and_room)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    int64_t h0;
    ASSERT_OK(six_hours(root, sizeof root, &l, &h0, &e));
    int64_t a = h0 + 1000, b = h0 + 3 * AGT_US_PER_HOUR + 5000;
    agt_trades want;
    agt_trades_init(&want);
    ASSERT_OK(agt_lake_read_range(l, "BTCUSDT", a, b, AGT_LAKE_COL_ALL, &want, &e));
    ASSERT(want.len > 2 * ROWS);

    /* price and quantity only: the other arrays are not passed */
    double *price = malloc(want.len * sizeof *price), *qty = malloc(want.len * sizeof *qty);
    agt_query *q = NULL;
    size_t n = 0;
    ASSERT_OK(agt_lake_query_open(l, "BTCUSDT", a, b, AGT_LAKE_COL_PRICE | AGT_LAKE_COL_QUANTITY, &q, &e));
    ASSERT_OK(agt_query_count(q, &n, &e));
    ASSERT_EQ_INT(n, want.len);
    agt_trades dst = {NULL, NULL, price, qty, NULL, 0, n};
    ASSERT_OK(agt_query_read_into(q, &dst, 2, &e));
    ASSERT_EQ_INT(dst.len, n);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ_DBL_BITS(price[i], want.price[i]);
        ASSERT_EQ_DBL_BITS(qty[i], want.quantity[i]);
    }
    agt_query_close(q);

    /* one row too few of room: refused, nothing claimed written */
    ASSERT_OK(agt_lake_query_open(l, "BTCUSDT", a, b, AGT_LAKE_COL_ALL, &q, &e));
    dst = (agt_trades){NULL, NULL, price, qty, NULL, 0, n - 1};
    ASSERT_EQ_INT(agt_query_read_into(q, &dst, 1, &e), AGT_EINVAL);
    ASSERT(strstr(e.message, "room for") != NULL);
    ASSERT_EQ_INT(dst.len, 0);
    agt_query_close(q);
    free(price);
    free(qty);
    agt_trades_release(&want);
    agt_lake_close(l);
    lt_cleanup(root);
}

/* Read [a, b] with only the columns of `cols` passed (the others NULL): the same values as
   `want` (timestamps times 1000 with AGT_LAKE_TS_NS). */
static void read_some(int *agt_failed_, agt_lake *l, int64_t a, int64_t b, unsigned cols,
                      const agt_trades *want)
{
    agt_error e;
    agt_trades got;
    agt_trades_init(&got);
    ASSERT_OK(agt_trades_reserve(&got, want->len));
    agt_query *q = NULL;
    size_t n = 0;
    ASSERT_OK(agt_lake_query_open(l, "BTCUSDT", a, b, cols, &q, &e));
    ASSERT_OK(agt_query_count(q, &n, &e));
    ASSERT_EQ_INT(n, want->len);
    agt_trades dst = {cols & AGT_LAKE_COL_TRADE_ID ? got.trade_id : NULL,
                      cols & AGT_LAKE_COL_TIMESTAMP ? got.ts_us : NULL,
                      cols & AGT_LAKE_COL_PRICE ? got.price : NULL,
                      cols & AGT_LAKE_COL_QUANTITY ? got.quantity : NULL,
                      cols & AGT_LAKE_COL_IS_BUYER_MAKER ? got.is_buyer_maker : NULL, 0, n};
    ASSERT_OK(agt_query_read_into(q, &dst, 2, &e));
    agt_query_close(q);
    ASSERT_EQ_INT(dst.len, n);
    for (size_t i = 0; i < n; i++) {
        if (dst.trade_id) ASSERT_EQ_INT(dst.trade_id[i], want->trade_id[i]);
        if (dst.ts_us) ASSERT_EQ_INT(dst.ts_us[i], want->ts_us[i] * (cols & AGT_LAKE_TS_NS ? 1000 : 1));
        if (dst.price) ASSERT_EQ_DBL_BITS(dst.price[i], want->price[i]);
        if (dst.quantity) ASSERT_EQ_DBL_BITS(dst.quantity[i], want->quantity[i]);
        if (dst.is_buyer_maker) ASSERT_EQ_INT(dst.is_buyer_maker[i], want->is_buyer_maker[i]);
    }
    agt_trades_release(&got);
}

/* qsort order of {timestamp, trade id, row} triples. */
static int by_time(const void *x, const void *y)
{
    const int64_t *p = x, *q = y;
    return p[0] != q[0] ? (p[0] > q[0]) - (p[0] < q[0]) : (p[1] > q[1]) - (p[1] < q[1]);
}

/* Rows of `all` inside [a, b], in (timestamp, trade id) order: what a read must give. */
static void expected(const agt_trades *all, int64_t a, int64_t b, agt_trades *want)
{
    int64_t(*k)[3] = malloc(all->len * sizeof *k);
    size_t n = 0;
    for (size_t i = 0; k && i < all->len; i++)
        if (all->ts_us[i] >= a && all->ts_us[i] <= b) {
            k[n][0] = all->ts_us[i];
            k[n][1] = all->trade_id[i];
            k[n++][2] = (int64_t)i;
        }
    qsort(k, n, sizeof *k, by_time);
    agt_trades_clear(want);
    for (size_t j = 0; k && j < n; j++) {
        size_t i = (size_t)k[j][2];
        agt_trades_push(want, all->trade_id[i], all->ts_us[i], all->price[i], all->quantity[i],
                        all->is_buyer_maker[i]);
    }
    free(k);
}

TEST(columns_left_out_of_files_out_of_time_order)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    int64_t h0;
    ASSERT_OK(six_hours(root, sizeof root, &l, &h0, &e));
    agt_trades all, t, want;
    agt_trades_init(&all);
    agt_trades_init(&t);
    agt_trades_init(&want);
    for (int k = 0; k < HOURS; k++) { /* the rows six_hours committed */
        lt_make_hour(&t, h0 + k * AGT_US_PER_HOUR, 1 + (int64_t)k * ROWS, ROWS, k);
        ASSERT_OK(agt_trades_append(&all, &t));
    }
    /* an hour whose later ids carry earlier times: its file (in id order) is
       not in time order, so the reader sorts its rows, whatever columns it gives */
    int64_t h = h0 + HOURS * AGT_US_PER_HOUR;
    lt_make_hour(&t, h, 1 + (int64_t)HOURS * ROWS, ROWS, 7);
    for (size_t i = 0; i < t.len; i++)
        if (i % 5 == 2) t.ts_us[i] = t.ts_us[i - 1] - 1000 + (int64_t)(i % 3);
    ASSERT_OK(agt_trades_append(&all, &t));
    agt_hour_meta m = {(int64_t)HOURS * ROWS, 1, "rest", 0};
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h, &t, &m, NULL, &e));
    const int64_t ranges[][2] = {{h0, h + AGT_US_PER_HOUR - 1}, {h0 + 1234567, h + 999999}};
    const unsigned sets[] = {AGT_LAKE_COL_ALL, AGT_LAKE_COL_PRICE | AGT_LAKE_COL_IS_BUYER_MAKER,
                             AGT_LAKE_COL_TIMESTAMP | AGT_LAKE_COL_PRICE,
                             AGT_LAKE_COL_TRADE_ID | AGT_LAKE_COL_QUANTITY,
                             AGT_LAKE_COL_ALL | AGT_LAKE_TS_NS,
                             AGT_LAKE_COL_TIMESTAMP | AGT_LAKE_COL_QUANTITY | AGT_LAKE_TS_NS,
                             AGT_LAKE_COL_PRICE | AGT_LAKE_TS_NS};
    for (size_t r = 0; r < 2; r++) {
        expected(&all, ranges[r][0], ranges[r][1], &want);
        ASSERT(want.len > HOURS * ROWS / 2);
        for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++)
            read_some(agt_failed_, l, ranges[r][0], ranges[r][1], sets[k], &want);
        /* the batches of agt_lake_read_range (agt_query_next) in nanoseconds too */
        agt_trades_clear(&t);
        ASSERT_OK(agt_lake_read_range(l, "BTCUSDT", ranges[r][0], ranges[r][1],
                                      AGT_LAKE_COL_ALL | AGT_LAKE_TS_NS, &t, &e));
        ASSERT_EQ_INT(t.len, want.len);
        for (size_t i = 0; i < t.len; i++) ASSERT_EQ_INT(t.ts_us[i], want.ts_us[i] * 1000);
    }
    agt_trades_release(&all);
    agt_trades_release(&t);
    agt_trades_release(&want);
    agt_lake_close(l);
    lt_cleanup(root);
}

TEST(commit_between_count_and_read)
{
    char root[256];
    agt_error e;
    agt_lake *w = NULL, *r = NULL;
    int64_t h0;
    ASSERT_OK(six_hours(root, sizeof root, &w, &h0, &e));
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &r, &e));
    agt_trades before, got, t;
    agt_trades_init(&before);
    agt_trades_init(&got);
    agt_trades_init(&t);
    int64_t a = h0, b = h0 + HOURS * AGT_US_PER_HOUR - 1;
    ASSERT_OK(agt_lake_read_range(r, "BTCUSDT", a, b, AGT_LAKE_COL_ALL, &before, &e));
    agt_query *q = NULL;
    size_t n = 0;
    ASSERT_OK(agt_lake_query_open(r, "BTCUSDT", a, b, AGT_LAKE_COL_ALL, &q, &e));
    ASSERT_OK(agt_query_count(q, &n, &e));
    /* the writer adds 300 trades to the third hour: that file is replaced */
    agt_hour_meta more = {-1, 0, "rest", 0};
    lt_make_hour(&t, h0 + 2 * AGT_US_PER_HOUR, 1 + HOURS * ROWS, 300, 9);
    ASSERT_OK(agt_lake_commit_hour(w, "BTCUSDT", h0 + 2 * AGT_US_PER_HOUR, &t, &more, NULL, &e));
    ASSERT_OK(agt_trades_reserve(&got, n));
    agt_trades dst = got;
    ASSERT_OK(agt_query_read_into(q, &dst, 2, &e));
    got.len = dst.len;
    agt_query_close(q);
    ASSERT(trades_equal(&before, &got)); /* the version counted, not half of each */
    /* a new read sees the commit */
    agt_trades_clear(&got);
    ASSERT_OK(read_all(r, a, b, AGT_LAKE_COL_ALL, 2, &got, &e));
    ASSERT_EQ_INT(got.len, before.len + 300);
    agt_trades_release(&before);
    agt_trades_release(&got);
    agt_trades_release(&t);
    agt_lake_close(r);
    agt_lake_close(w);
    lt_cleanup(root);
}

TEST(damaged_file_named)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    int64_t h0;
    ASSERT_OK(six_hours(root, sizeof root, &l, &h0, &e));
    agt_lake_close(l);
    char p[512];
    snprintf(p, sizeof p, "%s/symbol=BTCUSDT/year=2023/month=7/day=4/BTCUSDT_20230704_13.parquet", root);
    struct stat st;
    ASSERT(stat(p, &st) == 0);
    int fd = open(p, O_WRONLY);
    ASSERT(fd >= 0);
    char junk[256];
    memset(junk, 0x5a, sizeof junk);
    ASSERT(pwrite(fd, junk, sizeof junk, 64) == (ssize_t)sizeof junk);
    close(fd);
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));
    agt_trades got;
    agt_trades_init(&got);
    agt_status s = read_all(l, h0, h0 + HOURS * AGT_US_PER_HOUR - 1, AGT_LAKE_COL_ALL, 2, &got, &e);
    ASSERT_EQ_INT(s, AGT_ECORRUPT);
    ASSERT(strstr(e.message, "BTCUSDT_20230704_13.parquet") != NULL);
    agt_trades_release(&got);
    agt_lake_close(l);
    lt_cleanup(root);
}

#define MIB ((size_t)1 << 20)

/* A block of agt_lake_column_alloc(bytes), every byte written (a fault if not mapped). */
static uint8_t *column(size_t bytes, uint8_t fill)
{
    uint8_t *p = agt_lake_column_alloc(bytes);
    if (p) memset(p, fill, bytes);
    return p;
}

TEST(column_memory_kept_for_the_next_read)
{
    uint8_t *small = column(100, 1);
    ASSERT(small != NULL);
    agt_lake_column_free(small, 100);
    agt_lake_column_free(NULL, 5 * MIB);

    uint8_t *big = column(8 * MIB + 5, 2);
    ASSERT(big != NULL);
    ASSERT_EQ_INT((uintptr_t)big % (2 * MIB), 0);
    agt_lake_column_free(big, 8 * MIB + 5);
    /* less than half the kept block: a block of its own */
    uint8_t *other = column(3 * MIB, 3);
    ASSERT(other != NULL && other != big);
    /* a similar size reuses the kept block, cut to the new size */
    uint8_t *again = column(5 * MIB, 4);
    ASSERT(again == big);
    ASSERT_EQ_INT(again[5 * MIB - 1], 4);
    agt_lake_column_free(again, 5 * MIB);
    /* the kept 5 MiB cannot hold 8 MiB: a new block, while 4 MiB takes the kept one */
    uint8_t *more = column(8 * MIB, 5);
    ASSERT(more != NULL && more != big);
    uint8_t *four = column(4 * MIB, 6);
    ASSERT(four == big);
    ASSERT_EQ_INT(other[3 * MIB - 1], 3); /* blocks in use are never handed out twice */
    agt_lake_column_free(four, 4 * MIB);
    agt_lake_column_free(more, 8 * MIB);
    agt_lake_column_free(other, 3 * MIB);

    /* more blocks freed than are kept: all given back, new ones still come */
    uint8_t *many[40];
    for (int i = 0; i < 40; i++) {
        many[i] = column(MIB + (size_t)i * 4096, (uint8_t)i);
        ASSERT(many[i] != NULL);
    }
    for (int i = 0; i < 40; i++) {
        ASSERT_EQ_INT(many[i][MIB + (size_t)i * 4096 - 1], i);
        agt_lake_column_free(many[i], MIB + (size_t)i * 4096);
    }
    for (int i = 0; i < 40; i++) ASSERT((many[i] = column(2 * MIB, 7)) != NULL);
    for (int i = 0; i < 40; i++) agt_lake_column_free(many[i], 2 * MIB);
}

TEST_MAIN(TEST_REF(same_rows_as_read_range), TEST_REF(columns_left_out_and_room),
          TEST_REF(commit_between_count_and_read), TEST_REF(damaged_file_named),
          TEST_REF(columns_left_out_of_files_out_of_time_order),
          TEST_REF(column_memory_kept_for_the_next_read))
