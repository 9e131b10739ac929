/*
 * faulty_io.h - a lake I/O table that "crashes" at its N-th mutating call
 * (write, fsync, truncate, rename, unlink, mkdir, link): that call fails
 * (or, in short-write mode, writes half its bytes) and, if sticky, every
 * later one fails too, as if the process had died there. Shared by the
 * crash tests of the lake.
 */
#ifndef AGT_FAULTY_IO_H
#define AGT_FAULTY_IO_H

#include <errno.h>
#include <string.h>

#include "lake/lake_int.h"

typedef struct faulty {
    long armed_at;   /* crash at this mutating call number (1-based); 0 = never */
    long calls;      /* mutating calls seen since arming */
    int crashed;
    int short_write; /* the crashing pwrite writes half its bytes first */
    int fail_errno;  /* errno of the failure (EIO, ENOSPC) */
    int sticky;      /* 1: everything after fails too (a crash); 0: only that call */
    const char *stop_after; /* not NULL: crash right after a rename onto a name ending so */
} faulty;

static inline int hit(faulty *f)
{
    if (f->crashed && f->sticky) {
        errno = f->fail_errno;
        return 1;
    }
    if (!f->armed_at) return 0;
    if (++f->calls == f->armed_at) {
        f->crashed = 1;
        errno = f->fail_errno;
        return 1;
    }
    return 0;
}

static inline int f_open(void *c, const char *p, int fl, mode_t m)
{
    return agt_lake_io_posix()->open(NULL, p, fl, m);
}
static inline int f_close(void *c, int fd) { return agt_lake_io_posix()->close(NULL, fd); }
static inline ssize_t f_pread(void *c, int fd, void *b, size_t n, off_t o)
{
    return agt_lake_io_posix()->pread(NULL, fd, b, n, o);
}
static inline ssize_t f_pwrite(void *c, int fd, const void *b, size_t n, off_t o)
{
    faulty *f = c;
    int was = f->crashed;
    if (hit(f)) {
        if (!was && f->short_write && n > 1) {
            int e = errno;
            (void)agt_lake_io_posix()->pwrite(NULL, fd, b, n / 2, o);
            errno = e;
        }
        return -1;
    }
    return agt_lake_io_posix()->pwrite(NULL, fd, b, n, o);
}
static inline int f_fsync(void *c, int fd) { return hit(c) ? -1 : agt_lake_io_posix()->fsync(NULL, fd); }
static inline int f_ftruncate(void *c, int fd, off_t n)
{
    return hit(c) ? -1 : agt_lake_io_posix()->ftruncate(NULL, fd, n);
}
static inline int f_rename(void *c, const char *a, const char *b)
{
    faulty *f = c;
    if (hit(f)) return -1;
    int r = agt_lake_io_posix()->rename(NULL, a, b);
    size_t n = strlen(b), k = f->stop_after ? strlen(f->stop_after) : 0;
    if (r == 0 && k && n >= k && strcmp(b + n - k, f->stop_after) == 0) {
        f->crashed = 1; /* this call took effect; the process "dies" right after it */
        f->sticky = 1;
        f->fail_errno = EIO;
    }
    return r;
}
static inline int f_unlink(void *c, const char *p) { return hit(c) ? -1 : agt_lake_io_posix()->unlink(NULL, p); }
static inline int f_mkdir(void *c, const char *p, mode_t m)
{
    return hit(c) ? -1 : agt_lake_io_posix()->mkdir(NULL, p, m);
}
static inline int f_link(void *c, const char *a, const char *b)
{
    return hit(c) ? -1 : agt_lake_io_posix()->link(NULL, a, b);
}

/* The options of a lake whose I/O goes through `io`, a fault table over `f`. */
static inline void faulty_opts(faulty *f, agt_lake_io *io, agt_lake_opts *o)
{
    const agt_lake_io t = {f, f_open, f_close, f_pread, f_pwrite, f_fsync,
                           f_ftruncate, f_rename, f_unlink, f_mkdir, f_link};
    *io = t;
    agt_lake_opts_default(o);
    o->io = io;
}

#endif
