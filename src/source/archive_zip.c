/*
 * archive_zip.c - reading the CSV member of an archive zip, in pieces:
 * libzip opens the zip and reads the member's raw deflate stream, which
 * inflate.c decodes 1 MiB at a time into a window the streaming CSV parser
 * (archive_csv.c) reads, its rows handed on in batches. Neither the zip (a
 * file on disk, or a buffer the caller holds) nor the inflated CSV is ever
 * held whole. The member's CRC-32 (crc32.c) and size are checked against
 * the zip's after the last piece (AGT_ECORRUPT); a member stored with
 * another method is decompressed and checked by libzip.
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

/*
 * The window the member's CSV is written into and parsed from: the last
 * 32 KiB of it stay when it slides (a deflate match reaches that far back),
 * or the line not yet parsed if longer, then up to ZIP_CHUNK new bytes.
 */
#define WIN_HISTORY ((size_t)32 << 10)
#define WIN_CAP (WIN_HISTORY + AGT_CSV_MAX_LINE + ZIP_CHUNK + AGT_INFLATE_SLACK)

/*
 * Where the member's bytes come from: its raw deflate stream through
 * inflate.c, its CRC-32 and size checked against the zip's (a deflated
 * member, which every archive zip holds); or libzip's own decompression
 * for any other method, libzip checking the CRC when it is closed.
 */
typedef struct member_in {
    zip_file_t *f;
    agt_inflate *z;     /* NULL: libzip decompresses */
    uint8_t *in;        /* raw input for z */
    uint32_t crc;
    const zip_stat_t *st;
    const char *member;
} member_in;

/* Raw input for the decoder: what it has not read moved to the front, then more. */
static agt_status feed_raw(member_in *m, agt_error *err)
{
    agt_inflate *z = m->z;
    size_t keep = z->in_len - z->in_pos;
    memmove(m->in, m->in + z->in_pos, keep);
    zip_int64_t got = zip_fread(m->f, m->in + keep, ZIP_CHUNK);
    if (got < 0) return zip_fail(err, zip_file_get_error(m->f), m->member);
    z->in = m->in;
    z->in_pos = 0;
    z->in_len = keep + (size_t)got;
    z->in_end = got == 0;
    return AGT_OK;
}

/* Up to ZIP_CHUNK more bytes of CSV at win + *pos; *eof once all are there. */
static agt_status produce(member_in *m, uint8_t *win, size_t *pos, int *eof, agt_error *err)
{
    if (!m->z) {
        zip_int64_t got = zip_fread(m->f, win + *pos, ZIP_CHUNK);
        if (got < 0) return zip_fail(err, zip_file_get_error(m->f), m->member);
        *pos += (size_t)got;
        *eof = got == 0;
        return AGT_OK;
    }
    agt_inflate *z = m->z;
    size_t start = *pos, cap = start + ZIP_CHUNK + AGT_INFLATE_SLACK;
    while (!agt_inflate_done(z) && cap - *pos > AGT_INFLATE_SLACK) {
        if (!z->in_end && z->in_len - z->in_pos < AGT_INFLATE_IN_MARGIN) AGT_TRY(feed_raw(m, err));
        size_t before = *pos, read_before = z->in_pos;
        agt_status s = agt_inflate_run(z, win, pos, cap, err);
        if (s != AGT_OK) {
            char why[sizeof err->message];
            snprintf(why, sizeof why, "%s", err->message);
            return agt_err(err, s, "'%s': %s", m->member, why);
        }
        /* stopped with room and input: it waits for input only if more is to come */
        if (*pos == before && z->in_pos == read_before && z->in_end && !agt_inflate_done(z))
            return agt_err(err, AGT_ECORRUPT, "'%s': deflate stream ends early", m->member);
    }
    m->crc = agt_crc32(m->crc, win + start, *pos - start);
    *eof = agt_inflate_done(z);
    if (!*eof) return AGT_OK;
    if (((m->st->valid & ZIP_STAT_SIZE) && z->total_out != m->st->size) ||
        ((m->st->valid & ZIP_STAT_CRC) && m->crc != m->st->crc))
        return agt_err(err, AGT_ECORRUPT, "'%s': crc or size does not match the zip's", m->member);
    return AGT_OK;
}

/* Open the member: raw when it is deflated (and not encrypted). */
static agt_status open_member(zip_t *z, zip_uint64_t idx, const zip_stat_t *st, member_in *m,
                              agt_error *err)
{
    int raw = (st->valid & ZIP_STAT_COMP_METHOD) && st->comp_method == ZIP_CM_DEFLATE &&
              (st->valid & ZIP_STAT_ENCRYPTION_METHOD) && st->encryption_method == ZIP_EM_NONE;
    m->f = zip_fopen_index(z, idx, raw ? ZIP_FL_COMPRESSED : 0);
    if (!m->f) return zip_fail(err, zip_get_error(z), m->member);
    if (!raw) return AGT_OK;
    m->z = malloc(sizeof *m->z);
    m->in = malloc(ZIP_CHUNK + AGT_INFLATE_IN_MARGIN);
    if (!m->z || !m->in) return agt_err(err, AGT_ENOMEM, "out of memory");
    agt_inflate_init(m->z);
    return AGT_OK;
}

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
    member_in m = { .st = &st, .member = member };
    uint8_t *win = malloc(WIN_CAP);
    agt_status s = win ? open_member(z, idx, &st, &m, err) : agt_err(err, AGT_ENOMEM, "out of memory");
    size_t pos = 0, parsed = 0; /* bytes in the window; of them parsed */
    uint64_t total = 0;
    while (s == AGT_OK) {
        size_t before = pos, used = 0;
        int eof = 0;
        s = produce(&m, win, &pos, &eof, err);
        if (s != AGT_OK) break;
        total += pos - before;
        if (total > c->max_csv) {
            s = agt_err(err, AGT_ENOMEM, "'%s' is larger than the cap of %llu bytes", member,
                        (unsigned long long)c->max_csv);
            break;
        }
        agt_trades_clear(&c->batch);
        s = agt_csv_feed(&c->p, (const char *)win + parsed, pos - parsed, eof, &c->batch, &used, err);
        parsed += used;
        if (s == AGT_OK && c->batch.len) s = c->fn(c->user, &c->batch, err);
        if (s != AGT_OK || eof) break;
        size_t from = pos > WIN_HISTORY ? pos - WIN_HISTORY : 0;
        if (from > parsed) from = parsed;
        memmove(win, win + from, pos - from);
        pos -= from;
        parsed -= from;
    }
    free(win);
    free(m.in);
    free(m.z);
    if (m.f && zip_fclose(m.f) != 0 && s == AGT_OK)
        s = agt_err(err, AGT_ECORRUPT, "'%s': crc or read error while closing", member);
    if (s == AGT_EPARSE) {
        /* Name the member the line number refers to. */
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err ? err->message : "");
        agt_err(err, AGT_EPARSE, "%s %s", member, msg);
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
