/*
 * test_lake_crash.c - crash safety of the lake.
 *
 * 1. Fault injection: an I/O table that "crashes" at its N-th mutating
 *    call (write, fsync, truncate, rename, unlink, mkdir, link): that call fails
 *    (or, in short-write mode, writes half its bytes) and every later one
 *    fails too, as if the process had died there. For every N across a
 *    workload of an insert commit, a merge commit (updates + inserts), a
 *    stash and WAL checkpoints (after every commit, or only at the close),
 *    the lake is reopened with the real I/O and must hold exactly the state
 *    after the acknowledged commits (plus possibly the one in flight, all
 *    or nothing), every row once, an acknowledged stashed page, no
 *    temporary file left, and verify must find nothing wrong.
 *    Also: ENOSPC at every call leaves the lake consistent.
 * 2. SIGKILL loop: a forked child commits a deterministic sequence of hours
 *    (with overlapping ids, so merges update and skip rows) and reports
 *    each acknowledged commit through a pipe; the parent kills it at a
 *    random moment, 60 times, recovers, and checks the same properties.
 */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "faulty_io.h"
#include "harness.h"
#include "lake/lake_int.h"
#include "test_lake_util.h"
#include "trades_util.h"

/* ---- the model: what the lake must hold --------------------------------------- */

#define N_HOURS 6
static const int64_t BASE_HOUR = INT64_C(1704067200000000); /* 2024-01-01 00:00 UTC */

typedef struct model {
    agt_trades hour[N_HOURS];
} model;

static void model_init(model *m)
{
    for (int i = 0; i < N_HOURS; i++) agt_trades_init(&m->hour[i]);
}
static void model_release(model *m)
{
    for (int i = 0; i < N_HOURS; i++) agt_trades_release(&m->hour[i]);
}
static void model_copy(model *dst, const model *src)
{
    for (int i = 0; i < N_HOURS; i++) {
        agt_trades_clear(&dst->hour[i]);
        agt_trades_append(&dst->hour[i], &src->hour[i]);
    }
}

/* Commit number i of the deterministic workload: an hour and its rows. */
static int spec(long i, agt_trades *rows)
{
    int k = (int)(i % N_HOURS);
    int64_t hour = BASE_HOUR + k * AGT_US_PER_HOUR;
    int64_t off0 = (i * 37) % 50, n = 20 + (i * 13) % 60;
    agt_trades_clear(rows);
    for (int64_t o = off0; o < off0 + n; o++) {
        int64_t id = k * 100000 + o;
        double salt = (double)((i / N_HOURS + o) % 3); /* some repeats identical, some changed */
        agt_trades_push(rows, id, hour + o * 1000, 100.0 + salt, 0.5 + (double)(o % 7), (int)(o & 1));
    }
    return k;
}

static void model_apply(model *m, long i)
{
    agt_trades rows;
    agt_trades_init(&rows);
    int k = spec(i, &rows);
    agt_merge mg;
    agt_merge_init(&mg);
    if (agt_merge_rows(&m->hour[k], &rows, &mg) != AGT_OK) abort();
    agt_trades_clear(&m->hour[k]);
    agt_trades_append(&m->hour[k], mg.rows);
    agt_merge_release(&mg);
    agt_trades_release(&rows);
}

/* 1 if the lake holds exactly the model's rows (every row once, in order). */
static int lake_equals(agt_lake *l, const model *m)
{
    agt_trades got, want;
    agt_trades_init(&got);
    agt_trades_init(&want);
    for (int k = 0; k < N_HOURS; k++) agt_trades_append(&want, &m->hour[k]);
    int ok = agt_lake_read_range(l, "BTCUSDT", 0, INT64_MAX, AGT_LAKE_COL_ALL, &got, NULL) == AGT_OK &&
             trades_equal(&got, &want);
    agt_trades_release(&got);
    agt_trades_release(&want);
    return ok;
}

/* After recovery: state is after_acked, or after_acked with commit number `acked`
   (the one in flight) applied; returns acked or acked + 1 (or -1). */
