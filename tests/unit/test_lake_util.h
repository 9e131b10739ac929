/*
 * test_lake_util.h - helpers shared by the lake unit tests: scratch
 * directories, synthetic hours of trades, tree walks for leftover files.
 */
#ifndef AGT_LAKE_TEST_UTIL_H
#define AGT_LAKE_TEST_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aggtrades/aggtrades.h"
#include "common/common_int.h"

static inline void lt_rmrf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                char p[2048];
                if ((size_t)snprintf(p, sizeof p, "%s/%s", path, e->d_name) < sizeof p) lt_rmrf(p);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* A fresh scratch directory name (the directory itself does not exist yet). */
static inline void lt_tmpdir(char *out, size_t n, const char *tag)
{
    char base[64] = "/tmp/agt_lake_XXXXXX";
    if (!mkdtemp(base)) abort();
    snprintf(out, n, "%s/%s", base, tag);
}

/* A writer on a new lake in a fresh scratch directory, whose path goes into
 * root[0..n) (lt_cleanup removes it). */
static inline agt_status lt_open_new(char *root, size_t n, agt_lake **l, agt_error *e)
{
    lt_tmpdir(root, n, "data");
    return agt_lake_open(root, AGT_LAKE_WRITE, l, e);
}

static inline void lt_cleanup(const char *root)
{
    char base[1024];
    snprintf(base, sizeof base, "%s", root);
    char *s = strrchr(base, '/');
    if (s) *s = '\0';
    lt_rmrf(base);
}

/* Overwrite the statistics file of `symbol`'s day `date` (YYYY-MM-DD) with what no
 * JSON reader accepts; 0, or -1 if it cannot be written. */
static inline int lt_scribble_stats(const char *root, const char *symbol, const char *date)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/metadata/stats/symbol=%s/_%s.json", root, symbol, date);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fputs("{not json", f);
    return fclose(f) == 0 ? 0 : -1;
}

/* Count files under `dir` whose name ends with `suffix`. */
static inline int lt_count_suffix(const char *dir, const char *suffix)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[2048];
        if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= sizeof p) continue;
        struct stat st;
        if (lstat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) n += lt_count_suffix(p, suffix);
        else {
            size_t a = strlen(e->d_name), b = strlen(suffix);
            if (a >= b && strcmp(e->d_name + a - b, suffix) == 0) n++;
        }
    }
    closedir(d);
    return n;
}

static inline int64_t lt_hour(int y, int m, int d, int h)
{
    return agt_days_from_civil(y, (unsigned)m, (unsigned)d) * AGT_US_PER_DAY + h * AGT_US_PER_HOUR;
}

/*
 * n trades with ids first..first+n-1 spread evenly over the hour; price
 * depends on id and salt. Prices and quantities are the doubles of decimals
 * (one division, correctly rounded, as strtod gives), like the exchange's, so
 * their exact sums exist.
 */
static inline void lt_make_hour(agt_trades *t, int64_t hour, int64_t first, size_t n, int salt)
{
    agt_trades_clear(t);
    for (size_t i = 0; i < n; i++) {
        int64_t ts = hour + (int64_t)((AGT_US_PER_HOUR - 1) * (double)i / (double)(n > 1 ? n - 1 : 1));
        int64_t id = first + (int64_t)i;
        agt_trades_push(t, id, ts, (double)(10000 + id % 97 + 100 * salt) / 100.0,
                        (double)(1 + id % 13) / 1000.0, (int)(id & 1));
    }
}

/* Records what agt_lake_verify reports: the first 8 problems' kinds and paths. */
typedef struct lt_vrec {
    int n;
    agt_verify_kind kinds[8];
    char path[8][256];
} lt_vrec;

static inline int lt_verify_cb(void *u, agt_verify_kind k, const char *path, int64_t hour,
                               const char *msg)
{
    lt_vrec *v = u;
    (void)hour;
    (void)msg;
    if (v->n < 8) {
        v->kinds[v->n] = k;
        snprintf(v->path[v->n], sizeof v->path[0], "%s", path);
        v->n++;
    }
    return 0;
}

#endif
