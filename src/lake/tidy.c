/*
 * tidy.c - clearing away what no commit owns, for verify --repair.
 *
 * Every file a commit writes goes in under a temporary name (".<name>.tmp")
 * and a merge keeps the committed version as ".<file>.prev" until it is
 * done (commit.c; the names: layout.c); recovery at open removes those of the commits it
 * finishes. Anything of the kind found while a writer holds the lake (so no
 * commit is in flight) belongs to nobody: a copy left by hand, a crash of
 * some other program, a restored backup. Verify reports them as orphans;
 * this clears them:
 *
 *   "*.tmp"                          removed: a write that never completed
 *   "*.prev"                         set aside (quarantine.c)
 *   a data file ("*.parquet", a      set aside: the hour reads as missing
 *    futures lake's "*.parq") the     and is fetched again
 *    statistics of its day do not
 *    list, and any "*.parquet" in a
 *    futures lake
 *
 * in the symbol's data directories of the range, and "*.tmp" in its
 * statistics and change directories. A day whose statistics do not load is
 * skipped: agt_lake_rebuild_stats derives them from the files first.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

/* The directory part of `rel` (without the final '/') into out. */
static void dir_of(const char *rel, char *out, size_t n)
{
    snprintf(out, n, "%s", rel);
    char *slash = strrchr(out, '/');
    if (slash) *slash = '\0';
}

/* 1 if `d` lists `rel` as an hour's data file. */
static int listed(const agt_day_stats *d, const char *rel)
{
    for (size_t k = 0; k < d->n; k++)
        if (strcmp(d->h[k].path, rel) == 0) return 1;
    return 0;
}

/*
 * Handle the leftovers of one directory (relative to the root). `day` NULL:
 * only "*.tmp" are looked at; else ".prev" and unlisted data files too, and
 * in a futures lake any ".parquet" (never its data: the spot glob would take it).
 */
static agt_status tidy_dir(agt_lake *l, const char *rel_dir, const agt_day_stats *day, size_t *n,
                           agt_error *err)
{
    char dir[AGT_LAKE_PATH_MAX];
    const char *ext = agt_lake_data_ext(l);
    AGT_TRY(agt_lake_path(l, dir, sizeof dir, rel_dir, err));
    DIR *dh = opendir(dir);
    if (!dh) return AGT_OK; /* nothing stored there */
    /* names first, then act: the directory changes under readdir otherwise */
    char (*names)[256] = NULL;
    size_t nn = 0, cap = 0;
    agt_status s = AGT_OK;
    struct dirent *e;
    while ((e = readdir(dh)) != NULL) {
        const char *nm = e->d_name;
        /* (a name set aside, ".<name>.damaged-<time>", ends otherwise: it stays) */
        if (strlen(nm) >= sizeof names[0]) continue;
        int tmp = ends_with(nm, "." AGT_LAKE_TMP);
        if (!tmp && !(day && (ends_with(nm, "." AGT_LAKE_PREV) || ends_with(nm, ext) ||
                              ends_with(nm, AGT_LAKE_SPOT_EXT))))
            continue;
        if (nn == cap) {
            size_t nc = cap ? cap * 2 : 8;
            void *nv = realloc(names, nc * sizeof *names);
            if (!nv) {
                s = agt_err(err, AGT_ENOMEM, "out of memory");
                break;
            }
            names = nv;
            cap = nc;
        }
        snprintf(names[nn++], sizeof names[0], "%s", nm);
    }
    closedir(dh);
    for (size_t i = 0; i < nn && s == AGT_OK; i++) {
        char rel[AGT_LAKE_PATH_MAX], path[AGT_LAKE_PATH_MAX], to[AGT_LAKE_PATH_MAX];
        snprintf(rel, sizeof rel, "%s/%s", rel_dir, names[i]);
        if (ends_with(names[i], "." AGT_LAKE_TMP)) {
            if ((s = agt_lake_path(l, path, sizeof path, rel, err)) == AGT_OK &&
                (s = agt_lake_unlink(l, path, err)) == AGT_OK) {
                agt_lake_notice(l, "removed the unfinished write '%s'", rel);
                (*n)++;
            }
        } else if (!ends_with(names[i], ext) || !listed(day, rel)) {
            if ((s = agt_lake_set_aside(l, rel, to, sizeof to, err)) == AGT_OK) {
                agt_lake_notice(l, "'%s' is not in the statistics index: moved aside to '%s'", rel, to);
                (*n)++;
            }
        }
    }
    free(names);
    return s;
}

agt_status agt_lake_tidy(agt_lake *lake, const char *symbol, int64_t start_us, int64_t end_us,
                         size_t *count, agt_error *err)
{
    size_t n = 0;
    if (count) *count = 0;
    if (!lake) return agt_err(err, AGT_EINVAL, "invalid argument");
    if (!(lake->flags & AGT_LAKE_WRITE))
        return agt_err(err, AGT_EINVAL, "lake '%s' is open read-only", lake->root);
    AGT_TRY(agt_lake_check_symbol(symbol, err));
    char rel[160], dir[160];
    agt_lake_stats_rel(lake, symbol, 0, rel, sizeof rel);
    dir_of(rel, dir, sizeof dir);
    AGT_TRY(tidy_dir(lake, dir, NULL, &n, err));
    agt_lake_change_rel(lake, symbol, 0, rel, sizeof rel);
    dir_of(rel, dir, sizeof dir);
    AGT_TRY(tidy_dir(lake, dir, NULL, &n, err));
    int64_t *days = NULL;
    size_t nd = 0;
    AGT_TRY(agt_lake_data_days(lake, symbol, agt_day_floor(start_us < 0 ? 0 : start_us), end_us,
                               &days, &nd, err));
    agt_status s = AGT_OK;
    for (size_t i = 0; i < nd && s == AGT_OK; i++) {
        agt_day_stats d;
        if (agt_stats_load(lake, symbol, days[i], &d, NULL) != AGT_OK) continue;
        if ((s = agt_lake_data_rel(lake, symbol, days[i], rel, sizeof rel, err)) != AGT_OK) break;
        dir_of(rel, dir, sizeof dir);
        s = tidy_dir(lake, dir, &d, &n, err);
    }
    free(days);
    if (count) *count = n;
    return s;
}
