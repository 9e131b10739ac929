/*
 * test_common.c - calendar, time parsing, buffers, the trade table and
 * symbol validation.
 */
#include "common/common_int.h"
#include "harness.h"

TEST(days_from_civil_round_trip)
{
    ASSERT_EQ_INT(agt_days_from_civil(1970, 1, 1), 0);
    ASSERT_EQ_INT(agt_days_from_civil(2000, 3, 1), 11017);
    for (int64_t d = -800000; d < 800000; d += 37) {
        int64_t y;
        unsigned m, dd;
        agt_civil_from_days(d, &y, &m, &dd);
        ASSERT_EQ_INT(agt_days_from_civil(y, m, dd), d);
    }
}

TEST(date_valid_leap_years)
{
    ASSERT(agt_date_valid(2024, 2, 29));
    ASSERT(!agt_date_valid(2023, 2, 29));
    ASSERT(!agt_date_valid(1900, 2, 29));
    ASSERT(agt_date_valid(2000, 2, 29));
    ASSERT(!agt_date_valid(2023, 4, 31));
    ASSERT(!agt_date_valid(2023, 13, 1));
    ASSERT(!agt_date_valid(2023, 0, 1));
}

TEST(parse_time_forms)
{
    int64_t us;
    int date_only = -1;
    ASSERT_OK(agt_parse_time("2023-10-05", &us, &date_only, NULL));
    ASSERT_EQ_INT(date_only, 1);
    ASSERT_EQ_INT(us, INT64_C(1696464000000000));
    ASSERT_OK(agt_parse_time("2023-10-05 12:30:00.500", &us, &date_only, NULL));
    ASSERT_EQ_INT(date_only, 0);
    ASSERT_EQ_INT(us, INT64_C(1696509000500000));
    ASSERT_OK(agt_parse_time("2023-10-05T12:30:00.000001Z", &us, NULL, NULL));
    ASSERT_EQ_INT(us, INT64_C(1696509000000001));
    ASSERT_OK(agt_parse_time("2023-10-05 12:35", &us, NULL, NULL));
    ASSERT_EQ_INT(us, INT64_C(1696509300000000));
    ASSERT_OK(agt_parse_time("2024-02-29 23:59:59.999999", &us, NULL, NULL));
    ASSERT_EQ_INT(us, INT64_C(1709251199999999));
}

TEST(parse_time_rejects)
{
    int64_t us;
    agt_error e;
    agt_error_clear(&e);
    ASSERT_EQ_INT(agt_parse_time("2023-02-30", &us, NULL, &e), AGT_EINVAL);
    ASSERT(strstr(e.message, "2023-02-30") != NULL);
    ASSERT_EQ_INT(agt_parse_time("2023-1-05", &us, NULL, NULL), AGT_EINVAL);
    ASSERT_EQ_INT(agt_parse_time("2023-10-05 24:00:00", &us, NULL, NULL), AGT_EINVAL);
    ASSERT_EQ_INT(agt_parse_time("2023-10-05 12:00:00.1234567", &us, NULL, NULL), AGT_EINVAL);
    ASSERT_EQ_INT(agt_parse_time("2023-10-05 12:00:00.", &us, NULL, NULL), AGT_EINVAL);
    ASSERT_EQ_INT(agt_parse_time("2023-10-05x", &us, NULL, NULL), AGT_EINVAL);
    ASSERT_EQ_INT(agt_parse_time("", &us, NULL, NULL), AGT_EINVAL);
}

TEST(format_time)
{
    char buf[32];
    agt_format_time_us(INT64_C(1696509000500000), buf, sizeof buf);
    ASSERT_EQ_STR(buf, "2023-10-05 12:30:00.500000");
    agt_format_time_us(-1, buf, sizeof buf);
    ASSERT_EQ_STR(buf, "1969-12-31 23:59:59.999999");
}

TEST(buf_cap_is_hard)
{
    agt_buf b;
    agt_buf_init(&b, 10);
    ASSERT_OK(agt_buf_append(&b, "0123456789", 10));
    ASSERT_EQ_INT(agt_buf_putc(&b, 'x'), AGT_ENOMEM);
    ASSERT_EQ_INT(b.len, 10);
    agt_buf_release(&b);
    agt_buf_init(&b, 0);
    ASSERT_OK(agt_buf_printf(&b, "%d-%s", 42, "x"));
    ASSERT_EQ_STR((char *)b.data, "42-x");
    agt_buf_release(&b);
}

TEST(trades_sort_unique_keeps_last)
{
    agt_trades t;
    agt_trades_init(&t);
    ASSERT_OK(agt_trades_push(&t, 5, 50, 1.0, 1.0, 0));
    ASSERT_OK(agt_trades_push(&t, 3, 30, 1.0, 1.0, 0));
    ASSERT_OK(agt_trades_push(&t, 5, 50, 2.0, 1.0, 1));
    ASSERT_OK(agt_trades_push(&t, 4, 40, 1.0, 1.0, 0));
    size_t dropped;
    ASSERT_OK(agt_trades_sort_unique(&t, &dropped));
    ASSERT_EQ_INT(dropped, 1);
    ASSERT_EQ_INT(t.len, 3);
    ASSERT_EQ_INT(t.trade_id[0], 3);
    ASSERT_EQ_INT(t.trade_id[2], 5);
    ASSERT_EQ_DBL_BITS(t.price[2], 2.0);
    ASSERT_EQ_INT(t.is_buyer_maker[2], 1);
    ASSERT(agt_trades_is_sorted(&t));
    agt_trades_release(&t);
}

TEST(symbol_valid)
{
    ASSERT(agt_symbol_valid("BTCUSDT"));
    ASSERT(agt_symbol_valid("1000SATSUSDT"));
    ASSERT(!agt_symbol_valid("btcusdt"));
    ASSERT(!agt_symbol_valid("../etc"));
    ASSERT(!agt_symbol_valid("B"));
    ASSERT(!agt_symbol_valid("ABCDEFGHIJKLMNOPQRSTU"));
    ASSERT(!agt_symbol_valid(""));
    ASSERT(!agt_symbol_valid(NULL));
    /* COIN-M contracts: '_' inside, never at an end */
    ASSERT(agt_symbol_valid("BTCUSD_PERP"));
    ASSERT(agt_symbol_valid("BTCUSD_240628"));
    ASSERT(!agt_symbol_valid("_BTCUSD"));
    ASSERT(!agt_symbol_valid("BTCUSD_"));
    ASSERT(!agt_symbol_valid("_"));
}

TEST_MAIN(TEST_REF(days_from_civil_round_trip), TEST_REF(date_valid_leap_years),
          TEST_REF(parse_time_forms), TEST_REF(parse_time_rejects), TEST_REF(format_time),
          TEST_REF(buf_cap_is_hard), TEST_REF(trades_sort_unique_keeps_last),
          TEST_REF(symbol_valid))
