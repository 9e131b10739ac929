/*
 * fuzz_common_time.c - the date and time strings users give (--start, --end,
 * the .retry ledger's times; agt_parse_time in calendar.c) on arbitrary
 * bytes. Checks, on every input:
 *   - what is accepted lies in years 0..9999, formats back (as
 *     "YYYY-MM-DD HH:MM:SS.ffffff", and as "YYYY-MM-DD" when a date alone was
 *     given) to a string that parses to the same instant, and survives the
 *     calendar's own round trip (agt_tm_from_us / agt_us_from_tm);
 *   - what is refused is AGT_EINVAL with a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MIN_US INT64_C(-62167219200000000) /* 0000-01-01 */
#define MAX_US INT64_C(253402300799999999) /* 9999-12-31 23:59:59.999999 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256) return 0;
    char s[257];
    memcpy(s, data, size);
    s[size] = 0;
    int64_t us = 0, back = 0;
    int date_only = -1, d2 = -1;
    agt_error err;
    agt_error_clear(&err);
    agt_status st = agt_parse_time(s, &us, &date_only, &err);
    if (st != AGT_OK) {
        if (st != AGT_EINVAL || err.message[0] == 0) abort();
        return 0;
    }
    if (us < MIN_US || us > MAX_US || (date_only != 0 && date_only != 1)) abort();
    if (date_only && us % AGT_US_PER_DAY != 0) abort();

    char buf[32];
    agt_format_time_us(us, buf, sizeof buf);
    if (strlen(buf) != 26 || agt_parse_time(buf, &back, &d2, NULL) != AGT_OK || back != us || d2)
        abort();
    if (date_only) {
        buf[10] = 0;
        if (agt_parse_time(buf, &back, &d2, NULL) != AGT_OK || back != us || d2 != 1) abort();
    }
    agt_tm tm;
    agt_tm_from_us(us, &tm);
    if (agt_us_from_tm(&tm) != us || !agt_date_valid(tm.year, (unsigned)tm.month, (unsigned)tm.day))
        abort();
    return 0;
}
