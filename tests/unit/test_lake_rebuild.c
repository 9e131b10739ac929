/*
 * test_lake_rebuild.c - the statistics index as derived data, the change
 * feed's listing cache, and the cost of a commit as the lake grows.
 *
 * 1. A damaged or deleted statistics file: verify names it, queries over
 *    its day fail with AGT_ECORRUPT naming it (never fewer rows), and
 *    agt_lake_rebuild_stats restores the very same bytes; a commit into
 *    the day heals it by itself. A day whose first commit is in flight
 *    (data file renamed, statistics not yet) is not mistaken for damage.
 * 2. read_changes(since) over many commits opens only the newer change
 *    files and lists the directory only when it changed.
 * 3. One commit opens and writes the same number of files whether the lake
 *    holds 1 day or 365 days (counted through the I/O table); so does
 *    planning a 5-minute query (one file, no directory listed); short and
 *    long ranges (probed or listed days) give the same rows and errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"
#include "lake/lake_int.h"
#include "test_lake_util.h"
#include "trades_util.h"

static const char SYM[] = "BTCUSDT";

/* ---- an I/O table that counts calls and can fail renames onto *.json ---- */

typedef struct counting {
    long opens, writes, renames, fsyncs;
    int fail_json_rename;
} counting;

static int c_open(void *c, const char *p, int fl, mode_t m)
{
    ((counting *)c)->opens++;
    return agt_lake_io_posix()->open(NULL, p, fl, m);
}
static int c_close(void *c, int fd)
{
    (void)c;
    return agt_lake_io_posix()->close(NULL, fd);
}
static ssize_t c_pread(void *c, int fd, void *b, size_t n, off_t o)
{
    (void)c;
    return agt_lake_io_posix()->pread(NULL, fd, b, n, o);
}
static ssize_t c_pwrite(void *c, int fd, const void *b, size_t n, off_t o)
{
    ((counting *)c)->writes++;
    return agt_lake_io_posix()->pwrite(NULL, fd, b, n, o);
}
static int c_fsync(void *c, int fd)
{
    ((counting *)c)->fsyncs++;
    return agt_lake_io_posix()->fsync(NULL, fd);
}
static int c_ftruncate(void *c, int fd, off_t n)
{
    (void)c;
    return agt_lake_io_posix()->ftruncate(NULL, fd, n);
}
static int c_rename(void *c, const char *a, const char *b)
{
    counting *k = c;
    k->renames++;
    size_t n = strlen(b);
    if (k->fail_json_rename && n > 5 && strcmp(b + n - 5, ".json") == 0) {
        errno = EIO;
        return -1;
    }
    return agt_lake_io_posix()->rename(NULL, a, b);
}
static int c_unlink(void *c, const char *p)
{
    (void)c;
    return agt_lake_io_posix()->unlink(NULL, p);
}
static int c_mkdir(void *c, const char *p, mode_t m)
{
    (void)c;
    return agt_lake_io_posix()->mkdir(NULL, p, m);
}
static int c_link(void *c, const char *a, const char *b)
{
    (void)c;
    return agt_lake_io_posix()->link(NULL, a, b);
}

/* A writer on a fresh lake under `root` whose I/O goes through `io`, counted into `c`. */
static agt_status open_counted(char *root, size_t rn, counting *c, agt_lake_io *io, int no_fsync,
                               agt_lake **l, agt_error *e)
{
    const agt_lake_io t = {c, c_open, c_close, c_pread, c_pwrite, c_fsync, c_ftruncate, c_rename, c_unlink, c_mkdir,
                           c_link};
    memset(c, 0, sizeof *c);
    *io = t;
    lt_tmpdir(root, rn, "data");
    agt_lake_opts o;
    agt_lake_opts_default(&o);
    o.io = io;
    o.no_fsync = no_fsync;
    return agt_lake_open_opts(root, AGT_LAKE_WRITE, &o, l, e);
}

/* ---- helpers ---------------------------------------------------------------- */

static int slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t got = fread(buf, 1, n - 1, f);
    fclose(f);
    buf[got] = '\0';
    return (int)got;
}

static int spit(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fputs(s, f);
    return fclose(f);
}

