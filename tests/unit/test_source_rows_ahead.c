/*
 * test_source_rows_ahead.c - an archive file read ahead on a thread of its
 * own (rows_ahead.c) hands the caller exactly what reading it inline does:
 * the same batches in the same order, on the calling thread, the same
 * failure of a damaged file after the same batches, and a caller that stops
 * early stops the reader.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<zip.h>)
#include <zip.h>
#define HAVE_ZIP 1
#endif
#endif

#include "harness.h"
#include "source/day_int.h"

#define DAY INT64_C(1704067200000000) /* 2024-01-01 00:00 UTC: times in ms */
#define MEMBER "BTCUSDT-aggTrades-2024-01-01.csv"
#define NROWS 200000                  /* ~12 MB of CSV: a dozen batches, more than the ring holds */

/* What a reader handed on: every batch's size, every row, and whether all
 * came on the thread that called. */
typedef struct seen {
    agt_trades rows;
    size_t sizes[64];
    size_t n;
    int stop_after;   /* fail with AGT_ECANCELLED after this many batches (0: never) */
    pthread_t caller;
    int other_thread; /* a batch came on another thread */
} seen;

static agt_status take(void *user, const agt_trades *rows, agt_error *err)
{
    seen *s = user;
    if (!pthread_equal(pthread_self(), s->caller)) s->other_thread = 1;
    if (s->n < 64) s->sizes[s->n] = rows->len;
    s->n++;
    if (agt_trades_append(&s->rows, rows) != AGT_OK) return agt_err(err, AGT_ENOMEM, "oom");
    if (s->stop_after && (int)s->n == s->stop_after) return agt_err(err, AGT_ECANCELLED, "stop");
    return AGT_OK;
}

static void seen_init(seen *s, int stop_after)
{
    memset(s, 0, sizeof *s);
    agt_trades_init(&s->rows);
    s->stop_after = stop_after;
    s->caller = pthread_self();
}

#ifdef HAVE_ZIP
/* A zip file at `path` holding NROWS spot rows of the day, one every 400 ms. */
static int write_zip(const char *path)
{
    size_t cap = (size_t)NROWS * 80, n = 0;
    char *csv = malloc(cap);
    if (!csv) return 0;
    for (int i = 0; i < NROWS; i++)
        n += (size_t)snprintf(csv + n, cap - n, "%d,42000.%02d000000,0.%05d000,%d,%d,%lld,%s,True\n",
                              1000 + i, i % 100, i % 99991, 5000 + 2 * i, 5001 + 2 * i,
                              (long long)(DAY / 1000 + (int64_t)i * 400), i & 1 ? "true" : "false");
    int err = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    zip_source_t *src = z ? zip_source_buffer(z, csv, n, 1) : NULL;
    int ok = src && zip_file_add(z, MEMBER, src, 0) >= 0 && zip_close(z) == 0;
    if (!ok) free(csv);
    return ok;
}

static void zip_of(agt_archive_zip *z, int fd)
{
    agt_archive_zip_init(z);
    z->fd = fd;
    snprintf(z->csv_name, sizeof z->csv_name, "%s", MEMBER);
    z->start_us = DAY;
    z->end_us = DAY + AGT_US_PER_DAY - 1;
    z->max_csv = (uint64_t)1 << 30;
    z->market = AGT_MARKET_SPOT;
}
#endif

