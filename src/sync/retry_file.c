/*
 * retry_file.c - <root>/.retry, the failure ledger: the units that failed
 * after all their attempts, one JSON object a line (format in sync_int.h and
 * docs/lake-format.md). Read with a small parser for exactly the flat
 * objects we write; rewritten atomically through the lake's I/O layer
 * (temporary name, fsync, rename, fsync of the directory), so a crash leaves
 * either the old ledger or the new one.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"
#include "sync/sync_int.h"

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

agt_status retry_put(retry_list *l, const retry_unit *u)
{
    long i = retry_find(l, u->symbol, u->hour_us);
    if (i >= 0) {
        l->v[i] = *u;
        return AGT_OK;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        retry_unit *v = realloc(l->v, cap * sizeof *v);
        if (!v) return AGT_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *u;
    return AGT_OK;
}

void retry_drop(retry_list *l, const char *symbol, int64_t hour_us)
{
    long i = retry_find(l, symbol, hour_us);
    if (i < 0) return;
    memmove(&l->v[i], &l->v[i + 1], (l->n - (size_t)i - 1) * sizeof l->v[0]);
    l->n--;
}

/* "<root>/.retry" of the lake into buf[n]. */
static agt_status ledger_path(agt_lake *lake, char *buf, size_t n, agt_error *err)
{
    return agt_lake_path(lake, buf, n, ".retry", err);
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
                agt_strlcpy(date, sizeof date, sval);
            } else if (!strcmp(key, "error")) {
                agt_strlcpy(u->error, sizeof u->error, sval);
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
                /* in range before narrowing: 4294967301 is no hour 5, -3 no count */
                if (!strcmp(key, "hour")) {
                    if (v < 0 || v > 23) return -1;
                    hour = (int)v;
                } else if (!strcmp(key, "attempts")) {
                    if (v < 0 || v > INT_MAX) return -1;
                    u->attempts = (int)v;
                }
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

agt_status retry_parse(const char *s, size_t n, retry_list *l,
                       void (*bad)(void *ctx, int lineno), void *ctx)
{
    int lineno = 0;
    for (size_t off = 0; off < n;) {
        const char *line = s + off;
        const char *nl = memchr(line, '\n', n - off);
        size_t len = nl ? (size_t)(nl - line) : n - off;
        char one[2048];
        off += len + (nl != NULL);
        lineno++;
        snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one ? len : sizeof one - 1), line);
        const char *p = skip_ws(one);
        if (*p == 0) continue;
        retry_unit u;
        if (len >= sizeof one || parse_line(one, &u) != 0) {
            if (bad) bad(ctx, lineno);
            continue;
        }
        if (retry_put(l, &u) != AGT_OK) return AGT_ENOMEM;
    }
    return AGT_OK;
}

agt_status retry_read(agt_lake *lake, retry_list *l, void (*bad)(void *ctx, int lineno),
                      void *ctx, agt_error *err)
{
    char path[AGT_LAKE_PATH_MAX];
    agt_buf b;
    agt_error e;
    memset(l, 0, sizeof l[0]);
    AGT_TRY(ledger_path(lake, path, sizeof path, err));
    agt_buf_init(&b, 0);
    agt_error_clear(&e);
    agt_status st = agt_lake_read_file(lake, path, &b, (size_t)1 << 30, &e);
    if (st == AGT_ENOTFOUND) st = AGT_OK;
    else if (st != AGT_OK) st = agt_err(err, st, "cannot read '%s': %s", path, e.message);
    if (st == AGT_OK && retry_parse((const char *)b.data, b.len, l, bad, ctx) != AGT_OK)
        st = agt_err(err, AGT_ENOMEM, "out of memory");
    agt_buf_release(&b);
    if (st != AGT_OK) retry_list_release(l);
    return st;
}

typedef struct bad_line_ctx {
    agt_sync *s;
    agt_lake *lake;
} bad_line_ctx;

static void warn_bad_line(void *ctx, int lineno)
{
    bad_line_ctx *c = ctx;
    char path[AGT_LAKE_PATH_MAX];
    if (ledger_path(c->lake, path, sizeof path, NULL) != AGT_OK) path[0] = 0;
    sync_log(c->s, AGT_SYNC_WARNING, "ignoring malformed line %d of '%s'", lineno, path);
}

agt_status retry_load(agt_sync *s, agt_lake *lake, retry_list *l, agt_error *err)
{
    bad_line_ctx c = {s, lake};
    return retry_read(lake, l, warn_bad_line, &c, err);
}

/* ---- writing ------------------------------------------------------------------------ */

static agt_status json_str(agt_buf *b, const char *s)
{
    agt_status st = agt_buf_putc(b, '"');
    for (; *s && st == AGT_OK; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            st = agt_buf_putc(b, '\\');
            if (st == AGT_OK) st = agt_buf_putc(b, c);
        } else if (c < 0x20) {
            st = agt_buf_printf(b, "\\u%04x", c);
        } else {
            st = agt_buf_putc(b, c);
        }
    }
    return st == AGT_OK ? agt_buf_putc(b, '"') : st;
}

static void iso_time(int64_t us, char out[32])
{
    agt_tm tm;
    agt_tm_from_us(us, &tm);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.year % 10000, tm.month, tm.day,
             tm.hour, tm.minute, tm.second);
}

agt_status retry_format(const retry_list *l, agt_buf *b)
{
    agt_status st = AGT_OK;
    b->len = 0;
    for (size_t i = 0; i < l->n && st == AGT_OK; i++) {
        const retry_unit *u = &l->v[i];
        char t[32];
        agt_tm tm;
        agt_tm_from_us(u->hour_us, &tm);
        iso_time(u->time_us, t);
        st = agt_buf_printf(b, "{\"symbol\":\"%s\",\"date\":\"%04d-%02d-%02d\",\"hour\":%d,\"error\":",
                            u->symbol, tm.year % 10000, tm.month, tm.day, tm.hour);
        if (st == AGT_OK) st = json_str(b, u->error);
        if (st == AGT_OK)
            st = agt_buf_printf(b, ",\"attempts\":%d,\"time\":\"%s\"}\n", u->attempts, t);
    }
    return st;
}

agt_status retry_save(agt_lake *lake, const retry_list *l, agt_error *err)
{
    char path[AGT_LAKE_PATH_MAX];
    agt_error e;
    AGT_TRY(ledger_path(lake, path, sizeof path, err));
    agt_error_clear(&e);
    if (l->n == 0) {
        agt_status st = agt_lake_unlink(lake, path, &e);
        if (st == AGT_OK) st = agt_lake_fsync_dir(lake, agt_lake_root(lake), &e);
        return st == AGT_OK ? AGT_OK : agt_err(err, st, "%s", e.message);
    }
    agt_buf b;
    agt_buf_init(&b, 0);
    agt_status st = retry_format(l, &b);
    if (st != AGT_OK) {
        agt_buf_release(&b);
        return agt_err(err, st, "out of memory");
    }
    st = agt_lake_write_atomic(lake, path, b.data, b.len, &e);
    agt_buf_release(&b);
    if (st != AGT_OK) return agt_err(err, st, "cannot write '%s': %s", path, e.message);
    return AGT_OK;
}
