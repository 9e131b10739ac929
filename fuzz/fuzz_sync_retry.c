/*
 * fuzz_sync_retry.c - the failure ledger <root>/.retry (retry_parse and
 * retry_format, src/sync/retry_file.c) on arbitrary text. Checks, on every
 * input:
 *   - every unit read has a valid symbol, a whole hour, attempts >= 0, and no
 *     two units share a symbol and hour;
 *   - the ledger written for them reads back, with no malformed line, to the
 *     same units (the time of the last failure to the second, as written),
 *     and writing those gives the same bytes again.
 * The committed corpus holds ledgers as the tool writes them (several units,
 * escapes in the error, the limits of dates and hours) and malformed lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync/sync_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_bad(void *ctx, int lineno)
{
    (void)lineno;
    (*(int *)ctx)++;
}

/* Floor of us to the second (the ledger writes whole seconds). */
static int64_t to_second(int64_t us)
{
    int64_t r = us % AGT_US_PER_SEC;
    return us - (r < 0 ? r + AGT_US_PER_SEC : r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    retry_list l, l2;
    memset(&l, 0, sizeof l);
    memset(&l2, 0, sizeof l2);
    int bad = 0;
    if (retry_parse((const char *)data, size, &l, count_bad, &bad) != AGT_OK) abort();
    for (size_t i = 0; i < l.n; i++) {
        const retry_unit *u = &l.v[i];
        if (!agt_symbol_valid(u->symbol) || u->hour_us % AGT_US_PER_HOUR != 0 || u->attempts < 0 ||
            retry_find(&l, u->symbol, u->hour_us) != (long)i)
            abort();
    }
    agt_buf b, b2;
    agt_buf_init(&b, 0);
    agt_buf_init(&b2, 0);
    if (retry_format(&l, &b) != AGT_OK) abort();
    int bad2 = 0;
    if (retry_parse((const char *)b.data, b.len, &l2, count_bad, &bad2) != AGT_OK || bad2 != 0 ||
        l2.n != l.n)
        abort();
    for (size_t i = 0; i < l.n; i++) {
        const retry_unit *u = &l.v[i], *v = &l2.v[i];
        if (strcmp(u->symbol, v->symbol) != 0 || u->hour_us != v->hour_us ||
            strcmp(u->error, v->error) != 0 || u->attempts != v->attempts ||
            to_second(u->time_us) != v->time_us)
            abort();
    }
    if (retry_format(&l2, &b2) != AGT_OK || b2.len != b.len ||
        (b.len && memcmp(b.data, b2.data, b.len) != 0))
        abort();
    agt_buf_release(&b);
    agt_buf_release(&b2);
    retry_list_release(&l);
    retry_list_release(&l2);
    return 0;
}
