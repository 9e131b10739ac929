/*
 * archive_int.h - the archive source inside the library (not public):
 * SHA-256 (sha256.c), the .CHECKSUM parser and the download into a
 * temporary file (archive.c), the streaming zip reader (archive_zip.c), and
 * the streaming CSV row parser (archive_csv.c), exposed
 * here so unit tests and the fuzz target reach each piece on its own.
 */
#ifndef AGT_ARCHIVE_INT_H
#define AGT_ARCHIVE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "aggtrades/archive.h"
#include "common/common_int.h"
#include "net/net_int.h"

/* ---- sha256.c --------------------------------------------------------------- */

typedef struct agt_sha256_ctx {
    uint32_t h[8];
    uint64_t total;   /* bytes hashed so far */
    uint8_t block[64];
    size_t fill;      /* bytes waiting in `block` */
    int ni;           /* blocks go through the CPU's SHA instructions (sha256.c) */
} agt_sha256_ctx;

void agt_sha256_init(agt_sha256_ctx *s);
void agt_sha256_update(agt_sha256_ctx *s, const void *data, size_t n);
void agt_sha256_final(agt_sha256_ctx *s, uint8_t digest[32]);
/* One-shot digest of data[0..n). */
void agt_sha256(const void *data, size_t n, uint8_t digest[32]);
/* Tests: with `on`, contexts initialised afterwards use the portable code
 * even where the CPU has SHA instructions. Returns 1 if the contexts use the
 * portable code (always, on other CPUs). */
int agt_sha256_portable(int on);
/* 64 lowercase hex digits and a NUL into hex[65]. */
void agt_sha256_hex(const uint8_t digest[32], char hex[65]);

/* ---- archive.c ---------------------------------------------------------------- */

/*
 * Parse a sha256sum-style .CHECKSUM body: 64 hex digits (either case), two
 * spaces (or " *", sha256sum's binary mode), the file name, and optionally one
 * "\n" or "\r\n". The name must equal `expect_name` when that is not NULL.
 * AGT_EPARSE with a message otherwise.
 */
agt_status agt_checksum_parse(const uint8_t *s, size_t n, const char *expect_name,
                              uint8_t digest[32], agt_error *err);

/* ---- crc32.c ------------------------------------------------------------------ */

/* The zip CRC-32 of data[0..n) continuing from `crc` (0 to start), as zlib's crc32(). */
uint32_t agt_crc32(uint32_t crc, const void *data, size_t n);
/* Tests: with `on`, the byte-wise code even where the CPU folds with
 * PCLMULQDQ. Returns 1 if the byte-wise code is in use. */
int agt_crc32_portable(int on);

/* ---- inflate.c ---------------------------------------------------------------- */

#define AGT_INFLATE_LIT_BITS 10
#define AGT_INFLATE_DIST_BITS 8
/* primary tables plus the most their subtables can take for a complete code
 * (a subtable 2^d entries deep needs d + 1 symbols under its prefix) */
#define AGT_INFLATE_LIT_ENTRIES (1024 + 1536)
#define AGT_INFLATE_DIST_ENTRIES (256 + 480)
/* room the window must keep free after the output: the longest match (258)
 * and the 8-byte copies that may write past it */
#define AGT_INFLATE_SLACK 280
/* input it wants ahead unless at the end: more than the longest block header */
#define AGT_INFLATE_IN_MARGIN 1024

/*
 * A raw DEFLATE stream being decoded (inflate.c). The caller sets in/in_len
 * (bytes from in_pos on are unread) and in_end (no input after in_len); it
 * may move or refill the input between runs, keeping in[in_pos..in_len).
 */
typedef struct agt_inflate {
    const uint8_t *in;
    size_t in_len, in_pos;
    int in_end;
    uint64_t bits;       /* bits read ahead, the next in the low bits */
    unsigned nbits, over; /* how many; zero bytes read past the input's end */
    int state, last;     /* where in the stream; the block is the final one */
    size_t stored_left;  /* bytes left of a stored block */
    uint64_t total_out;
    uint32_t lit[AGT_INFLATE_LIT_ENTRIES], dist[AGT_INFLATE_DIST_ENTRIES];
} agt_inflate;

void agt_inflate_init(agt_inflate *z);
/*
 * Decode into out[*pos..cap), matches reaching back into out[0..*pos) (which
 * must hold the last 32 KiB of output, or all of it), until the stream ends
 * (agt_inflate_done), the window has less than AGT_INFLATE_SLACK bytes free,
 * or the input runs short of AGT_INFLATE_IN_MARGIN while more is to come.
 * *pos advances past what was written. AGT_ECORRUPT with a message for a
 * malformed or truncated stream.
 */
agt_status agt_inflate_run(agt_inflate *z, uint8_t *out, size_t *pos, size_t cap, agt_error *err);
int agt_inflate_done(const agt_inflate *z);

/* A batch of rows read from a file, in file order (borrowed for the call).
 * Anything but AGT_OK stops the reading with that status. */
typedef agt_status (*agt_rows_fn)(void *user, const agt_trades *rows, agt_error *err);

