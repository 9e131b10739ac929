/*
 * migrate.c - moving a lake of the first layout to this one (the names of
 * both are in layout.c; only bookkeeping files and the change feed move,
 * data files keep their names).
 *
 * A reader sees the first layout or this one, never a mix, and a crash at
 * any instant leaves a lake that the next writer finishes migrating. The
 * move has three phases; the middle one is a single rename:
 *
 *   1. link: every file of the first layout gets its new name as a second
 *      hard link (link(2): atomic, no copy; the old name stays): the WAL,
 *      each statistics file, each change file (into metadata/_changes),
 *      and each data file's previous version "<file>.prev" that a commit in
 *      flight keeps (commit.c; the walk of the data directories is paid
 *      once, by the migration). Directories are fsynced. Readers still use
 *      the old names, which are all there. A new name left by a crash in
 *      this phase is replaced.
 *   2. switch: rename metadata/schema_version=1/trades.avsc to
 *      _trades.avsc, fsync the directory. Which of the two exists is what a
 *      reader goes by (agt_lake_layout_is_legacy); from this instant it
 *      opens the new names, which phase 1 made durable.
 *   3. cleanup: remove the old names (a statistics or change file whose new
 *      name is missing is renamed instead) and the first layout's
 *      temporaries: statistics, change feed, data directories, WAL, last
 *      metadata/lock. Any writer that finds one of them left (a crash
 *      during this phase) runs it again.
 *
 * Writers of the first layout lock metadata/lock: the migration holds that
 * lock as well, so it never runs beside one.
 *
 * The names of either layout are asked of layout.c's functions through a
 * copy of the handle (only its root and `legacy` are read), so that each
 * name is spelled in one place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lake/lake_int.h"

static int exists_rel(const agt_lake *l, const char *rel)
{
    char p[AGT_LAKE_PATH_MAX];
    return agt_lake_path(l, p, sizeof p, rel, NULL) == AGT_OK && agt_lake_exists(p);
}

int agt_lake_layout_is_legacy(const agt_lake *l)
{
    return exists_rel(l, AGT_LAKE_LEGACY_AVSC) && !exists_rel(l, AGT_LAKE_AVSC);
}

static agt_status do_link(agt_lake *l, const char *from, const char *to, agt_error *err)
{
    AGT_TRY(agt_lake_unlink(l, to, err));
    if ((l->io->link ? l->io->link(l->io->ctx, from, to) : link(from, to)) != 0)
        return agt_err_sys(err, errno, "cannot link '%s' to '%s'", from, to);
    return AGT_OK;
}

static agt_status do_rename(agt_lake *l, const char *from, const char *to, agt_error *err)
{
    if (l->io->rename(l->io->ctx, from, to) != 0)
        return agt_err_sys(err, errno, "cannot rename '%s' to '%s'", from, to);
    return AGT_OK;
}

/* Phase 3 for one file: drop the old name if the new one exists, else move it there. */
static agt_status retire(agt_lake *l, const char *from, const char *to, agt_error *err)
{
    if (agt_lake_exists(to)) return agt_lake_unlink(l, from, err);
    return do_rename(l, from, to, err);
}

/* One file of a symbol's directory, named in the first layout: its new path. */
typedef int (*new_name_fn)(const agt_lake *old, const agt_lake *cur, const char *symbol,
                           const char *dir, const char *name, char *out, size_t n);

static int stats_new_name(const agt_lake *old, const agt_lake *cur, const char *symbol,
                          const char *dir, const char *name, char *out, size_t n)
{
    (void)dir;
    int64_t day;
    if (!agt_lake_stats_name_day(old, name, &day)) return 0;
    char rel[160];
    agt_lake_stats_rel(cur, symbol, day, rel, sizeof rel);
    return agt_lake_path(cur, out, n, rel, NULL) == AGT_OK;
}

static int change_new_name(const agt_lake *old, const agt_lake *cur, const char *symbol,
                           const char *dir, const char *name, char *out, size_t n)
{
    (void)dir;
    int64_t v;
    if (!agt_lake_change_name_version(old, name, &v)) return 0;
    char rel[160];
    agt_lake_change_rel(cur, symbol, v, rel, sizeof rel);
    return agt_lake_path(cur, out, n, rel, NULL) == AGT_OK;
}

/* A data file's previous version kept by a commit in flight, "<hour file>.prev". */
static int prev_new_name(const agt_lake *old, const agt_lake *cur, const char *symbol,
                         const char *dir, const char *name, char *out, size_t n)
{
    (void)old;
    (void)symbol;
    size_t k = strlen(name), sfx = strlen(".parquet." AGT_LAKE_PREV);
    if (name[0] == '.' || k <= sfx || strcmp(name + k - sfx, ".parquet." AGT_LAKE_PREV) != 0) return 0;
    char data[AGT_LAKE_PATH_MAX];
    if ((size_t)snprintf(data, sizeof data, "%s/%.*s", dir, (int)(k - strlen("." AGT_LAKE_PREV)),
                         name) >= sizeof data)
        return 0;
    return agt_lake_aside(cur, data, AGT_LAKE_PREV, out, n, NULL) == AGT_OK;
}

