/*
 * test_sync_verify.c - agt_sync_verify (aggtrades/verify.h) on lakes built
 * hour by hour with agt_lake_commit_hour: what a check reports (a missing
 * file, an unproven ended hour, an open hour, damaged statistics, in order,
 * with the range and the hours counted), the AGT_SYNC_CHECKED events, that a
 * check writes nothing, a repair that needs no request (statistics rebuilt
 * from the data files, with an exchange nobody answers at), and bad input.
 * The repairs that fetch run against the simulator in
 * tests/integration/test_verify_python.py.
 */
#include <sys/stat.h>

#include "aggtrades/verify.h"
#include "harness.h"
#include "test_lake_util.h"

#define H AGT_US_PER_HOUR
#define DEAD_URL "http://127.0.0.1:9" /* discard: no exchange there */

static agt_status commit(agt_lake *l, int64_t hour, size_t rows, int64_t first_id, int complete,
                         int64_t fetched_at, agt_error *e)
{
    agt_trades t;
    agt_trades_init(&t);
    lt_make_hour(&t, hour, first_id, rows, 0);
    agt_hour_meta m = { first_id - 1, complete, "rest", fetched_at };
    agt_status s = agt_lake_commit_hour(l, "BTCUSDT", hour, &t, &m, NULL, e);
    agt_trades_release(&t);
    return s;
}

static int checks_seen;
static int last_stage;

static int on_event(void *user, const agt_sync_event *ev)
{
    (void)user;
    if (ev->kind == AGT_SYNC_CHECKED) {
        checks_seen++;
        last_stage = ev->verify ? (int)ev->verify->stage : -1;
    }
    return 0;
}

static agt_status session(const char *root, agt_sync **s, agt_error *e)
{
    agt_sync_opts o;
    agt_sync_opts_default(&o);
    o.api_url = DEAD_URL;
    o.archive_url = DEAD_URL;
    o.on_event = on_event;
    checks_seen = 0;
    last_stage = 0;
    return agt_sync_open(root, &o, s, e);
}

static void data_path(const char *root, int64_t hour, char *p, size_t n)
{
    agt_tm tm;
    agt_tm_from_us(hour, &tm);
    snprintf(p, n, "%s/symbol=BTCUSDT/year=%d/month=%d/day=%d/BTCUSDT_%04d%02d%02d_%02d.parquet", root,
             tm.year, tm.month, tm.day, tm.year, tm.month, tm.day, tm.hour);
}

/* A new lake holding `n` complete hours of BTCUSDT from 2024-01-10 00:00 (10, 5, ... trades). */
static agt_status complete_lake(char *root, size_t size, int n, agt_error *e)
{
    agt_lake *l;
    int64_t h0 = lt_hour(2024, 1, 10, 0), id = 100;
    agt_status st = lt_open_new(root, size, &l, e);
    for (int h = 0; h < n && st == AGT_OK; h++) {
        st = commit(l, h0 + h * H, (size_t)(10 - 5 * (h % 2)), id, 1, h0 + (h + 2) * H, e);
        id += 10 - 5 * (h % 2);
    }
    if (st == AGT_OK) agt_lake_close(l);
    return st;
}

TEST(a_check_lists_every_problem_in_order)
{
    char root[512], p[1024];
    agt_lake *l;
    agt_sync *s;
    agt_error e;
    int64_t h0 = lt_hour(2024, 1, 10, 0);
    ASSERT_OK(lt_open_new(root, sizeof root, &l, &e));
    ASSERT_OK(commit(l, h0, 10, 100, 1, h0 + 2 * H, &e));              /* complete */
    ASSERT_OK(commit(l, h0 + H, 5, 110, 1, h0 + 3 * H, &e));           /* complete, deleted below */
    ASSERT_OK(commit(l, h0 + 2 * H, 4, 115, 0, h0 + 4 * H, &e));       /* ended, not proven */
    ASSERT_OK(commit(l, h0 + 3 * H, 3, 119, 0, h0 + 3 * H + H / 2, &e)); /* open when fetched */
    agt_lake_close(l);
    data_path(root, h0 + H, p, sizeof p);
    ASSERT(unlink(p) == 0);

    ASSERT_OK(session(root, &s, &e));
    agt_verify_report *r = NULL;
    ASSERT_EQ_INT(agt_sync_verify(s, "btcusdt", -1, -1, 0, &r, &e), AGT_EINCOMPLETE);
    ASSERT(r != NULL);
    ASSERT_EQ_INT(r->stage, AGT_VERIFY_STAGE_HOURS);
    ASSERT_EQ_INT(checks_seen, 2);
    ASSERT_EQ_INT(last_stage, AGT_VERIFY_STAGE_HOURS);
    ASSERT(strstr(e.message, "in the stored hours of 'BTCUSDT'") != NULL);
    ASSERT_EQ_INT(r->start_us, h0);
    ASSERT_EQ_INT(r->end_us, h0 + 4 * H - 1);
    ASSERT_EQ_INT(r->found.hours, 4);
    ASSERT_EQ_INT(r->index.nproblems, 0);
    ASSERT(r->found.nproblems >= 2);
    /* by hour: the deleted file first, named by its path */
    const agt_verify_problem *first = &r->found.problems[0];
    ASSERT_EQ_INT(first->kind, AGT_PROBLEM_MISSING);
    ASSERT_EQ_INT(first->hour_us, h0 + H);
    ASSERT(strstr(first->path, "BTCUSDT_20240110_01.parquet") != NULL);
    int incomplete = 0;
    for (size_t i = 0; i < r->found.nproblems; i++) {
        const agt_verify_problem *q = &r->found.problems[i];
        if (i) ASSERT(q->hour_us >= r->found.problems[i - 1].hour_us);
        ASSERT(q->hour_us != h0 && q->hour_us != h0 + 3 * H);
        if (q->kind == AGT_PROBLEM_INCOMPLETE && q->hour_us == h0 + 2 * H) incomplete++;
    }
    ASSERT_EQ_INT(incomplete, 1);
    ASSERT_EQ_INT(r->found.nopen, 1);
    ASSERT_EQ_INT(r->found.open_hours[0], h0 + 3 * H);
    ASSERT_EQ_INT(r->nrefetched, 0);
    ASSERT_EQ_INT(r->after.nproblems, 0);
    agt_verify_report_free(r);

    /* a range inside: only its hours */
    ASSERT_EQ_INT(agt_sync_verify(s, "BTCUSDT", h0, h0 + H - 1, 0, &r, &e), AGT_OK);
    ASSERT_EQ_INT(r->found.hours, 1);
    ASSERT_EQ_INT(r->found.nproblems, 0);
    agt_verify_report_free(r);
    agt_sync_close(s);
    struct stat st;
    ASSERT(stat(p, &st) != 0); /* a check fetches nothing and writes nothing */
    lt_cleanup(root);
}

