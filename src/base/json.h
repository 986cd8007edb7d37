/* json.h — the glue between jansson and flint's errors: one load call that
 * turns every jansson failure into a message naming the file and what in it
 * failed ("config", "header", "index"). */
#ifndef FL_BASE_JSON_H
#define FL_BASE_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "flint.h"

/* Parses len bytes (need not be NUL-terminated) with duplicate keys
 * rejected. *out is a new reference on success. */
flint_status fl_json_load(const char *buf, size_t len, const char *path, const char *what, json_t **out);
/* "object", "array", "string", ... for messages. */
const char *fl_json_kind(const json_t *j);

#endif
