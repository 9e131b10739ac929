/*
 * test_source_sim.c - agt_fetch_hour over loopback against the exchange
 * simulator (tools/binance_sim.py, real libcurl, real sleeps): ordinary and
 * burst hours compared with the simulator's /_truth, the listing hour, an
 * empty hour, and random faults (500, 503, 502 html, 403 html, 429, resets,
 * truncated bodies) that must change nothing but the request count.
 * Skipped (passes) when python3 or the simulator is not available.
 */
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "aggtrades/source.h"
#include "source/source_int.h"

#define HOUR AGT_US_PER_HOUR

typedef struct sim {
    pid_t pid;
    char url[128];
} sim;

static int sim_start(sim *s, const char *const *extra)
{
    const char *root = getenv("AGT_SOURCE_DIR");
    char script[1024];
    snprintf(script, sizeof script, "%s/tools/binance_sim.py", root ? root : ".");
    if (access(script, R_OK) != 0) return -1;
    int fd[2];
    if (pipe(fd) != 0) return -1;
    const char *argv[24] = {"python3", script, "--port", "0"};
    int k = 4;
    for (int i = 0; extra[i] && k < 22; i++) argv[k++] = extra[i];
    argv[k] = NULL;
    s->pid = fork();
    if (s->pid < 0) return -1;
    if (s->pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(fd[1]);
    char line[256];
    size_t n = 0;
    while (n + 1 < sizeof line) {
        ssize_t r = read(fd[0], line + n, 1);
        if (r <= 0 || line[n] == '\n') break;
        n++;
    }
    line[n] = 0;
    close(fd[0]);
    const char *p = strstr(line, "http://");
    if (strncmp(line, "listening on ", 13) != 0 || !p) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        return -1;
    }
    snprintf(s->url, sizeof s->url, "%s", p);
    return 0;
}

static void sim_stop(sim *s)
{
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
}

/* GET a test endpoint of the simulator into `body`. */
static int sim_get(const sim *s, const char *path, agt_http_resp *r)
{
    agt_http_opts o = {5000, 60000, 0, 0};
    agt_http *h;
    agt_error e;
    if (agt_http_new(&o, &h, &e) != AGT_OK) return -1;
    char url[512];
    snprintf(url, sizeof url, "%s%s", s->url, path);
    int transient;
    agt_status st = agt_http_get(h, url, r, &transient, &e);
    agt_http_free(h);
    return st == AGT_OK && r->status == 200 ? 0 : -1;
}

/* Compare `t` with /_truth of [start, end] of `market`'s `sym`, row by row;
 * the number of truth rows goes to *n (-1 when the truth cannot be read). */
static int equals_truth(const sim *s, const char *market, const char *sym, int64_t start,
                        int64_t end, const agt_trades *t, size_t *n)
{
    char path[256];
    snprintf(path, sizeof path, "/_truth?market=%s&symbol=%s&startTime=%lld&endTime=%lld", market,
             sym, (long long)start, (long long)end);
    agt_http_resp r = {0};
    agt_buf_init(&r.body, 0);
    *n = (size_t)-1;
    if (sim_get(s, path, &r) != 0) return 0;
    agt_page pg;
    agt_page_init(&pg);
    agt_error e;
    agt_status st = agt_page_parse(&pg, r.body.data, r.body.len, &e);
    agt_buf_release(&r.body);
    int ok = st == AGT_OK && pg.len == t->len;
    for (size_t i = 0; ok && i < pg.len; i++)
        ok = pg.rows[i].a == t->trade_id[i] && agt_t_to_us(pg.rows[i].t) == t->ts_us[i] &&
             pg.rows[i].p == t->price[i] && pg.rows[i].q == t->quantity[i] &&
             pg.rows[i].m == t->is_buyer_maker[i];
    if (st == AGT_OK) *n = pg.len;
    agt_page_release(&pg);
    return ok;
}

/* Fetch one hour and compare it with /_truth, row by row. */
static void check_hour(int *agt_failed_, const sim *s, agt_client *c, const char *sym,
                       int64_t hour, agt_hour_info *info)
{
    agt_trades t;
    agt_trades_init(&t);
    agt_error e;
    agt_status st = agt_fetch_hour(c, sym, hour, &t, info, &e);
    if (st != AGT_OK) FAIL_("fetch %s %lld: %s", sym, (long long)hour, e.message);
    size_t n;
    int ok = equals_truth(s, "spot", sym, hour, hour + HOUR - 1, &t, &n);
    size_t got = t.len;
    agt_trades_release(&t);
    if (!ok) FAIL_("%s hour %lld: %zu rows fetched, truth has %zu (or a row differs)", sym,
                   (long long)hour, got, n);
    if (info->requests > (int)((n + 999) / 1000) + 2 && !getenv("AGT_SIM_FAULTS"))
        FAIL_("%d requests for %zu rows", info->requests, n);
}

