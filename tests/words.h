/* words.h — reads the whitespace-separated fixture files that tools/
 * scripts write ("key value key value ..." lines; '#' lines are comments).
 * A malformed file sets ok to 0 and the readers return zeros, so a test
 * fails instead of crashing. */
#ifndef FL_TEST_WORDS_H
#define FL_TEST_WORDS_H

#include <stdlib.h>
#include <string.h>

typedef struct words {
    char *at;   /* the next unread character */
    int ok;
} words;

/* The next word, NUL-terminated in place; NULL at the end. */
static inline char *word_next(words *w) {
    for (;;) {
        while (*w->at == ' ' || *w->at == '\t' || *w->at == '\n' || *w->at == '\r') w->at++;
        if (*w->at != '#') break;
        while (*w->at && *w->at != '\n') w->at++;
    }
    if (!*w->at) return NULL;
    char *start = w->at;
    while (*w->at && *w->at != ' ' && *w->at != '\t' && *w->at != '\n' && *w->at != '\r') w->at++;
    if (*w->at) *w->at++ = 0;
    return start;
}

/* Consumes the word key, which must come next. */
static inline void word_key(words *w, const char *key) {
    char *k = word_next(w);
    if (!k || strcmp(k, key)) w->ok = 0;
}

/* key NULL: a bare value (the elements of a list) */
static inline long long word_int(words *w, const char *key) {
    if (key) word_key(w, key);
    char *v = word_next(w), *end;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || *end) w->ok = 0;
    return w->ok ? x : 0;
}

/* strtod then a cast: the fixtures write float32 values exactly */
static inline double word_real(words *w, const char *key) {
    if (key) word_key(w, key);
    char *v = word_next(w), *end;
    double x = v ? strtod(v, &end) : 0;
    if (!v || *end) w->ok = 0;
    return w->ok ? x : 0;
}

#endif