typedef struct vrec {
    int n;
    agt_verify_kind kind[16];
    char path[16][200];
} vrec;

static int verify_cb(void *user, agt_verify_kind kind, const char *path, int64_t hour,
                     const char *message)
{
    vrec *v = user;
    (void)hour;
    (void)message;
    if (v->n < 16) {
        v->kind[v->n] = kind;
        snprintf(v->path[v->n], sizeof v->path[0], "%s", path);
        v->n++;
    }
    return 0;
}

/*
 * Day 1 (2023-10-01): hours 0 and 1 with trades (hour 0 updated by a second
 * commit), hour 2 proven empty, hour 3 fetched but not proven complete;
 * day 2: hour 0. Sources, fetch times and prev_ids vary. The lake goes to a
 * fresh `root`; `sp` receives day 1's statistics path, `saved` its contents.
 */
static void build_lake(char *root, size_t rn, char *sp, size_t spn, char *saved, size_t sn,
                       int *failed)
{
    int *agt_failed_ = failed;
    agt_error err, *e = &err;
    lt_tmpdir(root, rn, "data");
    agt_lake *l = NULL;
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, e));
    agt_trades t;
    agt_trades_init(&t);
    int64_t d1 = lt_hour(2023, 10, 1, 0), d2 = lt_hour(2023, 10, 2, 0);
    agt_hour_meta m0 = {99, 1, "archive", 1696118400000000 + 7};
    lt_make_hour(&t, d1, 100, 500, 0);
    ASSERT_OK(agt_lake_commit_hour(l, SYM, d1, &t, &m0, NULL, e));
    lt_make_hour(&t, d1, 400, 300, 1); /* 200 updates, 100 inserts */
    agt_hour_meta m0b = {AGT_LAKE_ID_UNKNOWN, 0, "rest", 1696118400000000 + 9};
    ASSERT_OK(agt_lake_commit_hour(l, SYM, d1, &t, &m0b, NULL, e));
    agt_hour_meta m1 = {699, 1, "rest", 1696122000000000};
    lt_make_hour(&t, d1 + AGT_US_PER_HOUR, 700, 250, 0);
    ASSERT_OK(agt_lake_commit_hour(l, SYM, d1 + AGT_US_PER_HOUR, &t, &m1, NULL, e));
    agt_trades_clear(&t);
    agt_hour_meta m2 = {949, 1, "rest", 1696125600000000};
    ASSERT_OK(agt_lake_commit_hour(l, SYM, d1 + 2 * AGT_US_PER_HOUR, &t, &m2, NULL, e));
    agt_hour_meta m3 = {949, 0, "rest", 0};
    lt_make_hour(&t, d1 + 3 * AGT_US_PER_HOUR, 950, 40, 2);
    ASSERT_OK(agt_lake_commit_hour(l, SYM, d1 + 3 * AGT_US_PER_HOUR, &t, &m3, NULL, e));
    lt_make_hour(&t, d2, 5000, 100, 0);
    ASSERT_OK(agt_lake_commit_hour(l, SYM, d2, &t, NULL, NULL, e));
    agt_trades_release(&t);
    agt_lake_close(l);
    snprintf(sp, spn, "%s/metadata/stats/symbol=%s/_2023-10-01.json", root, SYM);
    ASSERT(slurp(sp, saved, sn) > 100);
}

/* ---- 1. statistics rebuilt from the files ------------------------------------- */

