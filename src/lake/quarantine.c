/*
 * quarantine.c - setting damaged files aside, and telling the caller so.
 *
 * A lake heals by fetching again what it lost, but it never destroys what
 * it cannot read: a damaged or foreign file in an hour's place, a damaged
 * write-ahead log, is renamed within its own directory to
 *
 *   .<name>.damaged-<YYYYMMDDTHHMMSSZ>[-<n>]   (<name>.damaged-... if <name> is hidden)
 *
 * (UTC time of the move; -2, -3, ... if that name is taken). The leading
 * '.' hides it from dataset readers that list directories (pyarrow and
 * Spark skip names starting with '.' or '_'), and it does not end in
 * ".parquet", so neither a "*.parquet" glob (DuckDB, polars) nor the lake
 * itself (its listings, verify's orphan check) ever reads it again. It
 * stays for a person to inspect or delete. Each move is a rename(2) through the I/O table followed
 * by an fsync of the directory.
 *
 * The library never prints: what it had to do on its own (a file or a log
 * set aside) is queued as a notice on the handle, which the caller drains
 * with agt_lake_next_notice and shows as a warning.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lake/lake_int.h"

void agt_lake_notice(agt_lake *l, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* best effort: a notice lost to out of memory leaves the lake as correct */
    (void)agt_buf_append(&l->notices, msg, strlen(msg) + 1);
}

int agt_lake_next_notice(agt_lake *lake, char *buf, size_t n)
{
    if (!lake || lake->notice_off >= lake->notices.len) return 0;
    const char *m = (const char *)lake->notices.data + lake->notice_off;
    size_t len = strlen(m);
    if (buf && n) snprintf(buf, n, "%s", m);
    lake->notice_off += len + 1;
    if (lake->notice_off >= lake->notices.len) lake->notices.len = lake->notice_off = 0;
    return 1;
}

agt_status agt_lake_set_aside(agt_lake *l, const char *rel, char *moved, size_t n, agt_error *err)
{
    char from[AGT_LAKE_PATH_MAX], to[AGT_LAKE_PATH_MAX], dir[AGT_LAKE_PATH_MAX], stamp[24];
    AGT_TRY(agt_lake_path(l, from, sizeof from, rel, err));
    const char *base = strrchr(rel, '/');
    size_t dlen = base ? (size_t)(base - rel) + 1 : 0; /* the directory part, '/' included */
    base = base ? base + 1 : rel;
    agt_tm tm;
    agt_tm_from_us(agt_lake_now_us(), &tm);
    snprintf(stamp, sizeof stamp, "%04d%02d%02dT%02d%02d%02dZ", tm.year, tm.month, tm.day, tm.hour,
             tm.minute, tm.second);
    char nrel[AGT_LAKE_PATH_MAX];
    for (int k = 1;; k++) {
        char suffix[16] = "";
        if (k > 1) snprintf(suffix, sizeof suffix, "-%d", k);
        /* (a hidden name, such as a previous version's, keeps its one '.') */
        if ((size_t)snprintf(nrel, sizeof nrel, "%.*s%s%s.damaged-%s%s", (int)dlen, rel,
                             base[0] == '.' ? "" : ".", base, stamp, suffix) >= sizeof nrel)
            return agt_err(err, AGT_EINVAL, "path too long '%s'", rel);
        AGT_TRY(agt_lake_path(l, to, sizeof to, nrel, err));
        if (!agt_lake_exists(to)) break;
        if (k == 1000) return agt_err(err, AGT_EIO, "no free name to set '%s' aside", from);
    }
    if (l->io->rename(l->io->ctx, from, to) != 0) {
        if (errno == ENOENT) return agt_err(err, AGT_ENOTFOUND, "no such file '%s'", from);
        return agt_err_sys(err, errno, "cannot move '%s' aside to '%s'", from, to);
    }
    snprintf(dir, sizeof dir, "%s", to);
    *strrchr(dir, '/') = '\0';
    AGT_TRY(agt_lake_fsync_dir(l, dir, err));
    if (moved && n) snprintf(moved, n, "%s", nrel);
    return AGT_OK;
}
