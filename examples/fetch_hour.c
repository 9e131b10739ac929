/*
 * fetch_hour.c - the smallest program on the installed C library: fetch one
 * UTC hour of aggregate trades and print it as CSV, exact (doubles with 17
 * significant digits read back to the same bits).
 *
 *   cc fetch_hour.c $(pkg-config --cflags --libs aggtrades) -o fetch_hour
 *   ./fetch_hour BTCUSDT 2024-01-01 13 [API_URL]
 *
 * Output: "trade_id,ts_us,price,quantity,is_buyer_maker" then one line per
 * trade, sorted by trade id; on standard error whether the hour is proven
 * complete. Exit status 0 on success, 1 on a fetch error, 2 on bad usage.
 */
#define _DEFAULT_SOURCE /* timegm */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <aggtrades/aggtrades.h>

int main(int argc, char **argv)
{
    struct tm day = { 0 };
    int hour = -1;
    if (argc < 4 || argc > 5 ||
        sscanf(argv[2], "%4d-%2d-%2d", &day.tm_year, &day.tm_mon, &day.tm_mday) != 3 ||
        sscanf(argv[3], "%d", &hour) != 1 || hour < 0 || hour > 23) {
        fprintf(stderr, "usage: fetch_hour SYMBOL YYYY-MM-DD HOUR [API_URL]\n");
        return 2;
    }
    day.tm_year -= 1900;
    day.tm_mon -= 1;
    int64_t hour_start_us = ((int64_t)timegm(&day) + hour * 3600) * 1000000;

    agt_client_opts opts;
    agt_client_opts_default(&opts);
    if (argc == 5) opts.api_url = argv[4];

    agt_error err;
    agt_client *client = NULL;
    agt_trades trades;
    agt_hour_info info;
    agt_trades_init(&trades);
    agt_status st = agt_client_new(&opts, &client, &err);
    if (st == AGT_OK) st = agt_fetch_hour(client, argv[1], hour_start_us, &trades, &info, &err);
    if (st != AGT_OK) {
        fprintf(stderr, "fetch_hour: %s: %s\n", agt_status_name(st), err.message);
    } else {
        puts("trade_id,ts_us,price,quantity,is_buyer_maker");
        for (size_t i = 0; i < trades.len; i++)
            printf("%lld,%lld,%.17g,%.17g,%d\n", (long long)trades.trade_id[i],
                   (long long)trades.ts_us[i], trades.price[i], trades.quantity[i],
                   trades.is_buyer_maker[i]);
        fprintf(stderr, "%zu trades, %s (libaggtrades %s)\n", trades.len,
                info.complete ? "complete" : "not proven complete", agt_version());
    }
    agt_trades_release(&trades);
    agt_client_free(client);
    return st == AGT_OK ? 0 : 1;
}
