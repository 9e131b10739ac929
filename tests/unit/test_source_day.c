/*
 * test_source_day.c - the pure part of agt_source_fetch_day (day_stream.c):
 * an archive day's rows split into hours, prev_id chained through empty
 * hours, and exactly the hours a failed proof can touch marked unproven - a
 * whole proven day, a file cut at 09:29, a hole in the ids, an unconfirmed
 * start, the symbol's first trade, an empty file, a row outside the day -
 * and the policy names.
 */
#include <string.h>

#include "harness.h"
#include "source/day_int.h"

#define DAY INT64_C(1707523200000000) /* 2024-02-10 00:00 UTC */
#define HOUR INT64_C(3600000000)
#define MIN INT64_C(60000000)

typedef struct split {
    agt_trades hours[24];
    agt_hour_info info[24];
    uint8_t unproven[24];
} split;

/* `per_hour` trades in every hour listed in `hrs` (ids consecutive from first_id). */
static void rows_in(agt_trades *t, int64_t first_id, const int *hrs, int n, int per_hour)
{
    int64_t id = first_id;
    for (int k = 0; k < n; k++)
        for (int j = 0; j < per_hour; j++)
            agt_trades_push(t, id++, DAY + hrs[k] * HOUR + j * MIN, 100.0, 1.0, j & 1);
}

static agt_status run(const agt_trades *rows, const agt_day_proof *p, split *s)
{
    for (int h = 0; h < 24; h++) agt_trades_init(&s->hours[h]);
    return agt_day_split(rows, DAY, p, s->hours, s->info, s->unproven);
}

static void done(agt_trades *rows, split *s)
{
    agt_trades_release(rows);
    for (int h = 0; h < 24; h++) agt_trades_release(&s->hours[h]);
}

static int unproven_mask(const split *s)
{
    int m = 0;
    for (int h = 0; h < 24; h++) m |= s->unproven[h] << h;
    return m;
}

static const int ALL_BUT_7[] = { 0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                                 19, 20, 21, 22, 23 };

TEST(proven_day_chains_through_an_empty_hour)
{
    agt_trades rows;
    agt_trades_init(&rows);
    rows_in(&rows, 1000, ALL_BUT_7, 23, 10);
    agt_day_proof p = { 1, 999, DAY - 5, 1 };
    split s;
    ASSERT_OK(run(&rows, &p, &s));
    ASSERT_EQ_INT(unproven_mask(&s), 0);
    ASSERT_EQ_INT(s.info[0].prev_id, 999);
    ASSERT_EQ_INT(s.info[0].prev_ts_us, DAY - 5);
    ASSERT_EQ_INT(s.hours[7].len, 0);
    ASSERT_EQ_INT(s.info[7].prev_id, 1069); /* the last id of hour 6 */
    ASSERT_EQ_INT(s.info[8].prev_id, 1069);
    ASSERT_EQ_INT(s.hours[8].trade_id[0], 1070);
    for (int h = 0; h < 24; h++) {
        ASSERT(s.info[h].complete);
        ASSERT_EQ_INT(s.info[h].hour_start_us, DAY + h * HOUR);
    }
    ASSERT_EQ_INT(s.hours[23].len, 10);
    done(&rows, &s);
}

