/*
 * fuzz_source_zip.c - the archive's zip reader (agt_archive_read_zip in
 * archive.c: libzip over the downloaded bytes, the member streamed through the
 * CSV parser in pieces) on arbitrary bytes, as the zip of 2026-01-01 and of
 * 2017-08-17 (µs and ms rows). Checks, on every input:
 *   - a failure leaves the table unchanged and says why, with one of the
 *     statuses the contract names (AGT_ECORRUPT, AGT_EPARSE, AGT_ENOMEM);
 *   - a success appends exactly the rows the CSV parser reads from the member
 *     extracted whole (with libzip directly), in file order, and reports its
 *     size.
 * The committed corpus holds zips of genuine archive rows (the 2026-01-01
 * BTCUSDT file's first rows, deflated and stored, zip64) and broken variants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/archive_int.h"
#include "trades_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if !defined(__has_include) || !__has_include(<zip.h>)
/* Built without libzip: the reader must refuse every input, saying so. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    agt_trades t;
    agt_trades_init(&t);
    agt_error err;
    if (agt_archive_read_zip(data, size, "x.csv", 0, AGT_MARKET_SPOT, 1, &t, NULL, &err) != AGT_EUNSUPPORTED) abort();
    agt_trades_release(&t);
    return 0;
}
#else
#include <zip.h>

#define MAX_CSV ((uint64_t)4 << 20)

static const struct {
    const char *member;
    int64_t day_us;
} days[] = {
    {"BTCUSDT-aggTrades-2026-01-01.csv", INT64_C(1767225600000000)},
    {"BTCUSDT-aggTrades-2017-08-17.csv", INT64_C(1502928000000000)},
};

/* The member extracted whole with libzip, or NULL. */
static char *extract(const uint8_t *data, size_t size, const char *member, size_t *n)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(data, size, 0, &ze);
    zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
    zip_error_fini(&ze);
    if (!z) {
        zip_source_free(src);
        return NULL;
    }
    char *out = NULL;
    zip_file_t *f = zip_fopen(z, member, 0);
    if (f) {
        size_t cap = MAX_CSV + 1, len = 0;
        out = malloc(cap);
        zip_int64_t got;
        while (out && len < cap && (got = zip_fread(f, out + len, cap - len)) > 0) len += (size_t)got;
        *n = len;
        zip_fclose(f);
    }
    zip_discard(z);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t d = 0; d < sizeof days / sizeof days[0]; d++) {
        agt_trades t;
        agt_trades_init(&t);
        agt_trades_push(&t, 42, 42, 42, 42, 1);
        agt_error err;
        agt_error_clear(&err);
        uint64_t bytes = 0;
        agt_status st = agt_archive_read_zip(data, size, days[d].member, days[d].day_us,
                                             AGT_MARKET_SPOT, MAX_CSV, &t, &bytes, &err);
        if (st != AGT_OK) {
            if ((st != AGT_ECORRUPT && st != AGT_EPARSE && st != AGT_ENOMEM) || t.len != 1 ||
                t.trade_id[0] != 42 || err.message[0] == 0)
                abort();
        } else {
            size_t n = 0;
            char *csv = extract(data, size, days[d].member, &n);
            if (!csv || n != bytes) abort();
            agt_trades ref;
            agt_trades_init(&ref);
            if (agt_archive_parse_csv(csv, n, days[d].day_us, AGT_MARKET_SPOT, &ref, &err) != AGT_OK ||
                t.len != ref.len + 1 || !trades_rows_equal(&t, 1, &ref, ref.len))
                abort();
            agt_trades_release(&ref);
            free(csv);
        }
        agt_trades_release(&t);
    }
    return 0;
}
#endif