static long check_recovered(const char *root, const model *after_acked, long acked, int *failed_)
{
    agt_lake *l = NULL;
    agt_error e;
    if (agt_lake_open(root, AGT_LAKE_WRITE, &l, &e) != AGT_OK) {
        fprintf(stderr, "  reopen failed: %s\n", e.message);
        return -1;
    }
    long which = -1;
    if (lake_equals(l, after_acked)) {
        which = acked;
    } else {
        model next;
        model_init(&next);
        model_copy(&next, after_acked);
        model_apply(&next, acked);
        if (lake_equals(l, &next)) which = acked + 1;
        model_release(&next);
    }
    size_t problems = 99;
    if (agt_lake_verify(l, NULL, 0, INT64_MAX, NULL, NULL, &problems, &e) != AGT_OK || problems != 0) {
        fprintf(stderr, "  verify found %zu problems\n", problems);
        which = -1;
    }
    agt_lake_close(l);
    if (lt_count_suffix(root, ".tmp") != 0 || lt_count_suffix(root, ".prev") != 0) {
        fprintf(stderr, "  temporary files left\n");
        which = -1;
    }
    return which;
}

/* ---- 1. fault injection at every call -------------------------------------------- */

/* An hour the workload stashes a page of but never commits: the page must outlive checkpoints. */
static const int64_t STASH_HOUR = INT64_C(1704067200000000) + 20 * AGT_US_PER_HOUR;

/*
 * The workload after a clean baseline: returns commits acknowledged;
 * *stashed (may be NULL) = 1 once the page of STASH_HOUR is acknowledged.
 */
static long workload(agt_lake *l, long first, long count, int *stashed)
{
    long acked = 0;
    agt_trades rows;
    agt_trades_init(&rows);
    for (long i = first; i < first + count; i++) {
        int k = spec(i, &rows);
        if (i == first + 1) { /* a stash between commits, and one that stays */
            if (agt_lake_stash_put(l, "BTCUSDT", BASE_HOUR + k * AGT_US_PER_HOUR, &rows, NULL) != AGT_OK)
                break;
            agt_trades page;
            agt_trades_init(&page);
            lt_make_hour(&page, STASH_HOUR, 900000, 7, 0);
            agt_status s = agt_lake_stash_put(l, "BTCUSDT", STASH_HOUR, &page, NULL);
            agt_trades_release(&page);
            if (s != AGT_OK) break;
            if (stashed) *stashed = 1;
        }
        if (agt_lake_commit_hour(l, "BTCUSDT", BASE_HOUR + k * AGT_US_PER_HOUR, &rows, NULL, NULL,
                                 NULL) != AGT_OK)
            break;
        acked++;
    }
    agt_trades_release(&rows);
    return acked;
}

static int print_problem(void *user, agt_verify_kind kind, const char *path, int64_t hour,
                         const char *message)
{
    (void)user;
    (void)hour;
    fprintf(stderr, "    problem %d %s: %s\n", (int)kind, path, message);
    return 0;
}

/*
 * ckpt_bytes: the WAL checkpoint threshold. Small, every commit checkpoints;
 * 0 (the default, 4 MiB), only the writer's close does, so the sweep's
 * crash points walk through the close's checkpoint too.
 */
