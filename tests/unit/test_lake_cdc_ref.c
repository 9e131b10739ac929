/*
 * test_lake_cdc_ref.c - inserts recorded by reference in the change feed
 * (cdc_ref.c): read_changes gives exactly what the rows themselves would
 * have (computed here by merging each commit into a model, as the commit
 * does), through later updates of the same rows, fragmented inserts (kept
 * as rows), a commit in flight, and a damaged data file (an error, never
 * other rows); and the change files stay small.
 */
#include <sys/stat.h>
#include <xxhash.h>

#include "faulty_io.h"
#include "harness.h"
#include "lake/lake_int.h"
#include "parquet/parquet.h"
#include "test_lake_util.h"
#include "trades_util.h"

#define SYM "BTCUSDT"
#define HOURS 3

typedef struct expect {
    agt_changes c; /* what read_changes must give */
    agt_trades hour[HOURS];
} expect;

static void expect_init(expect *x)
{
    agt_changes_init(&x->c);
    for (int k = 0; k < HOURS; k++) agt_trades_init(&x->hour[k]);
}

static void expect_release(expect *x)
{
    agt_changes_release(&x->c);
    for (int k = 0; k < HOURS; k++) agt_trades_release(&x->hour[k]);
}

static void push(agt_changes *c, agt_change_type type, int64_t version, const agt_trades *t, size_t i)
{
    if (c->len == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->type = realloc(c->type, c->cap);
        c->version = realloc(c->version, c->cap * sizeof *c->version);
        c->commit_ts_us = realloc(c->commit_ts_us, c->cap * sizeof *c->commit_ts_us);
        if (!c->type || !c->version || !c->commit_ts_us) abort();
    }
    agt_trades_push(&c->rows, t->trade_id[i], t->ts_us[i], t->price[i], t->quantity[i],
                    t->is_buyer_maker[i]);
    c->type[c->len] = (uint8_t)type;
    c->version[c->len] = version;
    c->commit_ts_us[c->len++] = 0; /* not compared */
}

/* Commit `rows` into hour k and record the changes the merge makes, in id order. */
static int64_t commit(agt_lake *l, expect *x, int k, const agt_trades *rows)
{
    agt_merge m;
    agt_merge_init(&m);
    if (agt_merge_rows(&x->hour[k], rows, &m) != AGT_OK) abort();
    agt_commit_result r;
    agt_error e;
    if (agt_lake_commit_hour(l, SYM, lt_hour(2024, 1, 1, k), rows, NULL, &r, &e) != AGT_OK) {
        fprintf(stderr, "commit: %s\n", e.message);
        abort();
    }
    size_t i = 0, j = 0;
    const agt_trades *ins = m.inserted;
    while (i < ins->len || j < m.pre.len) {
        if (j == m.pre.len || (i < ins->len && ins->trade_id[i] < m.pre.trade_id[j])) {
            push(&x->c, AGT_CHANGE_INSERT, r.version, ins, i++);
        } else {
            push(&x->c, AGT_CHANGE_UPDATE_PREIMAGE, r.version, &m.pre, j);
            push(&x->c, AGT_CHANGE_UPDATE_POSTIMAGE, r.version, &m.post, j++);
        }
    }
    agt_trades_clear(&x->hour[k]);
    agt_trades_append(&x->hour[k], m.rows);
    agt_merge_release(&m);
    return r.version;
}

static int same_changes(const agt_changes *got, const agt_changes *want, size_t from)
{
    if (got->len != want->len - from) {
        fprintf(stderr, "  %zu changes, want %zu\n", got->len, want->len - from);
        return 0;
    }
    if (got->len == 0) return 1; /* (memcmp of no bytes may not be given NULL) */
    agt_trades w;
    agt_trades_init(&w);
    for (size_t i = from; i < want->len; i++)
        agt_trades_push(&w, want->rows.trade_id[i], want->rows.ts_us[i], want->rows.price[i],
                        want->rows.quantity[i], want->rows.is_buyer_maker[i]);
    int ok = trades_equal(&got->rows, &w) && !memcmp(got->type, want->type + from, got->len) &&
             !memcmp(got->version, want->version + from, got->len * sizeof *got->version);
    agt_trades_release(&w);
    return ok;
}