/*
 * Read the member `member` of the zip zip[0..n) (in memory, not copied) and
 * parse it as the CSV of `market`'s day starting at `day_start_us`, appending rows to
 * `out` in file order (not sorted). `max_csv` caps the uncompressed size.
 * AGT_ECORRUPT for a zip that cannot be read or lacks the member, AGT_EPARSE
 * for a bad row, AGT_ENOMEM, AGT_EUNSUPPORTED if built without libzip.
 * `out` is unchanged on failure. *csv_bytes (may be NULL) gets the size read.
 */
agt_status agt_archive_read_zip(const uint8_t *zip, size_t n, const char *member,
                                int64_t day_start_us, agt_market market, uint64_t max_csv,
                                agt_trades *out, uint64_t *csv_bytes, agt_error *err);
/* The same for a file of whole days [start_us, end_us] (a monthly file). */
agt_status agt_archive_read_zip_range(const uint8_t *zip, size_t n, const char *member,
                                      int64_t start_us, int64_t end_us, agt_market market,
                                      uint64_t max_csv, agt_trades *out, uint64_t *csv_bytes,
                                      agt_error *err);

/*
 * A published file, downloaded and verified against its .CHECKSUM, kept in
 * an unlinked temporary file (nothing to clean up after a crash), so that
 * neither the zip nor its CSV is ever held in memory.
 */
typedef struct agt_archive_zip {
    int fd;                  /* the zip; -1 when none */
    char csv_name[72];       /* its member */
    int64_t start_us, end_us; /* the whole days it covers */
    uint64_t max_csv;        /* the handle's cap on the member's size */
    agt_market market;       /* whose format the member has */
    agt_archive_info info;   /* day_start_us, ts_unit_us, requests, zip_bytes, sha256 */
} agt_archive_zip;

/* fd = -1, nothing else. */
void agt_archive_zip_init(agt_archive_zip *z);
void agt_archive_zip_close(agt_archive_zip *z);

/*
 * Download the daily (monthly = 0; start_us a day) or monthly (start_us the
 * first of a month) file of `symbol` into `out` (closed first), checksum
 * computed while it is written. Errors as agt_archive_fetch_day; `out->info`
 * tells the requests sent either way.
 */
agt_status agt_archive_download(agt_archive *a, const char *symbol, int monthly,
                                int64_t start_us, agt_archive_zip *out, agt_error *err);

/*
 * Inflate the member of a downloaded file and parse it as it comes, handing
 * the rows to `fn` in file order, in batches of at most a few thousand
 * (memory: one batch and libzip's buffers). Errors: AGT_ECORRUPT (unreadable
 * zip, missing member, CRC), AGT_EPARSE (a bad row: the message names the
 * member and line), AGT_ENOMEM (also the size cap), AGT_EUNSUPPORTED, or
 * whatever `fn` returned. *csv_bytes (may be NULL) gets the bytes read.
 */
agt_status agt_archive_zip_rows(const agt_archive_zip *z, agt_rows_fn fn, void *user,
                                uint64_t *csv_bytes, agt_error *err);

/* Create a handle with an injected clock and transport (NULL: system / libcurl). */
agt_status agt_archive_new_with(const agt_archive_opts *o, const agt_clock *clock,
                                agt_transport_fn transport, void *transport_ctx,
                                agt_archive **out, agt_error *err);

/* ---- archive_csv.c ---------------------------------------------------------- */

/* 2025-01-01 00:00 UTC: spot archive timestamps are µs from this day, ms before. */
#define AGT_ARCHIVE_MICROS_FROM_US INT64_C(1735689600000000)

/*
 * Streaming parser state: feed the text in pieces of any size; each call
 * parses the complete lines it holds and says how many bytes it consumed, the
 * caller keeps the rest in front of the next piece.
 */
typedef struct agt_csv {
    int64_t day_start_us;
    int64_t day_end_us;  /* inclusive */
    int64_t unit_us;     /* 1000 (ms file) or 1 (µs file) */
    int fields;          /* 8 (spot) or 7 (futures): the market's (agt_market_def.csv_fields) */
    const char *kind;    /* "a spot file" or "a futures file", for messages */
    uint64_t line;       /* lines consumed so far */
    uint64_t header;     /* 1 if a header line was skipped */
    int64_t max_line;    /* longest accepted line, bytes (for callers' buffers) */
} agt_csv;

/* A file of `market` (its format: archive_csv.c). AGT_EINVAL if day_start_us is not a whole
 * UTC day or market unknown. */
agt_status agt_csv_init(agt_csv *p, int64_t day_start_us, agt_market market, agt_error *err);
/* The same for a file of whole days [start_us, end_us] (a monthly file: at
 * most 31 days; times must fall inside). */
agt_status agt_csv_init_range(agt_csv *p, int64_t start_us, int64_t end_us, agt_market market,
                              agt_error *err);

/* A line longer than this is malformed (a real row is under 100 bytes). */
#define AGT_CSV_MAX_LINE 512

/*
 * Parse the complete lines of s[0..n) and append their rows to `out`. With
 * `at_end` set, the text ends here, and a last line without its newline is
 * parsed too. *consumed gets the bytes used (everything when at_end). On a
 * malformed row AGT_EPARSE with "line N: ..." (rows of earlier lines stay in
 * `out`; callers that must leave `out` unchanged parse into a scratch table).
 */
agt_status agt_csv_feed(agt_csv *p, const char *s, size_t n, int at_end, agt_trades *out,
                        size_t *consumed, agt_error *err);

#endif
