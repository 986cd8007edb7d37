/* error.h — errors as values: a status code plus a per-thread message.
 * fl_errorf() records the message and returns the status so that callers
 * write `return fl_errorf(FLINT_E_FORMAT, "...")`. */
#ifndef FL_BASE_ERROR_H
#define FL_BASE_ERROR_H

#include "flint.h"

#if defined(__GNUC__)
#define FL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FL_PRINTF(a, b)
#endif

flint_status fl_errorf(flint_status status, const char *fmt, ...) FL_PRINTF(2, 3);
/* Prefixes the current message with "<prefix>: " (e.g. a file name). */
flint_status fl_error_prefix(flint_status status, const char *prefix);
void fl_error_clear(void);

#endif
