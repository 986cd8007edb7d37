/* encode.c — fl_tokenize: BOS/EOS, the special-token splitter and the
 * per-fragment dispatch to the algorithm (spm.c, bpe.c), with the text
 * preparation byte-level BPE needs (invalid UTF-8 -> U+FFFD, NFC).
 * The splitter walks a byte trie from each position whose first byte can
 * start a special token (leftmost-longest, as HF's added-token matcher):
 * linear in the text times the longest special token, never a scan of
 * every special token at every position. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "base/error.h"
#include "tokenizer/tok_internal.h"

/* Length of the special token starting at s (0 if none); *id set. */
static size_t match_special(const fl_tokenizer *t, const uint8_t *s, size_t n, bool parse_special, int32_t *id) {
    uint32_t node = t->root[s[0]];
    size_t best = 0;
    for (size_t i = 0; node;) {
        const fl_trie_node *nd = &t->nodes[node];
        if (nd->byte != s[i]) {
            node = nd->sibling;
            continue;
        }
        i++;
        if (nd->id >= 0 && (parse_special || t->type[nd->id] == FL_TOK_TYPE_USER_DEFINED)) {
            best = i;
            *id = nd->id;
        }
        if (i == n) break;
        node = nd->child;
    }
    return best;
}

/* Python's errors="replace": each maximal ill-formed subsequence -> U+FFFD. */
static size_t valid_prefix(const uint8_t *s, size_t n, bool *ok) {
    uint8_t c = s[0];
    *ok = true;
    if (c < 0x80) return 1;
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else {
        *ok = false;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if (i >= n) { *ok = false; return i; }
        uint8_t b = s[i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) { *ok = false; return i; }
    }
    return len;
}

static flint_status encode_bytes_fragment(const fl_tokenizer *t, const char *s, size_t n, fl_tok_ids *out) {
    bool ascii = true, valid = true;
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)s[i] >= 0x80) { ascii = false; break; }
    char *fixed = NULL;
    if (!ascii) {
        for (size_t i = 0; i < n && valid;) {
            bool ok;
            i += valid_prefix((const uint8_t *)s + i, n - i, &ok);
            valid = ok;
        }
        if (!valid) {
            if (n > SIZE_MAX / 3) return fl_errorf(FLINT_E_NOMEM, "text too large");
            fixed = malloc(3 * n);
            if (!fixed) return fl_errorf(FLINT_E_NOMEM, "out of memory (tokenizer)");
            size_t o = 0;
            for (size_t i = 0; i < n;) {
                bool ok;
                size_t l = valid_prefix((const uint8_t *)s + i, n - i, &ok);
                if (ok) memcpy(fixed + o, s + i, l), o += l;
                else memcpy(fixed + o, "\xEF\xBF\xBD", 3), o += 3;
                i += l;
            }
            s = fixed, n = o;
        }
    }
    uint8_t *norm = NULL;
    if (t->nfc && !ascii) {
        utf8proc_ssize_t r = utf8proc_map((const uint8_t *)s, (utf8proc_ssize_t)n, &norm, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        if (r < 0) {
            free(fixed);
            return fl_errorf(FLINT_E_INVALID_ARG, "NFC normalisation failed: %s", utf8proc_errmsg(r));
        }
        s = (const char *)norm, n = (size_t)r;
    }
    flint_status st = fl_tok_encode_bytes(t, s, n, out);
    free(norm);
    free(fixed);
    return st;
}

static flint_status fragment(const fl_tokenizer *t, const char *s, size_t n, bool after_special, bool first,
                             fl_tok_ids *out) {
    switch (t->algo) {
    case FL_TOK_SPM: return fl_tok_encode_spm(t, s, n, t->add_space_prefix && after_special, out);
    case FL_TOK_BPE_BYTES: return encode_bytes_fragment(t, s, n, out);
    case FL_TOK_BPE_CHARS: return fl_tok_encode_chars(t, s, n, first, out);
    }
    return fl_errorf(FLINT_E_INVALID_ARG, "tokenizer algorithm %d", (int)t->algo);
}

flint_status fl_tokenize(const fl_tokenizer *t, const char *text, size_t len, unsigned flags, fl_tok_ids *out) {
    if (!t || !out || (!text && len)) return fl_errorf(FLINT_E_INVALID_ARG, "fl_tokenize: NULL argument");
    flint_status st = FLINT_OK;
    size_t n0 = out->n;
    if ((flags & FL_TOK_ADD_BOS) && t->add_bos && t->bos >= 0 && (st = fl_tok_push(out, t->bos))) goto fail;
    bool ps = (flags & FL_TOK_PARSE_SPECIAL) != 0;
    const uint8_t *s = (const uint8_t *)text;
    size_t start = 0;
    bool after_special = true, first = true;
    if (t->has_special) {
        const bool *fb = t->first_byte[ps];
        for (size_t i = 0; i < len;) {
            if (!fb[s[i]]) {
                i++;
                continue;
            }
            int32_t id;
            size_t m = match_special(t, s + i, len - i, ps, &id);
            if (!m) {
                i++;
                continue;
            }
            if (i > start) {
                if ((st = fragment(t, text + start, i - start, after_special, first, out))) goto fail;
                first = false;
            }
            if ((st = fl_tok_push(out, id))) goto fail;
            after_special = true;
            first = false;
            i += m;
            start = i;
        }
    }
    if (start < len && (st = fragment(t, text + start, len - start, after_special, first, out))) goto fail;
    if ((flags & FL_TOK_ADD_EOS) && t->add_eos && t->eos >= 0 && (st = fl_tok_push(out, t->eos))) goto fail;
    return FLINT_OK;
fail:
    out->n = n0;
    return st;
}
