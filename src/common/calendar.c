/*
 * calendar.c - UTC calendar arithmetic and time parsing without the C
 * library's time-zone machinery (days_from_civil after H. Hinnant's public
 * domain algorithms).
 */
#include <stdio.h>
#include <string.h>

#include "common/common_int.h"

int64_t agt_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void agt_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int agt_date_valid(int64_t y, unsigned m, unsigned d)
{
    static const unsigned char mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1) return 0;
    unsigned max = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) max = 29;
    return d <= max;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void agt_tm_from_us(int64_t us, agt_tm *tm)
{
    int64_t days = floor_div(us, AGT_US_PER_DAY);
    int64_t rem = us - days * AGT_US_PER_DAY;
    int64_t y;
    unsigned m, d;
    agt_civil_from_days(days, &y, &m, &d);
    tm->year = (int)y;
    tm->month = (int)m;
    tm->day = (int)d;
    tm->hour = (int)(rem / AGT_US_PER_HOUR);
    rem %= AGT_US_PER_HOUR;
    tm->minute = (int)(rem / (60 * AGT_US_PER_SEC));
    rem %= 60 * AGT_US_PER_SEC;
    tm->second = (int)(rem / AGT_US_PER_SEC);
    tm->usec = (int)(rem % AGT_US_PER_SEC);
}

int64_t agt_us_from_tm(const agt_tm *tm)
{
    int64_t days = agt_days_from_civil(tm->year, (unsigned)tm->month, (unsigned)tm->day);
    return days * AGT_US_PER_DAY + tm->hour * AGT_US_PER_HOUR +
           (int64_t)tm->minute * 60 * AGT_US_PER_SEC + (int64_t)tm->second * AGT_US_PER_SEC +
           tm->usec;
}

int64_t agt_digits_value(const char *p, size_t n)
{
    if (n > 18) return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1; /* before reading past a NUL */
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* Read exactly n decimal digits. */
static int digits(const char **p, int n, int *out)
{
    int64_t v = agt_digits_value(*p, (size_t)n);
    if (v < 0) return 0;
    *p += n;
    *out = (int)v;
    return 1;
}

agt_status agt_parse_time(const char *s, int64_t *us, int *is_date_only, agt_error *err)
{
    const char *p = s;
    agt_tm tm = {0};
    if (!s) return agt_err(err, AGT_EINVAL, "missing time");
    if (!digits(&p, 4, &tm.year) || *p++ != '-' || !digits(&p, 2, &tm.month) || *p++ != '-' ||
        !digits(&p, 2, &tm.day))
        goto bad;
    if (!agt_date_valid(tm.year, (unsigned)tm.month, (unsigned)tm.day))
        return agt_err(err, AGT_EINVAL, "'%s' is not a calendar date", s);
    if (*p == 0) {
        if (is_date_only) *is_date_only = 1;
        *us = agt_us_from_tm(&tm);
        return AGT_OK;
    }
    if (*p != ' ' && *p != 'T') goto bad;
    p++;
    if (!digits(&p, 2, &tm.hour) || *p++ != ':' || !digits(&p, 2, &tm.minute)) goto bad;
    if (*p == ':') {
        p++;
        if (!digits(&p, 2, &tm.second)) goto bad;
        if (*p == '.') {
            p++;
            int n = 0, scale = 100000;
            while (*p >= '0' && *p <= '9') {
                if (++n > 6) goto bad;
                tm.usec += (*p++ - '0') * scale;
                scale /= 10;
            }
            if (n == 0) goto bad;
        }
    }
    if (*p == 'Z') p++;
    if (*p != 0) goto bad;
    if (tm.hour > 23 || tm.minute > 59 || tm.second > 59)
        return agt_err(err, AGT_EINVAL, "'%s' is not a valid time of day", s);
    if (is_date_only) *is_date_only = 0;
    *us = agt_us_from_tm(&tm);
    return AGT_OK;
bad:
    return agt_err(err, AGT_EINVAL,
                   "cannot parse time '%s' (expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS[.ffffff])",
                   s);
}

void agt_format_time_us(int64_t us, char *buf, size_t n)
{
    agt_tm tm;
    agt_tm_from_us(us, &tm);
    snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d.%06d", tm.year, tm.month, tm.day, tm.hour,
             tm.minute, tm.second, tm.usec);
}
