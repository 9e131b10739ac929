/*
 * fuzz_source_inflate.c - the archive's deflate decoder (inflate.c) against
 * zlib on arbitrary bytes taken as a raw DEFLATE stream. Checks, on every
 * input:
 *   - it decodes exactly what zlib decodes, and refuses exactly what zlib
 *     refuses (an error, or input that ends inside the stream);
 *   - cut into small pieces of input and a small window, it gives the same;
 *   - a refusal says why.
 * The committed corpus holds streams zlib wrote with stored, fixed and
 * dynamic blocks, and malformed ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "source/archive_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX ((size_t)1 << 20) /* what either may write before the input is given up */

/* zlib's verdict: 1 and *n bytes in out if the stream ends within the input. */
static int zlib_inflate(const uint8_t *data, size_t size, uint8_t *out, size_t *n)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -15) != Z_OK) abort();
    s.next_in = (Bytef *)data;
    s.avail_in = (uInt)size;
    s.next_out = out;
    s.avail_out = (uInt)OUT_MAX;
    int r = inflate(&s, Z_FINISH);
    *n = OUT_MAX - s.avail_out;
    inflateEnd(&s);
    return r == Z_STREAM_END;
}

/* Ours, the input in pieces of `piece` bytes, a window of `room` after 32 KiB
 * of history. 1 if decoded whole (*n bytes in out), 0 if refused, -1 if the
 * output passed OUT_MAX. */
static int ours(const uint8_t *data, size_t size, size_t piece, size_t room, uint8_t *out, size_t *n)
{
    static agt_inflate z;
    size_t hist = 32768, cap = hist + room + AGT_INFLATE_SLACK, pos = 0, fed = 0, len = 0;
    uint8_t *win = malloc(cap), *in = malloc(piece + AGT_INFLATE_IN_MARGIN);
    agt_error err;
    agt_error_clear(&err);
    agt_inflate_init(&z);
    int verdict = 0;
    *n = 0;
    for (;;) {
        if (!z.in_end && z.in_len - z.in_pos < AGT_INFLATE_IN_MARGIN) {
            size_t keep = len - z.in_pos, take = size - fed;
            memmove(in, in + z.in_pos, keep);
            if (take > piece) take = piece;
            memcpy(in + keep, data + fed, take);
            fed += take;
            len = keep + take;
            z.in = in;
            z.in_pos = 0;
            z.in_len = len;
            z.in_end = fed == size;
        }
        size_t before = pos;
        if (agt_inflate_run(&z, win, &pos, cap, &err) != AGT_OK) {
            if (!err.message[0]) abort();
            break;
        }
        if (*n + (pos - before) > OUT_MAX) {
            verdict = -1;
            break;
        }
        memcpy(out + *n, win + before, pos - before);
        *n += pos - before;
        if (agt_inflate_done(&z)) {
            verdict = 1;
            break;
        }
        if (pos == before && z.in_end && z.in_pos == z.in_len) abort(); /* stuck */
        if (cap - pos <= AGT_INFLATE_SLACK) {
            memmove(win, win + pos - hist, hist);
            pos = hist;
        }
    }
    free(win);
    free(in);
    return verdict;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t a[OUT_MAX + 1], b[OUT_MAX + 1], c[OUT_MAX + 1];
    size_t na, nb, nc;
    int want = zlib_inflate(data, size, a, &na);
    int got = ours(data, size, size + 1, OUT_MAX, b, &nb);
    if (got < 0 || (want && na >= OUT_MAX)) return 0; /* too large to compare */
    if (got != want) abort();
    if (want && (na != nb || memcmp(a, b, na) != 0)) abort();
    size_t piece = 1 + (size ? data[0] % 64 : 0), room = 300 + (size > 1 ? data[1] * 8u : 0);
    int cut = ours(data, size, piece, room, c, &nc);
    if (cut != got || (got && (nc != nb || memcmp(b, c, nb) != 0))) abort();
    return 0;
}
