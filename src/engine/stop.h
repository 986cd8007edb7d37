/* stop.h — stop strings for the generate loop: an incremental matcher fed
 * the detokenized text piece by piece.
 *
 * Semantics, the same for any split of the text into pieces (one byte at a
 * time, or a stop string spread over many tokens): the output is the text
 * before the earliest-starting occurrence of any stop string in the whole
 * text, or all of it when none occurs; the stop string and everything
 * after it are never emitted. Text is emitted as soon as it can no longer
 * be part of a stop string: what is held back is the longest suffix of the
 * text fed so far that is a proper prefix of some stop string, so it is
 * shorter than the longest stop string. When one stop string lies inside
 * another's possible occurrence ("bc" inside "abcd" after "abc"), the
 * decision waits until the earlier one completes or cannot.
 *
 * Bytes, not characters: stop strings and text are matched byte for byte
 * (valid UTF-8 stops and text can only match at character boundaries, so
 * what is emitted stays whole characters if the pieces were). */
#ifndef FL_ENGINE_STOP_H
#define FL_ENGINE_STOP_H

#include <stdbool.h>
#include <stddef.h>

#include "flint.h"
#include "tokenizer/tokenizer.h"

typedef struct fl_stop {
    char **stops;        /* [n] copies, NUL-terminated */
    size_t *lens;        /* [n] */
    size_t n, max_len;
    char *buf;           /* [max_len] the held-back text */
    size_t n_buf;        /* < max_len between calls */
    bool first[256];     /* bytes that begin some stop string */
    bool matched;        /* a stop string matched: nothing more is emitted */
    int32_t which;       /* the one that matched, -1 before */
    flint_status status; /* FLINT_OK, or the first failure to append to emit */
} fl_stop;

/* Copies stops[0..n) (n may be 0: everything passes through). An empty or
 * NULL stop string is FLINT_E_INVALID_ARG. On failure *s is zeroed. */
flint_status fl_stop_init(fl_stop *s, const char *const *stops, size_t n);
void fl_stop_free(fl_stop *s);
/* Forgets the held-back text and any match (a new generation). */
void fl_stop_reset(fl_stop *s);

/* Feeds text[0..len) and appends to emit what can be shown. Returns true
 * once a stop string has matched (then and at every later call, which
 * emit nothing): the text before the match has been emitted. A failure to
 * grow emit is kept in s->status. */
bool fl_stop_feed(fl_stop *s, const char *text, size_t len, fl_tok_text *emit);
/* At the end of the text (length limit, end of turn): emits what was held
 * back, up to a stop string that matched in it if one did (and then
 * returns true). */
bool fl_stop_flush(fl_stop *s, fl_tok_text *emit);
/* The stop string that matched, or NULL. */
const char *fl_stop_matched(const fl_stop *s);

#endif
