/*
 * test_lake_helper.c - the writer's helper thread (src/lake/helper.c): jobs
 * run on another thread and hand back their status; a busy hour's data file
 * encoded there while the change file is written is the same hour as one
 * encoded on the committing thread, read back, verified and reopened. (The
 * crash sweep with every data file encoded on the helper is in
 * test_lake_crash.c.)
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "harness.h"
#include "lake/lake_int.h"
#include "test_lake_util.h"
#include "trades_util.h"

static const agt_hour_meta meta_ok = {-1, 1, "archive", 0};

typedef struct work {
    pthread_t ran_on;
    agt_status give;
} work;

static agt_status job_fn(void *arg)
{
    work *w = arg;
    w->ran_on = pthread_self();
    return w->give;
}

TEST(jobs_run_on_the_helper_thread)
{
    char root[256];
    agt_error e;
    agt_lake *l = NULL;
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    ASSERT(l->helper == NULL); /* started by the first job */
    for (int i = 0; i < 3; i++) {
        work w = { pthread_self(), i == 1 ? AGT_ENOMEM : AGT_OK };
        agt_lake_job j = { job_fn, &w, AGT_OK, 0 };
        agt_lake_job_start(l, &j);
        ASSERT_EQ_INT(agt_lake_job_wait(l, &j), w.give);
        ASSERT(j.done);
        ASSERT(!pthread_equal(w.ran_on, pthread_self()));
    }
    ASSERT(l->helper != NULL);
    agt_lake_close(l); /* joins it */
    lt_cleanup(root);
}

static int64_t file_size(const char *root, const char *rel)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", root, rel);
    return stat(p, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* One busy hour committed into a new lake; its helper used or not. */
static void commit_busy_hour(int *agt_failed_, char *root, size_t n, int use_helper,
                             const agt_trades *t, int64_t hour)
{
    agt_error e;
    agt_lake *l = NULL;
    ASSERT_OK(lt_open_new(root, n, &l, &e));
    if (!use_helper) l->helper_min_rows = SIZE_MAX;
    agt_commit_result r;
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", hour, t, &meta_ok, &r, &e));
    ASSERT_EQ_INT(r.inserted, (int64_t)t->len);
    ASSERT_EQ_INT(l->helper != NULL, use_helper);
    agt_lake_close(l);
}

TEST(busy_hour_encoded_on_the_helper)
{
    const size_t rows = 3 * AGT_LAKE_HELPER_MIN_ROWS;
    int64_t hour = lt_hour(2024, 2, 20, 13);
    agt_trades t, got;
    agt_trades_init(&t);
    agt_trades_init(&got);
    lt_make_hour(&t, hour, 3000000000, rows, 0);
    char with[256], without[256];
    commit_busy_hour(agt_failed_, with, sizeof with, 1, &t, hour);
    commit_busy_hour(agt_failed_, without, sizeof without, 0, &t, hour);

    const char *rel = "symbol=BTCUSDT/year=2024/month=2/day=20/BTCUSDT_20240220_13.parquet";
    ASSERT(file_size(with, rel) > 0);
    /* the same encoding: only the commit time in the footer differs, in as many digits */
    ASSERT_EQ_INT(file_size(with, rel), file_size(without, rel));
    agt_error e;
    agt_lake *l = NULL;
    ASSERT_OK(agt_lake_open(with, AGT_LAKE_WRITE, &l, &e));
    ASSERT_OK(agt_lake_read_range(l, "BTCUSDT", 0, INT64_MAX, AGT_LAKE_COL_ALL, &got, &e));
    ASSERT(trades_equal(&got, &t));
    size_t problems = 99;
    ASSERT_OK(agt_lake_verify(l, NULL, 0, INT64_MAX, NULL, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 0);
    /* a merge into it (rows of the hour again, one price changed): the helper encodes it too */
    t.price[7] += 1.0;
    agt_commit_result r;
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", hour, &t, &meta_ok, &r, &e));
    ASSERT_EQ_INT(r.updated, 1);
    ASSERT_EQ_INT(r.skipped, (int64_t)rows - 1);
    ASSERT(l->helper != NULL);
    agt_trades_clear(&got);
    ASSERT_OK(agt_lake_read_range(l, "BTCUSDT", 0, INT64_MAX, AGT_LAKE_COL_ALL, &got, &e));
    ASSERT(trades_equal(&got, &t));
    agt_lake_close(l);
    ASSERT_EQ_INT(lt_count_suffix(with, ".tmp"), 0);
    agt_trades_release(&got);
    agt_trades_release(&t);
    lt_cleanup(with);
    lt_cleanup(without);
}

TEST_MAIN(TEST_REF(jobs_run_on_the_helper_thread), TEST_REF(busy_hour_encoded_on_the_helper))
