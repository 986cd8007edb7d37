/* error.c — the per-thread error message behind flint_errmsg(). */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errmsg[1024];

flint_status fl_errorf(flint_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    return status;
}

flint_status fl_error_prefix(flint_status status, const char *prefix) {
    size_t p = strlen(prefix), m = strlen(errmsg);
    if (p > sizeof errmsg - 3) p = sizeof errmsg - 3;
    size_t keep = sizeof errmsg - 1 - p - 2;
    if (m < keep) keep = m;
    memmove(errmsg + p + 2, errmsg, keep);
    errmsg[p + 2 + keep] = '\0';
    memcpy(errmsg, prefix, p);
    errmsg[p] = ':';
    errmsg[p + 1] = ' ';
    return status;
}

void fl_error_clear(void) { errmsg[0] = '\0'; }

const char *flint_errmsg(void) { return errmsg; }

const char *flint_status_name(flint_status status) {
    switch (status) {
    case FLINT_OK: return "FLINT_OK";
    case FLINT_E_INVALID_ARG: return "FLINT_E_INVALID_ARG";
    case FLINT_E_IO: return "FLINT_E_IO";
    case FLINT_E_FORMAT: return "FLINT_E_FORMAT";
    case FLINT_E_UNSUPPORTED: return "FLINT_E_UNSUPPORTED";
    case FLINT_E_NOMEM: return "FLINT_E_NOMEM";
    case FLINT_E_NOT_FOUND: return "FLINT_E_NOT_FOUND";
    case FLINT_E_TYPE: return "FLINT_E_TYPE";
    case FLINT_E_KV_FULL: return "FLINT_E_KV_FULL";
    case FLINT_E_NUMERIC: return "FLINT_E_NUMERIC";
    case FLINT_E_CANCELLED: return "FLINT_E_CANCELLED";
    case FLINT_E_BUSY: return "FLINT_E_BUSY";
    }
    return "FLINT_E_UNKNOWN";
}
