/*
 * test_lake_heal.c - a lake survives local damage: a damaged or foreign
 * file in an hour's place is set aside (kept under a hidden name) and the
 * hour committed afresh, a deleted file reads as a missing hour, a damaged
 * write-ahead log is set aside without reusing a version, and verify says
 * what it finds once per damaged thing.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "harness.h"
#include "lake/lake_int.h"
#include "test_lake_util.h"

static const agt_hour_meta proven = {-1, 1, "rest", 0};

static int scan_status(void *u, int64_t h, agt_hour_status st, const agt_file_stats *f)
{
    (void)h;
    (void)f;
    *(agt_hour_status *)u = st;
    return 0;
}

/* Status of one hour by agt_lake_scan_hours. */
static agt_hour_status hour_status(agt_lake *l, int64_t h)
{
    agt_hour_status st = (agt_hour_status)-1;
    agt_error e;
    if (agt_lake_scan_hours(l, "BTCUSDT", h, h, scan_status, &st, &e) != AGT_OK) return -1;
    return st;
}

/* Number of names in `dir` starting with `prefix`. */
static int count_prefix(const char *dir, const char *prefix)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

/* Two complete hours 12:00 and 13:00 of 2023-07-04 in a new lake (closed); their directory. */
static void two_hours(char *root, size_t n, char *dir, size_t dn, int64_t *h)
{
    agt_lake *l = NULL;
    agt_error e;
    agt_trades t;
    agt_trades_init(&t);
    *h = lt_hour(2023, 7, 4, 12);
    if (lt_open_new(root, n, &l, &e) != AGT_OK) abort();
    lt_make_hour(&t, *h, 1, 500, 0);
    if (agt_lake_commit_hour(l, "BTCUSDT", *h, &t, &proven, NULL, &e) != AGT_OK) abort();
    lt_make_hour(&t, *h + AGT_US_PER_HOUR, 501, 500, 0);
    agt_hour_meta m2 = {500, 1, "rest", 0};
    if (agt_lake_commit_hour(l, "BTCUSDT", *h + AGT_US_PER_HOUR, &t, &m2, NULL, &e) != AGT_OK) abort();
    agt_lake_close(l);
    agt_trades_release(&t);
    snprintf(dir, dn, "%s/symbol=BTCUSDT/year=2023/month=7/day=4", root);
}

static void copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    if (!a || !b) abort();
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, k, b);
    fclose(a);
    fclose(b);
}

/*
 * Another hour's file copied over 12:00: verify calls it damaged once; a
 * new commit of the hour sets it aside (a notice says where) instead of
 * merging a foreign hour's rows into it, and the lake is consistent again.
 */
TEST(foreign_file_is_set_aside_by_the_next_commit)
{
    char root[256], dir[512], f12[600], f13[600];
    int64_t h;
    two_hours(root, sizeof root, dir, sizeof dir, &h);
    snprintf(f12, sizeof f12, "%s/BTCUSDT_20230704_12.parquet", dir);
    snprintf(f13, sizeof f13, "%s/BTCUSDT_20230704_13.parquet", dir);
    copy_file(f13, f12);

    agt_lake *l = NULL;
    agt_error e;
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    lt_vrec v;
    memset(&v, 0, sizeof v);
    size_t problems = 0;
    ASSERT_OK(agt_lake_verify(l, "BTCUSDT", 0, INT64_MAX, lt_verify_cb, &v, &problems, &e));
    ASSERT_EQ_INT(problems, 1);
    ASSERT(strstr(v.path[0], "_12.parquet") != NULL);

    agt_trades t, out;
    agt_trades_init(&t);
    agt_trades_init(&out);
    lt_make_hour(&t, h, 1, 500, 0);
    agt_commit_result r;
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h, &t, &proven, &r, &e));
    ASSERT_EQ_INT(r.rows, 500); /* the fetched hour alone, not merged with 13:00's rows */
    char msg[700];
    ASSERT(agt_lake_next_notice(l, msg, sizeof msg));
    ASSERT(strstr(msg, "moved aside to") != NULL && strstr(msg, ".BTCUSDT_20230704_12.parquet.damaged-"));
    ASSERT(!agt_lake_next_notice(l, msg, sizeof msg));
    ASSERT_EQ_INT(count_prefix(dir, ".BTCUSDT_20230704_12.parquet.damaged-"), 1);
    ASSERT_OK(agt_lake_verify(l, "BTCUSDT", 0, INT64_MAX, NULL, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 0);
    ASSERT_OK(agt_lake_read_range(l, "BTCUSDT", h, h + 2 * AGT_US_PER_HOUR - 1, AGT_LAKE_COL_ALL, &out, &e));
    ASSERT_EQ_INT(out.len, 1000);
    ASSERT_EQ_INT(hour_status(l, h), AGT_HOUR_COMPLETE);
    agt_lake_close(l);
    agt_trades_release(&t);
    agt_trades_release(&out);
    lt_cleanup(root);
}