TEST(rebuild_damaged_and_missing)
{
    char root[256], sp[512], saved[8192], now[8192];
    agt_error e;
    int f = 0;
    build_lake(root, sizeof root, sp, sizeof sp, saved, sizeof saved, &f);
    ASSERT(!f);
    ASSERT(strstr(saved, "\"hour\":2,\"path\":\"\"") != NULL); /* the proven-empty hour */

    agt_lake *l = NULL;
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));
    agt_trades before, after;
    agt_trades_init(&before);
    agt_trades_init(&after);
    int64_t all_lo = lt_hour(2023, 10, 1, 0), all_hi = lt_hour(2023, 10, 3, 0) - 1;
    ASSERT_OK(agt_lake_read_range(l, SYM, all_lo, all_hi, AGT_LAKE_COL_ALL, &before, &e));
    ASSERT_EQ_INT(before.len, 600 + 250 + 40 + 100);
    agt_lake_close(l);

    for (int round = 0; round < 2; round++) {
        /* round 0: scribble on the statistics file; round 1: delete it */
        if (round == 0) ASSERT(spit(sp, "{\"format\":1,\"symbol\":\"BTCUSDT\",\"hou") == 0);
        else ASSERT(unlink(sp) == 0);
        agt_verify_kind want = round == 0 ? AGT_VERIFY_INDEX : AGT_VERIFY_STATS_MISSING;

        ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));
        vrec v;
        memset(&v, 0, sizeof v);
        size_t problems = 0;
        ASSERT_OK(agt_lake_verify(l, SYM, 0, INT64_MAX, verify_cb, &v, &problems, &e));
        ASSERT_EQ_INT(problems, 1);
        ASSERT_EQ_INT(v.kind[0], want);
        ASSERT_EQ_STR(v.path[0], "metadata/stats/symbol=BTCUSDT/_2023-10-01.json");
        /* queries over the day refuse, naming the file; the other day still reads */
        agt_trades_clear(&after);
        agt_error_clear(&e);
        ASSERT_EQ_INT(agt_lake_read_range(l, SYM, all_lo, all_hi, AGT_LAKE_COL_ALL, &after, &e),
                      AGT_ECORRUPT);
        ASSERT(strstr(e.message, "metadata/stats/symbol=BTCUSDT/_2023-10-01.json") != NULL);
        agt_range_stats rs;
        ASSERT_EQ_INT(agt_lake_query_stats(l, SYM, all_lo + 5, all_lo + 10, &rs, &e), AGT_ECORRUPT);
        ASSERT(strstr(e.message, "2023-10-01.json") != NULL);
        agt_trades_clear(&after);
        ASSERT_OK(agt_lake_read_range(l, SYM, lt_hour(2023, 10, 2, 0), all_hi, AGT_LAKE_COL_ALL,
                                      &after, &e));
        ASSERT_EQ_INT(after.len, 100);
        /* rebuilding needs the writer */
        size_t rewritten = 9;
        ASSERT_EQ_INT(agt_lake_rebuild_stats(l, SYM, 0, INT64_MAX, &rewritten, &e), AGT_EINVAL);
        agt_lake_close(l);

        ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
        ASSERT_OK(agt_lake_rebuild_stats(l, SYM, 0, INT64_MAX, &rewritten, &e));
        ASSERT_EQ_INT(rewritten, 1); /* day 2 was healthy: left alone */
        ASSERT(slurp(sp, now, sizeof now) > 0);
        ASSERT_EQ_STR(now, saved);
        ASSERT_OK(agt_lake_rebuild_stats(l, SYM, 0, INT64_MAX, &rewritten, &e));
        ASSERT_EQ_INT(rewritten, 0);
        ASSERT_OK(agt_lake_verify(l, SYM, 0, INT64_MAX, NULL, NULL, &problems, &e));
        ASSERT_EQ_INT(problems, 0);
        agt_trades_clear(&after);
        ASSERT_OK(agt_lake_read_range(l, SYM, all_lo, all_hi, AGT_LAKE_COL_ALL, &after, &e));
        ASSERT(trades_equal(&before, &after));
        agt_lake_close(l);
    }
    agt_trades_release(&before);
    agt_trades_release(&after);
    lt_cleanup(root);
}

