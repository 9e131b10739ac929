/*
 * fuzz_source_json.c - fuzz target for the strict JSON readers of the REST
 * source: the aggTrades page, the error body and the server time, plus the
 * decimal converter (checked bit for bit against strtod on every input that
 * it accepts). The committed corpus holds genuine exchange pages (see
 * /work/shared/realdata/SOURCES.md) and malformed variants.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/source_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    agt_page pg;
    agt_page_init(&pg);
    agt_error err;
    agt_error_clear(&err);
    if (agt_page_parse(&pg, data, size, &err) == AGT_OK) {
        for (size_t i = 0; i < pg.len; i++) {
            const agt_page_row *r = &pg.rows[i];
            if (r->a < 0 || !(r->p >= 0) || !(r->q >= 0) || !isfinite(r->p) || !isfinite(r->q) ||
                r->m > 1 || r->t <= 0)
                abort();
        }
    } else if (pg.len != 0 || err.status == AGT_OK || err.message[0] == 0) {
        abort(); /* a failure leaves no rows and always says why */
    }
    agt_page_release(&pg);

    int code;
    char msg[64];
    if (agt_api_error_parse(data, size, &code, msg, sizeof msg) && strlen(msg) >= sizeof msg) abort();
    int64_t us;
    if (agt_server_time_parse(data, size, &us, &err) == AGT_OK && us <= 0) abort();

    double d;
    if (size <= 100 && agt_decimal_to_double((const char *)data, size, &d) == 0) {
        char buf[101];
        memcpy(buf, data, size);
        buf[size] = 0;
        double ref = strtod(buf, NULL);
        if (memcmp(&d, &ref, sizeof d) != 0) abort();
    }
    return 0;
}