TEST(damaged_statistics_stop_the_check_and_a_repair_rebuilds_them_without_a_request)
{
    char root[512];
    agt_sync *s;
    agt_error e;
    ASSERT_OK(complete_lake(root, sizeof root, 2, &e));
    ASSERT_OK(lt_scribble_stats(root, "BTCUSDT", "2024-01-10"));

    ASSERT_OK(session(root, &s, &e));
    agt_verify_report *r = NULL;
    ASSERT_EQ_INT(agt_sync_verify(s, "BTCUSDT", -1, -1, 0, &r, &e), AGT_EINCOMPLETE);
    ASSERT_EQ_INT(r->stage, AGT_VERIFY_STAGE_INDEX);
    ASSERT_EQ_INT(checks_seen, 1);
    ASSERT_EQ_INT(r->index.nproblems, 1);
    ASSERT_EQ_INT(r->index.problems[0].kind, AGT_PROBLEM_STATS);
    ASSERT_EQ_INT(r->index.problems[0].hour_us, -1);
    ASSERT(strstr(r->index.problems[0].path, "_2024-01-10.json") != NULL);
    ASSERT_EQ_INT(r->start_us, -1);
    agt_verify_report_free(r);

    /* derived data: rebuilt, and nothing to fetch (a request would fail: no exchange) */
    ASSERT_EQ_INT(agt_sync_verify(s, "BTCUSDT", -1, -1, 1, &r, &e), AGT_OK);
    ASSERT_EQ_INT(r->stats_rebuilt, 1);
    ASSERT_EQ_INT(r->index.nproblems, 0);
    ASSERT_EQ_INT(r->stage, AGT_VERIFY_STAGE_HOURS);
    ASSERT_EQ_INT(r->found.hours, 2);
    ASSERT_EQ_INT(r->found.nproblems, 0);
    ASSERT_EQ_INT(r->nrefetched, 0);
    agt_verify_report_free(r);
    ASSERT_EQ_INT(agt_sync_verify(s, "BTCUSDT", -1, -1, 0, &r, &e), AGT_OK);
    agt_verify_report_free(r);
    agt_sync_close(s);
    lt_cleanup(root);
}

TEST(bad_input)
{
    char root[512], none[600];
    agt_sync *s;
    agt_error e;
    int64_t h0 = lt_hour(2024, 1, 10, 0);
    ASSERT_OK(complete_lake(root, sizeof root, 1, &e));
    ASSERT_OK(session(root, &s, &e));
    agt_verify_report *r = (agt_verify_report *)1;
    ASSERT_EQ_INT(agt_sync_verify(s, "BTC/USDT", -1, -1, 1, &r, &e), AGT_EINVAL);
    ASSERT(r == NULL);
    ASSERT_EQ_INT(agt_sync_verify(s, "BTCUSDT", h0 + H, h0, 1, &r, &e), AGT_EINVAL);
    ASSERT(r == NULL && strstr(e.message, "reversed range") != NULL);
    ASSERT_EQ_INT(agt_sync_verify(s, "ETHUSDT", -1, -1, 1, &r, &e), AGT_ENOTFOUND);
    ASSERT(strstr(e.message, "nothing stored for 'ETHUSDT'") != NULL);
    agt_verify_report_free(r);
    agt_sync_close(s);
    snprintf(none, sizeof none, "%s/none", root);
    ASSERT_OK(session(none, &s, &e));
    ASSERT_EQ_INT(agt_sync_verify(s, "BTCUSDT", -1, -1, 1, &r, &e), AGT_ENOTFOUND);
    ASSERT(strstr(e.message, "no lake at") != NULL);
    agt_verify_report_free(r);
    agt_sync_close(s);
    struct stat st;
    ASSERT(stat(none, &st) != 0); /* a repair creates no lake */
    ASSERT_EQ_STR(agt_problem_name(AGT_PROBLEM_GAP), "id gap");
    ASSERT_EQ_STR(agt_problem_name(AGT_PROBLEM_OTHER), "other");
    ASSERT(agt_problem_name((agt_problem_kind)8) == NULL);
    agt_verify_report_free(NULL);
    lt_cleanup(root);
}

TEST_MAIN(TEST_REF(a_check_lists_every_problem_in_order),
          TEST_REF(damaged_statistics_stop_the_check_and_a_repair_rebuilds_them_without_a_request),
          TEST_REF(bad_input))