static agt_client *client(const sim *s, int interval_ms)
{
    agt_client_opts o;
    agt_client_opts_default(&o);
    o.api_url = s->url;
    o.interval_ms = interval_ms;
    o.backoff_base_ms = 20;
    agt_client *c = NULL;
    agt_error e;
    agt_client_new(&o, &c, &e);
    return c;
}

#define MARCH1 INT64_C(1709251200000000) /* 2024-03-01 00:00 UTC */

TEST(simulator_hours_equal_the_truth)
{
    sim s;
    const char *args[] = {"--now", "2024-03-01T12:00:00Z", "--scale", "5", NULL};
    if (sim_start(&s, args) != 0) {
        fprintf(stderr, "  skipped: simulator not available\n");
        return;
    }
    agt_client *c = client(&s, 5);
    ASSERT(c != NULL);
    agt_hour_info info;
    /* ordinary hours, including the busy afternoon */
    for (int h = 0; h < 24; h += 5) {
        check_hour(agt_failed_, &s, c, "BTCUSDT", MARCH1 - 24 * HOUR + h * HOUR, &info);
        if (*agt_failed_) break;
        ASSERT_EQ_INT(info.complete, 1);
    }
    /* the burst hours of February (> 1000 aggTrades in one microsecond) */
    agt_http_resp r = {0};
    agt_buf_init(&r.body, 0);
    int64_t bursts[] = {INT64_C(1708995600000000), INT64_C(1708952400000000)};
    for (int i = 0; i < 2 && !*agt_failed_; i++) {
        check_hour(agt_failed_, &s, c, "BTCUSDT", bursts[i], &info);
        ASSERT_EQ_INT(info.complete, 1);
    }
    /* NEWUSDT: before its listing (empty, nothing earlier) and the listing hour */
    int64_t listing = INT64_C(1709114400000000); /* 2024-02-28 10:00 */
    check_hour(agt_failed_, &s, c, "NEWUSDT", listing - HOUR, &info);
    ASSERT_EQ_INT(info.prev_id, -1);
    ASSERT_EQ_INT(info.complete, 1);
    check_hour(agt_failed_, &s, c, "NEWUSDT", listing, &info);
    ASSERT_EQ_INT(info.prev_id, -1);
    ASSERT_EQ_INT(info.complete, 1);
    /* the hour in progress at the frozen "now" is not complete */
    check_hour(agt_failed_, &s, c, "BTCUSDT", MARCH1 + 11 * HOUR, &info);
    ASSERT_EQ_INT(info.complete, 0);
    /* a bad symbol */
    agt_trades t;
    agt_trades_init(&t);
    agt_error e;
    ASSERT_EQ_INT(agt_fetch_hour(c, "NOSUCHPAIR", MARCH1, &t, &info, &e), AGT_EAPI);
    ASSERT_EQ_INT(e.api_code, -1121);
    agt_buf_release(&r.body);
    agt_client_free(c);
    sim_stop(&s);
}

TEST(simulator_faults_change_nothing)
{
    sim s;
    const char *args[] = {"--now", "2024-03-01T12:00:00Z", "--scale", "5", "--fault-rate",
                          "0.15", "--faults", "500json,503json,502html,403html,429:1,reset,truncate",
                          "--seed", "3", NULL};
    if (sim_start(&s, args) != 0) {
        fprintf(stderr, "  skipped: simulator not available\n");
        return;
    }
    setenv("AGT_SIM_FAULTS", "1", 1);
    agt_client *c = client(&s, 5);
    ASSERT(c != NULL);
    agt_hour_info info;
    for (int h = 0; h < 4 && !*agt_failed_; h++) {
        check_hour(agt_failed_, &s, c, "ETHUSDT", MARCH1 - 10 * HOUR + h * HOUR, &info);
        ASSERT_EQ_INT(info.complete, 1);
    }
    unsetenv("AGT_SIM_FAULTS");
    agt_client_free(c);
    sim_stop(&s);
}

static int count_response(void *user, uint64_t bytes, uint64_t trades)
{
    (void)bytes;
    (void)trades;
    ++*(uint64_t *)user;
    return 0;
}

