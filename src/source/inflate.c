/*
 * inflate.c - a raw DEFLATE decoder (RFC 1951) for the archive's zip
 * members, resumable so the CSV is never held whole (archive_int.h).
 *
 * Why our own: inflating the day's CSV was a quarter of an ingest's CPU with
 * the system zlib (1.2.13, through libzip). This decoder is built for the
 * one shape the archive needs - all input at hand in a buffer the caller
 * refills, output into a window the caller slides - and decodes a symbol
 * with one table lookup and at most one refill of a 64-bit bit buffer:
 *
 *   - Huffman codes are read through two-level tables (decode_table): the
 *     first LIT_BITS / DIST_BITS bits index a primary table; longer codes
 *     continue in a subtable. An entry holds everything decoding needs: the
 *     bits to drop, what it is (literal, length, end of block, subtable,
 *     invalid), its base value and the number of extra bits.
 *   - The bit buffer is refilled 8 bytes at a time while the input has them
 *     (the refill leaves 56..63 bits, enough for a whole length/distance
 *     pair: 15 + 5 + 15 + 13 bits); near the end of the input byte by byte.
 *   - A match is copied 8 bytes at a time when its distance allows, into
 *     slack the caller leaves after the window (AGT_INFLATE_SLACK).
 *
 * It stops, and resumes where it stopped, only between two symbols or two
 * blocks: when the window has less than AGT_INFLATE_SLACK bytes free, or
 * when the input has less than AGT_INFLATE_IN_MARGIN bytes left and more is
 * to come (the margin holds the longest block header). What zlib refuses it
 * refuses: over-subscribed or incomplete codes (but a single code of one bit),
 * the code lengths repeat with nothing before it, lengths beyond the counts,
 * symbols 286/287 and distances 30/31, distances before the start of the
 * output, a stored block whose length and complement disagree, block type 3,
 * and input that ends inside the stream. The caller checks the CRC-32 and
 * the size the zip records.
 */
#include <string.h>

#include "source/archive_int.h"

/* ---- table entries ---------------------------------------------------------------- */

/*
 * bits 0-4: bits the entry's code takes (for a subtable pointer: the primary
 *           table's bits); bits 8-11: extra bits of a length or distance, or
 *           the bits a subtable is indexed by; bits 12-15: what it is;
 *           bits 16-31: literal byte, base length or distance, or subtable offset.
 */
#define E_LITERAL 0x1000u
#define E_END 0x2000u
#define E_SUB 0x4000u
#define E_BAD 0x8000u
#define ENTRY(value, kind, extra, bits) \
    (((uint32_t)(value) << 16) | (kind) | ((uint32_t)(extra) << 8) | (uint32_t)(bits))
#define E_BITS(e) ((e) & 31u)
#define E_EXTRA(e) (((e) >> 8) & 15u)
#define E_VALUE(e) ((e) >> 16)

