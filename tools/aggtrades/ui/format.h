/*
 * ui/format.h - pure formatters for the tool's output: byte counts, rates,
 * ETAs and durations, UTC timestamps at
 * their precision, and decimals in their shortest exact form. No state, no
 * I/O: each writes a NUL-terminated string into the caller's buffer
 * (truncated to `n`) and returns it. tests/integration/test_cli_format.py
 * checks their exact output.
 */
#ifndef AGT_UI_FORMAT_H
#define AGT_UI_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* "0 B", "999 B", "1.00 kB", "12.3 kB", "123 kB", "1.00 MB" ... (SI, 1 kB = 1000 B). */
char *fmt_bytes(uint64_t bytes, char *out, size_t n);
/* fmt_bytes + "/s": "12.3 MB/s"; negative or not finite gives "0 B/s". */
char *fmt_rate(double bytes_per_s, char *out, size_t n);
/* Always in MB/s, as the display promises: "0.00 MB/s", "1.23 MB/s", "12.3 MB/s", "123 MB/s". */
char *fmt_mbps(double bytes_per_s, char *out, size_t n);
/* Three significant digits with k/M/G: "0", "999", "1.23k", "45.1k", "123k", "1.23M". */
char *fmt_si(double v, char *out, size_t n);
/* Remaining time: "--" if unknown (negative, NaN, infinite or over 99 days),
 * "0s", "42s", "3m07s", "1h02m", "2d03h". Seconds rounded up. */
char *fmt_eta(double seconds, char *out, size_t n);
/* Elapsed time: "0.4s", "12.3s", "3m07s", "1h02m", "2d03h". */
char *fmt_duration(double seconds, char *out, size_t n);
/* Digits of the fraction that represent `us` exactly: 3 if whole milliseconds, else 6. */
int fmt_ts_digits(int64_t us);
/* "2023-10-05 12:30:00.500" with `digits` (0, 3 or 6) fraction digits;
 * iso != 0 gives "2023-10-05T12:30:00.500Z". */
char *fmt_ts(int64_t us, int digits, int iso, char *out, size_t n);
/* The shortest fixed-point text that reads back as exactly `v`:
 * 27450.12 -> "27450.12", 1e-05 -> "0.00001", 3.0 -> "3". */
char *fmt_decimal(double v, char *out, size_t n);
/* `v` with at most `max_digits` fraction digits, trailing zeros removed:
 * (12345.678900000001, 8) -> "12345.6789". */
char *fmt_fixed(double v, int max_digits, char *out, size_t n);
/* A fraction 0..1 as a percentage with one decimal: "48.3%". */
char *fmt_pct(double frac, char *out, size_t n);

#endif
