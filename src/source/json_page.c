/*
 * json_page.c - a small strict JSON reader for exactly the bodies the
 * exchange sends us: the aggTrades page (an array of flat objects), the
 * error body {"code":..,"msg":..} and {"serverTime":..}.
 *
 * It is a hand-written single pass over the bytes, no tree, no allocation
 * except the growing row array. "Strict" means: the text must be valid JSON
 * (RFC 8259 grammar, UTF-8 not checked inside strings we skip) and every row
 * must have the expected types - integers for a/f/l/T (no fraction or
 * exponent, within int64), decimal strings for p/q, booleans for m - each
 * key at most once. "Tolerant" means: any whitespace (compact or pretty-
 * printed), any key order, unknown keys (any value, nested up to a depth of
 * 32) skipped, "M" optional. Anything else fails with AGT_EPARSE and a
 * message naming the byte offset, so a truncated or altered page is retried
 * rather than half-used.
 */
#include <stdlib.h>
#include <string.h>

#include "source/source_int.h"

#define MAX_DEPTH 32

typedef struct js {
    const uint8_t *s;
    size_t n;
    size_t i;
    agt_error *err;
    const char *what;
} js;

static agt_status fail(js *j, const char *msg)
{
    if (j->i >= j->n)
        return agt_err(j->err, AGT_EPARSE, "%s: %s at end of body (byte %zu)", j->what, msg, j->i);
    return agt_err(j->err, AGT_EPARSE, "%s: %s at byte %zu", j->what, msg, j->i);
}