static int read_equal(agt_lake *l, const expect *x, int64_t since, size_t from)
{
    agt_changes got;
    agt_changes_init(&got);
    agt_error e;
    agt_status s = agt_lake_read_changes_table(l, SYM, since, &got, &e);
    if (s != AGT_OK) fprintf(stderr, "  read_changes: %s\n", e.message);
    int ok = s == AGT_OK && same_changes(&got, &x->c, from);
    agt_changes_release(&got);
    return ok;
}

/* ids first..first+n-1 of hour k, values by salt; every other id left out if `gaps`. */
static void rows_of(agt_trades *t, int k, int64_t first, size_t n, int salt, int gaps)
{
    lt_make_hour(t, lt_hour(2024, 1, 1, k), first, n, salt);
    if (!gaps) return;
    agt_trades g;
    agt_trades_init(&g);
    for (size_t i = 0; i < t->len; i += 2)
        agt_trades_push(&g, t->trade_id[i], t->ts_us[i], t->price[i], t->quantity[i], t->is_buyer_maker[i]);
    agt_trades_clear(t);
    agt_trades_append(t, &g);
    agt_trades_release(&g);
}

static int64_t workload(agt_lake *l, expect *x)
{
    agt_trades t;
    agt_trades_init(&t);
    rows_of(&t, 0, 1000, 500, 0, 0); /* a fresh hour: one run, by reference */
    commit(l, x, 0, &t);
    rows_of(&t, 1, 2000, 400, 0, 1); /* 200 runs: kept as rows */
    commit(l, x, 1, &t);
    rows_of(&t, 0, 1200, 500, 1, 0); /* updates 1200..1499, inserts 1500..1699 */
    commit(l, x, 0, &t);
    rows_of(&t, 0, 1100, 200, 2, 0); /* updates 1100..1299 again (some twice) */
    commit(l, x, 0, &t);
    rows_of(&t, 1, 2001, 400, 1, 1); /* fills the gaps of hour 1: 200 runs of inserts */
    commit(l, x, 1, &t);
    rows_of(&t, 2, 3000, 50, 0, 0);
    int64_t v = commit(l, x, 2, &t);
    rows_of(&t, 2, 3000, 50, 0, 0); /* the same again: nothing changes */
    commit(l, x, 2, &t);
    agt_trades_release(&t);
    return v;
}

TEST(read_changes_identical)
{
    char root[256];
    agt_lake *l = NULL;
    agt_error e;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    expect x;
    expect_init(&x);
    workload(l, &x);
    ASSERT(x.c.len > 1500);
    ASSERT(read_equal(l, &x, 0, 0));
    agt_lake_close(l);
    /* a reader, from any version on */
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));
    for (int64_t since = 0; since <= 7; since++) {
        size_t from = 0;
        while (from < x.c.len && x.c.version[from] <= since) from++;
        ASSERT(read_equal(l, &x, since, from));
    }
    agt_lake_close(l);
    /* the first commit's file holds no rows, only its reference */
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/" AGT_LAKE_CHANGES "/symbol=" SYM "/v%020d.pq", root, 1);
    ASSERT(stat(p, &st) == 0);
    ASSERT(st.st_size < 2000);
    expect_release(&x);
    lt_cleanup(root);
}

/* A data file that no longer holds what was inserted: an error naming it, not other rows. */
TEST(damaged_data_file_is_an_error)
{
    char root[256];
    agt_lake *l = NULL;
    agt_error e;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    expect x;
    expect_init(&x);
    workload(l, &x);
    agt_lake_close(l);
    /* hour 2 rewritten behind the lake's back with other prices (same version in its footer) */
    char rel[160], path[512];
    ASSERT_OK(agt_lake_hour_rel(SYM, lt_hour(2024, 1, 1, 2), AGT_LAKE_SPOT_EXT, rel, sizeof rel, &e));
    snprintf(path, sizeof path, "%s/%s", root, rel);
    agt_trades t;
    agt_trades_init(&t);
    int64_t version = -1;
    ASSERT_OK(agt_lake_load_file(path, &t, &version, &e));
    t.price[3] += 1;
    agt_buf out;
    agt_buf_init(&out, 0);
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)version);
    const agt_pq_kv kv[] = {{"aggtrades.commit_version", v}};
    agt_pq_write_opts o;
    agt_pq_write_opts_default(&o);
    o.kv = kv;
    o.n_kv = 1;
    ASSERT_OK(agt_pq_write_trades(&t, &o, &out, &e));
    FILE *f = fopen(path, "wb");
    ASSERT(f && fwrite(out.data, 1, out.len, f) == out.len && fclose(f) == 0);
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));
    agt_changes got;
    agt_changes_init(&got);
    ASSERT_EQ_INT(agt_lake_read_changes_table(l, SYM, 0, &got, &e), AGT_ECORRUPT);
    ASSERT(strstr(e.message, "are no longer those it recorded") != NULL);
    ASSERT(strstr(e.message, rel) != NULL);
    agt_changes_release(&got);
    agt_lake_close(l);
    agt_buf_release(&out);
    agt_trades_release(&t);
    expect_release(&x);
    lt_cleanup(root);
}

