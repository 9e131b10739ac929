/*
 * ui/format.c - pure formatters (see format.h). Everything here is a
 * function of its arguments only, so the exact output is easy to test.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/format.h"
#include "aggtrades/text.h"

char *fmt_bytes(uint64_t bytes, char *out, size_t n)
{
    static const char *const units[] = { "kB", "MB", "GB", "TB", "PB", "EB" };
    if (bytes < 1000) {
        snprintf(out, n, "%u B", (unsigned)bytes);
        return out;
    }
    double v = (double)bytes;
    int u = -1;
    while (v >= 999.5 && u < 5) {
        v /= 1000.0;
        u++;
    }
    if (u < 0) { /* 999.5 .. 999.999: stays in bytes but rounds to 1000 */
        v /= 1000.0;
        u = 0;
    }
    if (v < 9.995) snprintf(out, n, "%.2f %s", v, units[u]);
    else if (v < 99.95) snprintf(out, n, "%.1f %s", v, units[u]);
    else snprintf(out, n, "%.0f %s", v, units[u]);
    return out;
}

char *fmt_rate(double bps, char *out, size_t n)
{
    char b[32];
    if (!(bps >= 0) || !isfinite(bps)) bps = 0;
    if (bps > 1.8e19) bps = 1.8e19;
    fmt_bytes((uint64_t)(bps + 0.5), b, sizeof b);
    snprintf(out, n, "%s/s", b);
    return out;
}

char *fmt_mbps(double bps, char *out, size_t n)
{
    if (!(bps >= 0) || !isfinite(bps)) bps = 0;
    double v = bps / 1e6;
    if (v < 9.995) snprintf(out, n, "%.2f MB/s", v);
    else if (v < 99.95) snprintf(out, n, "%.1f MB/s", v);
    else snprintf(out, n, "%.0f MB/s", v);
    return out;
}

char *fmt_si(double v, char *out, size_t n)
{
    static const char suffix[] = { 'k', 'M', 'G', 'T', 'P' };
    if (!(v >= 0) || !isfinite(v)) v = 0;
    if (v < 999.5) {
        snprintf(out, n, "%.0f", v);
        return out;
    }
    int u = -1;
    while (v >= 999.5 && u < 4) {
        v /= 1000.0;
        u++;
    }
    if (v < 9.995) snprintf(out, n, "%.2f%c", v, suffix[u]);
    else if (v < 99.95) snprintf(out, n, "%.1f%c", v, suffix[u]);
    else snprintf(out, n, "%.0f%c", v, suffix[u]);
    return out;
}

static char *fmt_long(long s, char *out, size_t n)
{
    if (s < 60) snprintf(out, n, "%lds", s);
    else if (s < 3600) snprintf(out, n, "%ldm%02lds", s / 60, s % 60);
    else if (s < 86400) snprintf(out, n, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    else snprintf(out, n, "%ldd%02ldh", s / 86400, (s % 86400) / 3600);
    return out;
}

char *fmt_eta(double seconds, char *out, size_t n)
{
    if (!(seconds >= 0) || !isfinite(seconds) || seconds > 99.0 * 86400) {
        snprintf(out, n, "--");
        return out;
    }
    return fmt_long((long)ceil(seconds), out, n);
}

char *fmt_duration(double seconds, char *out, size_t n)
{
    if (!(seconds >= 0) || !isfinite(seconds)) seconds = 0;
    if (seconds < 59.95) {
        snprintf(out, n, "%.1fs", seconds);
        return out;
    }
    return fmt_long((long)floor(seconds + 0.5), out, n);
}

int fmt_ts_digits(int64_t us)
{
    int64_t r = us % 1000;
    return r == 0 ? 3 : 6;
}

char *fmt_ts(int64_t us, int digits, int iso, char *out, size_t n)
{
    agt_tm tm;
    char frac[16] = "";
    agt_tm_from_us(us, &tm);
    if (digits >= 6) snprintf(frac, sizeof frac, ".%06d", tm.usec);
    else if (digits >= 3) snprintf(frac, sizeof frac, ".%03d", tm.usec / 1000);
    snprintf(out, n, "%04d-%02d-%02d%c%02d:%02d:%02d%s%s", tm.year % 10000, tm.month, tm.day,
             iso ? 'T' : ' ', tm.hour, tm.minute, tm.second, frac, iso ? "Z" : "");
    return out;
}

char *fmt_decimal(double v, char *out, size_t n)
{
    char buf[400];
    if (!isfinite(v)) {
        snprintf(out, n, "%s", isnan(v) ? "nan" : v < 0 ? "-inf" : "inf");
        return out;
    }
    if (v == 0) {
        snprintf(out, n, "0");
        return out;
    }
    double a = fabs(v);
    if (a < 6.7e7) {
        /* Fast path for what the exchange sends (at most 8 fraction digits):
         * below 2^26 the doubles are closer together than 1e-8, so at most one
         * multiple of 1e-8 reads back as v, and if n / 1e8 == v it is n * 1e-8,
         * the shortest text there is. */
        double x = a * 1e8;
        uint64_t m = (uint64_t)(x + 0.5);
        if ((double)m / 1e8 == a) {
            uint64_t ip = m / 100000000u, fp = m % 100000000u;
            int fd = 8;
            while (fd > 0 && fp % 10 == 0) {
                fp /= 10;
                fd--;
            }
            if (fd) snprintf(out, n, "%s%llu.%0*llu", v < 0 ? "-" : "", (unsigned long long)ip, fd,
                             (unsigned long long)fp);
            else snprintf(out, n, "%s%llu", v < 0 ? "-" : "", (unsigned long long)ip);
            return out;
        }
    }
    if (a >= 1e17 || a < 1e-12) { /* outside fixed-point comfort: shortest %g */
        for (int p = 1; p <= 17; p++) {
            snprintf(buf, sizeof buf, "%.*g", p, v);
            if (strtod(buf, NULL) == v) break;
        }
        snprintf(out, n, "%s", buf);
        return out;
    }
    for (int d = 0; d <= 20; d++) {
        snprintf(buf, sizeof buf, "%.*f", d, v);
        if (strtod(buf, NULL) == v) break;
    }
    snprintf(out, n, "%s", buf);
    return out;
}

char *fmt_fixed(double v, int max_digits, char *out, size_t n)
{
    char buf[400];
    if (!isfinite(v)) return fmt_decimal(v, out, n);
    snprintf(buf, sizeof buf, "%.*f", max_digits, v);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *e = buf + strlen(buf) - 1;
        while (e > dot && *e == '0') *e-- = 0;
        if (e == dot) *e = 0;
    }
    if (!strcmp(buf, "-0")) snprintf(buf, sizeof buf, "0");
    snprintf(out, n, "%s", buf);
    return out;
}

char *fmt_pct(double frac, char *out, size_t n)
{
    if (!isfinite(frac)) frac = 0;
    snprintf(out, n, "%.1f%%", frac * 100.0);
    return out;
}
