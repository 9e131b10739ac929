/*
 * fuzz_lake_wal.c - WAL replay (wal.c) on arbitrary bytes: the header check,
 * the record walk that stops at the first torn or bad record, and the
 * decoding of every record it accepts. Must never crash or over-read.
 */
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int visit(void *user, uint32_t type, int64_t version, const uint8_t *p, size_t n,
                 uint64_t off)
{
    (void)user;
    (void)off;
    char sym[24];
    int64_t hour;
    uint64_t nrows;
    size_t roff;
    if (type == AGT_WAL_BEGIN) {
        agt_wal_begin b;
        memset(&b, 0, sizeof b);
        agt_trades_init(&b.rows);
        (void)agt_wal_decode_begin(p, n, version, &b, NULL);
        agt_wal_begin_release(&b);
    } else if (type == AGT_WAL_STASH) {
        if (agt_wal_decode_key(p, n, sym, &hour, &nrows, &roff, NULL) == AGT_OK) {
            agt_trades t;
            agt_trades_init(&t);
            (void)agt_wal_decode_rows(p + roff, n - roff, nrows, &t, NULL);
            agt_trades_release(&t);
        }
    } else {
        (void)agt_wal_decode_key(p, n, sym, &hour, NULL, NULL, NULL);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t base, end;
    if (agt_wal_parse(data, size, &base, &end, visit, NULL, NULL) == AGT_OK && end > size) abort();
    return 0;
}
