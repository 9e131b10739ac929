/*
 * archive_zip.c - reading the CSV member of an archive zip with libzip, in
 * pieces: the member is inflated 1 MiB at a time and each piece goes
 * through the streaming CSV parser (archive_csv.c), whose rows are handed
 * on in batches. Neither the zip (a file on disk, or a buffer the caller
 * holds) nor the inflated CSV is ever held whole. libzip checks the
 * member's CRC-32 when it is closed, after the last piece (AGT_ECORRUPT).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<zip.h>)
#include <zip.h>
#define AGT_HAVE_LIBZIP 1
#endif
#endif

#include "source/archive_int.h"
#include "source/source_int.h"

#define ZIP_CHUNK ((size_t)1 << 20)

void agt_archive_zip_init(agt_archive_zip *z)
{
    memset(z, 0, sizeof *z);
    z->fd = -1;
}

void agt_archive_zip_close(agt_archive_zip *z)
{
    if (z->fd >= 0) close(z->fd);
    agt_archive_zip_init(z);
}

#ifdef AGT_HAVE_LIBZIP

static agt_status zip_fail(agt_error *err, zip_error_t *ze, const char *what)
{
    agt_status s = zip_error_code_zip(ze) == ZIP_ER_MEMORY ? AGT_ENOMEM : AGT_ECORRUPT;
    const char *m = zip_error_strerror(ze);
    char low[200];
    snprintf(low, sizeof low, "%s", m ? m : "unknown error");
    if (low[0] >= 'A' && low[0] <= 'Z') low[0] = (char)(low[0] + 32);
    return agt_err(err, s, "%s: %s", what, low);
}

/* Where a piece of CSV goes: parsed into `batch`, handed to fn, emptied. */
typedef struct csv_pass {
    agt_csv p;
    uint64_t max_csv;
    agt_rows_fn fn;
    void *user;
    agt_trades batch;
} csv_pass;

/* Stream the member through the parser, one piece at a time, to c->fn. */
static agt_status read_member(zip_t *z, zip_uint64_t idx, const char *member, csv_pass *c,
                              uint64_t *csv_bytes, agt_error *err)
{
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(z, idx, 0, &st) != 0) return zip_fail(err, zip_get_error(z), "zip");
    if ((st.valid & ZIP_STAT_SIZE) && st.size > c->max_csv)
        return agt_err(err, AGT_ENOMEM, "'%s' is %llu bytes uncompressed, above the cap of %llu",
                       member, (unsigned long long)st.size, (unsigned long long)c->max_csv);
    zip_file_t *f = zip_fopen_index(z, idx, 0);
    if (!f) return zip_fail(err, zip_get_error(z), member);
    char *buf = malloc(ZIP_CHUNK + AGT_CSV_MAX_LINE + 8);
    if (!buf) {
        zip_fclose(f);
        return agt_err(err, AGT_ENOMEM, "out of memory");
    }
    agt_status s = AGT_OK;
    size_t have = 0; /* unparsed bytes at the front of buf */
    uint64_t total = 0;
    for (;;) {
        zip_int64_t got = zip_fread(f, buf + have, ZIP_CHUNK);
        if (got < 0) {
            s = zip_fail(err, zip_file_get_error(f), member);
            break;
        }
        total += (uint64_t)got;
        if (total > c->max_csv) {
            s = agt_err(err, AGT_ENOMEM, "'%s' is larger than the cap of %llu bytes", member,
                        (unsigned long long)c->max_csv);
            break;
        }
        size_t n = have + (size_t)got, used = 0;
        agt_trades_clear(&c->batch);
        s = agt_csv_feed(&c->p, buf, n, got == 0, &c->batch, &used, err);
        if (s == AGT_OK && c->batch.len) s = c->fn(c->user, &c->batch, err);
        if (s != AGT_OK || got == 0) break;
        have = n - used;
        if (have) memmove(buf, buf + used, have);
    }
    free(buf);
    if (zip_fclose(f) != 0 && s == AGT_OK)
        s = agt_err(err, AGT_ECORRUPT, "'%s': crc or read error while closing", member);
    if (s == AGT_EPARSE) {
        /* Name the member the line number refers to. */
        char m[sizeof err->message];
        snprintf(m, sizeof m, "%s", err ? err->message : "");
        agt_err(err, AGT_EPARSE, "%s %s", member, m);
    }
    if (csv_bytes) *csv_bytes = total;
    return s;
}

