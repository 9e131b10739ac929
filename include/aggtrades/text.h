/*
 * aggtrades/text.h - times, symbols and counts as text: the parsing and
 * formatting the tool and other callers share with the library.
 *
 * All functions are pure (no I/O, no global state) and safe to call from any
 * thread at any time.
 */
#ifndef AGGTRADES_TEXT_H
#define AGGTRADES_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "aggtrades/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AGT_US_PER_MS INT64_C(1000)
#define AGT_US_PER_SEC INT64_C(1000000)
#define AGT_US_PER_HOUR INT64_C(3600000000)
#define AGT_US_PER_DAY INT64_C(86400000000)

/* The first UTC day the exchange has aggregate trades for, and its start. */
#define AGT_EPOCH_DATE "2017-07-01"
#define AGT_EPOCH_US INT64_C(1498867200000000)

/* A UTC time broken down (proleptic Gregorian calendar, no time zones). */
typedef struct agt_tm {
    int year;
    int month;  /* 1-12 */
    int day;    /* 1-31 */
    int hour, minute, second;
    int usec;   /* 0-999999 */
} agt_tm;

/* Break `us` (µs since the epoch, any sign) down into *tm. */
AGT_API void agt_tm_from_us(int64_t us, agt_tm *tm);
/* The inverse of agt_tm_from_us (fields are not range-checked). */
AGT_API int64_t agt_us_from_tm(const agt_tm *tm);

/*
 * Parse "YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS[.f{1,6}]" or the ISO 8601 form with
 * 'T' and an optional 'Z' (always UTC) into *us. *is_date_only (may be NULL)
 * tells whether a bare date was given. AGT_EINVAL with a message in `err`
 * (may be NULL) for an impossible date or trailing garbage; *us is then
 * unchanged.
 */
AGT_API agt_status agt_parse_time(const char *s, int64_t *us, int *is_date_only, agt_error *err);
/* "YYYY-MM-DD HH:MM:SS.ffffff" into buf[n] (n >= 32 holds it all), NUL-terminated. */
AGT_API void agt_format_time_us(int64_t us, char *buf, size_t n);

/* 1 if `s` is a valid symbol as stored: 2 to 20 characters of [A-Z0-9], and '_'
 * inside (COIN-M contracts: BTCUSD_PERP, BTCUSD_240628). Keeps paths safe. */
AGT_API int agt_symbol_valid(const char *s);
/*
 * Upper-case `s` into out[24] and check it with agt_symbol_valid: symbols are
 * accepted in any case. AGT_EINVAL with the message "invalid symbol '<s>'
 * (expected 2 to 20 letters and digits, e.g. BTCUSDT)" (or "empty symbol
 * ...") in `err` (may be NULL); out[] is then unspecified.
 */
AGT_API agt_status agt_symbol_normalize(const char *s, char out[24], agt_error *err);

/* `v` with thousands separators, "1,234,567", into out[n] (truncated, NUL-terminated). Returns out. */
AGT_API char *agt_format_count(uint64_t v, char *out, size_t n);

#ifdef __cplusplus
}
#endif
#endif
