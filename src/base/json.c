/* json.c — jansson loading with flint's error messages. */
#include "base/json.h"

#include "base/error.h"

flint_status fl_json_load(const char *buf, size_t len, const char *path, const char *what, json_t **out) {
    return fl_json_load_flags(buf, len, path, what, 0, out);
}

flint_status fl_json_load_flags(const char *buf, size_t len, const char *path, const char *what, size_t flags,
                                json_t **out) {
    json_error_t je;
    *out = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | flags, &je);
    if (*out) return FLINT_OK;
    const char *why;
    switch (json_error_code(&je)) {
    case json_error_duplicate_key: why = "has a duplicate key (a name or field given twice)"; break;
    case json_error_invalid_utf8: why = "is not valid UTF-8"; break;
    case json_error_stack_overflow: why = "is nested too deeply"; break;
    case json_error_numeric_overflow: why = "has an integer outside int64"; break;
    case json_error_null_character: why = "has a NUL character"; break;
    case json_error_out_of_memory: return fl_errorf(FLINT_E_NOMEM, "%s: out of memory parsing the %s", path, what);
    default: why = "is not valid JSON"; break;
    }
    return fl_errorf(FLINT_E_FORMAT, "%s: %s %s: %s (line %d, column %d)", path, what, why, je.text, je.line,
                     je.column);
}

const char *fl_json_kind(const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "real";
    case JSON_TRUE: case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "value";
}
