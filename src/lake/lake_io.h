/*
 * lake_io.h - the table of file-system functions every write of the lake
 * goes through (after SQLite's VFS). The default is plain POSIX; tests pass
 * their own table to agt_lake_open_opts to inject ENOSPC, EIO, short writes,
 * or a "crash" after the N-th mutating call (every later call fails, as if
 * the process had died at that instant).
 *
 * Each function returns what the system call returns (-1 with errno set on
 * failure). `ctx` is the table's own pointer, passed back unchanged.
 * Reading Parquet data files goes through the Parquet reader (mmap), not
 * through this table: reads cannot damage a lake.
 */
#ifndef AGT_LAKE_IO_H
#define AGT_LAKE_IO_H

#include <stddef.h>
#include <sys/types.h>

typedef struct agt_lake_io {
    void *ctx;
    int (*open)(void *ctx, const char *path, int flags, mode_t mode);
    int (*close)(void *ctx, int fd);
    ssize_t (*pread)(void *ctx, int fd, void *buf, size_t n, off_t off);
    ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t n, off_t off);
    int (*fsync)(void *ctx, int fd);
    int (*ftruncate)(void *ctx, int fd, off_t len);
    int (*rename)(void *ctx, const char *from, const char *to);
    int (*unlink)(void *ctx, const char *path);
    int (*mkdir)(void *ctx, const char *path, mode_t mode);
    /* link(2); last so that older tables (NULL here) still work: the lake
       then calls link(2) itself */
    int (*link)(void *ctx, const char *from, const char *to);
} agt_lake_io;

/* The POSIX table (ctx unused). */
const agt_lake_io *agt_lake_io_posix(void);

#endif
