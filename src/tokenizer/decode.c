/* decode.c — ids -> text: each token's decoded bytes (computed at load:
 * '▁' -> ' ', <0xXX> -> the byte, GPT-2 characters -> bytes), control
 * tokens only on request, the dummy-prefix space of SPM vocabularies
 * dropped once at the start; and the streaming decoder, which holds back
 * an incomplete UTF-8 character until the token that completes it. */
#include <string.h>

#include "base/error.h"
#include "tokenizer/tok_internal.h"

static bool hidden(const fl_tokenizer *t, int32_t id, unsigned flags) {
    uint8_t ty = t->type[id];
    return !(flags & FL_DETOK_SPECIAL) &&
           (ty == FL_TOK_TYPE_CONTROL || ty == FL_TOK_TYPE_UNKNOWN || ty == FL_TOK_TYPE_UNUSED);
}

static bool strips_prefix(const fl_tokenizer *t, unsigned flags) {
    return !(flags & FL_DETOK_KEEP_SPACE) && ((t->algo == FL_TOK_SPM && t->add_space_prefix) || t->prepend_meta);
}

flint_status fl_detokenize(const fl_tokenizer *t, const int32_t *ids, size_t n, unsigned flags, fl_tok_text *out) {
    if (!t || !out || (!ids && n)) return fl_errorf(FLINT_E_INVALID_ARG, "fl_detokenize: NULL argument");
    bool strip = strips_prefix(t, flags);
    flint_status st = fl_tok_text_append(out, "", 0);
    for (size_t i = 0; i < n && !st; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_vocab)
            return fl_errorf(FLINT_E_INVALID_ARG, "token id %d is outside the vocabulary (0 .. %d)", id, t->n_vocab - 1);
        if (hidden(t, id, flags)) continue;
        const char *s = t->dec + t->dec_off[id];
        size_t len = t->dec_off[id + 1] - t->dec_off[id];
        if (strip && len) {
            if (s[0] == ' ' && t->type[id] == FL_TOK_TYPE_NORMAL) s++, len--;
            strip = false;
        }
        st = fl_tok_text_append(out, s, len);
    }
    return st;
}

void fl_tok_stream_init(fl_tok_stream *s, const fl_tokenizer *tok, unsigned flags) {
    memset(s, 0, sizeof *s);
    s->tok = tok;
    s->flags = flags;
}

/* Length of a complete valid character at p (0 = invalid, -1 = valid but
 * incomplete in n bytes). */
static int char_len(const uint8_t *p, size_t n) {
    uint8_t c = p[0];
    if (c < 0x80) return 1;
    int len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n) return -1;
        if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xBF)) return 0;
    }
    return len;
}

/* Emits the whole characters of pend + bytes, keeps an incomplete tail. */
static flint_status feed(fl_tok_stream *s, const uint8_t *b, size_t n, fl_tok_text *out) {
    flint_status st = FLINT_OK;
    for (size_t i = 0; i < n && !st; i++) {
        s->pend[s->n_pend++] = b[i];
        for (;;) {
            int l = char_len(s->pend, (size_t)s->n_pend);
            if (l < 0) break; /* wait for more */
            if (l == 0) {     /* invalid: one U+FFFD for the bad prefix, retry the rest */
                int drop = s->n_pend > 1 ? s->n_pend - 1 : 1;
                st = fl_tok_text_append(out, "\xEF\xBF\xBD", 3);
                memmove(s->pend, s->pend + drop, (size_t)(s->n_pend - drop));
                s->n_pend -= drop;
                if (!s->n_pend || st) break;
                continue;
            }
            st = fl_tok_text_append(out, (const char *)s->pend, (size_t)l);
            memmove(s->pend, s->pend + l, (size_t)(s->n_pend - l));
            s->n_pend -= l;
            if (!s->n_pend || st) break;
        }
    }
    return st;
}

flint_status fl_tok_stream_push(fl_tok_stream *s, int32_t id, fl_tok_text *out) {
    const fl_tokenizer *t = s->tok;
    if (id < 0 || id >= t->n_vocab)
        return fl_errorf(FLINT_E_INVALID_ARG, "token id %d is outside the vocabulary (0 .. %d)", id, t->n_vocab - 1);
    flint_status st = fl_tok_text_append(out, "", 0);
    if (st || hidden(t, id, s->flags)) return st;
    const char *b = t->dec + t->dec_off[id];
    size_t len = t->dec_off[id + 1] - t->dec_off[id];
    if (!s->started && len) {
        if (strips_prefix(t, s->flags) && b[0] == ' ' && t->type[id] == FL_TOK_TYPE_NORMAL) b++, len--;
        s->started = true;
    }
    return feed(s, (const uint8_t *)b, len, out);
}

flint_status fl_tok_stream_flush(fl_tok_stream *s, fl_tok_text *out) {
    flint_status st = fl_tok_text_append(out, "", 0);
    if (s->n_pend && !st) st = fl_tok_text_append(out, "\xEF\xBF\xBD", 3);
    s->n_pend = 0;
    return st;
}
