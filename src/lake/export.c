/*
 * export.c - a window of trades as one standalone Parquet file, for handing
 * a slice of the lake to someone (`aggtrades query --output parquet`).
 *
 * Same schema and encodings as the lake's hour files (parquet.h), so every
 * engine that reads the lake reads it; its key-value metadata names the
 * symbol and the window instead of an hour and a commit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "lake/lake_int.h"
#include "parquet/parquet.h"

static agt_status write_all(int fd, const uint8_t *p, size_t n, agt_error *err)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return agt_err_sys(err, w < 0 ? errno : EIO, "cannot write the Parquet file");
        p += w;
        n -= (size_t)w;
    }
    return AGT_OK;
}

agt_status agt_lake_export_parquet(agt_lake *lake, const char *symbol, int64_t start_us,
                                   int64_t end_us, int64_t limit, int fd, int64_t *rows,
                                   agt_error *err)
{
    if (rows) *rows = 0;
    if (!lake || fd < 0) return agt_err(err, AGT_EINVAL, "invalid argument");
    AGT_TRY(agt_lake_check_symbol(symbol, err));
    agt_query *q = NULL;
    AGT_TRY(agt_lake_query_open(lake, symbol, start_us, end_us, AGT_LAKE_COL_ALL, &q, err));
    agt_trades all, batch;
    agt_trades_init(&all);
    agt_trades_init(&batch);
    agt_buf out;
    agt_buf_init(&out, 0);
    agt_status s = AGT_OK;
    int done = 0;
    while (s == AGT_OK && !done && (limit < 0 || all.len < (size_t)limit)) {
        s = agt_query_next(q, &batch, &done, err);
        size_t take = batch.len;
        if (limit >= 0 && all.len + take > (size_t)limit) take = (size_t)limit - all.len;
        for (size_t i = 0; s == AGT_OK && i < take; i++)
            s = agt_trades_push(&all, batch.trade_id[i], batch.ts_us[i], batch.price[i],
                                batch.quantity[i], batch.is_buyer_maker[i]);
        if (s == AGT_ENOMEM) s = agt_err(err, s, "out of memory");
    }
    agt_query_close(q);
    if (s == AGT_OK) {
        char v_start[24], v_end[24];
        snprintf(v_start, sizeof v_start, "%" PRId64, start_us);
        snprintf(v_end, sizeof v_end, "%" PRId64, end_us);
        const agt_pq_kv kv[] = {{"aggtrades.symbol", symbol},
                                {"aggtrades.start_us", v_start},
                                {"aggtrades.end_us", v_end},
                                {"aggtrades.writer_version", "aggtrades " AGT_VERSION}};
        agt_pq_write_opts o;
        agt_pq_write_opts_default(&o);
        o.kv = kv;
        o.n_kv = sizeof kv / sizeof kv[0];
        s = agt_pq_write_trades(&all, &o, &out, err);
    }
    if (s == AGT_OK) s = write_all(fd, out.data, out.len, err);
    if (s == AGT_OK && rows) *rows = (int64_t)all.len;
    agt_buf_release(&out);
    agt_trades_release(&batch);
    agt_trades_release(&all);
    return s;
}