TEST(commit_heals_its_day)
{
    char root[256], sp[512], saved[8192], now[8192];
    agt_error e;
    int f = 0;
    build_lake(root, sizeof root, sp, sizeof sp, saved, sizeof saved, &f);
    ASSERT(!f);
    agt_trades t;
    agt_trades_init(&t);
    for (int round = 0; round < 2; round++) {
        int64_t h5 = lt_hour(2023, 10, 1, 5 + round);
        if (round == 0) ASSERT(spit(sp, "garbage") == 0);
        else ASSERT(unlink(sp) == 0);
        agt_lake *l = NULL;
        ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
        lt_make_hour(&t, h5, 2000 + 100 * round, 10, 0);
        agt_commit_result r;
        ASSERT_OK(agt_lake_commit_hour(l, SYM, h5, &t, NULL, &r, &e));
        ASSERT_EQ_INT(r.inserted, 10);
        /* the other hours of the day are all still there, entry for entry */
        agt_day_stats was, is;
        char sym[32];
        ASSERT_OK(agt_stats_parse(saved, strlen(saved), &was, sym, sizeof sym, &e));
        ASSERT(slurp(sp, now, sizeof now) > 0);
        ASSERT_OK(agt_stats_parse(now, strlen(now), &is, sym, sizeof sym, &e));
        ASSERT_EQ_INT(is.n, was.n + 1);
        for (size_t i = 0; i < was.n; i++)
            ASSERT(memcmp(&is.h[i], &was.h[i], sizeof is.h[i]) == 0);
        ASSERT_EQ_INT(is.h[was.n].hour_start_us, h5);
        size_t problems = 9;
        ASSERT_OK(agt_lake_verify(l, SYM, 0, INT64_MAX, NULL, NULL, &problems, &e));
        ASSERT_EQ_INT(problems, 0);
        agt_lake_close(l);
        ASSERT(slurp(sp, saved, sizeof saved) > 0); /* the next round starts from here */
    }
    agt_trades_release(&t);
    lt_cleanup(root);
}

/* A damaged data file is never rebuilt around: it is set aside, its hour recorded as lost. */
TEST(rebuild_sets_damaged_data_aside)
{
    char root[256], p[512], saved[8192];
    agt_error e;
    int f = 0;
    build_lake(root, sizeof root, p, sizeof p, saved, sizeof saved, &f);
    ASSERT(!f);
    snprintf(p, sizeof p, "%s/symbol=%s/year=2023/month=10/day=1/%s_20231001_01.parquet", root, SYM, SYM);
    ASSERT(truncate(p, 200) == 0);
    snprintf(p, sizeof p, "%s/metadata/stats/symbol=%s/_2023-10-01.json", root, SYM);
    ASSERT(unlink(p) == 0);
    agt_lake *l = NULL;
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    size_t n = 9;
    ASSERT_OK(agt_lake_rebuild_stats(l, SYM, 0, INT64_MAX, &n, &e));
    ASSERT_EQ_INT(n, 1);
    char msg[700];
    ASSERT(agt_lake_next_notice(l, msg, sizeof msg));
    ASSERT(strstr(msg, "BTCUSDT_20231001_01.parquet' is damaged") != NULL);
    ASSERT(strstr(msg, "moved aside to 'symbol=BTCUSDT/year=2023/month=10/day=1/.BTCUSDT_20231001_01.parquet.damaged-"));
    agt_file_stats fs;
    int64_t h1 = lt_hour(2023, 10, 1, 1);
    ASSERT_OK(agt_lake_hour_stats(l, SYM, h1, &fs, &e)); /* lost: no rows, not complete */
    ASSERT(fs.rows == 0 && !fs.complete && fs.path[0] == '\0');
    ASSERT_OK(agt_lake_hour_stats(l, SYM, h1 - AGT_US_PER_HOUR, &fs, &e));
    size_t problems = 9;
    ASSERT_OK(agt_lake_verify(l, SYM, 0, INT64_MAX, NULL, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 0);
    agt_lake_close(l);
    lt_cleanup(root);
}

/* A reader between a day's first data file and its statistics file sees the day as not yet there. */
TEST(first_commit_in_flight_is_not_damage)
{
    char root[256];
    agt_error e;
    counting cnt;
    agt_lake_io io;
    agt_lake *w = NULL, *r = NULL;
    ASSERT_OK(open_counted(root, sizeof root, &cnt, &io, 0, &w, &e));
    agt_trades t, out;
    agt_trades_init(&t);
    agt_trades_init(&out);
    int64_t h = lt_hour(2024, 2, 29, 23);
    lt_make_hour(&t, h, 1, 50, 0);
    cnt.fail_json_rename = 1;
    ASSERT(agt_lake_commit_hour(w, SYM, h, &t, NULL, NULL, &e) != AGT_OK);
    char p[512];
    snprintf(p, sizeof p, "%s/symbol=%s/year=2024/month=2/day=29/%s_20240229_23.parquet", root, SYM, SYM);
    ASSERT(agt_lake_exists(p));
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &r, &e));
    ASSERT_OK(agt_lake_read_range(r, SYM, h, h + AGT_US_PER_HOUR - 1, AGT_LAKE_COL_ALL, &out, &e));
    ASSERT_EQ_INT(out.len, 0);
    size_t problems = 9;
    ASSERT_OK(agt_lake_verify(r, SYM, 0, INT64_MAX, NULL, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 0);
    agt_lake_close(w); /* "crashed": the next writer finishes the commit */
    cnt.fail_json_rename = 0;
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &w, &e));
    ASSERT_OK(agt_lake_read_range(r, SYM, h, h + AGT_US_PER_HOUR - 1, AGT_LAKE_COL_ALL, &out, &e));
    ASSERT_EQ_INT(out.len, 50);
    agt_lake_close(w);
    agt_lake_close(r);
    agt_trades_release(&t);
    agt_trades_release(&out);
    lt_cleanup(root);
}

