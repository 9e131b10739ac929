/*
 * io.c - the POSIX I/O table and the few file idioms the lake is built on:
 * write everything, fsync a file and its directory, mkdir -p, and the
 * atomic replace (write ".<name>.tmp", fsync, rename, fsync the directory)
 * that lets readers never see a half-written file.
 *
 * Every mutating call goes through l->io so that tests can fail or "crash"
 * any one of them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lake/lake_int.h"

static int px_open(void *c, const char *p, int f, mode_t m) { (void)c; return open(p, f | O_CLOEXEC, m); }
static int px_close(void *c, int fd) { (void)c; return close(fd); }
static ssize_t px_pread(void *c, int fd, void *b, size_t n, off_t o) { (void)c; return pread(fd, b, n, o); }
static ssize_t px_pwrite(void *c, int fd, const void *b, size_t n, off_t o) { (void)c; return pwrite(fd, b, n, o); }
static int px_fsync(void *c, int fd) { (void)c; return fsync(fd); }
static int px_ftruncate(void *c, int fd, off_t n) { (void)c; return ftruncate(fd, n); }
static int px_rename(void *c, const char *a, const char *b) { (void)c; return rename(a, b); }
static int px_unlink(void *c, const char *p) { (void)c; return unlink(p); }
static int px_mkdir(void *c, const char *p, mode_t m) { (void)c; return mkdir(p, m); }
static int px_link(void *c, const char *a, const char *b) { (void)c; return link(a, b); }

static const agt_lake_io posix_io = {NULL,      px_open,      px_close,  px_pread,  px_pwrite,
                                     px_fsync,  px_ftruncate, px_rename, px_unlink, px_mkdir,
                                     px_link};

const agt_lake_io *agt_lake_io_posix(void) { return &posix_io; }

int64_t agt_lake_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * AGT_US_PER_SEC + ts.tv_nsec / 1000;
}

int agt_lake_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

agt_status agt_lake_pwrite_all(agt_lake *l, int fd, const void *p, size_t n, uint64_t off,
                               const char *path, agt_error *err)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = l->io->pwrite(l->io->ctx, fd, b, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR) continue;
            return agt_err_sys(err, errno, "cannot write '%s'", path);
        }
        if (w == 0) return agt_err_sys(err, EIO, "cannot write '%s'", path);
        b += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return AGT_OK;
}

agt_status agt_lake_fsync(agt_lake *l, int fd, const char *path, agt_error *err)
{
    if (l->no_fsync) return AGT_OK;
    if (l->io->fsync(l->io->ctx, fd) != 0) return agt_err_sys(err, errno, "cannot fsync '%s'", path);
    return AGT_OK;
}

agt_status agt_lake_fsync_dir(agt_lake *l, const char *dir, agt_error *err)
{
    if (l->no_fsync) return AGT_OK;
    int fd = l->io->open(l->io->ctx, dir, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) return agt_err_sys(err, errno, "cannot open directory '%s'", dir);
    agt_status s = AGT_OK;
    if (l->io->fsync(l->io->ctx, fd) != 0) s = agt_err_sys(err, errno, "cannot fsync '%s'", dir);
    l->io->close(l->io->ctx, fd);
    return s;
}

static void parent_of(const char *path, char *out, size_t n)
{
    snprintf(out, n, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash == out) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else snprintf(out, n, ".");
}

agt_status agt_lake_mkdirs(agt_lake *l, const char *path, agt_error *err)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return AGT_OK;
        return agt_err(err, AGT_EIO, "'%s' exists and is not a directory", path);
    }
    char parent[AGT_LAKE_PATH_MAX];
    parent_of(path, parent, sizeof parent);
    if (strcmp(parent, path) != 0 && strcmp(parent, ".") != 0 && strcmp(parent, "/") != 0)
        AGT_TRY(agt_lake_mkdirs(l, parent, err));
    if (l->io->mkdir(l->io->ctx, path, 0777) != 0 && errno != EEXIST)
        return agt_err_sys(err, errno, "cannot create directory '%s'", path);
    return agt_lake_fsync_dir(l, parent, err);
}

/*
 * keep_prev: before the rename, give the file being replaced a second name
 * ".<name>.prev" (a hard link: atomic, no copy), made durable before the
 * rename, so that the version the statistics index still names stays
 * readable until the commit replacing it is complete (commit.c). A stale
 * ".<name>.prev" is removed first: link(2) does not replace.
 */
