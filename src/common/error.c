/*
 * error.c - status names, error recording and the version string.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/common_int.h"

const char *agt_status_name(agt_status s)
{
    static const char *const names[] = {
        "AGT_OK",       "AGT_EINVAL",  "AGT_ENOMEM",    "AGT_EIO",          "AGT_ENOSPC",
        "AGT_ENET",     "AGT_EHTTP",   "AGT_EAPI",      "AGT_EBANNED",      "AGT_EPARSE",
        "AGT_ECORRUPT", "AGT_EUNSUPPORTED", "AGT_ELOCKED", "AGT_ENOTFOUND", "AGT_ECANCELLED",
        "AGT_ECHECKSUM", "AGT_EINCOMPLETE",
    };
    if ((unsigned)s < sizeof names / sizeof names[0]) return names[s];
    return "AGT_E?";
}

void agt_error_clear(agt_error *err)
{
    if (err) memset(err, 0, sizeof *err);
}

static void vset(agt_error *err, agt_status s, const char *fmt, va_list ap)
{
    err->status = s;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
}

agt_status agt_err(agt_error *err, agt_status s, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vset(err, s, fmt, ap);
        va_end(ap);
    }
    return s;
}

agt_status agt_err_sys(agt_error *err, int e, const char *fmt, ...)
{
    agt_status s = e == ENOSPC || e == EDQUOT ? AGT_ENOSPC : e == ENOMEM ? AGT_ENOMEM : AGT_EIO;
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vset(err, s, fmt, ap);
        va_end(ap);
        size_t n = strlen(err->message);
        snprintf(err->message + n, sizeof err->message - n, ": %s", strerror(e));
        err->sys_errno = e;
    }
    return s;
}

const char *agt_version(void)
{
    return AGT_VERSION;
}
