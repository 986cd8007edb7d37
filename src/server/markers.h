/* markers.h — finding the families' markers ("<tool_call>", "<|\"|>") in
 * text that is still arriving: a marker cut by the end of the text so far
 * is reported as partial, so the caller can hold that text back. */
#ifndef FLINT_SERVER_MARKERS_H
#define FLINT_SERVER_MARKERS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum srv_match {
    SRV_MATCH_NONE = 0,
    SRV_MATCH_PARTIAL, /* the text ends inside the beginning of the marker */
    SRV_MATCH_FULL,
} srv_match;

/* s[0..n) against lit: FULL when s begins with lit, PARTIAL when s is a
 * proper prefix of lit (the empty text included), NONE otherwise. */
srv_match srv_match_prefix(const char *s, size_t n, const char *lit);

/* The earliest position in s[from..n) where one of marks[0..n_marks)
 * begins in full (FULL, *which says which; the first listed wins at one
 * position) or, unless final, where s ends inside the beginning of one
 * (PARTIAL, *which = -1). NONE: *pos = n. Every mark begins with '<'. */
srv_match srv_find_marker(const char *s, size_t n, size_t from, const char *const *marks, int n_marks, bool final,
                          size_t *pos, int *which);

#endif