static agt_status write_atomic(agt_lake *l, const char *path, const void *data, size_t n,
                               int keep_prev, agt_error *err)
{
    char tmp[AGT_LAKE_PATH_MAX + 8], prev[AGT_LAKE_PATH_MAX + 8], dir[AGT_LAKE_PATH_MAX];
    AGT_TRY(agt_lake_aside(l, path, AGT_LAKE_TMP, tmp, sizeof tmp, err));
    AGT_TRY(agt_lake_aside(l, path, AGT_LAKE_PREV, prev, sizeof prev, err));
    parent_of(path, dir, sizeof dir);
    AGT_TRY(agt_lake_mkdirs(l, dir, err));
    int fd = l->io->open(l->io->ctx, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return agt_err_sys(err, errno, "cannot create '%s'", tmp);
    agt_status s = agt_lake_pwrite_all(l, fd, data, n, 0, tmp, err);
    if (s == AGT_OK) s = agt_lake_fsync(l, fd, tmp, err);
    if (l->io->close(l->io->ctx, fd) != 0 && s == AGT_OK)
        s = agt_err_sys(err, errno, "cannot close '%s'", tmp);
    if (s == AGT_OK && keep_prev && agt_lake_exists(path)) {
        s = agt_lake_unlink(l, prev, err);
        if (s == AGT_OK &&
            (l->io->link ? l->io->link(l->io->ctx, path, prev) : link(path, prev)) != 0)
            s = agt_err_sys(err, errno, "cannot link '%s' to '%s'", path, prev);
        if (s == AGT_OK) s = agt_lake_fsync_dir(l, dir, err);
    }
    if (s == AGT_OK && l->io->rename(l->io->ctx, tmp, path) != 0)
        s = agt_err_sys(err, errno, "cannot rename '%s' to '%s'", tmp, path);
    if (s != AGT_OK) {
        l->io->unlink(l->io->ctx, tmp); /* best effort; recovery removes it otherwise */
        return s;
    }
    return agt_lake_fsync_dir(l, dir, err);
}

agt_status agt_lake_write_atomic(agt_lake *l, const char *path, const void *data, size_t n,
                                 agt_error *err)
{
    return write_atomic(l, path, data, n, 0, err);
}

agt_status agt_lake_replace_keep_prev(agt_lake *l, const char *path, const void *data, size_t n,
                                      agt_error *err)
{
    return write_atomic(l, path, data, n, 1, err);
}

agt_status agt_lake_read_file(agt_lake *l, const char *path, agt_buf *out, size_t max,
                              agt_error *err)
{
    int fd = l->io->open(l->io->ctx, path, O_RDONLY, 0);
    if (fd < 0) {
        if (errno == ENOENT) return agt_err(err, AGT_ENOTFOUND, "no such file '%s'", path);
        return agt_err_sys(err, errno, "cannot open '%s'", path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        l->io->close(l->io->ctx, fd);
        return agt_err_sys(err, e, "cannot stat '%s'", path);
    }
    if ((uint64_t)st.st_size > max) {
        l->io->close(l->io->ctx, fd);
        return agt_err(err, AGT_ECORRUPT, "file '%s' is too large (%lld bytes)", path,
                       (long long)st.st_size);
    }
    size_t n = (size_t)st.st_size;
    agt_status s = agt_buf_reserve(out, n + 1);
    if (s != AGT_OK) {
        l->io->close(l->io->ctx, fd);
        return agt_err(err, s, "out of memory reading '%s'", path);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = l->io->pread(l->io->ctx, fd, out->data + out->len + got, n - got, (off_t)got);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            l->io->close(l->io->ctx, fd);
            return agt_err_sys(err, e, "cannot read '%s'", path);
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    l->io->close(l->io->ctx, fd);
    out->len += got;
    out->data[out->len] = 0; /* NUL after the data, not counted */
    return AGT_OK;
}

agt_status agt_lake_unlink(agt_lake *l, const char *path, agt_error *err)
{
    if (l->io->unlink(l->io->ctx, path) != 0 && errno != ENOENT)
        return agt_err_sys(err, errno, "cannot remove '%s'", path);
    return AGT_OK;
}

agt_status agt_lake_list_values(const char *dir, agt_name_value_fn parse, void *ctx,
                                int64_t **out, size_t *n, agt_error *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return AGT_OK;
        return agt_err_sys(err, errno, "cannot list '%s'", dir);
    }
    int64_t *v = NULL, x;
    size_t len = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!parse(e->d_name, ctx, &x)) continue;
        if (agt_i64s_append(&v, &len, &cap, &x, 1) != AGT_OK) {
            free(v);
            closedir(d);
            return agt_err(err, AGT_ENOMEM, "out of memory");
        }
    }
    closedir(d);
    if (len) qsort(v, len, sizeof *v, agt_cmp_i64);
    *out = v;
    *n = len;
    return AGT_OK;
}
