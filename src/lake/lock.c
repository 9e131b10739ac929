/*
 * lock.c - one writer per lake.
 *
 * The writer holds an exclusive flock(2) on <root>/metadata/_lock for as long
 * as its handle is open, and writes its pid into the file (decimal, then a
 * newline) so that a second writer can say who holds it. flock locks belong
 * to the open file description, so two handles in one process exclude each
 * other too, and the kernel drops the lock when the process dies: a stale pid
 * in the file after a crash is harmless. Readers never look at the lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lake/lake_int.h"

agt_status agt_lake_lock(agt_lake *l, agt_error *err)
{
    char p[AGT_LAKE_PATH_MAX];
    AGT_TRY(agt_lake_path(l, p, sizeof p, AGT_LAKE_LOCK, err));
    int fd = l->io->open(l->io->ctx, p, O_RDWR | O_CREAT, 0644);
    if (fd < 0) return agt_err_sys(err, errno, "cannot open lock file '%s'", p);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char buf[32] = {0};
        ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
        l->io->close(l->io->ctx, fd);
        if (e == EWOULDBLOCK) {
            long pid = r > 0 ? strtol(buf, NULL, 10) : 0;
            return agt_err(err, AGT_ELOCKED, "lake '%s' is locked by pid %ld", l->root, pid);
        }
        return agt_err_sys(err, e, "cannot lock '%s'", p);
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    agt_status s = AGT_OK;
    if (l->io->ftruncate(l->io->ctx, fd, 0) != 0)
        s = agt_err_sys(err, errno, "cannot write lock file '%s'", p);
    if (s == AGT_OK) s = agt_lake_pwrite_all(l, fd, pid, (size_t)n, 0, p, err);
    if (s != AGT_OK) {
        l->io->close(l->io->ctx, fd);
        return s;
    }
    l->lock_fd = fd;
    return AGT_OK;
}

agt_status agt_lake_writable(const agt_lake *l, agt_error *err)
{
    if (!(l->flags & AGT_LAKE_WRITE))
        return agt_err(err, AGT_EINVAL, "lake '%s' is open read-only", l->root);
    if (l->broken)
        return agt_err(err, AGT_EIO, "lake '%s' had a failed write; reopen it to recover", l->root);
    return AGT_OK;
}

void agt_lake_unlock(agt_lake *l)
{
    if (l->lock_fd < 0) return;
    /* The pid stays in the file; the lock itself goes with the descriptor. */
    l->io->close(l->io->ctx, l->lock_fd);
    l->lock_fd = -1;
}