/*
 * verify --repair's primitive: a damaged hour is set aside and recorded as
 * lost (incomplete, still in the stored range), then committed again:
 * exact, nothing left over.
 */
TEST(quarantine_hour_then_commit_again)
{
    char root[256], dir[512], f12[600];
    int64_t h;
    two_hours(root, sizeof root, dir, sizeof dir, &h);
    snprintf(f12, sizeof f12, "%s/BTCUSDT_20230704_12.parquet", dir);
    ASSERT(truncate(f12, 0) == 0); /* zero-length */

    agt_lake *l = NULL;
    agt_error e;
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));
    char moved[256];
    ASSERT_EQ_INT(agt_lake_quarantine_hour(l, "BTCUSDT", h, moved, sizeof moved, &e), AGT_EINVAL);
    agt_lake_close(l);
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    ASSERT_OK(agt_lake_quarantine_hour(l, "BTCUSDT", h, moved, sizeof moved, &e));
    ASSERT(strstr(moved, "day=4/.BTCUSDT_20230704_12.parquet.damaged-") != NULL);
    struct stat st;
    ASSERT(stat(f12, &st) != 0);
    ASSERT_EQ_INT(hour_status(l, h), AGT_HOUR_INCOMPLETE); /* lost: to be fetched again */
    ASSERT_EQ_INT(hour_status(l, h + AGT_US_PER_HOUR), AGT_HOUR_COMPLETE); /* no gap: unknown */
    int64_t oldest = -1;
    ASSERT_OK(agt_lake_oldest(l, "BTCUSDT", &oldest, NULL, NULL, &e));
    ASSERT_EQ_INT(oldest, h); /* the stored range keeps the hour */
    size_t problems = 9;
    ASSERT_OK(agt_lake_verify(l, "BTCUSDT", 0, INT64_MAX, NULL, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 0); /* the set-aside file is no orphan */
    agt_trades t;
    agt_trades_init(&t);
    lt_make_hour(&t, h, 1, 500, 0);
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h, &t, &proven, NULL, &e));
    ASSERT_EQ_INT(hour_status(l, h), AGT_HOUR_COMPLETE);
    ASSERT_OK(agt_lake_verify(l, "BTCUSDT", 0, INT64_MAX, NULL, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 0);
    agt_lake_close(l);
    agt_trades_release(&t);
    lt_cleanup(root);
}

/* A deleted file: the hour is missing for the scan (so it is fetched, not
   skipped), and statistics never answer for it. */
