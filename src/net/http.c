/*
 * http.c - one HTTP GET over libcurl, the only file that includes
 * <curl/curl.h>.
 *
 * One easy handle per agt_http, reused for every request so libcurl keeps
 * the connection (and the TLS session) alive between pages. TLS peer and host
 * verification stay on - they are libcurl's defaults and we set them
 * explicitly so nobody "fixes" a certificate problem by accident. Compressed
 * responses are accepted (CURLOPT_ACCEPT_ENCODING "" = whatever this libcurl
 * can decode), the decoded body goes into an agt_buf with a hard cap, and
 * the headers we act on (status, X-MBX-USED-WEIGHT-1M, Retry-After,
 * Content-Type) are picked out as they arrive. Redirects are not followed:
 * the API never redirects, and a redirect to elsewhere is not our data.
 *
 * curl_global_init is not thread-safe, so it runs once under pthread_once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "net/net_int.h"

struct agt_http {
    CURL *curl;
    long timeout_ms; /* the option's whole-request timeout */
    struct curl_slist *headers;
    agt_http_resp *cur; /* response being filled */
    int too_big;
    agt_status sink_failed; /* the sink's status when it refused a piece */
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void agt_http_resp_reset(agt_http_resp *r)
{
    r->status = 0;
    r->used_weight = -1;
    r->retry_after_s = -1;
    r->retry_at_us = -1;
    r->is_html = 0;
    r->sunk = 0;
    r->body.len = 0;
    if (r->body.data) r->body.data[0] = 0;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* If `line` starts with header `name` (case-insensitive) followed by ':',
 * return the value with surrounding blanks trimmed, else NULL. */
static const char *header_value(const char *line, size_t n, const char *name, size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || line[k] != ':') return NULL;
    for (size_t i = 0; i < k; i++)
        if (lower((unsigned char)line[i]) != name[i]) return NULL;
    const char *v = line + k + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *vlen = (size_t)(end - v);
    return v;
}

/* Non-negative decimal integer of 1 to 18 digits, else -1. */
static int64_t parse_count(const char *v, size_t n)
{
    return n == 0 ? -1 : agt_digits_value(v, n);
}

int64_t agt_http_date_us(const char *v, size_t n)
{
    /* IMF-fixdate (RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT", always
     * 29 bytes, case-sensitive names, UTC. */
    static const char days[] = "MonTueWedThuFriSatSun";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (n != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' ||
        v[19] != ':' || v[22] != ':' || v[25] != ' ' || memcmp(v + 26, "GMT", 3) != 0)
        return -1;
    int wday = -1, mon = -1;
    for (int i = 0; i < 7; i++)
        if (memcmp(v, days + 3 * i, 3) == 0) wday = i;
    for (int i = 0; i < 12; i++)
        if (memcmp(v + 8, months + 3 * i, 3) == 0) mon = i + 1;
    int day = (int)agt_digits_value(v + 5, 2), year = (int)agt_digits_value(v + 12, 4);
    int hh = (int)agt_digits_value(v + 17, 2), mm = (int)agt_digits_value(v + 20, 2),
        ss = (int)agt_digits_value(v + 23, 2);
    if (wday < 0 || mon < 0 || day < 0 || year < 1970 || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
        ss < 0 || ss > 60 || !agt_date_valid(year, (unsigned)mon, (unsigned)day))
        return -1;
    int64_t d = agt_days_from_civil(year, (unsigned)mon, (unsigned)day);
    /* 1970-01-01 was a Thursday (index 3 from Monday); the name must agree. */
    if ((int)(((d % 7) + 7 + 3) % 7) != wday) return -1;
    if (ss == 60) ss = 59; /* a leap second: the same second as far as waiting goes */
    return ((d * 24 + hh) * 60 + mm) * 60 * AGT_US_PER_SEC + (int64_t)ss * AGT_US_PER_SEC;
}

void agt_http_parse_header(agt_http_resp *r, const char *line, size_t n)
{
    size_t vn;
    const char *v;
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* A new status line (e.g. after "100 Continue"): start over. */
        r->used_weight = -1;
        r->retry_after_s = -1;
        r->retry_at_us = -1;
        r->is_html = 0;
        return;
    }
    if ((v = header_value(line, n, "x-mbx-used-weight-1m", &vn))) {
        r->used_weight = parse_count(v, vn);
    } else if ((v = header_value(line, n, "retry-after", &vn))) {
        /* Binance sends seconds; RFC 9110 also allows an HTTP-date, which
         * the request loop turns into seconds on the exchange's clock. */
        r->retry_after_s = parse_count(v, vn);
        r->retry_at_us = r->retry_after_s < 0 ? agt_http_date_us(v, vn) : -1;
    } else if ((v = header_value(line, n, "content-type", &vn))) {
        r->is_html = vn >= 9 && lower((unsigned char)v[0]) == 't' &&
                     (memcmp(v, "text/html", 9) == 0 || memcmp(v, "TEXT/HTML", 9) == 0);
    }
}