/* A month of `market`'s `sym` through agt_source_fetch_month (AUTO) with the
 * archive's zip cap `max_zip`: every hour proven complete and equal to the
 * truth. *archive_hours gets the hours served from the archive; *responses
 * the HTTP responses the client and the archive received. */
static void check_month(int *agt_failed_, const sim *s, agt_market market, const char *sym,
                        int64_t month, uint64_t max_zip, int *archive_hours, uint64_t *responses)
{
    *responses = 0;
    agt_client_opts o;
    agt_client_opts_default(&o);
    o.api_url = s->url;
    o.interval_ms = 0;
    o.market = market;
    o.progress = count_response;
    o.progress_user = responses;
    agt_archive_opts ao;
    agt_archive_opts_default(&ao);
    ao.archive_url = s->url;
    ao.interval_ms = 0;
    ao.market = market;
    ao.max_zip_bytes = max_zip;
    ao.progress = count_response;
    ao.progress_user = responses;
    agt_client *c = NULL;
    agt_archive *a = NULL;
    agt_source *src = NULL;
    agt_error e;
    ASSERT_OK(agt_client_new(&o, &c, &e));
    ASSERT_OK(agt_archive_new(&ao, &a, &e));
    ASSERT_OK(agt_source_new(c, a, &src, &e));
    static agt_day_result days[31];
    for (int d = 0; d < 31; d++) agt_day_result_init(&days[d]);
    int n = 0;
    ASSERT_OK(agt_source_fetch_month(src, sym, month, AGT_SOURCE_AUTO, days, &n, &e));
    *archive_hours = 0;
    agt_trades all;
    agt_trades_init(&all);
    for (int d = 0; d < n; d++)
        for (int h = 0; h < 24; h++) {
            const agt_day_hour *dh = &days[d].hour[h];
            if (dh->status != AGT_OK || !dh->info.complete)
                FAIL_("%s day %d hour %d: status %d complete %d (%s)", sym, d, h, dh->status,
                      dh->info.complete, days[d].archive_message);
            *archive_hours += strcmp(dh->source, "archive") == 0;
            ASSERT_OK(agt_trades_append(&all, &dh->rows));
        }
    size_t want;
    const char *mk = agt_market_name(market);
    if (!equals_truth(s, mk, sym, month, month + (int64_t)n * 24 * HOUR - 1, &all, &want))
        FAIL_("%s month: %zu rows, truth has %zu (or a row differs)", sym, all.len, want);
    agt_trades_release(&all);
    for (int d = 0; d < 31; d++) agt_day_result_release(&days[d]);
    agt_source_free(src);
    agt_archive_free(a);
    agt_client_free(c);
}

TEST(simulator_month_from_one_file)
{
    sim s;
    const char *args[] = {"--now", "2024-03-01T12:00:00Z", NULL};
    if (sim_start(&s, args) != 0) {
        fprintf(stderr, "  skipped: simulator not available\n");
        return;
    }
    int64_t jan = INT64_C(1704067200000000); /* 2024-01-01 */
    int archive_hours;
    uint64_t monthly, fallback;
    /* COIN-M: one zip and its checksum, two proof requests, the clock and limits */
    check_month(agt_failed_, &s, AGT_MARKET_CM, "BTCUSD_240628", jan, (uint64_t)64 << 20,
                &archive_hours, &monthly);
    ASSERT_EQ_INT(archive_hours, 31 * 24);
    if (monthly > 8) FAIL_("%llu responses for a month", (unsigned long long)monthly);
    /* a monthly zip above the cap (the daily ones are below it): the daily files,
     * a checksum, a zip and two proofs a day */
    check_month(agt_failed_, &s, AGT_MARKET_CM, "BTCUSD_240628", jan, (uint64_t)256 << 10,
                &archive_hours, &fallback);
    ASSERT_EQ_INT(archive_hours, 31 * 24);
    ASSERT(fallback >= 31 * 4);
    /* spot the same way */
    check_month(agt_failed_, &s, AGT_MARKET_SPOT, "ETHBTC", jan, (uint64_t)64 << 20,
                &archive_hours, &monthly);
    ASSERT_EQ_INT(archive_hours, 31 * 24);
    sim_stop(&s);
}

TEST_MAIN(TEST_REF(simulator_hours_equal_the_truth), TEST_REF(simulator_faults_change_nothing),
          TEST_REF(simulator_month_from_one_file))