static void crash_sweep(int *agt_failed_, int short_write, int err_no, int sticky, uint64_t ckpt_bytes,
                        int helper)
{
    const long baseline = 2, count = 3; /* commit 2 and 3 merge into hours 0..; 8 merges hour 2 */
    int done = 0;
    long n;
    for (n = 1; !done && n < 2000; n++) {
        char root[256];
        lt_tmpdir(root, sizeof root, "data");
        faulty f = {0, 0, 0, short_write, err_no, sticky, NULL};
        agt_lake_io io;
        agt_lake_opts o;
        faulty_opts(&f, &io, &o);
        o.wal_checkpoint_bytes = ckpt_bytes;
        agt_lake *l = NULL;
        agt_error e;
        ASSERT_OK(agt_lake_open_opts(root, AGT_LAKE_WRITE, &o, &l, &e));
        if (helper) l->helper_min_rows = 1; /* every data file encoded on the helper thread */
        model m;
        model_init(&m);
        ASSERT_EQ_INT(workload(l, 0, baseline, NULL), baseline);
        for (long i = 0; i < baseline; i++) model_apply(&m, i);
        /* commits 2..: include merges of hours already written (i = 6, 7 hit hours 0, 1) */
        f.armed_at = n;
        int stashed = 0;
        long acked = workload(l, N_HOURS, count, &stashed);
        for (long i = N_HOURS; i < N_HOURS + acked; i++) model_apply(&m, i);
        agt_lake_close(l);
        if (!f.crashed) done = 1;
        /* model indexes: baseline 0..1, then N_HOURS.. */
        model mm;
        model_init(&mm);
        model_copy(&mm, &m);
        long which = -1;
        {
            /* before any writer recovers: readers see a consistent lake, and a
               read-only verify finds nothing wrong (a commit still in the WAL is
               not damage) */
            agt_lake *ro = NULL;
            if (agt_lake_open(root, AGT_LAKE_READ, &ro, &e) != AGT_OK)
                FAIL_("n=%ld: read-only open failed: %s", n, e.message);
            size_t problems = 99;
            agt_status vs = agt_lake_verify(ro, NULL, 0, INT64_MAX, print_problem, NULL, &problems, &e);
            agt_lake_close(ro);
            if (vs != AGT_OK || problems)
                FAIL_("n=%ld: read-only verify before recovery: %zu problems (%s)", n, problems,
                      e.message);
        }
        {
            agt_lake *r = NULL;
            if (agt_lake_open(root, AGT_LAKE_WRITE, &r, &e) != AGT_OK)
                FAIL_("n=%ld: reopen failed: %s", n, e.message);
            if (lake_equals(r, &mm)) which = 0;
            else {
                model_apply(&mm, N_HOURS + acked);
                if (lake_equals(r, &mm)) which = 1;
            }
            size_t problems = 99;
            agt_status vs = agt_lake_verify(r, NULL, 0, INT64_MAX, NULL, NULL, &problems, &e);
            agt_trades page;
            agt_trades_init(&page);
            size_t pages = 9;
            agt_status gs = agt_lake_stash_get(r, "BTCUSDT", STASH_HOUR, &page, &pages, &e);
            agt_trades_release(&page);
            agt_lake_close(r);
            /* the baseline stashed one page; the workload's, if acknowledged, is a second */
            if (gs != AGT_OK || pages < 1 + (size_t)stashed || pages > 2)
                FAIL_("n=%ld: stashed pages of the uncommitted hour: %zu (acknowledged %d)", n, pages,
                      1 + stashed);
            if (vs != AGT_OK || problems) FAIL_("n=%ld: verify: %zu problems", n, problems);
        }
        if (which < 0) FAIL_("n=%ld (short=%d): lake does not match any allowed state (acked %ld)", n, short_write, acked);
        if (lt_count_suffix(root, ".tmp")) FAIL_("n=%ld: temporary file left", n);
        if (lt_count_suffix(root, ".prev")) FAIL_("n=%ld: previous version left", n);
        /* the lake keeps working: one more commit after recovery */
        {
            agt_lake *r = NULL;
            agt_commit_result res;
            agt_trades rows;
            agt_trades_init(&rows);
            ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &r, &e));
            int k = spec(99, &rows);
            ASSERT_OK(agt_lake_commit_hour(r, "BTCUSDT", BASE_HOUR + k * AGT_US_PER_HOUR, &rows, NULL, &res, &e));
            ASSERT(res.version > baseline + acked);
            agt_lake_close(r);
            agt_trades_release(&rows);
        }
        model_release(&mm);
        model_release(&m);
        lt_cleanup(root);
    }
    ASSERT(done);
    fprintf(stderr, "  crashed at each of %ld calls\n", n - 2);
}

TEST(crash_every_call) { crash_sweep(agt_failed_, 0, EIO, 1, 1500, 0); }
TEST(crash_every_call_short_write) { crash_sweep(agt_failed_, 1, EIO, 1, 1500, 0); }
TEST(enospc_every_call) { crash_sweep(agt_failed_, 0, ENOSPC, 0, 1500, 0); }
TEST(crash_every_call_checkpoint_at_close) { crash_sweep(agt_failed_, 0, EIO, 1, 0, 0); }
/* the same with every data file encoded on the helper thread (helper.c) while
   the change file is written: the crash points and outcomes are the same */
TEST(crash_every_call_helper) { crash_sweep(agt_failed_, 0, EIO, 1, 1500, 1); }

/*
 * A reader of a merge in flight: the writer "dies" right after renaming the
 * merged hour over its data file, before the statistics name it. A
 * read-only handle must read exactly the committed rows and values (from
 * "<file>.prev"), by range, by id and in aggregates, and verify must find
 * nothing wrong; once a writer recovers, the merged rows.
 */
