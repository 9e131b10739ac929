/* clock.c - the clocks of the display and the logs. */
#include <time.h>

#include "cli.h"

double cli_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t cli_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * AGT_US_PER_SEC + ts.tv_nsec / 1000;
}

void cli_date_str(int64_t us, char out[16])
{
    agt_tm tm;
    agt_tm_from_us(us, &tm);
    snprintf(out, 16, "%04d-%02d-%02d", tm.year % 10000, tm.month, tm.day);
}
