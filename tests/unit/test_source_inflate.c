/*
 * test_source_inflate.c - the archive's raw DEFLATE decoder (inflate.c) and
 * zip CRC-32 (crc32.c), against zlib as the oracle: streams zlib writes with
 * every kind of block (stored, fixed, dynamic; levels 0-9, Huffman only, RLE,
 * small windows) decode to the bytes compressed, however the input and the
 * output window are cut; malformed streams are refused, never read past.
 */
#include <zlib.h>

#include "harness.h"
#include "source/archive_int.h"

static uint64_t rng = 0x1234567890abcdefULL;

/* CSV-like text (what the archive holds) or random bytes of length n. */
static uint8_t *sample(size_t n, int text)
{
    uint8_t *b = malloc(n + 1);
    size_t i = 0;
    int64_t id = 3693863900, t = 1708387200104;
    while (i < n) {
        if (!text) {
            b[i++] = (uint8_t)test_xorshift64(&rng);
            continue;
        }
        char line[128];
        uint64_t r = test_xorshift64(&rng);
        int k = snprintf(line, sizeof line, "%lld,%d.%02d000000,0.%08d,%lld,%lld,%lld,%s,True\n",
                         (long long)id, 63300 + (int)(r % 50), (int)(r >> 8) % 100,
                         (int)((r >> 16) % 3000000), (long long)id + 1280000000,
                         (long long)id + 1280000000, (long long)t, (r >> 40) & 1 ? "True" : "False");
        id++;
        t += (int64_t)(r >> 50) % 40;
        for (int j = 0; j < k && i < n; j++) b[i++] = (uint8_t)line[j];
    }
    return b;
}

