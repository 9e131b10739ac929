/*
 * fuzz_parquet_reader.c - fuzz target for the Parquet reader: open the input
 * as an in-memory file, then read every column, a full and a narrow time
 * range, an id look-up with and without the bloom filter, bloom probes and
 * statistics. Any status is acceptable; crashes, leaks and out-of-bounds
 * reads are not.
 */
#include <stdint.h>
#include <stdlib.h>

#include "parquet/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    agt_pq_file *f;
    agt_error e;
    if (agt_pq_open_mem(data, size, &f, &e) != AGT_OK) return 0;
    int64_t n = agt_pq_num_rows(f);
    if (n > 0 && n <= 1000000) {
        for (size_t c = 0; c < agt_pq_num_columns(f); c++) {
            if (agt_pq_column_type(f, (int)c) == AGT_PQ_STRING) {
                agt_buf b;
                agt_buf_init(&b, 1 << 24);
                size_t *offs = malloc((size_t)n * sizeof *offs);
                if (offs) agt_pq_read_strings(f, (int)c, 0, n, &b, offs, &e);
                free(offs);
                agt_buf_release(&b);
            } else {
                void *out = malloc((size_t)n * 8);
                if (out) agt_pq_read_column(f, (int)c, 0, n, out, &e);
                if (out && n > 2) agt_pq_read_column(f, (int)c, n / 2, 1, out, &e);
                free(out);
            }
            int maybe;
            agt_pq_bloom_check(f, (int)c, 42, &maybe, &e);
            int64_t mn, mx;
            agt_pq_int64_stats(f, (int)c, &mn, &mx);
        }
        agt_trades t;
        agt_trades_init(&t);
        agt_pq_read_trades(f, INT64_MIN, INT64_MAX, AGT_COL_ALL, &t, &e);
        int64_t id = t.len ? t.trade_id[t.len / 2] : 7;
        int64_t ts = t.len ? t.ts_us[t.len / 2] : 0;
        agt_trades_clear(&t);
        agt_pq_read_trades(f, ts, ts + 1000, AGT_COL_PRICE, &t, &e);
        int found, pages;
        agt_pq_find_trade(f, id, 1, &t, &found, &pages, &e);
        agt_pq_find_trade(f, id + 1, 0, &t, &found, &pages, &e);
        agt_trades_release(&t);
    }
    agt_pq_kv_get(f, "symbol");
    agt_pq_close(f);
    return 0;
}
