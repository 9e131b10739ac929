/*
 * fuzz_lake_stats.c - the strict statistics JSON reader (stats.c) on
 * arbitrary bytes: it must accept or refuse, never crash, and whatever it
 * accepts must serialise and parse back to the same entries.
 */
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    agt_day_stats d, d2;
    char sym[32], sym2[32];
    agt_error e;
    if (agt_stats_parse((const char *)data, size, &d, sym, sizeof sym, &e) != AGT_OK) return 0;
    agt_buf b;
    agt_buf_init(&b, 0);
    if (agt_stats_format(sym, &d, &b) == AGT_OK) {
        if (agt_stats_parse((const char *)b.data, b.len, &d2, sym2, sizeof sym2, &e) != AGT_OK ||
            d2.n != d.n || strcmp(sym, sym2) != 0)
            abort();
        for (size_t i = 0; i < d.n; i++)
            if (d.h[i].rows != d2.h[i].rows || d.h[i].hour_start_us != d2.h[i].hour_start_us ||
                d.h[i].checksum != d2.h[i].checksum)
                abort();
    }
    agt_buf_release(&b);
    return 0;
}