/* ---- 2. the change feed's listing ----------------------------------------------- */

typedef struct feed {
    int commits, rows;
    int64_t first, last;
} feed;

static int on_commit(void *user, const agt_commit_info *c)
{
    feed *f = user;
    if (f->commits++ == 0) f->first = c->version;
    f->last = c->version;
    return 0;
}
static int on_change(void *user, const agt_change *c)
{
    (void)c;
    ((feed *)user)->rows++;
    return 0;
}

TEST(changes_listing_cache)
{
    char root[256], dir[512], p[600];
    lt_tmpdir(root, sizeof root, "data");
    agt_error e;
    agt_lake_opts o;
    agt_lake_opts_default(&o);
    o.no_fsync = 1;
    agt_lake *l = NULL;
    ASSERT_OK(agt_lake_open_opts(root, AGT_LAKE_WRITE, &o, &l, &e));
    agt_trades t;
    agt_trades_init(&t);
    enum { N = 400 };
    for (int i = 0; i < N; i++) {
        int64_t h = lt_hour(2022, 1, 1, 0) + i * AGT_US_PER_HOUR;
        lt_make_hour(&t, h, 1 + 3 * i, 3, 0);
        ASSERT_OK(agt_lake_commit_hour(l, SYM, h, &t, NULL, NULL, &e));
    }
    agt_lake_close(l);
    /* damage every change file but the newest five: a recent read must not open them */
    for (int v = 1; v <= N - 5; v++) {
        snprintf(p, sizeof p, "%s/metadata/_changes/symbol=%s/v%020d.pq", root, SYM, v);
        ASSERT(truncate(p, 10) == 0);
    }
    snprintf(dir, sizeof dir, "%s/metadata/_changes/symbol=%s", root, SYM);
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}}; /* well out of the racy window */
    ASSERT(utimensat(AT_FDCWD, dir, old, 0) == 0);

    ASSERT_OK(agt_lake_open_opts(root, AGT_LAKE_WRITE, &o, &l, &e));
    feed fd;
    memset(&fd, 0, sizeof fd);
    ASSERT_OK(agt_lake_read_changes(l, SYM, N - 5, on_commit, on_change, &fd, &e));
    ASSERT_EQ_INT(fd.commits, 5);
    ASSERT_EQ_INT(fd.first, N - 4);
    ASSERT_EQ_INT(fd.rows, 15);
    ASSERT_EQ_INT(l->cdc_listings, 1);
    memset(&fd, 0, sizeof fd);
    ASSERT_OK(agt_lake_read_changes(l, SYM, N - 2, on_commit, on_change, &fd, &e));
    ASSERT_EQ_INT(fd.commits, 2);
    ASSERT_EQ_INT(l->cdc_listings, 1); /* directory unchanged: the listing is reused */
    ASSERT_EQ_INT(agt_lake_read_changes(l, SYM, N - 6, on_commit, NULL, &fd, &e), AGT_ECORRUPT);
    ASSERT(strstr(e.message, "v00000000000000000395.pq") != NULL);
    /* a new commit changes the directory: seen at once */
    int64_t h = lt_hour(2022, 1, 1, 0) + N * AGT_US_PER_HOUR;
    lt_make_hour(&t, h, 1 + 3 * N, 3, 0);
    ASSERT_OK(agt_lake_commit_hour(l, SYM, h, &t, NULL, NULL, &e));
    memset(&fd, 0, sizeof fd);
    ASSERT_OK(agt_lake_read_changes(l, SYM, N, on_commit, on_change, &fd, &e));
    ASSERT_EQ_INT(fd.commits, 1);
    ASSERT_EQ_INT(fd.first, N + 1);
    ASSERT_EQ_INT(l->cdc_listings, 2);
    /* and right after a change the listing is not trusted (racy window): listed again */
    memset(&fd, 0, sizeof fd);
    ASSERT_OK(agt_lake_read_changes(l, SYM, N, on_commit, on_change, &fd, &e));
    ASSERT_EQ_INT(fd.commits, 1);
    ASSERT_EQ_INT(l->cdc_listings, 3);
    agt_lake_close(l);
    agt_trades_release(&t);
    lt_cleanup(root);
}