/* Open the zip behind `src` (taken over) and stream its member. */
static agt_status read_source(zip_source_t *src, const char *member, csv_pass *c,
                              uint64_t *csv_bytes, agt_error *err)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_t *z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!z) {
        agt_status s = zip_fail(err, &ze, "not a readable zip");
        zip_source_free(src);
        zip_error_fini(&ze);
        return s;
    }
    zip_error_fini(&ze);
    agt_status s;
    zip_int64_t idx = zip_name_locate(z, member, 0);
    if (idx < 0) {
        zip_int64_t k = zip_get_num_entries(z, 0);
        const char *first = k > 0 ? zip_get_name(z, 0, 0) : NULL;
        s = agt_err(err, AGT_ECORRUPT, "zip has no member '%s' (%lld members%s%.100s%s)", member,
                    (long long)k, first ? ", the first is '" : "", first ? first : "",
                    first ? "'" : "");
    } else {
        s = read_member(z, (zip_uint64_t)idx, member, c, csv_bytes, err);
    }
    zip_discard(z);
    return s;
}

static agt_status collect(void *user, const agt_trades *rows, agt_error *err)
{
    if (agt_trades_append(user, rows) != AGT_OK) return agt_err(err, AGT_ENOMEM, "out of memory");
    return AGT_OK;
}

agt_status agt_archive_read_zip_range(const uint8_t *zip, size_t n, const char *member,
                                      int64_t start_us, int64_t end_us, agt_market market,
                                      uint64_t max_csv, agt_trades *out, uint64_t *csv_bytes,
                                      agt_error *err)
{
    agt_trades tmp;
    csv_pass c = { .max_csv = max_csv, .fn = collect, .user = &tmp };
    AGT_TRY(agt_csv_init_range(&c.p, start_us, end_us, market, err));
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(zip, n, 0, &ze);
    if (!src) {
        agt_status s = zip_fail(err, &ze, "zip");
        zip_error_fini(&ze);
        return s;
    }
    zip_error_fini(&ze);
    agt_trades_init(&tmp);
    agt_trades_init(&c.batch);
    agt_status s = read_source(src, member, &c, csv_bytes, err);
    if (s == AGT_OK && agt_trades_append(out, &tmp) != AGT_OK)
        s = agt_err(err, AGT_ENOMEM, "out of memory");
    agt_trades_release(&c.batch);
    agt_trades_release(&tmp);
    return s;
}

agt_status agt_archive_zip_rows(const agt_archive_zip *z, agt_rows_fn fn, void *user,
                                uint64_t *csv_bytes, agt_error *err)
{
    csv_pass c = { .max_csv = z->max_csv, .fn = fn, .user = user };
    AGT_TRY(agt_csv_init_range(&c.p, z->start_us, z->end_us, z->market, err));
    /* libzip closes the stream it is given: it gets a duplicate, so the
     * file can be read again (a day's hours filled one by one) */
    int fd = z->fd >= 0 ? dup(z->fd) : -1;
    FILE *fp = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!fp) {
        if (fd >= 0) close(fd);
        return agt_err(err, AGT_EIO, "cannot reopen the downloaded archive file");
    }
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_filep_create(fp, 0, -1, &ze);
    if (!src) {
        fclose(fp);
        agt_status s = zip_fail(err, &ze, "zip");
        zip_error_fini(&ze);
        return s;
    }
    zip_error_fini(&ze);
    agt_trades_init(&c.batch);
    agt_status s = read_source(src, z->csv_name, &c, csv_bytes, err);
    agt_trades_release(&c.batch);
    return s;
}

#else /* no libzip */

agt_status agt_archive_read_zip_range(const uint8_t *zip, size_t n, const char *member,
                                      int64_t start_us, int64_t end_us, agt_market market,
                                      uint64_t max_csv, agt_trades *out, uint64_t *csv_bytes,
                                      agt_error *err)
{
    return agt_err(err, AGT_EUNSUPPORTED, "built without libzip: cannot read archive zips");
}

agt_status agt_archive_zip_rows(const agt_archive_zip *z, agt_rows_fn fn, void *user,
                                uint64_t *csv_bytes, agt_error *err)
{
    return agt_err(err, AGT_EUNSUPPORTED, "built without libzip: cannot read archive zips");
}

#endif

agt_status agt_archive_read_zip(const uint8_t *zip, size_t n, const char *member,
                                int64_t day_start_us, agt_market market, uint64_t max_csv,
                                agt_trades *out, uint64_t *csv_bytes, agt_error *err)
{
    return agt_archive_read_zip_range(zip, n, member, day_start_us,
                                      day_start_us + AGT_US_PER_DAY - 1, market, max_csv, out,
                                      csv_bytes, err);
}
