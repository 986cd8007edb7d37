/* utf8.h — UTF-8 validation for names and keys read from files. */
#ifndef FL_BASE_UTF8_H
#define FL_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). NUL bytes are rejected: names are C strings. */
bool fl_utf8_valid(const char *s, size_t n);

#endif