TEST(deleted_file_is_a_missing_hour)
{
    char root[256], dir[512], f13[600];
    int64_t h;
    two_hours(root, sizeof root, dir, sizeof dir, &h);
    snprintf(f13, sizeof f13, "%s/BTCUSDT_20230704_13.parquet", dir);
    ASSERT(unlink(f13) == 0);
    agt_lake *l = NULL;
    agt_error e;
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));
    ASSERT_EQ_INT(hour_status(l, h), AGT_HOUR_COMPLETE);
    ASSERT_EQ_INT(hour_status(l, h + AGT_US_PER_HOUR), AGT_HOUR_MISSING);
    agt_range_stats rs;
    ASSERT_EQ_INT(agt_lake_query_stats(l, "BTCUSDT", h, h + 2 * AGT_US_PER_HOUR - 1, &rs, &e), AGT_ECORRUPT);
    ASSERT(strstr(e.message, "_13.parquet") != NULL);
    ASSERT_OK(agt_lake_query_stats(l, "BTCUSDT", h, h + AGT_US_PER_HOUR - 1, &rs, &e));
    ASSERT_EQ_INT(rs.count, 500);
    ASSERT_EQ_INT(rs.files_from_stats, 1);
    agt_lake_close(l);
    lt_cleanup(root);
}

/*
 * A damaged log header: verify reports it; the next writer sets it aside
 * with a notice, and its next version is above every version on disk.
 */
TEST(damaged_wal_is_set_aside)
{
    char root[256], dir[512], wal[600], waldir[600];
    int64_t h;
    two_hours(root, sizeof root, dir, sizeof dir, &h);
    snprintf(waldir, sizeof waldir, "%s/metadata/wal", root);
    snprintf(wal, sizeof wal, "%s/" AGT_LAKE_WAL, root);
    int fd = open(wal, O_WRONLY);
    ASSERT(fd >= 0);
    ASSERT(pwrite(fd, "garbage!", 8, 0) == 8);
    close(fd);

    agt_lake *l = NULL;
    agt_error e;
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));
    lt_vrec v;
    memset(&v, 0, sizeof v);
    size_t problems = 0;
    ASSERT_OK(agt_lake_verify(l, NULL, 0, INT64_MAX, lt_verify_cb, &v, &problems, &e));
    ASSERT_EQ_INT(problems, 1);
    ASSERT_EQ_INT(v.kinds[0], AGT_VERIFY_WAL);
    ASSERT_EQ_STR(v.path[0], AGT_LAKE_WAL);
    agt_lake_close(l);

    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    char msg[700];
    ASSERT(agt_lake_next_notice(l, msg, sizeof msg));
    ASSERT(strstr(msg, "damaged header") != NULL && strstr(msg, "moved aside") != NULL);
    ASSERT_EQ_INT(count_prefix(waldir, "._wal.log.damaged-"), 1);
    ASSERT_OK(agt_lake_verify(l, NULL, 0, INT64_MAX, NULL, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 0);
    agt_trades t;
    agt_trades_init(&t);
    lt_make_hour(&t, h + 2 * AGT_US_PER_HOUR, 1001, 10, 0);
    agt_commit_result r;
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h + 2 * AGT_US_PER_HOUR, &t, NULL, &r, &e));
    ASSERT_EQ_INT(r.version, 3); /* versions 1 and 2 are on disk: never used twice */
    agt_lake_close(l);

    /* a deleted log too: the new one starts above the change feed */
    ASSERT(unlink(wal) == 0);
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    lt_make_hour(&t, h + 3 * AGT_US_PER_HOUR, 1011, 10, 0);
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h + 3 * AGT_US_PER_HOUR, &t, NULL, &r, &e));
    ASSERT_EQ_INT(r.version, 4);
    agt_lake_close(l);

    /* a sound header, but a pending commit whose record checks and does not decode
       (a BEGIN holding only its key): set aside the same way */
    uint8_t img[32 + 16 + 16 + 8];
    memset(img, 0, sizeof img);
    memcpy(img, "AGTWAL01", 8);
    agt_le32(img + 8, 1);
    agt_le32(img + 12, 32);
    agt_le64(img + 16, 4);
    agt_le64(img + 24, XXH64(img, 24, 0));
    uint8_t *rec = img + 32;
    agt_le32(rec, AGT_WAL_BEGIN);
    agt_le32(rec + 4, 16);
    agt_le64(rec + 8, 5);
    rec[16] = 7;
    memcpy(rec + 17, "BTCUSDT", 7);
    agt_le64(rec + 24, (uint64_t)h);
    agt_le64(rec + 32, XXH64(rec, 32, 0));
    fd = open(wal, O_WRONLY | O_TRUNC);
    ASSERT(fd >= 0 && write(fd, img, sizeof img) == (ssize_t)sizeof img);
    close(fd);
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_READ, &l, &e));
    ASSERT_OK(agt_lake_verify(l, NULL, 0, INT64_MAX, NULL, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 1);
    agt_lake_close(l);
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    ASSERT(agt_lake_next_notice(l, msg, sizeof msg));
    ASSERT(strstr(msg, "does not decode") != NULL);
    ASSERT_EQ_INT(count_prefix(waldir, "._wal.log.damaged-"), 2);
    lt_make_hour(&t, h + 4 * AGT_US_PER_HOUR, 1021, 10, 0);
    ASSERT_OK(agt_lake_commit_hour(l, "BTCUSDT", h + 4 * AGT_US_PER_HOUR, &t, NULL, &r, &e));
    ASSERT_EQ_INT(r.version, 5);
    agt_lake_close(l);
    agt_trades_release(&t);
    lt_cleanup(root);
}

