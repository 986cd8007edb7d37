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
/* The same with jansson decoding flags added (JSON_DECODE_INT_AS_REAL for
 * files whose integers may pass int64, as transformers' model_max_length
 * of 1e30 in tokenizer_config.json does). */
flint_status fl_json_load_flags(const char *buf, size_t len, const char *path, const char *what, size_t flags,
                                json_t **out);
/* "object", "array", "string", ... for messages. */
const char *fl_json_kind(const json_t *j);

#endif
