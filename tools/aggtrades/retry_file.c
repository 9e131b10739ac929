/*
 * retry_file.c - <root>/.retry, the units that failed after all their
 * attempts, one JSON object a line (format in cli.h). Read with a small
 * parser for exactly the flat objects we write; rewritten atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void retry_list_release(retry_list *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

long retry_find(const retry_list *l, const char *symbol, int64_t hour_us)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].hour_us == hour_us && !strcmp(l->v[i].symbol, symbol)) return (long)i;
    return -1;
}

int retry_put(retry_list *l, const retry_unit *u)
{
    long i = retry_find(l, u->symbol, u->hour_us);
    if (i >= 0) {
        l->v[i] = *u;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        retry_unit *v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *u;
    return 0;
}

void retry_drop(retry_list *l, const char *symbol, int64_t hour_us)
{
    long i = retry_find(l, symbol, hour_us);
    if (i < 0) return;
    memmove(&l->v[i], &l->v[i + 1], (l->n - (size_t)i - 1) * sizeof l->v[0]);
    l->n--;
}

static char *path_of(const cli_ctx *ctx, const char *name)
{
    size_t n = strlen(ctx->root) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", ctx->root, name);
    return p;
}

/* ---- reading ------------------------------------------------------------------------ */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r') p++;
    return p;
}

/* Parse a JSON string at p (at the quote) into out[n]; returns the end or NULL. */
static const char *parse_str(const char *p, char *out, size_t n)
{
    size_t k = 0;
    if (*p++ != '"') return NULL;
    while (*p && *p != '"') {
        char c = *p++;
        if (c == '\\') {
            c = *p++;
            switch (c) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': {
                unsigned v = 0;
                for (int j = 0; j < 4; j++) {
                    char h = *p++;
                    v <<= 4;
                    if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
                    else return NULL;
                }
                c = v < 0x80 ? (char)v : '?';
                break;
            }
            case 0: return NULL;
            default: break; /* \" \\ \/ */
            }
        }
        if (k + 1 < n) out[k++] = c;
    }
    if (*p != '"') return NULL;
    out[k] = 0;
    return p + 1;
}

/* Parse one line into u. 0 on success. */
static int parse_line(const char *line, retry_unit *u)
{
    char key[32], sval[256], date[32] = "";
    int hour = -1, have_sym = 0;
    const char *p = skip_ws(line);
    memset(u, 0, sizeof *u);
    if (*p++ != '{') return -1;
    for (;;) {
        p = skip_ws(p);
        if (*p == '}') break;
        if (!(p = parse_str(p, key, sizeof key))) return -1;
        p = skip_ws(p);
        if (*p++ != ':') return -1;
        p = skip_ws(p);
        if (*p == '"') {
            if (!(p = parse_str(p, sval, sizeof sval))) return -1;
            if (!strcmp(key, "symbol")) {
                if (strlen(sval) >= sizeof u->symbol || !agt_symbol_valid(sval)) return -1;
                memcpy(u->symbol, sval, strlen(sval) + 1);
                have_sym = 1;
            } else if (!strcmp(key, "date")) {
                cli_strlcpy(date, sizeof date, sval);
            } else if (!strcmp(key, "error")) {
                cli_strlcpy(u->error, sizeof u->error, sval);
            } else if (!strcmp(key, "time")) {
                int64_t t;
                if (agt_parse_time(sval, &t, NULL, NULL) == AGT_OK) u->time_us = t;
            }
        } else {
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p) {
                /* true/false/null or a fraction: skip the token */
                while (*p && *p != ',' && *p != '}') p++;
            } else {
                p = end;
                if (!strcmp(key, "hour")) hour = (int)v;
                else if (!strcmp(key, "attempts")) u->attempts = (int)v;
            }
        }
        p = skip_ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}') break;
        return -1;
    }
    int64_t day;
    int dat = 0;
    if (!have_sym || hour < 0 || hour > 23) return -1;
    if (agt_parse_time(date, &day, &dat, NULL) != AGT_OK || !dat) return -1;
    u->hour_us = day + hour * AGT_US_PER_HOUR;
    return 0;
}

int retry_load(const cli_ctx *ctx, retry_list *l)
{
    memset(l, 0, sizeof *l);
    char *path = path_of(ctx, ".retry");
    if (!path) return EXIT_LAKE;
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        free(path);
        if (e == ENOENT) return 0;
        cli_error("cannot read '%s/.retry': %s", ctx->root, strerror(e));
        return EXIT_LAKE;
    }
    char line[2048];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        const char *p = skip_ws(line);
        if (*p == '\n' || *p == 0) continue;
        retry_unit u;
        if (parse_line(line, &u) != 0) {
            cli_warn(ctx, "ignoring malformed line %d of '%s'", lineno, path);
            continue;
        }
        if (retry_put(l, &u) != 0) {
            fclose(f);
            free(path);
            cli_error("out of memory");
            return EXIT_LAKE;
        }
    }
    fclose(f);
    free(path);
    return 0;
}

/* ---- writing ------------------------------------------------------------------------ */

static void json_str(agt_buf *b, const char *s)
{
    agt_buf_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            agt_buf_putc(b, '\\');
            agt_buf_putc(b, c);
        } else if (c < 0x20) {
            agt_buf_printf(b, "\\u%04x", c);
        } else {
            agt_buf_putc(b, c);
        }
    }
    agt_buf_putc(b, '"');
}

static void iso_time(int64_t us, char out[32])
{
    agt_tm tm;
    agt_tm_from_us(us, &tm);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.year % 10000, tm.month, tm.day,
             tm.hour, tm.minute, tm.second);
}

int retry_save(const cli_ctx *ctx, const retry_list *l)
{
    char *path = path_of(ctx, ".retry");
    char *tmp = path_of(ctx, ".retry.tmp");
    int rc = 0;
    if (!path || !tmp) {
        rc = EXIT_LAKE;
        goto out;
    }
    if (l->n == 0) {
        if (unlink(path) != 0 && errno != ENOENT) {
            cli_error("cannot remove '%s': %s", path, strerror(errno));
            rc = EXIT_LAKE;
        }
        goto out;
    }
    agt_buf b;
    agt_buf_init(&b, 0);
    for (size_t i = 0; i < l->n; i++) {
        const retry_unit *u = &l->v[i];
        char date[16], t[32];
        agt_tm tm;
        cli_date_str(u->hour_us, date);
        agt_tm_from_us(u->hour_us, &tm);
        iso_time(u->time_us, t);
        agt_buf_printf(&b, "{\"symbol\":\"%s\",\"date\":\"%s\",\"hour\":%d,\"error\":", u->symbol,
                       date, tm.hour);
        json_str(&b, u->error);
        agt_buf_printf(&b, ",\"attempts\":%d,\"time\":\"%s\"}\n", u->attempts, t);
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        cli_error("cannot write '%s': %s", tmp, strerror(errno));
        agt_buf_release(&b);
        rc = EXIT_LAKE;
        goto out;
    }
    size_t off = 0;
    while (off < b.len) {
        ssize_t w = write(fd, b.data + off, b.len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    int e = off == b.len ? 0 : (errno ? errno : EIO);
    if (!e && fsync(fd) != 0) e = errno;
    if (close(fd) != 0 && !e) e = errno;
    agt_buf_release(&b);
    if (!e && rename(tmp, path) != 0) e = errno;
    if (e) {
        unlink(tmp);
        cli_error("cannot write '%s': %s", path, strerror(e));
        rc = EXIT_LAKE;
    }
out:
    free(path);
    free(tmp);
    return rc;
}
