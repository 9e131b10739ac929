/*
 * conn.c - what a source's options say about its connection, read the same
 * way for agt_client (the REST API) and agt_archive (data.binance.vision):
 * the base URL, checked and kept without its trailing '/', and the spacing,
 * retry and timeout settings, with values out of range replaced by the
 * source's defaults, turned into the net layer that sends its requests.
 */
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"

/* Each retry waits at most this long, whatever the attempt number. */
#define BACKOFF_CAP_US (60 * AGT_US_PER_SEC)

/* http:// or https://, printable ASCII, no query or fragment (paths are appended). */
static int url_ok(const char *u)
{
    size_t n = strlen(u);
    if (n > 400) return 0;
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= ' ' || (unsigned char)u[i] >= 0x7f || u[i] == '?' ||
            u[i] == '#')
            return 0;
    return 1;
}

static agt_status base_url_copy(const char *url, const char *what, char **out, agt_error *err)
{
    *out = NULL;
    if (!url_ok(url))
        return agt_err(err, AGT_EINVAL, "invalid %s '%.200s': expected http:// or https://", what,
                       url);
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/') n--;
    char *copy = malloc(n + 1);
    if (!copy) return agt_err(err, AGT_ENOMEM, "out of memory");
    memcpy(copy, url, n);
    copy[n] = 0;
    *out = copy;
    return AGT_OK;
}

static void sanitise(agt_net_conn *c, const agt_net_conn *d)
{
    if (c->interval_ms < 0) c->interval_ms = d->interval_ms;
    if (c->weight_budget < 1) c->weight_budget = d->weight_budget;
    if (c->max_attempts < 1) c->max_attempts = d->max_attempts;
    if (c->backoff_base_ms < 0) c->backoff_base_ms = d->backoff_base_ms;
    if (c->max_ban_wait_s < 0) c->max_ban_wait_s = d->max_ban_wait_s;
    if (c->connect_timeout_ms < 1) c->connect_timeout_ms = d->connect_timeout_ms;
    if (c->timeout_ms < 1) c->timeout_ms = d->timeout_ms;
    if (c->low_speed_limit < 0 || c->low_speed_time_s < 0) {
        c->low_speed_limit = d->low_speed_limit;
        c->low_speed_time_s = d->low_speed_time_s;
    }
}

static agt_status new_net(const agt_net_conn *c, const agt_clock *clock,
                          agt_transport_fn transport, void *transport_ctx, agt_net **out,
                          agt_error *err)
{
    agt_net_opts no;
    memset(&no, 0, sizeof no);
    no.interval_ms = c->interval_ms;
    no.weight_budget = c->weight_budget;
    no.retry.max_attempts = c->max_attempts;
    no.retry.base_us = (int64_t)c->backoff_base_ms * AGT_US_PER_MS;
    no.retry.cap_us = BACKOFF_CAP_US;
    no.retry.max_ban_wait_us = (int64_t)c->max_ban_wait_s * AGT_US_PER_SEC;
    no.http.connect_timeout_ms = c->connect_timeout_ms;
    no.http.timeout_ms = c->timeout_ms;
    no.http.low_speed_limit = c->low_speed_limit;
    no.http.low_speed_time_s = c->low_speed_time_s;
    no.clock = clock;
    no.transport = transport;
    no.transport_ctx = transport_ctx;
    return agt_net_new(&no, out, err);
}

agt_status agt_net_open_conn(const char *url, const char *what, agt_net_conn c,
                             const agt_net_conn *defaults, const agt_clock *clock,
                             agt_transport_fn transport, void *transport_ctx, char **base_url,
                             agt_net **net, agt_error *err)
{
    *net = NULL;
    sanitise(&c, defaults);
    AGT_TRY(base_url_copy(url, what, base_url, err));
    agt_status s = new_net(&c, clock, transport, transport_ctx, net, err);
    if (s != AGT_OK) {
        free(*base_url);
        *base_url = NULL;
    }
    return s;
}