TEST(reader_mid_merge)
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
    model m;
    model_init(&m);
    ASSERT_EQ_INT(workload(l, 0, 1, NULL), 1); /* hour 0: ids 0..19 */
    model_apply(&m, 0);
    f.stop_after = "_00.parquet"; /* commit N_HOURS merges into hour 0, updating values */
    agt_trades rows;
    agt_trades_init(&rows);
    int k = spec(N_HOURS, &rows);
    ASSERT_EQ_INT(k, 0);
    ASSERT(agt_lake_commit_hour(l, "BTCUSDT", BASE_HOUR, &rows, NULL, NULL, &e) != AGT_OK);
    ASSERT(f.crashed);
    agt_lake_close(l);
    ASSERT_EQ_INT(lt_count_suffix(root, ".prev"), 1);

    model merged;
    model_init(&merged);
    model_copy(&merged, &m);
    model_apply(&merged, N_HOURS);
    ASSERT(merged.hour[0].len > m.hour[0].len);

    agt_lake *ro = NULL;
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &ro, &e));
    ASSERT(lake_equals(ro, &m));
    /* by id: a committed row with its committed values, and no uncommitted row */
    const agt_trades *c = &m.hour[0];
    agt_trades got;
    agt_trades_init(&got);
    int found = 0;
    ASSERT_OK(agt_lake_find_trade(ro, "BTCUSDT", c->trade_id[1], 1, &got, &found, NULL, &e));
    ASSERT(found && got.len == 1);
    ASSERT(memcmp(&got.price[0], &c->price[1], 8) == 0);
    agt_trades_clear(&got);
    ASSERT_OK(agt_lake_find_trade(ro, "BTCUSDT", merged.hour[0].trade_id[merged.hour[0].len - 1], 1,
                                  &got, &found, NULL, &e));
    ASSERT(!found);
    /* aggregates, from the statistics and from the rows of a partial hour */
    agt_range_stats rs;
    ASSERT_OK(agt_lake_query_stats(ro, "BTCUSDT", BASE_HOUR, BASE_HOUR + AGT_US_PER_HOUR - 1, &rs, &e));
    ASSERT_EQ_INT(rs.count, (int64_t)c->len);
    ASSERT_OK(agt_lake_query_stats(ro, "BTCUSDT", BASE_HOUR, c->ts_us[c->len - 1] - 1, &rs, &e));
    ASSERT_EQ_INT(rs.files_read, 1);
    ASSERT_EQ_INT(rs.count, (int64_t)c->len - 1);
    size_t problems = 99;
    ASSERT_OK(agt_lake_verify(ro, NULL, 0, INT64_MAX, print_problem, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 0);
    agt_lake_close(ro);

    /* recovery completes the merge and drops the previous version */
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    ASSERT(lake_equals(l, &merged));
    ASSERT_OK(agt_lake_verify(l, NULL, 0, INT64_MAX, print_problem, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 0);
    agt_lake_close(l);
    ASSERT_EQ_INT(lt_count_suffix(root, ".prev"), 0);
    ASSERT_EQ_INT(lt_count_suffix(root, ".tmp"), 0);

    agt_trades_release(&got);
    agt_trades_release(&rows);
    model_release(&merged);
    model_release(&m);
    lt_cleanup(root);
}

/*
 * A crash while recovering is itself recovered, whichever call of the
 * recovery fails: the commit in flight is finished when its BEGIN holds
 * its rows (a merge into an hour's file: the BEGIN was durable, the commit
 * must be there), and undone - its change file removed - when it went by
 * reference (an hour's first commit) and had not renamed its data file in.
 */
static void crash_during_recovery_of(int *agt_failed_, int merge)
{
    char root[256];
    lt_tmpdir(root, sizeof root, "data");
    agt_error e;
    for (long n = 1; n < 400; n++) {
        lt_rmrf(root);
        faulty f = {0, 0, 0, 0, EIO, 1, NULL};
        agt_lake_io io;
        agt_lake_opts o;
        faulty_opts(&f, &io, &o);
        agt_lake *l = NULL;
        ASSERT_OK(agt_lake_open_opts(root, AGT_LAKE_WRITE, &o, &l, &e));
        model m;
        model_init(&m);
        long inflight = 0;
        if (merge) { /* hour 0 committed, then a merge into it left unfinished */
            ASSERT_EQ_INT(workload(l, 0, 1, NULL), 1);
            model_apply(&m, 0);
            inflight = N_HOURS;
            f.armed_at = 3; /* BEGIN write, fsync, then the first step fails */
        } else {
            f.stop_after = ".pq"; /* the first commit dies once its change file is in */
        }
        ASSERT_EQ_INT(workload(l, inflight, 1, NULL), 0);
        ASSERT(f.crashed);
        agt_lake_close(l);
        /* recovery itself crashes at call n */
        faulty g = {n, 0, 0, 0, EIO, 1, NULL};
        io.ctx = &g;
        agt_status s = agt_lake_open_opts(root, AGT_LAKE_WRITE, &o, &l, &e);
        if (s == AGT_OK) agt_lake_close(l);
        long which = check_recovered(root, &m, inflight, agt_failed_);
        ASSERT_EQ_INT(which, inflight + merge);
        if (!merge) ASSERT_EQ_INT(lt_count_suffix(root, ".pq"), 0); /* no change file of it */
        model_release(&m);
        if (!g.crashed) break;
    }
    lt_cleanup(root);
}

TEST(crash_during_recovery_of_merge) { crash_during_recovery_of(agt_failed_, 1); }
TEST(crash_during_recovery_of_first_commit) { crash_during_recovery_of(agt_failed_, 0); }

/* ---- 2. SIGKILL loop --------------------------------------------------------------- */

static void child_run(const char *root, long first, int wfd)
{
    agt_lake *l = NULL;
    agt_lake_opts o;
    agt_lake_opts_default(&o);
    o.wal_checkpoint_bytes = 8192;
    if (agt_lake_open_opts(root, AGT_LAKE_WRITE, &o, &l, NULL) != AGT_OK) _exit(3);
    agt_trades rows;
    agt_trades_init(&rows);
    for (long i = first;; i++) {
        int k = spec(i, &rows);
        if (i % 4 == 0) agt_lake_stash_put(l, "BTCUSDT", BASE_HOUR + k * AGT_US_PER_HOUR, &rows, NULL);
        if (agt_lake_commit_hour(l, "BTCUSDT", BASE_HOUR + k * AGT_US_PER_HOUR, &rows, NULL, NULL,
                                 NULL) != AGT_OK)
            _exit(4);
        if (write(wfd, &i, sizeof i) != sizeof i) _exit(5);
    }
}

TEST(sigkill_loop)
{
    char root[256];
    lt_tmpdir(root, sizeof root, "data");
    srand((unsigned)time(NULL));
    model m;
    model_init(&m);
    long applied = 0; /* commits in the lake */
    int kills = 0;
    for (int round = 0; round < 60; round++) {
        int pfd[2];
        ASSERT(pipe(pfd) == 0);
        pid_t pid = fork();
        ASSERT(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            child_run(root, applied, pfd[1]);
            _exit(0);
        }
        close(pfd[1]);
        struct timespec ts = {0, (long)(rand() % 40000) * 1000L + 1000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        if (WIFSIGNALED(status)) kills++;
        else ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        long last = applied - 1, v;
        while (read(pfd[0], &v, sizeof v) == sizeof v) last = v;
        close(pfd[0]);
        long acked = last + 1; /* commits 0..last acknowledged */
        for (long i = applied; i < acked; i++) model_apply(&m, i);
        long which = check_recovered(root, &m, acked, agt_failed_);
        if (which < 0) FAIL_("round %d: lake does not match commits %ld or %ld", round, acked, acked + 1);
        if (which == acked + 1) model_apply(&m, acked);
        applied = which;
    }
    ASSERT(kills >= 50);
    fprintf(stderr, "  %d kills, %ld commits survived\n", kills, applied);
    model_release(&m);
    lt_cleanup(root);
}

TEST_MAIN(TEST_REF(crash_every_call), TEST_REF(crash_every_call_helper), TEST_REF(crash_every_call_short_write),
          TEST_REF(enospc_every_call), TEST_REF(crash_every_call_checkpoint_at_close), TEST_REF(reader_mid_merge),
          TEST_REF(crash_during_recovery_of_merge), TEST_REF(crash_during_recovery_of_first_commit), TEST_REF(sigkill_loop))