/* ---- 3. commit and query cost do not grow with the lake ------------------------- */

typedef struct lake_cost {
    counting commit;           /* one commit of a new hour of the newest day */
    counting query;            /* planning a 5-minute window of that day */
    unsigned long query_dirents; /* directory entries the planning read */
    size_t planned;
} lake_cost;

static void measure_cost(int days, lake_cost *out, int *failed)
{
    int *agt_failed_ = failed;
    char root[256];
    agt_error e;
    counting cnt;
    agt_lake_io io;
    agt_lake *l = NULL;
    ASSERT_OK(open_counted(root, sizeof root, &cnt, &io, 1, &l, &e));
    agt_trades t;
    agt_trades_init(&t);
    int64_t day0 = lt_hour(2023, 1, 1, 0);
    for (int d = 0; d < days; d++) {
        int64_t h = day0 + (int64_t)d * AGT_US_PER_DAY;
        lt_make_hour(&t, h, 1 + 10 * d, 10, 0);
        ASSERT_OK(agt_lake_commit_hour(l, SYM, h, &t, NULL, NULL, &e));
    }
    /* the measured commit: a new hour of the newest day */
    int64_t h = day0 + (int64_t)(days - 1) * AGT_US_PER_DAY + AGT_US_PER_HOUR;
    lt_make_hour(&t, h, 100000, 10, 0);
    memset(&cnt, 0, sizeof cnt);
    ASSERT_OK(agt_lake_commit_hour(l, SYM, h, &t, NULL, NULL, &e));
    out->commit = cnt;
    /* the measured query: plan 01:30:00.500..01:35:00 of that day (inside the new hour) */
    int64_t qs = h + 30 * 60 * AGT_US_PER_SEC + 500000, qe = h + 35 * 60 * AGT_US_PER_SEC;
    memset(&cnt, 0, sizeof cnt);
    unsigned long before = l->day_entries;
    agt_query *q = NULL;
    ASSERT_OK(agt_lake_query_open(l, SYM, qs, qe, AGT_LAKE_COL_ALL, &q, &e));
    out->planned = agt_query_files_planned(q);
    agt_query_close(q);
    out->query = cnt;
    out->query_dirents = l->day_entries - before;
    agt_lake_close(l);
    agt_trades_release(&t);
    lt_cleanup(root);
}

TEST(commit_cost_is_flat)
{
    lake_cost one, year;
    int f = 0;
    measure_cost(1, &one, &f);
    ASSERT(!f);
    measure_cost(365, &year, &f);
    ASSERT(!f);
    ASSERT_EQ_INT(year.commit.opens, one.commit.opens);
    ASSERT_EQ_INT(year.commit.renames, one.commit.renames);
    ASSERT_EQ_INT(year.commit.writes, one.commit.writes);
    /* read the day's statistics once; write change, data and statistics files */
    ASSERT_EQ_INT(one.commit.renames, 3);
    ASSERT(one.commit.opens <= 6);

    /*
     * Planning a 5-minute window opens that day's statistics file and
     * nothing else, and lists no directory, in a lake of 1 day or 365 days
     * (listing the statistics directory read ~367 entries for the year).
     */
    ASSERT_EQ_INT(one.planned, 1);
    ASSERT_EQ_INT(year.planned, 1);
    ASSERT_EQ_INT(year.query.opens, one.query.opens);
    ASSERT_EQ_INT(one.query.opens, 1);
    ASSERT_EQ_INT(year.query_dirents, one.query_dirents);
    ASSERT_EQ_INT(year.query_dirents, 0);
    ASSERT_EQ_INT(year.query.writes + year.query.renames, 0);
}