/* A temporary of the first layout's atomic writes ("<name>.tmp"). */
static int old_tmp(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && name[0] != '_' && n > 4 && strcmp(name + n - 4, ".tmp") == 0;
}

typedef enum { PHASE_LINK, PHASE_CLEANUP } phase;

/*
 * Every file of one symbol directory `dir` of the first layout: linked to
 * its new name (phase 1), or retired (phase 3, temporaries removed too).
 */
static agt_status each_file(agt_lake *l, const agt_lake *old, phase ph, const char *symbol,
                            const char *dir, new_name_fn new_name, agt_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return AGT_OK;
        return agt_err_sys(err, errno, "cannot list '%s'", dir);
    }
    agt_status s = AGT_OK;
    char from[AGT_LAKE_PATH_MAX], to[AGT_LAKE_PATH_MAX], new_dir[AGT_LAKE_PATH_MAX] = "";
    struct dirent *e;
    while (s == AGT_OK && (e = readdir(d)) != NULL) {
        if ((size_t)snprintf(from, sizeof from, "%s/%s", dir, e->d_name) >= sizeof from) continue;
        if (new_name(old, l, symbol, dir, e->d_name, to, sizeof to)) {
            if (!new_dir[0]) {
                snprintf(new_dir, sizeof new_dir, "%s", to);
                *strrchr(new_dir, '/') = '\0';
                s = agt_lake_mkdirs(l, new_dir, err);
            }
            if (s == AGT_OK) s = ph == PHASE_LINK ? do_link(l, from, to, err) : retire(l, from, to, err);
        } else if (ph == PHASE_CLEANUP && old_tmp(e->d_name)) {
            s = agt_lake_unlink(l, from, err);
        }
    }
    closedir(d);
    if (s == AGT_OK && new_dir[0]) s = agt_lake_fsync_dir(l, new_dir, err);
    if (s == AGT_OK && ph == PHASE_CLEANUP) s = agt_lake_fsync_dir(l, dir, err);
    return s;
}

/* each_file over every "symbol=SYM" directory of `rel` (a directory of the first layout). */
static agt_status each_symbol(agt_lake *l, const agt_lake *old, phase ph, const char *rel,
                              new_name_fn new_name, agt_error *err)
{
    char top[AGT_LAKE_PATH_MAX], dir[AGT_LAKE_PATH_MAX];
    AGT_TRY(agt_lake_path(l, top, sizeof top, rel, err));
    DIR *d = opendir(top);
    if (!d) {
        if (errno == ENOENT) return AGT_OK;
        return agt_err_sys(err, errno, "cannot list '%s'", top);
    }
    agt_status s = AGT_OK;
    struct dirent *e;
    while (s == AGT_OK && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "symbol=", 7) != 0 || !agt_symbol_valid(e->d_name + 7)) continue;
        if ((size_t)snprintf(dir, sizeof dir, "%s/%s", top, e->d_name) >= sizeof dir) continue;
        s = each_file(l, old, ph, e->d_name + 7, dir, new_name, err);
        /* the change feed's old directories go (if empty: a foreign file stays where it
           was); statistics keep theirs */
        if (s == AGT_OK && ph == PHASE_CLEANUP && new_name == change_new_name) (void)rmdir(dir);
    }
    closedir(d);
    if (s == AGT_OK && ph == PHASE_CLEANUP && new_name == change_new_name) (void)rmdir(top);
    return s;
}

/* each_file over every data directory (day=D) of every symbol: previous versions kept by
   commits in flight, and temporaries. */
static agt_status each_data_dir(agt_lake *l, const agt_lake *old, phase ph, agt_error *err)
{
    char **syms = NULL;
    size_t ns = 0;
    AGT_TRY(agt_lake_symbols(l, &syms, &ns, err));
    agt_status s = AGT_OK;
    for (size_t i = 0; i < ns && s == AGT_OK; i++) {
        int64_t *days = NULL;
        size_t nd = 0;
        s = agt_lake_data_days(l, syms[i], 0, INT64_MAX, &days, &nd, err);
        for (size_t k = 0; k < nd && s == AGT_OK; k++) {
            char rel[160], dir[AGT_LAKE_PATH_MAX];
            s = agt_lake_data_rel(l, syms[i], days[k], rel, sizeof rel, err);
            if (s != AGT_OK) break;
            *strrchr(rel, '/') = '\0';
            s = agt_lake_path(l, dir, sizeof dir, rel, err);
            if (s == AGT_OK) s = each_file(l, old, ph, syms[i], dir, prev_new_name, err);
        }
        free(days);
    }
    agt_lake_symbols_free(syms, ns);
    return s;
}

static agt_status path2(const agt_lake *l, const char *rel_a, const char *rel_b, char *a, char *b,
                        size_t n, agt_error *err)
{
    AGT_TRY(agt_lake_path(l, a, n, rel_a, err));
    return agt_lake_path(l, b, n, rel_b, err);
}