/* Leftovers no commit owns: verify names each, tidy clears them (temporaries
   removed, the rest set aside), and verify passes. */
TEST(tidy_clears_leftovers)
{
    char root[256], dir[512], f12[600], p[700];
    int64_t h;
    two_hours(root, sizeof root, dir, sizeof dir, &h);
    snprintf(f12, sizeof f12, "%s/BTCUSDT_20230704_12.parquet", dir);
    snprintf(p, sizeof p, "%s/.BTCUSDT_20230704_12.parquet.tmp", dir);
    copy_file(f12, p);
    snprintf(p, sizeof p, "%s/.BTCUSDT_20230704_12.parquet.prev", dir);
    copy_file(f12, p);
    snprintf(p, sizeof p, "%s/BTCUSDT_20230704_20.parquet", dir); /* an hour the index lacks */
    copy_file(f12, p);
    agt_lake *l = NULL;
    agt_error e;
    ASSERT_OK(agt_lake_open(root, AGT_LAKE_WRITE, &l, &e));
    size_t problems = 0, n = 0;
    ASSERT_OK(agt_lake_verify(l, "BTCUSDT", 0, INT64_MAX, NULL, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 3);
    ASSERT_OK(agt_lake_tidy(l, "BTCUSDT", 0, INT64_MAX, &n, &e));
    ASSERT_EQ_INT(n, 3);
    int notices = 0;
    char msg[700];
    while (agt_lake_next_notice(l, msg, sizeof msg)) notices++;
    ASSERT_EQ_INT(notices, 3);
    ASSERT_EQ_INT(count_prefix(dir, ".BTCUSDT_20230704_12.parquet.prev.damaged-"), 1);
    ASSERT_EQ_INT(count_prefix(dir, ".BTCUSDT_20230704_20.parquet.damaged-"), 1);
    ASSERT_EQ_INT(lt_count_suffix(root, ".tmp"), 0);
    ASSERT_OK(agt_lake_verify(l, "BTCUSDT", 0, INT64_MAX, NULL, NULL, &problems, &e));
    ASSERT_EQ_INT(problems, 0);
    ASSERT_OK(agt_lake_tidy(l, "BTCUSDT", 0, INT64_MAX, &n, &e));
    ASSERT_EQ_INT(n, 0); /* nothing left the second time */
    agt_lake_close(l);
    lt_cleanup(root);
}

TEST_MAIN(TEST_REF(foreign_file_is_set_aside_by_the_next_commit),
          TEST_REF(quarantine_hour_then_commit_again), TEST_REF(deleted_file_is_a_missing_hour),
          TEST_REF(damaged_wal_is_set_aside), TEST_REF(tidy_clears_leftovers))