static void ws(js *j)
{
    while (j->i < j->n) {
        uint8_t c = j->s[j->i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
        j->i++;
    }
}

static int peek(const js *j)
{
    return j->i < j->n ? j->s[j->i] : -1;
}

static agt_status expect(js *j, uint8_t c, const char *msg)
{
    if (peek(j) != c) return fail(j, msg);
    j->i++;
    return AGT_OK;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A string at j->i: on success *p and *len span its raw content (between the
 * quotes, escapes not decoded) and *escaped tells whether it has any. */
static agt_status str(js *j, const uint8_t **p, size_t *len, int *escaped)
{
    AGT_TRY(expect(j, '"', "expected a string"));
    size_t start = j->i;
    *escaped = 0;
    while (j->i < j->n) {
        uint8_t c = j->s[j->i];
        if (c == '"') {
            *p = j->s + start;
            *len = j->i - start;
            j->i++;
            return AGT_OK;
        }
        if (c < 0x20) return fail(j, "control character in string");
        if (c == '\\') {
            *escaped = 1;
            j->i++;
            int e = peek(j);
            if (e == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (j->i + (size_t)k >= j->n || hexval(j->s[j->i + (size_t)k]) < 0)
                        return fail(j, "bad \\u escape");
                j->i += 5;
                continue;
            }
            if (e < 0 || !strchr("\"\\/bfnrt", e)) return fail(j, "bad escape in string");
        }
        j->i++;
    }
    return fail(j, "unterminated string");
}

/* A JSON number that must be an integer in int64. */
static agt_status int64v(js *j, int64_t *out)
{
    int neg = 0;
    if (peek(j) == '-') {
        neg = 1;
        j->i++;
    }
    int c = peek(j);
    if (c < '0' || c > '9') return fail(j, "expected an integer");
    uint64_t v = 0;
    size_t start = j->i;
    const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    while ((c = peek(j)) >= '0' && c <= '9') {
        unsigned d = (unsigned)(c - '0');
        if (v > (lim - d) / 10) return fail(j, "integer out of range");
        v = v * 10 + d;
        j->i++;
    }
    if (j->s[start] == '0' && j->i - start > 1) {
        j->i = start;
        return fail(j, "leading zero in number");
    }
    if (c == '.' || c == 'e' || c == 'E') return fail(j, "expected an integer, not a fraction");
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return AGT_OK;
}

/* Any JSON number (for skipped values). */
static agt_status number(js *j)
{
    if (peek(j) == '-') j->i++;
    int c = peek(j);
    if (c == '0') {
        j->i++;
    } else if (c >= '1' && c <= '9') {
        while ((c = peek(j)) >= '0' && c <= '9') j->i++;
    } else {
        return fail(j, "bad number");
    }
    if (peek(j) == '.') {
        j->i++;
        if ((c = peek(j)) < '0' || c > '9') return fail(j, "bad number");
        while ((c = peek(j)) >= '0' && c <= '9') j->i++;
    }
    if ((c = peek(j)) == 'e' || c == 'E') {
        j->i++;
        if ((c = peek(j)) == '+' || c == '-') j->i++;
        if ((c = peek(j)) < '0' || c > '9') return fail(j, "bad number");
        while ((c = peek(j)) >= '0' && c <= '9') j->i++;
    }
    return AGT_OK;
}

static int literal(js *j, const char *lit)
{
    size_t k = strlen(lit);
    if (j->n - j->i < k || memcmp(j->s + j->i, lit, k) != 0) return 0;
    j->i += k;
    return 1;
}

static agt_status boolv(js *j, uint8_t *out)
{
    if (literal(j, "true")) {
        *out = 1;
        return AGT_OK;
    }
    if (literal(j, "false")) {
        *out = 0;
        return AGT_OK;
    }
    return fail(j, "expected true or false");
}

static agt_status skip_value(js *j, int depth)
{
    if (depth > MAX_DEPTH) return fail(j, "nesting too deep");
    const uint8_t *p;
    size_t len;
    int esc;
    int c = peek(j);
    switch (c) {
    case '"':
        return str(j, &p, &len, &esc);
    case '{':
    case '[': {
        uint8_t close = c == '{' ? '}' : ']';
        j->i++;
        ws(j);
        if (peek(j) == close) {
            j->i++;
            return AGT_OK;
        }
        for (;;) {
            if (c == '{') {
                AGT_TRY(str(j, &p, &len, &esc));
                ws(j);
                AGT_TRY(expect(j, ':', "expected ':'"));
                ws(j);
            }
            AGT_TRY(skip_value(j, depth + 1));
            ws(j);
            if (peek(j) == ',') {
                j->i++;
                ws(j);
                continue;
            }
            return expect(j, close, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    case 't':
    case 'f': {
        uint8_t b;
        return boolv(j, &b);
    }
    case 'n':
        if (literal(j, "null")) return AGT_OK;
        return fail(j, "bad literal");
    default:
        return number(j);
    }
}

/* ---- aggTrades page -------------------------------------------------------- */

void agt_page_init(agt_page *pg)
{
    pg->rows = NULL;
    pg->len = pg->cap = 0;
}

void agt_page_release(agt_page *pg)
{
    if (!pg) return;
    free(pg->rows);
    agt_page_init(pg);
}

static agt_status push_row(agt_page *pg, const agt_page_row *r)
{
    if (pg->len == pg->cap) {
        size_t cap = pg->cap ? pg->cap * 2 : 1024;
        if (cap > SIZE_MAX / sizeof *pg->rows) return AGT_ENOMEM;
        agt_page_row *rows = realloc(pg->rows, cap * sizeof *rows);
        if (!rows) return AGT_ENOMEM;
        pg->rows = rows;
        pg->cap = cap;
    }
    pg->rows[pg->len++] = *r;
    return AGT_OK;
}

enum { K_A = 1, K_P = 2, K_Q = 4, K_F = 8, K_L = 16, K_T = 32, K_M = 64, K_BM = 128 };
#define K_REQUIRED (K_A | K_P | K_Q | K_F | K_L | K_T | K_M)

static agt_status decimal(js *j, double *out, const char *key)
{
    const uint8_t *p;
    size_t len;
    int esc;
    size_t at = j->i;
    if (peek(j) != '"') return fail(j, key[0] == 'p' ? "price must be a string" : "quantity must be a string");
    AGT_TRY(str(j, &p, &len, &esc));
    if (esc || agt_decimal_to_double((const char *)p, len, out) != 0) {
        j->i = at;
        return fail(j, key[0] == 'p' ? "price is not a decimal" : "quantity is not a decimal");
    }
    return AGT_OK;
}

static agt_status row(js *j, agt_page_row *r)
{
    unsigned seen = 0;
    AGT_TRY(expect(j, '{', "expected '{'"));
    ws(j);
    if (peek(j) == '}') return fail(j, "empty trade object");
    for (;;) {
        const uint8_t *k;
        size_t klen;
        int esc;
        size_t kat = j->i;
        AGT_TRY(str(j, &k, &klen, &esc));
        ws(j);
        AGT_TRY(expect(j, ':', "expected ':'"));
        ws(j);
        unsigned bit = 0;
        if (klen == 1 && !esc) {
            switch (k[0]) {
            case 'a': bit = K_A; break;
            case 'p': bit = K_P; break;
            case 'q': bit = K_Q; break;
            case 'f': bit = K_F; break;
            case 'l': bit = K_L; break;
            case 'T': bit = K_T; break;
            case 'm': bit = K_M; break;
            case 'M': bit = K_BM; break;
            default: break;
            }
        }
        if (bit & seen) {
            j->i = kat;
            return fail(j, "duplicate key");
        }
        seen |= bit;
        size_t vat = j->i;
        switch (bit) {
        case K_A:
            AGT_TRY(int64v(j, &r->a));
            if (r->a < 0) {
                j->i = vat;
                return fail(j, "negative trade id");
            }
            break;
        case K_P: AGT_TRY(decimal(j, &r->p, "p")); break;
        case K_Q: AGT_TRY(decimal(j, &r->q, "q")); break;
        case K_F: AGT_TRY(int64v(j, &r->f)); break;
        case K_L: AGT_TRY(int64v(j, &r->l)); break;
        case K_T:
            AGT_TRY(int64v(j, &r->t));
            if (r->t <= 0 || r->t > INT64_MAX / 1000) {
                j->i = vat;
                return fail(j, "timestamp out of range");
            }
            break;
        case K_M: AGT_TRY(boolv(j, &r->m)); break;
        case K_BM: {
            uint8_t ignored;
            AGT_TRY(boolv(j, &ignored));
            break;
        }
        default: AGT_TRY(skip_value(j, 2)); break;
        }
        ws(j);
        if (peek(j) == ',') {
            j->i++;
            ws(j);
            continue;
        }
        AGT_TRY(expect(j, '}', "expected ',' or '}'"));
        break;
    }
    if ((seen & K_REQUIRED) != K_REQUIRED) {
        static const char *const names[] = {"a", "p", "q", "f", "l", "T", "m"};
        for (unsigned b = 0; b < 7; b++)
            if (!(seen & (1u << b)))
                return agt_err(j->err, AGT_EPARSE,
                               "%s: trade object ending at byte %zu has no \"%s\"", j->what,
                               j->i - 1, names[b]);
    }
    return AGT_OK;
}

agt_status agt_page_parse(agt_page *pg, const uint8_t *s, size_t n, agt_error *err)
{
    js j = {s, n, 0, err, "aggTrades page"};
    pg->len = 0;
    ws(&j);
    if (peek(&j) == '{') return fail(&j, "expected an array, got an object");
    AGT_TRY(expect(&j, '[', "expected '['"));
    ws(&j);
    if (peek(&j) == ']') {
        j.i++;
    } else {
        for (;;) {
            agt_page_row r;
            memset(&r, 0, sizeof r);
            agt_status st = row(&j, &r);
            if (st != AGT_OK) {
                pg->len = 0;
                return st;
            }
            if (push_row(pg, &r) != AGT_OK) {
                pg->len = 0;
                return agt_err(err, AGT_ENOMEM, "out of memory");
            }
            ws(&j);
            if (peek(&j) == ',') {
                j.i++;
                ws(&j);
                continue;
            }
            if (expect(&j, ']', "expected ',' or ']'") != AGT_OK) {
                pg->len = 0;
                return AGT_EPARSE;
            }
            break;
        }
    }
    ws(&j);
    if (j.i != j.n) {
        pg->len = 0;
        return fail(&j, "unexpected data after the array");
    }
    return AGT_OK;
}

/* ---- small objects ------------------------------------------------------- */

/* Decode the raw content of a string into out (ASCII; others become '?'). */
static void unescape(const uint8_t *p, size_t len, char *out, size_t outn)
{
    size_t k = 0;
    if (outn == 0) return;
    for (size_t i = 0; i < len && k + 1 < outn; i++) {
        uint8_t c = p[i];
        if (c == '\\' && i + 1 < len) {
            uint8_t e = p[++i];
            switch (e) {
            case 'n': case 'r': case 't': case 'b': case 'f': c = ' '; break;
            case 'u': {
                unsigned v = 0;
                for (int h = 0; h < 4 && i + 1 < len; h++) v = v * 16 + (unsigned)hexval(p[++i]);
                c = v >= 0x20 && v < 0x7f ? (uint8_t)v : '?';
                break;
            }
            default: c = e; break;
            }
        } else if (c >= 0x80) {
            /* one '?' per UTF-8 sequence: skip continuation bytes */
            while (i + 1 < len && (p[i + 1] & 0xC0) == 0x80) i++;
            c = '?';
        }
        out[k++] = (char)c;
    }
    out[k] = 0;
}

int agt_api_error_parse(const uint8_t *s, size_t n, int *code, char *msg, size_t msgn)
{
    js j = {s, n, 0, NULL, "error body"};
    int have_code = 0;
    if (msgn) msg[0] = 0;
    ws(&j);
    if (expect(&j, '{', "") != AGT_OK) return 0;
    ws(&j);
    if (peek(&j) == '}') return 0;
    for (;;) {
        const uint8_t *k, *v;
        size_t klen, vlen;
        int esc, vesc;
        if (str(&j, &k, &klen, &esc) != AGT_OK) return 0;
        ws(&j);
        if (expect(&j, ':', "") != AGT_OK) return 0;
        ws(&j);
        if (klen == 4 && memcmp(k, "code", 4) == 0) {
            int64_t c;
            if (int64v(&j, &c) != AGT_OK || c < INT32_MIN || c > INT32_MAX) return 0;
            *code = (int)c;
            have_code = 1;
        } else if (klen == 3 && memcmp(k, "msg", 3) == 0 && peek(&j) == '"') {
            if (str(&j, &v, &vlen, &vesc) != AGT_OK) return 0;
            unescape(v, vlen, msg, msgn);
        } else if (skip_value(&j, 1) != AGT_OK) {
            return 0;
        }
        ws(&j);
        if (peek(&j) == ',') {
            j.i++;
            ws(&j);
            continue;
        }
        if (expect(&j, '}', "") != AGT_OK) return 0;
        break;
    }
    ws(&j);
    return have_code && j.i == j.n;
}

agt_status agt_server_time_parse(const uint8_t *s, size_t n, int64_t *us, agt_error *err)
{
    js j = {s, n, 0, err, "server time"};
    int64_t t = -1;
    ws(&j);
    AGT_TRY(expect(&j, '{', "expected '{'"));
    ws(&j);
    while (peek(&j) != '}') {
        const uint8_t *k;
        size_t klen;
        int esc;
        AGT_TRY(str(&j, &k, &klen, &esc));
        ws(&j);
        AGT_TRY(expect(&j, ':', "expected ':'"));
        ws(&j);
        if (klen == 10 && memcmp(k, "serverTime", 10) == 0)
            AGT_TRY(int64v(&j, &t));
        else
            AGT_TRY(skip_value(&j, 1));
        ws(&j);
        if (peek(&j) == ',') {
            j.i++;
            ws(&j);
            if (peek(&j) == '}') return fail(&j, "trailing comma");
        } else if (peek(&j) != '}') {
            return fail(&j, "expected ',' or '}'");
        }
    }
    j.i++;
    ws(&j);
    if (j.i != j.n) return fail(&j, "unexpected data after the object");
    if (t <= 0 || t > INT64_MAX / 1000) return agt_err(err, AGT_EPARSE, "server time: no valid \"serverTime\"");
    *us = agt_t_to_us(t);
    return AGT_OK;
}