static agt_status link_phase(agt_lake *l, const agt_lake *old, agt_error *err)
{
    char a[AGT_LAKE_PATH_MAX], b[AGT_LAKE_PATH_MAX];
    AGT_TRY(each_symbol(l, old, PHASE_LINK, AGT_LAKE_LEGACY_CHANGES, change_new_name, err));
    AGT_TRY(each_symbol(l, old, PHASE_LINK, "metadata/stats", stats_new_name, err));
    AGT_TRY(each_data_dir(l, old, PHASE_LINK, err));
    AGT_TRY(path2(l, AGT_LAKE_LEGACY_WAL, AGT_LAKE_WAL, a, b, sizeof a, err));
    if (agt_lake_exists(a)) {
        AGT_TRY(do_link(l, a, b, err));
        AGT_TRY(agt_lake_path(l, a, sizeof a, "metadata/wal", err));
        AGT_TRY(agt_lake_fsync_dir(l, a, err));
    }
    /* the switch */
    AGT_TRY(path2(l, AGT_LAKE_LEGACY_AVSC, AGT_LAKE_AVSC, a, b, sizeof a, err));
    AGT_TRY(do_rename(l, a, b, err));
    AGT_TRY(agt_lake_path(l, a, sizeof a, "metadata/schema_version=1", err));
    return agt_lake_fsync_dir(l, a, err);
}

static agt_status cleanup_phase(agt_lake *l, const agt_lake *old, agt_error *err)
{
    char a[AGT_LAKE_PATH_MAX], b[AGT_LAKE_PATH_MAX];
    AGT_TRY(each_symbol(l, old, PHASE_CLEANUP, "metadata/stats", stats_new_name, err));
    AGT_TRY(each_symbol(l, old, PHASE_CLEANUP, AGT_LAKE_LEGACY_CHANGES, change_new_name, err));
    AGT_TRY(each_data_dir(l, old, PHASE_CLEANUP, err));
    AGT_TRY(path2(l, AGT_LAKE_LEGACY_WAL, AGT_LAKE_WAL, a, b, sizeof a, err));
    if (agt_lake_exists(a)) AGT_TRY(retire(l, a, b, err));
    static const char *const temps[] = {AGT_LAKE_LEGACY_WAL ".tmp", AGT_LAKE_LEGACY_AVSC ".tmp"};
    for (size_t i = 0; i < 2; i++) {
        AGT_TRY(agt_lake_path(l, a, sizeof a, temps[i], err));
        AGT_TRY(agt_lake_unlink(l, a, err));
    }
    AGT_TRY(agt_lake_path(l, a, sizeof a, "metadata/wal", err));
    AGT_TRY(agt_lake_fsync_dir(l, a, err));
    AGT_TRY(agt_lake_path(l, a, sizeof a, AGT_LAKE_LEGACY_LOCK, err));
    AGT_TRY(agt_lake_unlink(l, a, err));
    AGT_TRY(agt_lake_path(l, a, sizeof a, "metadata", err));
    return agt_lake_fsync_dir(l, a, err);
}

/* Lock the first layout's lock file, if there is one, as its writers do (-1: none). */
static agt_status lock_legacy(agt_lake *l, int *fd, agt_error *err)
{
    char p[AGT_LAKE_PATH_MAX];
    *fd = -1;
    AGT_TRY(agt_lake_path(l, p, sizeof p, AGT_LAKE_LEGACY_LOCK, err));
    int f = l->io->open(l->io->ctx, p, O_RDWR, 0);
    if (f < 0) {
        if (errno == ENOENT) return AGT_OK;
        return agt_err_sys(err, errno, "cannot open lock file '%s'", p);
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        l->io->close(l->io->ctx, f);
        if (e == EWOULDBLOCK)
            return agt_err(err, AGT_ELOCKED, "lake '%s' is locked by an older aggtrades ('%s')",
                           l->root, p);
        return agt_err_sys(err, e, "cannot lock '%s'", p);
    }
    *fd = f;
    return AGT_OK;
}

/* A copy of the handle that names files as the first layout did (the caller frees it). */
static agt_lake *legacy_view(const agt_lake *l, agt_error *err)
{
    agt_lake *old = malloc(sizeof *old);
    if (!old) {
        agt_err(err, AGT_ENOMEM, "out of memory");
        return NULL;
    }
    *old = *l;
    old->legacy = 1;
    return old;
}

agt_status agt_lake_migrate(agt_lake *l, agt_error *err)
{
    int legacy = agt_lake_layout_is_legacy(l);
    if (!legacy && !exists_rel(l, AGT_LAKE_LEGACY_LOCK) && !exists_rel(l, AGT_LAKE_LEGACY_WAL) &&
        !exists_rel(l, AGT_LAKE_LEGACY_CHANGES))
        return AGT_OK; /* this layout, nothing left of the first one */
    int fd;
    AGT_TRY(lock_legacy(l, &fd, err));
    agt_lake *old = legacy_view(l, err);
    agt_status s = old ? AGT_OK : AGT_ENOMEM;
    if (s == AGT_OK && legacy) s = link_phase(l, old, err);
    if (s == AGT_OK) s = cleanup_phase(l, old, err);
    free(old);
    if (fd >= 0) l->io->close(l->io->ctx, fd);
    return s;
}