static size_t on_header(char *p, size_t size, size_t nitems, void *ud)
{
    agt_http *h = ud;
    size_t n = size * nitems;
    agt_http_parse_header(h->cur, p, n);
    return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    agt_http *h = ud;
    size_t n = size * nmemb;
    agt_http_resp *r = h->cur;
    long code = 0;
    if (r->sink && curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
        code == 200) {
        agt_status st = r->sink(r->sink_ctx, (const uint8_t *)p, n);
        if (st != AGT_OK) {
            h->sink_failed = st;
            return 0;
        }
        r->sunk += n;
        return n;
    }
    if (agt_buf_append(&r->body, p, n) != AGT_OK) {
        h->too_big = 1;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    return n;
}

#define SETOPT(opt, val)                                                                 \
    do {                                                                                 \
        if (curl_easy_setopt(h->curl, opt, val) != CURLE_OK) {                           \
            agt_http_free(h);                                                            \
            return agt_err(err, AGT_ENET, "cannot set libcurl option %s", #opt);         \
        }                                                                                \
    } while (0)

agt_status agt_http_new(const agt_http_opts *o, agt_http **out, agt_error *err)
{
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return agt_err(err, AGT_ENET, "cannot initialise libcurl: %s", curl_easy_strerror(global_rc));
    agt_http *h = calloc(1, sizeof *h);
    if (!h) return agt_err(err, AGT_ENOMEM, "out of memory");
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return agt_err(err, AGT_ENOMEM, "cannot create a libcurl handle");
    }
    static const char *const hdrs[] = {
        "Accept: application/json",
        "X-MBX-TIME-UNIT: MICROSECOND", /* T in µs: exact, like the archive */
    };
    for (size_t i = 0; i < sizeof hdrs / sizeof hdrs[0]; i++) {
        struct curl_slist *l = curl_slist_append(h->headers, hdrs[i]);
        if (!l) {
            agt_http_free(h);
            return agt_err(err, AGT_ENOMEM, "out of memory");
        }
        h->headers = l;
    }
    SETOPT(CURLOPT_HTTPHEADER, h->headers);
    SETOPT(CURLOPT_USERAGENT, "aggtrades/" AGT_VERSION);
    SETOPT(CURLOPT_ACCEPT_ENCODING, "");
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(CURLOPT_NOSIGNAL, 1L); /* no SIGALRM from DNS timeouts in threads */
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000L);
    h->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000L;
    SETOPT(CURLOPT_TIMEOUT_MS, h->timeout_ms);
    /* A server that drips (a byte a second) would hold a request for the
     * whole timeout: below low_speed_limit bytes/s for low_speed_time_s the
     * transfer is aborted (CURLE_OPERATION_TIMEDOUT, retried like a reset). */
    if (o->low_speed_limit > 0 && o->low_speed_time_s > 0) {
        SETOPT(CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit);
        SETOPT(CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s);
    }
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_ERRORBUFFER, h->errbuf);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, h);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, h);
    *out = h;
    return AGT_OK;
}

void agt_http_free(agt_http *h)
{
    if (!h) return;
    if (h->curl) curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    free(h);
}

void agt_http_set_timeout_ms(agt_http *h, long ms)
{
    long t = ms > 0 && ms < h->timeout_ms ? ms : h->timeout_ms;
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, t);
}

/* Failures that another attempt cannot fix. */
static int fatal_code(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_NOT_BUILT_IN:
    case CURLE_OUT_OF_MEMORY:
        return 1;
    default:
        return 0;
    }
}

agt_status agt_http_get(void *ctx, const char *url, agt_http_resp *r, int *transient,
                        agt_error *err)
{
    agt_http *h = ctx;
    agt_http_resp_reset(r);
    *transient = 0;
    h->cur = r;
    h->too_big = 0;
    h->sink_failed = AGT_OK;
    h->errbuf[0] = 0;
    if (curl_easy_setopt(h->curl, CURLOPT_URL, url) != CURLE_OK)
        return agt_err(err, AGT_ENOMEM, "out of memory");
    CURLcode rc = curl_easy_perform(h->curl);
    h->cur = NULL;
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OK) {
        r->status = (int)status;
        return AGT_OK;
    }
    if (h->sink_failed != AGT_OK) {
        r->status = (int)status;
        return agt_err(err, h->sink_failed, "the response body could not be stored");
    }
    if (h->too_big) {
        r->status = (int)status;
        return agt_err(err, AGT_ENOMEM, "response body larger than %zu bytes",
                       r->body.max);
    }
    *transient = !fatal_code(rc);
    const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
    return agt_err(err, AGT_ENET, "%s", why);
}