/* Short ranges probe their days, long ones list them: both give the same rows and errors. */
TEST(plan_short_and_long_ranges)
{
    char root[256], p[600];
    agt_error e;
    lt_tmpdir(root, sizeof root, "data");
    agt_lake_opts o;
    agt_lake_opts_default(&o);
    o.no_fsync = 1;
    agt_lake *l = NULL;
    ASSERT_OK(agt_lake_open_opts(root, AGT_LAKE_WRITE, &o, &l, &e));
    agt_trades t, out;
    agt_trades_init(&t);
    agt_trades_init(&out);
    /* 2022-12-31 23h, 2023-01-01 00h, and 2024-06-01 00h (more than AGT_STATS_PROBE_DAYS later) */
    const int64_t hours[] = {lt_hour(2022, 12, 31, 23), lt_hour(2023, 1, 1, 0), lt_hour(2024, 6, 1, 0)};
    for (int i = 0; i < 3; i++) {
        lt_make_hour(&t, hours[i], 1 + 10 * i, 10, 0);
        ASSERT_OK(agt_lake_commit_hour(l, SYM, hours[i], &t, NULL, NULL, &e));
    }
    /* a range across midnight, inside one hour, before any data, and whole-history */
    ASSERT_OK(agt_lake_read_range(l, SYM, hours[0] + 30 * 60 * AGT_US_PER_SEC,
                                  hours[1] + 30 * 60 * AGT_US_PER_SEC, AGT_LAKE_COL_ALL, &out, &e));
    ASSERT_EQ_INT(out.len, 10);
    agt_trades_clear(&out);
    ASSERT_OK(agt_lake_read_range(l, SYM, 0, lt_hour(2022, 1, 1, 0), AGT_LAKE_COL_ALL, &out, &e));
    ASSERT_EQ_INT(out.len, 0);
    unsigned long before = l->day_entries;
    ASSERT_OK(agt_lake_read_range(l, SYM, hours[0], hours[2] + AGT_US_PER_DAY, AGT_LAKE_COL_ALL, &out, &e));
    ASSERT_EQ_INT(out.len, 30);
    ASSERT(l->day_entries > before); /* 519 days: listed, not probed */
    agt_trades_clear(&out);
    ASSERT_OK(agt_lake_read_range(l, SYM, INT64_MIN, INT64_MAX, AGT_LAKE_COL_ALL, &out, &e));
    ASSERT_EQ_INT(out.len, 30);
    ASSERT_EQ_INT(out.trade_id[29], 30);
    /* a day with data files but no statistics file is an error either way, naming the file */
    snprintf(p, sizeof p, "%s/metadata/stats/symbol=%s/_2023-01-01.json", root, SYM);
    ASSERT(unlink(p) == 0);
    agt_trades_clear(&out);
    ASSERT_EQ_INT(agt_lake_read_range(l, SYM, hours[1], hours[1] + 1000, AGT_LAKE_COL_ALL, &out, &e),
                  AGT_ECORRUPT);
    ASSERT(strstr(e.message, "2023-01-01.json") != NULL);
    ASSERT_EQ_INT(agt_lake_read_range(l, SYM, 0, INT64_MAX, AGT_LAKE_COL_ALL, &out, &e), AGT_ECORRUPT);
    ASSERT(strstr(e.message, "2023-01-01.json") != NULL);
    agt_lake_close(l);
    agt_trades_release(&t);
    agt_trades_release(&out);
    lt_cleanup(root);
}

TEST_MAIN(TEST_REF(rebuild_damaged_and_missing), TEST_REF(commit_heals_its_day),
          TEST_REF(rebuild_sets_damaged_data_aside), TEST_REF(first_commit_in_flight_is_not_damage),
          TEST_REF(changes_listing_cache), TEST_REF(commit_cost_is_flat),
          TEST_REF(plan_short_and_long_ranges))
