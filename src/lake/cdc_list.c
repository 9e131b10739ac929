/*
 * cdc_list.c - which change files a symbol has (cdc.c names them): their
 * versions, read from the file names alone (no file is opened), and the
 * highest version of any symbol.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lake/lake_int.h"

/*
 * The listing of a symbol's change files, cached in the handle. Change files
 * are only ever added, and adding one changes the directory's mtime, so a
 * listing stays valid while the directory's (inode, mtime) is unchanged.
 * Like git's "racily clean" index entries, a listing made less than
 * RACY_NS after the mtime it saw is not trusted (a file system with coarse
 * timestamps could add a file within the same tick): the next call lists
 * again. A poller calling read_changes(since = its last version) thus costs
 * one stat and a binary search, not a directory walk.
 */
#define RACY_NS INT64_C(2000000000)

struct agt_cdc_cache {
    char symbol[24];
    ino_t ino;
    int64_t mtime_ns, listed_ns;
    int64_t *v;
    size_t n;
};

void agt_cdc_cache_free(agt_lake *l)
{
    if (!l->cdc_cache) return;
    free(l->cdc_cache->v);
    free(l->cdc_cache);
    l->cdc_cache = NULL;
}

/* A change file name: its version. */
static int version_of(const char *nm, void *ctx, int64_t *v)
{
    return agt_lake_change_name_version(ctx, nm, v);
}

agt_status agt_cdc_versions(agt_lake *l, const char *symbol, int64_t since, int64_t **out,
                            size_t *out_n, agt_error *err)
{
    *out = NULL;
    *out_n = 0;
    char rel[96], dir[AGT_LAKE_PATH_MAX];
    agt_lake_changes_dir_rel(l, symbol, rel, sizeof rel);
    AGT_TRY(agt_lake_path(l, dir, sizeof dir, rel, err));
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT) return AGT_OK;
        return agt_err_sys(err, errno, "cannot stat '%s'", dir);
    }
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    agt_cdc_cache *c = l->cdc_cache;
    if (!c || strcmp(c->symbol, symbol) != 0 || c->ino != st.st_ino || c->mtime_ns != mtime ||
        c->listed_ns - mtime < RACY_NS) {
        int64_t now = agt_lake_now_us() * 1000;
        int64_t *v;
        size_t n;
        AGT_TRY(agt_lake_list_values(dir, version_of, l, &v, &n, err));
        l->cdc_listings++;
        if (!c && !(c = l->cdc_cache = calloc(1, sizeof *c))) {
            free(v);
            return agt_err(err, AGT_ENOMEM, "out of memory");
        }
        free(c->v);
        snprintf(c->symbol, sizeof c->symbol, "%s", symbol);
        c->ino = st.st_ino;
        c->mtime_ns = mtime;
        c->listed_ns = now;
        c->v = v;
        c->n = n;
    }
    size_t lo = 0, hi = c->n; /* first version > since */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->v[mid] <= since) lo = mid + 1;
        else hi = mid;
    }
    if (lo == c->n) return AGT_OK;
    int64_t *v = malloc((c->n - lo) * sizeof *v);
    if (!v) return agt_err(err, AGT_ENOMEM, "out of memory");
    memcpy(v, c->v + lo, (c->n - lo) * sizeof *v);
    *out = v;
    *out_n = c->n - lo;
    return AGT_OK;
}

agt_status agt_cdc_max_version(agt_lake *l, int64_t *max, agt_error *err)
{
    *max = 0;
    char dir[AGT_LAKE_PATH_MAX];
    AGT_TRY(agt_lake_path(l, dir, sizeof dir, agt_lake_changes_root(l), err));
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return AGT_OK;
        return agt_err_sys(err, errno, "cannot list '%s'", dir);
    }
    agt_status s = AGT_OK;
    struct dirent *e;
    while (s == AGT_OK && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "symbol=", 7) != 0 || !agt_symbol_valid(e->d_name + 7)) continue;
        int64_t *v = NULL;
        size_t n = 0;
        s = agt_cdc_versions(l, e->d_name + 7, 0, &v, &n, err);
        if (s == AGT_OK && n && v[n - 1] > *max) *max = v[n - 1];
        free(v);
    }
    closedir(d);
    return s;
}
