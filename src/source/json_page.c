/*
 * json_page.c - parsers for exactly the bodies the exchange sends us: the
 * aggTrades page (an array of flat objects), the error body
 * {"code":..,"msg":..} and {"serverTime":..}, on the reader in json.c.
 *
 * A single pass over the bytes, no tree, no allocation except the growing
 * row array. "Strict" means: the text must be valid JSON
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

static agt_status decimal(agt_json *j, double *out, const char *key)
{
    const uint8_t *p;
    size_t len;
    int esc;
    size_t at = j->i;
    if (agt_json_peek(j) != '"') return agt_json_fail(j, key[0] == 'p' ? "price must be a string" : "quantity must be a string");
    AGT_TRY(agt_json_str(j, &p, &len, &esc));
    if (esc || agt_decimal_to_double((const char *)p, len, out) != 0) {
        j->i = at;
        return agt_json_fail(j, key[0] == 'p' ? "price is not a decimal" : "quantity is not a decimal");
    }
    return AGT_OK;
}

static agt_status row(agt_json *j, agt_page_row *r)
{
    unsigned seen = 0;
    AGT_TRY(agt_json_expect(j, '{', "expected '{'"));
    agt_json_ws(j);
    if (agt_json_peek(j) == '}') return agt_json_fail(j, "empty trade object");
    for (;;) {
        const uint8_t *k;
        size_t klen;
        int esc;
        size_t kat = j->i;
        AGT_TRY(agt_json_str(j, &k, &klen, &esc));
        agt_json_ws(j);
        AGT_TRY(agt_json_expect(j, ':', "expected ':'"));
        agt_json_ws(j);
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
            return agt_json_fail(j, "duplicate key");
        }
        seen |= bit;
        size_t vat = j->i;
        switch (bit) {
        case K_A:
            AGT_TRY(agt_json_int64(j, &r->a));
            if (r->a < 0) {
                j->i = vat;
                return agt_json_fail(j, "negative trade id");
            }
            break;
        case K_P: AGT_TRY(decimal(j, &r->p, "p")); break;
        case K_Q: AGT_TRY(decimal(j, &r->q, "q")); break;
        case K_F: AGT_TRY(agt_json_int64(j, &r->f)); break;
        case K_L: AGT_TRY(agt_json_int64(j, &r->l)); break;
        case K_T:
            AGT_TRY(agt_json_int64(j, &r->t));
            if (r->t <= 0 || r->t > INT64_MAX / 1000) {
                j->i = vat;
                return agt_json_fail(j, "timestamp out of range");
            }
            break;
        case K_M: AGT_TRY(agt_json_bool(j, &r->m)); break;
        case K_BM: {
            uint8_t ignored;
            AGT_TRY(agt_json_bool(j, &ignored));
            break;
        }
        default: AGT_TRY(agt_json_skip(j, 2)); break;
        }
        agt_json_ws(j);
        if (agt_json_peek(j) == ',') {
            j->i++;
            agt_json_ws(j);
            continue;
        }
        AGT_TRY(agt_json_expect(j, '}', "expected ',' or '}'"));
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
    agt_json j = {s, n, 0, err, "aggTrades page"};
    pg->len = 0;
    agt_json_ws(&j);
    if (agt_json_peek(&j) == '{') return agt_json_fail(&j, "expected an array, got an object");
    AGT_TRY(agt_json_expect(&j, '[', "expected '['"));
    agt_json_ws(&j);
    if (agt_json_peek(&j) == ']') {
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
            agt_json_ws(&j);
            if (agt_json_peek(&j) == ',') {
                j.i++;
                agt_json_ws(&j);
                continue;
            }
            if (agt_json_expect(&j, ']', "expected ',' or ']'") != AGT_OK) {
                pg->len = 0;
                return AGT_EPARSE;
            }
            break;
        }
    }
    agt_json_ws(&j);
    if (j.i != j.n) {
        pg->len = 0;
        return agt_json_fail(&j, "unexpected data after the array");
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
                for (int h = 0; h < 4 && i + 1 < len; h++) v = v * 16 + (unsigned)agt_json_hexval(p[++i]);
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
    agt_json j = {s, n, 0, NULL, "error body"};
    int have_code = 0;
    if (msgn) msg[0] = 0;
    agt_json_ws(&j);
    if (agt_json_expect(&j, '{', "") != AGT_OK) return 0;
    agt_json_ws(&j);
    if (agt_json_peek(&j) == '}') return 0;
    for (;;) {
        const uint8_t *k, *v;
        size_t klen, vlen;
        int esc, vesc;
        if (agt_json_str(&j, &k, &klen, &esc) != AGT_OK) return 0;
        agt_json_ws(&j);
        if (agt_json_expect(&j, ':', "") != AGT_OK) return 0;
        agt_json_ws(&j);
        if (klen == 4 && memcmp(k, "code", 4) == 0) {
            int64_t c;
            if (agt_json_int64(&j, &c) != AGT_OK || c < INT32_MIN || c > INT32_MAX) return 0;
            *code = (int)c;
            have_code = 1;
        } else if (klen == 3 && memcmp(k, "msg", 3) == 0 && agt_json_peek(&j) == '"') {
            if (agt_json_str(&j, &v, &vlen, &vesc) != AGT_OK) return 0;
            unescape(v, vlen, msg, msgn);
        } else if (agt_json_skip(&j, 1) != AGT_OK) {
            return 0;
        }
        agt_json_ws(&j);
        if (agt_json_peek(&j) == ',') {
            j.i++;
            agt_json_ws(&j);
            continue;
        }
        if (agt_json_expect(&j, '}', "") != AGT_OK) return 0;
        break;
    }
    agt_json_ws(&j);
    return have_code && j.i == j.n;
}

agt_status agt_server_time_parse(const uint8_t *s, size_t n, int64_t *us, agt_error *err)
{
    agt_json j = {s, n, 0, err, "server time"};
    int64_t t = -1;
    agt_json_ws(&j);
    AGT_TRY(agt_json_expect(&j, '{', "expected '{'"));
    agt_json_ws(&j);
    while (agt_json_peek(&j) != '}') {
        const uint8_t *k;
        size_t klen;
        int esc;
        AGT_TRY(agt_json_str(&j, &k, &klen, &esc));
        agt_json_ws(&j);
        AGT_TRY(agt_json_expect(&j, ':', "expected ':'"));
        agt_json_ws(&j);
        if (klen == 10 && memcmp(k, "serverTime", 10) == 0)
            AGT_TRY(agt_json_int64(&j, &t));
        else
            AGT_TRY(agt_json_skip(&j, 1));
        agt_json_ws(&j);
        if (agt_json_peek(&j) == ',') {
            j.i++;
            agt_json_ws(&j);
            if (agt_json_peek(&j) == '}') return agt_json_fail(&j, "trailing comma");
        } else if (agt_json_peek(&j) != '}') {
            return agt_json_fail(&j, "expected ',' or '}'");
        }
    }
    j.i++;
    agt_json_ws(&j);
    if (j.i != j.n) return agt_json_fail(&j, "unexpected data after the object");
    if (t <= 0 || t > INT64_MAX / 1000) return agt_err(err, AGT_EPARSE, "server time: no valid \"serverTime\"");
    *us = agt_t_to_us(t);
    return AGT_OK;
}