TEST(ahead_hands_on_what_inline_reading_does)
{
#ifdef HAVE_ZIP
    char dir[] = "/tmp/agt_ahead_XXXXXX", path[64];
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/day.zip", dir);
    ASSERT(write_zip(path));
    int fd = open(path, O_RDONLY);
    ASSERT(fd >= 0);
    agt_archive_zip z;
    zip_of(&z, fd);
    agt_error e;
    seen inl, ahd;
    seen_init(&inl, 0);
    seen_init(&ahd, 0);
    uint64_t b1 = 0, b2 = 0;
    ASSERT_OK(agt_archive_zip_rows(&z, take, &inl, &b1, &e));
    ASSERT_OK(agt_archive_zip_rows_ahead(&z, take, &ahd, &b2, &e));
    ASSERT_EQ_INT(inl.rows.len, NROWS);
    ASSERT(inl.n > 10); /* more batches than the ring holds: the reader waited for room */
    ASSERT_EQ_INT(ahd.n, inl.n);
    ASSERT(memcmp(ahd.sizes, inl.sizes, sizeof inl.sizes) == 0);
    ASSERT_EQ_INT(ahd.rows.len, inl.rows.len);
    ASSERT(memcmp(ahd.rows.trade_id, inl.rows.trade_id, NROWS * 8) == 0);
    ASSERT(memcmp(ahd.rows.ts_us, inl.rows.ts_us, NROWS * 8) == 0);
    ASSERT(memcmp(ahd.rows.price, inl.rows.price, NROWS * 8) == 0);
    ASSERT(memcmp(ahd.rows.quantity, inl.rows.quantity, NROWS * 8) == 0);
    ASSERT(memcmp(ahd.rows.is_buyer_maker, inl.rows.is_buyer_maker, NROWS) == 0);
    ASSERT_EQ_INT(b2, b1);
    ASSERT(!ahd.other_thread);

    /* the caller stops after 3 batches: so does the reader, and fn's status comes back */
    seen stop;
    seen_init(&stop, 3);
    ASSERT_EQ_INT(agt_archive_zip_rows_ahead(&z, take, &stop, NULL, &e), AGT_ECANCELLED);
    ASSERT_EQ_INT(stop.n, 3);
    ASSERT_EQ_INT(stop.rows.len, inl.sizes[0] + inl.sizes[1] + inl.sizes[2]);

    /* the descriptor is the reader's own: the caller's may be closed right after */
    agt_trades_release(&ahd.rows);
    seen_init(&ahd, 0);
    close(fd);
    z.fd = open(path, O_RDONLY);
    ASSERT_OK(agt_archive_zip_rows_ahead(&z, take, &ahd, NULL, &e));
    ASSERT_EQ_INT(ahd.rows.len, NROWS);

    /* a damaged byte in the middle of the deflated data: the same failure after
       the same batches as inline */
    off_t size = lseek(z.fd, 0, SEEK_END);
    close(z.fd);
    int w = open(path, O_RDWR);
    ASSERT(w >= 0);
    uint8_t byte;
    ASSERT(pread(w, &byte, 1, size / 2) == 1);
    byte ^= 0x55;
    ASSERT(pwrite(w, &byte, 1, size / 2) == 1);
    close(w);
    z.fd = open(path, O_RDONLY);
    agt_trades_release(&inl.rows);
    agt_trades_release(&ahd.rows);
    seen_init(&inl, 0);
    seen_init(&ahd, 0);
    agt_error e1, e2;
    agt_status s1 = agt_archive_zip_rows(&z, take, &inl, NULL, &e1);
    agt_status s2 = agt_archive_zip_rows_ahead(&z, take, &ahd, NULL, &e2);
    ASSERT(s1 == AGT_ECORRUPT || s1 == AGT_EPARSE);
    ASSERT_EQ_INT(s2, s1);
    ASSERT_EQ_STR(e2.message, e1.message);
    ASSERT_EQ_INT(ahd.n, inl.n);
    ASSERT_EQ_INT(ahd.rows.len, inl.rows.len);
    close(z.fd);
    agt_trades_release(&inl.rows);
    agt_trades_release(&ahd.rows);
    agt_trades_release(&stop.rows);
    unlink(path);
    rmdir(dir);
#else
    fprintf(stderr, "  (built without libzip, skipped)\n");
#endif
}

TEST_MAIN(TEST_REF(ahead_hands_on_what_inline_reading_does))