/* A commit whose change file is written but not its data file: the feed ends before it. */
TEST(commit_in_flight_is_not_reported)
{
    char root[256];
    lt_tmpdir(root, sizeof root, "data");
    faulty f = {0, 0, 0, 0, EIO, 1, NULL};
    agt_lake_io io;
    agt_lake_opts o;
    faulty_opts(&f, &io, &o);
    agt_lake *l = NULL;
    agt_error e;
    ASSERT_OK(agt_lake_open_opts(root, AGT_LAKE_WRITE, &o, &l, &e));
    expect x;
    expect_init(&x);
    agt_trades t;
    agt_trades_init(&t);
    rows_of(&t, 0, 1000, 100, 0, 0);
    commit(l, &x, 0, &t);
    size_t committed = x.c.len;
    f.stop_after = ".pq"; /* dies right after the next change file is renamed in */
    rows_of(&t, 1, 5000, 100, 0, 0);
    ASSERT(agt_lake_commit_hour(l, SYM, lt_hour(2024, 1, 1, 1), &t, NULL, NULL, &e) != AGT_OK);
    ASSERT(f.crashed);
    agt_lake_close(l);
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));
    x.c.len = committed;
    ASSERT(read_equal(l, &x, 0, 0));
    agt_lake_close(l);
    /* the hour's first commit went by reference (its rows only in its data
       file, never renamed in): recovery undoes it, change file included */
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    ASSERT(read_equal(l, &x, 0, 0));
    /* committed again, the feed has it (at the next version) */
    ASSERT_EQ_INT(commit(l, &x, 1, &t), 3);
    ASSERT(read_equal(l, &x, 0, 0));
    agt_lake_close(l);
    agt_trades_release(&t);
    expect_release(&x);
    lt_cleanup(root);
}

/* The digest is XXH64 of the rows laid out as cdc_ref.c says, whatever the
 * number of rows (blocks of rows are hashed at a time): the layout built here
 * byte by byte, hashed in one call. */
TEST(rows_hash_is_the_documented_layout)
{
    static const size_t lens[] = {0, 1, 123, 124, 125, 248, 1000};
    agt_trades t;
    agt_trades_init(&t);
    for (size_t c = 0; c < sizeof lens / sizeof lens[0]; c++) {
        agt_trades_clear(&t);
        for (size_t i = 0; i < lens[c]; i++)
            agt_trades_push(&t, 7000000000 + (int64_t)i, 1704067200000000 + (int64_t)i * 3,
                            42000.01 + (double)i / 100, 0.001 * (double)(i % 9 + 1), (int)(i % 3 == 0));
        uint8_t *bytes = malloc(33 * (lens[c] + 1));
        ASSERT(bytes != NULL);
        for (size_t i = 0; i < t.len; i++) {
            uint8_t *r = bytes + 33 * i;
            uint64_t v[4] = {(uint64_t)t.trade_id[i], (uint64_t)t.ts_us[i], 0, 0};
            memcpy(&v[2], &t.price[i], 8);
            memcpy(&v[3], &t.quantity[i], 8);
            for (int f = 0; f < 4; f++)
                for (int b = 0; b < 8; b++) r[8 * f + b] = (uint8_t)(v[f] >> (8 * b));
            r[32] = t.is_buyer_maker[i] ? 1 : 0;
        }
        ASSERT_EQ_INT(agt_cdc_rows_hash(&t), XXH64(bytes, 33 * t.len, 0));
        free(bytes);
    }
    agt_trades_release(&t);
}

TEST_MAIN(TEST_REF(rows_hash_is_the_documented_layout), TEST_REF(read_changes_identical), TEST_REF(damaged_data_file_is_an_error),
          TEST_REF(commit_in_flight_is_not_reported))