static const uint16_t LEN_BASE[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                      31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t LEN_EXTRA[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t DIST_BASE[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                       33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t DIST_EXTRA[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
static const uint8_t PRECODE_ORDER[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};

enum { KIND_LIT, KIND_DIST, KIND_PRECODE };

/* The entry of symbol `sym` of a table of `kind` whose code is `len` bits long. */
static uint32_t symbol_entry(int kind, unsigned sym, unsigned len)
{
    if (kind == KIND_PRECODE) return ENTRY(sym, 0, 0, len);
    if (kind == KIND_DIST)
        return sym < 30 ? ENTRY(DIST_BASE[sym], 0, DIST_EXTRA[sym], len) : ENTRY(0, E_BAD, 0, len);
    if (sym < 256) return ENTRY(sym, E_LITERAL, 0, len);
    if (sym == 256) return ENTRY(0, E_END, 0, len);
    if (sym < 286) return ENTRY(LEN_BASE[sym - 257], 0, LEN_EXTRA[sym - 257], len);
    return ENTRY(0, E_BAD, 0, len);
}

static unsigned reverse_bits(unsigned code, unsigned len)
{
    unsigned r = 0;
    for (unsigned i = 0; i < len; i++, code >>= 1) r = (r << 1) | (code & 1u);
    return r;
}

/*
 * Build the table of a canonical Huffman code from its code lengths
 * (lens[0..n), 0: unused) into table[0..cap): primary table of `pbits` bits,
 * subtables after it. 0 on success, -1 for a code zlib refuses.
 */
static int decode_table(uint32_t *table, size_t cap, unsigned pbits, const uint8_t *lens, unsigned n,
                        int kind)
{
    unsigned count[16] = {0}, next[16], used = 0, maxlen = 0;
    for (unsigned s = 0; s < n; s++) count[lens[s]]++;
    count[0] = 0;
    int left = 1;
    for (unsigned len = 1; len < 16; len++) {
        left = (left << 1) - (int)count[len];
        if (left < 0) return -1; /* over-subscribed */
        used += count[len];
        if (count[len]) maxlen = len;
    }
    /* incomplete: only a lone one-bit code (and no code at all for distances) */
    if (left > 0 && !(kind != KIND_PRECODE && maxlen <= 1 && used <= 1)) return -1;
    if (kind == KIND_PRECODE && used == 0) return -1;
    next[1] = 0;
    for (unsigned len = 1; len < 15; len++) next[len + 1] = (next[len] + count[len]) << 1;

    size_t primary = (size_t)1 << pbits, end = primary;
    for (size_t i = 0; i < primary; i++) table[i] = ENTRY(0, E_BAD, 0, 1);
    /* pass 1: the depth of each subtable, from the longest code under its prefix */
    uint8_t sub[1u << 10];
    memset(sub, 0, primary);
    unsigned code_of[288];
    for (unsigned s = 0; s < n; s++) {
        if (!lens[s]) continue;
        code_of[s] = reverse_bits(next[lens[s]]++, lens[s]);
        if (lens[s] > pbits) {
            unsigned p = code_of[s] & ((1u << pbits) - 1), d = lens[s] - pbits;
            if (d > sub[p]) sub[p] = (uint8_t)d;
        }
    }
    for (size_t p = 0; p < primary; p++) {
        if (!sub[p]) continue;
        size_t size = (size_t)1 << sub[p];
        if (end + size > cap) return -1;
        table[p] = ENTRY(end, E_SUB, sub[p], pbits);
        for (size_t i = 0; i < size; i++) table[end + i] = ENTRY(0, E_BAD, 0, 1);
        end += size;
    }
    /* pass 2: every index whose low bits are a code decodes to its symbol */
    for (unsigned s = 0; s < n; s++) {
        unsigned len = lens[s];
        if (!len) continue;
        if (len <= pbits) {
            for (size_t i = code_of[s]; i < primary; i += (size_t)1 << len)
                table[i] = symbol_entry(kind, s, len);
        } else {
            uint32_t ptr = table[code_of[s] & (primary - 1)];
            unsigned d = len - pbits, depth = E_EXTRA(ptr);
            for (size_t i = code_of[s] >> pbits; i < ((size_t)1 << depth); i += (size_t)1 << d)
                table[E_VALUE(ptr) + i] = symbol_entry(kind, s, d);
        }
    }
    return 0;
}

/* ---- the bit buffer ------------------------------------------------------------------ */

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8); /* little-endian hosts: the bytes in stream order */
    return v;
}

/* Refill to at least 56 bits; past the end of the input zero bits are
 * counted in z->over (a stream that uses them is truncated). */
static inline void refill(agt_inflate *z)
{
    if (z->in_len - z->in_pos >= 8) {
        z->bits |= load64(z->in + z->in_pos) << z->nbits;
        z->in_pos += (63 - z->nbits) >> 3;
        z->nbits |= 56;
        return;
    }
    while (z->nbits <= 56) {
        if (z->in_pos < z->in_len) z->bits |= (uint64_t)z->in[z->in_pos++] << z->nbits;
        else z->over++;
        z->nbits += 8;
    }
}

static inline uint32_t peek(const agt_inflate *z, unsigned n)
{
    return (uint32_t)(z->bits & ((UINT64_C(1) << n) - 1));
}

static inline void drop(agt_inflate *z, unsigned n)
{
    z->bits >>= n;
    z->nbits -= n;
}

static inline uint32_t take(agt_inflate *z, unsigned n)
{
    uint32_t v = peek(z, n);
    drop(z, n);
    return v;
}

/* Give whole unread bytes back to the input: the state is then the input
 * position and at most 7 bits (the caller may move the input). */
static void unread(agt_inflate *z)
{
    unsigned whole = z->nbits / 8, back = whole > z->over ? whole - z->over : 0;
    z->over -= whole - back;
    z->in_pos -= back;
    z->nbits -= whole * 8;
    z->bits &= (UINT64_C(1) << z->nbits) - 1;
}

/* 1 if the bits the stream used ran past the end of the input. */
static int truncated(const agt_inflate *z)
{
    return z->over * 8 > z->nbits;
}

/* Decode through `table` (primary `pbits` bits); needs a refill before. */
static inline uint32_t decode(agt_inflate *z, const uint32_t *table, unsigned pbits)
{
    uint32_t e = table[peek(z, pbits)];
    if (e & E_SUB) {
        drop(z, pbits);
        e = table[E_VALUE(e) + peek(z, E_EXTRA(e))];
    }
    drop(z, E_BITS(e));
    return e;
}

/* ---- blocks ---------------------------------------------------------------------- */

enum { ST_HEADER, ST_STORED, ST_HUFFMAN, ST_DONE };

static agt_status corrupt(agt_error *err, const char *what)
{
    return agt_err(err, AGT_ECORRUPT, "deflate stream: %s", what);
}

static void fixed_tables(agt_inflate *z)
{
    uint8_t lens[288 + 32];
    memset(lens, 8, 144);
    memset(lens + 144, 9, 112);
    memset(lens + 256, 7, 24);
    memset(lens + 280, 8, 8);
    memset(lens + 288, 5, 32);
    (void)decode_table(z->lit, AGT_INFLATE_LIT_ENTRIES, AGT_INFLATE_LIT_BITS, lens, 288, KIND_LIT);
    (void)decode_table(z->dist, AGT_INFLATE_DIST_ENTRIES, AGT_INFLATE_DIST_BITS, lens + 288, 32,
                       KIND_DIST);
}

static agt_status dynamic_tables(agt_inflate *z, agt_error *err)
{
    refill(z);
    unsigned nlit = take(z, 5) + 257, ndist = take(z, 5) + 1, npre = take(z, 4) + 4;
    if (nlit > 286 || ndist > 30) return corrupt(err, "too many length or distance symbols");
    uint8_t pre_lens[19] = {0}, lens[286 + 30];
    uint32_t pre[128];
    for (unsigned i = 0; i < npre; i++) {
        if (z->nbits < 3) refill(z);
        pre_lens[PRECODE_ORDER[i]] = (uint8_t)take(z, 3);
    }
    if (decode_table(pre, 128, 7, pre_lens, 19, KIND_PRECODE) != 0)
        return corrupt(err, "invalid code lengths set");
    for (unsigned i = 0; i < nlit + ndist;) {
        refill(z);
        uint32_t e = pre[peek(z, 7)];
        if (e & E_BAD) return corrupt(err, "invalid code lengths set");
        drop(z, E_BITS(e));
        unsigned sym = E_VALUE(e), rep, val = 0;
        if (sym < 16) {
            lens[i++] = (uint8_t)sym;
            continue;
        }
        if (sym == 16) {
            if (i == 0) return corrupt(err, "invalid bit length repeat");
            val = lens[i - 1];
            rep = 3 + take(z, 2);
        } else {
            rep = sym == 17 ? 3 + take(z, 3) : 11 + take(z, 7);
        }
        if (i + rep > nlit + ndist) return corrupt(err, "invalid bit length repeat");
        memset(lens + i, (int)val, rep);
        i += rep;
    }
    if (truncated(z)) return corrupt(err, "unexpected end of input");
    if (lens[256] == 0) return corrupt(err, "invalid code -- missing end-of-block");
    if (decode_table(z->lit, AGT_INFLATE_LIT_ENTRIES, AGT_INFLATE_LIT_BITS, lens, nlit, KIND_LIT))
        return corrupt(err, "invalid literal/lengths set");
    if (decode_table(z->dist, AGT_INFLATE_DIST_ENTRIES, AGT_INFLATE_DIST_BITS, lens + nlit, ndist,
                     KIND_DIST))
        return corrupt(err, "invalid distances set");
    return AGT_OK;
}

static agt_status block_header(agt_inflate *z, agt_error *err)
{
    refill(z);
    z->last = (int)take(z, 1);
    unsigned type = take(z, 2);
    if (type == 0) { /* stored: byte-aligned LEN, NLEN, then the bytes */
        drop(z, z->nbits % 8);
        unread(z);
        if (z->in_len - z->in_pos < 4) return corrupt(err, "unexpected end of input");
        const uint8_t *p = z->in + z->in_pos;
        unsigned len = p[0] | (unsigned)p[1] << 8, nlen = p[2] | (unsigned)p[3] << 8;
        if (len != (~nlen & 0xffffu)) return corrupt(err, "invalid stored block lengths");
        z->in_pos += 4;
        z->stored_left = len;
        z->state = ST_STORED;
        return AGT_OK;
    }
    if (type == 3) return corrupt(err, "invalid block type");
    if (type == 1) fixed_tables(z);
    else AGT_TRY(dynamic_tables(z, err));
    if (truncated(z)) return corrupt(err, "unexpected end of input");
    z->state = ST_HUFFMAN;
    return AGT_OK;
}

/* A match of `len` bytes `dist` back, at out + pos (room for len + 8 after it). */
static inline void copy_match(uint8_t *out, size_t pos, unsigned len, unsigned dist)
{
    uint8_t *d = out + pos;
    const uint8_t *s = d - dist;
    if (dist >= 8) { /* 8 bytes at a time; the last copy may write past len (slack) */
        uint8_t *end = d + len;
        do {
            memcpy(d, s, 8);
            d += 8;
            s += 8;
        } while (d < end);
    } else if (dist == 1) {
        memset(d, s[0], len);
    } else {
        for (unsigned i = 0; i < len; i++) d[i] = s[i];
    }
}

/*
 * The fast loop of a Huffman block: bit buffer, input and output positions in
 * locals (stores through `out` could otherwise alias the decoder's fields),
 * while at least 8 bytes of input are there to refill from (in_stop) and a
 * longest match fits (out_stop). Returns 1 at the block's end, 0 when a limit
 * was reached, -1 (message in *what) for a bad code or distance.
 */
static int huffman_fast(agt_inflate *z, uint8_t *out, size_t *pos, size_t out_stop, size_t in_stop,
                        const char **what)
{
    const uint32_t *lit = z->lit, *dist = z->dist;
    const uint8_t *in = z->in;
    uint64_t bits = z->bits;
    unsigned nbits = z->nbits;
    size_t ip = z->in_pos, p = *pos;
    int ret = 0;
#define LOCAL_REFILL()                                 \
    do {                                               \
        bits |= load64(in + ip) << nbits;              \
        ip += (63 - nbits) >> 3;                       \
        nbits |= 56;                                   \
    } while (0)
#define LOCAL_DROP(n) (bits >>= (n), nbits -= (n))
#define LOCAL_PEEK(n) ((uint32_t)(bits & ((UINT64_C(1) << (n)) - 1)))
/* e = the entry of the next code of `table` (primary `pbits`), its bits dropped */
#define LOCAL_DECODE(e, table, pbits)                     \
    do {                                                  \
        e = table[LOCAL_PEEK(pbits)];                     \
        if (e & E_SUB) {                                  \
            LOCAL_DROP(pbits);                            \
            e = table[E_VALUE(e) + LOCAL_PEEK(E_EXTRA(e))]; \
        }                                                 \
        LOCAL_DROP(E_BITS(e));                            \
    } while (0)
    while (p <= out_stop && ip <= in_stop) {
        LOCAL_REFILL();
        uint32_t e, d;
        LOCAL_DECODE(e, lit, AGT_INFLATE_LIT_BITS);
        if (e & E_LITERAL) {
            out[p++] = (uint8_t)E_VALUE(e);
            /* more literals from the same refill while their bits are there */
            for (int k = 0; k < 3 && nbits >= 15; k++) {
                uint32_t e2 = lit[LOCAL_PEEK(AGT_INFLATE_LIT_BITS)];
                if (!(e2 & E_LITERAL)) break;
                LOCAL_DROP(E_BITS(e2));
                out[p++] = (uint8_t)E_VALUE(e2);
            }
            continue;
        }
        if (e & (E_END | E_BAD)) {
            ret = (e & E_BAD) ? -1 : 1;
            if (e & E_BAD) *what = "invalid literal/length code";
            break;
        }
        unsigned len = E_VALUE(e) + LOCAL_PEEK(E_EXTRA(e));
        LOCAL_DROP(E_EXTRA(e));
        LOCAL_DECODE(d, dist, AGT_INFLATE_DIST_BITS);
        if (d & E_BAD) {
            ret = -1;
            *what = "invalid distance code";
            break;
        }
        unsigned dd = E_VALUE(d) + LOCAL_PEEK(E_EXTRA(d));
        LOCAL_DROP(E_EXTRA(d));
        if (dd > p) {
            ret = -1;
            *what = "invalid distance too far back";
            break;
        }
        copy_match(out, p, len, dd);
        p += len;
    }
#undef LOCAL_DECODE
#undef LOCAL_REFILL
#undef LOCAL_DROP
#undef LOCAL_PEEK
    z->bits = bits;
    z->nbits = nbits;
    z->in_pos = ip;
    z->total_out += p - *pos;
    *pos = p;
    return ret;
}

/* One symbol at a time near the ends of the input, refilling byte by byte. */
static int huffman_slow(agt_inflate *z, uint8_t *out, size_t *pos, size_t out_stop, const char **what)
{
    size_t p = *pos;
    int ret = 0;
    while (p <= out_stop && (z->in_end || z->in_len - z->in_pos >= AGT_INFLATE_IN_MARGIN)) {
        refill(z);
        uint32_t e = decode(z, z->lit, AGT_INFLATE_LIT_BITS);
        if (e & E_LITERAL) {
            out[p++] = (uint8_t)E_VALUE(e);
            if (truncated(z)) break;
            continue;
        }
        if (e & (E_END | E_BAD)) {
            ret = (e & E_BAD) ? -1 : 1;
            if (e & E_BAD) *what = "invalid literal/length code";
            break;
        }
        unsigned len = E_VALUE(e) + take(z, E_EXTRA(e));
        uint32_t d = decode(z, z->dist, AGT_INFLATE_DIST_BITS);
        if (d & E_BAD) {
            ret = -1;
            *what = "invalid distance code";
            break;
        }
        unsigned dd = E_VALUE(d) + take(z, E_EXTRA(d));
        if (dd > p) {
            ret = -1;
            *what = "invalid distance too far back";
            break;
        }
        if (truncated(z)) break;
        copy_match(out, p, len, dd);
        p += len;
    }
    z->total_out += p - *pos;
    *pos = p;
    return ret;
}

/* Symbols of the current block until its end, a full window or short input. */
static agt_status huffman(agt_inflate *z, uint8_t *out, size_t *pos, size_t cap, agt_error *err)
{
    const size_t out_stop = cap - AGT_INFLATE_SLACK;
    size_t margin = z->in_end ? 8 : AGT_INFLATE_IN_MARGIN;
    const char *what = NULL;
    int r = 0;
    if (z->in_len >= margin) r = huffman_fast(z, out, pos, out_stop, z->in_len - margin, &what);
    if (r == 0 && z->in_end) r = huffman_slow(z, out, pos, out_stop, &what);
    if (r < 0) return corrupt(err, what);
    if (truncated(z)) return corrupt(err, "unexpected end of input");
    if (r == 1) z->state = ST_HEADER;
    return AGT_OK;
}

static void stored(agt_inflate *z, uint8_t *out, size_t *pos, size_t cap)
{
    size_t room = cap - AGT_INFLATE_SLACK - *pos, have = z->in_len - z->in_pos; /* run: pos <= cap - slack */
    size_t n = z->stored_left;
    if (n > room) n = room;
    if (n > have) n = have;
    memcpy(out + *pos, z->in + z->in_pos, n);
    z->in_pos += n;
    *pos += n;
    z->total_out += n;
    z->stored_left -= n;
    if (z->stored_left == 0) z->state = ST_HEADER;
}

void agt_inflate_init(agt_inflate *z)
{
    memset(z, 0, sizeof *z);
    z->state = ST_HEADER;
}

int agt_inflate_done(const agt_inflate *z)
{
    return z->state == ST_DONE;
}

agt_status agt_inflate_run(agt_inflate *z, uint8_t *out, size_t *pos, size_t cap, agt_error *err)
{
    if (cap < AGT_INFLATE_SLACK) return agt_err(err, AGT_EINVAL, "inflate window too small");
    if (*pos > cap - AGT_INFLATE_SLACK) return AGT_OK; /* no room: the caller slides the window */
    for (;;) {
        size_t before_in = z->in_pos, before_out = *pos;
        if (z->state == ST_DONE) break;
        if (z->state == ST_HEADER) {
            if (z->last) {
                z->state = ST_DONE;
                break;
            }
            if (!z->in_end && z->in_len - z->in_pos < AGT_INFLATE_IN_MARGIN) break;
            AGT_TRY(block_header(z, err));
        } else if (z->state == ST_STORED) {
            if (z->stored_left && z->in_pos == z->in_len && z->in_end)
                return corrupt(err, "unexpected end of input");
            stored(z, out, pos, cap);
        } else {
            AGT_TRY(huffman(z, out, pos, cap, err));
        }
        /* no progress: the window is full or the input short */
        if (z->state != ST_HEADER && z->in_pos == before_in && *pos == before_out) break;
    }
    unread(z);
    return AGT_OK;
}
