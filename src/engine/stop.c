/* stop.c — the stop-string matcher of stop.h.
 *
 * The held-back buffer always begins at a position where a stop string
 * can still start (or is empty). Each byte fed is appended and the buffer
 * rescanned from its start: positions where no stop string can start any
 * more are emitted, and if the first live position holds a whole stop
 * string, that is the match. A position dead now stays dead, so emitting
 * it is final; the first live position is the earliest possible start, so
 * a whole stop string there is the earliest-starting occurrence. Cost per
 * byte: O(held bytes x total stop bytes), small for the few short stop
 * strings requests carry; bytes that begin no stop string while nothing is
 * held go out in runs without a scan. */
#include "engine/stop.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

enum { STARTS_NONE, STARTS_PART, STARTS_WHOLE };

flint_status fl_stop_init(fl_stop *s, const char *const *stops, size_t n) {
    memset(s, 0, sizeof *s);
    if (n && !stops) return fl_errorf(FLINT_E_INVALID_ARG, "stop strings: NULL list of %zu", n);
    size_t bytes = 0, max_len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!stops[i] || !stops[i][0])
            return fl_errorf(FLINT_E_INVALID_ARG, "stop strings: string %zu is %s", i, stops[i] ? "empty" : "NULL");
        size_t len = strlen(stops[i]);
        bytes += len + 1;
        if (len > max_len) max_len = len;
    }
    if (n == 0) return FLINT_OK;
    /* one allocation: pointers, lengths, the buffer, the strings */
    size_t total = n * sizeof(char *) + n * sizeof(size_t) + max_len + bytes;
    char *mem = malloc(total);
    if (!mem) return fl_errorf(FLINT_E_NOMEM, "out of memory for %zu stop strings", n);
    s->stops = (char **)mem;
    s->lens = (size_t *)(mem + n * sizeof(char *));
    s->buf = mem + n * (sizeof(char *) + sizeof(size_t));
    char *at = s->buf + max_len;
    for (size_t i = 0; i < n; i++) {
        s->lens[i] = strlen(stops[i]);
        memcpy(at, stops[i], s->lens[i] + 1);
        s->stops[i] = at;
        s->first[(unsigned char)at[0]] = true;
        at += s->lens[i] + 1;
    }
    s->n = n;
    s->max_len = max_len;
    return FLINT_OK;
}

void fl_stop_free(fl_stop *s) {
    free(s->stops); /* the one allocation */
    memset(s, 0, sizeof *s);
}

void fl_stop_reset(fl_stop *s) {
    s->n_buf = 0;
    s->matched = false;
    s->which = -1;
    s->status = FLINT_OK;
}

const char *fl_stop_matched(const fl_stop *s) { return s->matched && s->which >= 0 ? s->stops[s->which] : NULL; }

/* What can start at buf[i]: a whole stop string inside the buffer, or only
 * the beginning of one (buf[i..] a proper prefix), or nothing. */
static int starts(fl_stop *s, size_t i) {
    size_t rest = s->n_buf - i;
    int r = STARTS_NONE;
    for (size_t k = 0; k < s->n; k++) {
        if (s->lens[k] <= rest) {
            if (!memcmp(s->buf + i, s->stops[k], s->lens[k])) {
                s->which = (int32_t)k;
                return STARTS_WHOLE;
            }
        } else if (!memcmp(s->buf + i, s->stops[k], rest)) {
            r = STARTS_PART;
        }
    }
    return r;
}

static void put(fl_stop *s, fl_tok_text *emit, const char *text, size_t n) {
    if (n && !s->status) s->status = fl_tok_text_append(emit, text, n);
}

bool fl_stop_feed(fl_stop *s, const char *text, size_t len, fl_tok_text *emit) {
    if (s->matched) return true;
    size_t p = 0;
    while (p < len) {
        if (s->n_buf == 0) { /* nothing held: bytes that begin no stop string go out at once */
            size_t q = p;
            while (q < len && !s->first[(unsigned char)text[q]]) q++;
            put(s, emit, text + p, q - p);
            if ((p = q) == len) break;
        }
        s->buf[s->n_buf++] = text[p++]; /* fits: n_buf < max_len before */
        size_t i = 0;
        int what = STARTS_NONE;
        while (i < s->n_buf && (what = starts(s, i)) == STARTS_NONE) i++;
        put(s, emit, s->buf, i);
        memmove(s->buf, s->buf + i, s->n_buf - i);
        s->n_buf -= i;
        if (what == STARTS_WHOLE) {
            s->matched = true;
            s->n_buf = 0;
            return true;
        }
    }
    return false;
}

bool fl_stop_flush(fl_stop *s, fl_tok_text *emit) {
    if (s->matched) return true;
    size_t i = 0;
    while (i < s->n_buf && starts(s, i) != STARTS_WHOLE) i++;
    put(s, emit, s->buf, i);
    s->matched = i < s->n_buf;
    s->n_buf = 0;
    return s->matched;
}