TEST(truncated_file_marks_the_hour_of_the_cut_and_after)
{
    agt_trades rows;
    agt_trades_init(&rows);
    const int hrs[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    rows_in(&rows, 50, hrs, 10, 29); /* the last row of hour 9 is at 09:28 */
    agt_day_proof p = { 1, 49, DAY - 1, 0 };
    split s;
    ASSERT_OK(run(&rows, &p, &s));
    ASSERT_EQ_INT(unproven_mask(&s), 0xfffe00); /* hours 9..23 */
    ASSERT(s.info[8].complete && !s.info[9].complete && !s.info[23].complete);
    ASSERT_EQ_INT(s.info[9].prev_id, AGT_SOURCE_ID_UNKNOWN);
    ASSERT_EQ_INT(s.hours[9].len, 29); /* the rows stay for the archive-only policy */
    done(&rows, &s);
}

TEST(hole_in_ids_marks_the_hours_between_its_sides)
{
    agt_trades rows;
    agt_trades_init(&rows);
    const int a[] = { 0, 1, 2, 3 }, b[] = { 5, 6 };
    rows_in(&rows, 0, a, 4, 5);
    rows_in(&rows, 25, b, 2, 5); /* ids 20..24 missing: between 03:04 and 05:00 */
    agt_day_proof p = { 1, -1, 0, 1 };
    split s;
    ASSERT_OK(run(&rows, &p, &s));
    ASSERT_EQ_INT(unproven_mask(&s), (1 << 3) | (1 << 4) | (1 << 5));
    ASSERT(s.info[0].complete);
    ASSERT_EQ_INT(s.info[0].prev_id, -1); /* id 0: the symbol's first trade */
    ASSERT_EQ_INT(s.info[0].prev_ts_us, 0);
    ASSERT(s.info[6].complete);
    ASSERT_EQ_INT(s.info[6].prev_id, 29);
    done(&rows, &s);
}

TEST(unconfirmed_start_marks_up_to_the_first_row)
{
    agt_trades rows;
    agt_trades_init(&rows);
    const int hrs[] = { 2, 3 };
    rows_in(&rows, 500, hrs, 2, 3);
    agt_day_proof p = { 0, 0, 0, 1 };
    split s;
    ASSERT_OK(run(&rows, &p, &s));
    ASSERT_EQ_INT(unproven_mask(&s), 0x7);
    ASSERT(s.info[3].complete);
    ASSERT_EQ_INT(s.info[3].prev_id, 502);
    ASSERT(s.info[4].complete);
    done(&rows, &s);
}

TEST(rows_out_of_order_leave_the_hour_they_name_and_the_rest_unproven)
{
    agt_trades rows;
    agt_trades_init(&rows);
    /* id 11 is timed in hour 1 and id 12 back in hour 0: hour 0 was handed on
     * when id 11 closed it, so the file is abandoned from there */
    agt_trades_push(&rows, 10, DAY + 5, 1, 1, 0);
    agt_trades_push(&rows, 11, DAY + HOUR + 5, 1, 1, 0);
    agt_trades_push(&rows, 12, DAY + 10, 1, 1, 0);
    agt_trades_push(&rows, 13, DAY + HOUR + 10, 1, 1, 0);
    agt_day_proof p = { 1, 9, DAY - 1, 1 };
    split s;
    ASSERT_OK(run(&rows, &p, &s));
    ASSERT_EQ_INT(unproven_mask(&s), 0xffffff);
    ASSERT(!s.info[0].complete);
    ASSERT(!s.info[2].complete);
    done(&rows, &s);
}

TEST(ids_out_of_order_inside_one_hour_are_sorted)
{
    agt_trades rows;
    agt_trades_init(&rows);
    /* inside the hour being read any order holds; a repeated id keeps its last row */
    agt_trades_push(&rows, 12, DAY + 7, 1, 1, 0);
    agt_trades_push(&rows, 10, DAY + 5, 1, 1, 0);
    agt_trades_push(&rows, 11, DAY + 6, 1, 1, 0);
    agt_trades_push(&rows, 11, DAY + 6, 2, 1, 0);
    agt_trades_push(&rows, 13, DAY + HOUR, 1, 1, 0);
    agt_day_proof p = { 1, 9, DAY - 1, 1 };
    split s;
    ASSERT_OK(run(&rows, &p, &s));
    ASSERT_EQ_INT(unproven_mask(&s), 0);
    ASSERT_EQ_INT(s.hours[0].len, 3);
    ASSERT_EQ_INT(s.hours[0].trade_id[1], 11);
    ASSERT(s.hours[0].price[1] == 2);
    ASSERT_EQ_INT(s.info[1].prev_id, 12);
    done(&rows, &s);
}

TEST(empty_file_and_rows_outside_the_day)
{
    agt_trades rows;
    agt_trades_init(&rows);
    agt_day_proof p = { 1, 5, DAY - 1, 1 };
    split s;
    ASSERT_OK(run(&rows, &p, &s));
    ASSERT_EQ_INT(unproven_mask(&s), 0xffffff);
    done(&rows, &s);
    agt_trades_push(&rows, 6, DAY + 24 * HOUR, 1, 1, 0);
    ASSERT_EQ_INT(run(&rows, &p, &s), AGT_EINVAL);
    done(&rows, &s);
}

TEST(policy_names)
{
    agt_source_policy p = AGT_SOURCE_REST;
    agt_error e;
    ASSERT_OK(agt_source_policy_parse("archive", &p, &e));
    ASSERT_EQ_INT(p, AGT_SOURCE_ARCHIVE);
    ASSERT_OK(agt_source_policy_parse("auto", &p, &e));
    ASSERT_EQ_INT(p, AGT_SOURCE_AUTO);
    ASSERT_EQ_INT(agt_source_policy_parse("Auto", &p, &e), AGT_EINVAL);
    ASSERT_EQ_STR(e.message, "invalid source 'Auto': expected auto, rest or archive");
    ASSERT_EQ_STR(agt_source_policy_name(AGT_SOURCE_REST), "rest");
    ASSERT(agt_source_policy_name((agt_source_policy)7) == NULL);
    agt_source *src = NULL;
    ASSERT_EQ_INT(agt_source_new(NULL, NULL, &src, &e), AGT_EINVAL);
    ASSERT(src == NULL);
}

TEST_MAIN(TEST_REF(proven_day_chains_through_an_empty_hour),
          TEST_REF(truncated_file_marks_the_hour_of_the_cut_and_after),
          TEST_REF(hole_in_ids_marks_the_hours_between_its_sides),
          TEST_REF(unconfirmed_start_marks_up_to_the_first_row),
          TEST_REF(rows_out_of_order_leave_the_hour_they_name_and_the_rest_unproven),
          TEST_REF(ids_out_of_order_inside_one_hour_are_sorted),
          TEST_REF(empty_file_and_rows_outside_the_day), TEST_REF(policy_names))