/* zlib's raw deflate of src[0..n) with `level`, `strategy`, `wbits` (8+ < 16). */
static uint8_t *deflate_with(const uint8_t *src, size_t n, int level, int strategy, int wbits,
                             size_t *out_n)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, level, Z_DEFLATED, -wbits, 8, strategy) != Z_OK) return NULL;
    size_t cap = deflateBound(&s, (uLong)n) + 16;
    uint8_t *out = malloc(cap);
    s.next_in = (Bytef *)src;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    int r = deflate(&s, Z_FINISH);
    *out_n = cap - s.avail_out;
    deflateEnd(&s);
    if (r != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/*
 * Decode comp[0..n) with input given `in_piece` bytes at a time and a window
 * of `room` bytes after 32 KiB of history, into *out (malloc'd). The caller
 * frees *out. Returns the status; *got the bytes.
 */
static agt_status inflate_pieces(const uint8_t *comp, size_t n, size_t in_piece, size_t room,
                                 uint8_t **out, size_t *got, agt_error *err)
{
    agt_inflate *z = malloc(sizeof *z);
    size_t hist = 32768, cap = hist + room + AGT_INFLATE_SLACK, pos = 0, total = 0, fed = 0;
    uint8_t *win = malloc(cap), *in = malloc(in_piece + AGT_INFLATE_IN_MARGIN + 8);
    size_t out_cap = 1 << 16, in_len = 0;
    *out = malloc(out_cap);
    agt_inflate_init(z);
    agt_status st = AGT_OK;
    for (int guard = 0; guard < 1000000; guard++) {
        if (!z->in_end && z->in_len - z->in_pos < AGT_INFLATE_IN_MARGIN) {
            size_t keep = in_len - z->in_pos, take = n - fed;
            memmove(in, in + z->in_pos, keep);
            if (take > in_piece) take = in_piece;
            memcpy(in + keep, comp + fed, take);
            fed += take;
            in_len = keep + take;
            z->in = in;
            z->in_pos = 0;
            z->in_len = in_len;
            z->in_end = fed == n;
        }
        size_t before = pos;
        st = agt_inflate_run(z, win, &pos, cap, err);
        if (st != AGT_OK) break;
        while (total + (pos - before) > out_cap) *out = realloc(*out, out_cap *= 2);
        memcpy(*out + total, win + before, pos - before);
        total += pos - before;
        if (agt_inflate_done(z)) break;
        if (cap - pos < AGT_INFLATE_SLACK + 1) { /* slide, keeping the history */
            memmove(win, win + pos - hist, hist);
            pos = hist;
        }
    }
    *got = total;
    free(win);
    free(in);
    free(z);
    return st;
}

TEST(crc32_is_zlibs)
{
    ASSERT_EQ_INT(agt_crc32(0, "123456789", 9), 0xCBF43926u); /* the check value */
    ASSERT_EQ_INT(agt_crc32(0, "", 0), 0);
    uint8_t *b = sample(1 << 20, 0);
    for (int portable = 0; portable < 2; portable++) {
        agt_crc32_portable(portable);
        for (int i = 0; i < 3000; i++) {
            uint64_t r = test_xorshift64(&rng);
            size_t off = r % 64, n = (r >> 8) % (i < 2000 ? 300 : 200000);
            uint32_t seed = (uint32_t)(r >> 32);
            uint32_t ours = agt_crc32(seed, b + off, n);
            uint32_t want = (uint32_t)crc32_z(seed, b + off, n);
            if (ours != want) FAIL_("crc of %zu bytes at %zu: %08x, zlib %08x", n, off, ours, want);
            /* in two pieces: the same */
            size_t cut = n ? (r >> 40) % n : 0;
            ASSERT_EQ_INT(agt_crc32(agt_crc32(seed, b + off, cut), b + off + cut, n - cut), want);
        }
    }
    agt_crc32_portable(0);
    free(b);
}

TEST(zlib_streams_decode_to_their_bytes)
{
    static const struct {
        int level, strategy, wbits;
    } ways[] = {
        {0, Z_DEFAULT_STRATEGY, 15}, {1, Z_DEFAULT_STRATEGY, 15}, {6, Z_DEFAULT_STRATEGY, 15},
        {9, Z_DEFAULT_STRATEGY, 15}, {6, Z_FILTERED, 15},         {6, Z_HUFFMAN_ONLY, 15},
        {6, Z_RLE, 15},              {6, Z_FIXED, 15},            {9, Z_DEFAULT_STRATEGY, 9},
        {1, Z_FIXED, 10},
    };
    static const size_t sizes[] = {0, 1, 7, 300, 70000, 3000000};
    for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
            for (int text = 0; text < 2; text++) {
                size_t n = sizes[k], cn, got;
                uint8_t *src = sample(n, text), *out;
                uint8_t *comp = deflate_with(src, n, ways[w].level, ways[w].strategy, ways[w].wbits, &cn);
                ASSERT(comp != NULL);
                agt_error e;
                agt_error_clear(&e);
                /* whole input and a large window; then small pieces and a small window */
                for (int cut = 0; cut < 2; cut++) {
                    size_t piece = cut ? 1 + test_xorshift64(&rng) % 3000 : cn + 1;
                    size_t room = cut ? 300 + test_xorshift64(&rng) % 5000 : (size_t)1 << 20;
                    agt_status st = inflate_pieces(comp, cn, piece, room, &out, &got, &e);
                    if (st != AGT_OK || got != n || (n && memcmp(out, src, n) != 0))
                        FAIL_("level %d strategy %d wbits %d, %zu %s bytes, pieces %zu, room %zu: "
                              "%s, %zu bytes", ways[w].level, ways[w].strategy, ways[w].wbits, n,
                              text ? "text" : "random", piece, room,
                              st == AGT_OK ? "ok" : e.message, got);
                    free(out);
                }
                free(comp);
                free(src);
            }
}

static agt_status inflate_all(const uint8_t *comp, size_t n, size_t *got, agt_error *err)
{
    uint8_t *out;
    agt_status st = inflate_pieces(comp, n, n + 1, (size_t)1 << 20, &out, got, err);
    free(out);
    return st;
}

TEST(malformed_streams_are_refused)
{
    agt_error e;
    size_t got;
    static const struct {
        const char *bytes;
        size_t n;
        const char *why;
    } bad[] = {
        {"", 0, "unexpected end"},                         /* nothing */
        {"\x07", 1, "invalid block type"},                 /* BFINAL, type 3 */
        {"\x01\x05\x00\xfb\xff", 5, "stored block"},       /* LEN 5, NLEN not ~5 */
        {"\x01\x05\x00\xfa\xff" "abc", 8, "unexpected end"}, /* 5 stored bytes promised, 3 there */
        {"\x03\x02", 2, "too far back"},                   /* fixed: a match before any output */
        {"\x02", 1, "unexpected end"},                     /* a fixed block cut short */
        {"\xfd\xff", 2, "too many length"},                /* dynamic, HLIT 31 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        agt_error_clear(&e);
        agt_status st = inflate_all((const uint8_t *)bad[i].bytes, bad[i].n, &got, &e);
        if (st != AGT_ECORRUPT || !strstr(e.message, bad[i].why))
            FAIL_("case %zu: %s (%s)", i, agt_status_name(st), e.message);
    }
    /* a real stream cut anywhere, or with a byte changed: refused or (the
     * change did not break the code) decoded - never read out of bounds */
    size_t n = 200000, cn;
    uint8_t *src = sample(n, 1), *comp = deflate_with(src, n, 6, Z_DEFAULT_STRATEGY, 15, &cn);
    for (int i = 0; i < 200; i++) {
        size_t cut = test_xorshift64(&rng) % cn;
        agt_error_clear(&e);
        if (inflate_all(comp, cut, &got, &e) != AGT_ECORRUPT) FAIL_("cut at %zu of %zu accepted", cut, cn);
    }
    int refused = 0;
    for (int i = 0; i < 200; i++) {
        size_t at = test_xorshift64(&rng) % cn;
        uint8_t was = comp[at];
        comp[at] ^= (uint8_t)(1u << (test_xorshift64(&rng) % 8));
        agt_error_clear(&e);
        refused += inflate_all(comp, cn, &got, &e) == AGT_ECORRUPT;
        comp[at] = was;
    }
    ASSERT(refused > 0);
    free(comp);
    free(src);
}

TEST(a_full_window_is_no_end_of_stream)
{
    /* a stored block met with no room left: nothing is written, nothing is
     * refused; one byte of room takes one byte */
    size_t n = 1000, cn;
    uint8_t *src = sample(n, 1), *comp = deflate_with(src, n, 0, Z_DEFAULT_STRATEGY, 15, &cn);
    uint8_t win[AGT_INFLATE_SLACK + 64];
    agt_inflate *z = malloc(sizeof *z);
    agt_error e;
    agt_error_clear(&e);
    agt_inflate_init(z);
    z->in = comp;
    z->in_len = cn;
    z->in_end = 1;
    size_t cap = sizeof win, pos = cap - AGT_INFLATE_SLACK;
    ASSERT_OK(agt_inflate_run(z, win, &pos, cap, &e));
    ASSERT_EQ_INT(pos, cap - AGT_INFLATE_SLACK);
    ASSERT(!agt_inflate_done(z));
    pos = cap - AGT_INFLATE_SLACK - 1;
    ASSERT_OK(agt_inflate_run(z, win, &pos, cap, &e));
    ASSERT_EQ_INT(pos, cap - AGT_INFLATE_SLACK);
    ASSERT_EQ_INT(win[pos - 1], src[0]);
    free(z);
    free(comp);
    free(src);
}

TEST_MAIN(TEST_REF(crc32_is_zlibs), TEST_REF(zlib_streams_decode_to_their_bytes),
          TEST_REF(malformed_streams_are_refused), TEST_REF(a_full_window_is_no_end_of_stream))
