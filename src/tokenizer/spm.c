/* spm.c — SentencePiece-style BPE by piece scores with byte fallback, as
 * llama.cpp's SPM tokenizer does it (MODELS.md §7.1): spaces become '▁'
 * (U+2581), an optional dummy '▁' prefix, symbols start as UTF-8
 * characters, and the adjacent pair whose concatenation is a vocabulary
 * piece with the highest score merges first (leftmost on ties). Symbols
 * that are not pieces become one <0xXX> token per byte.
 * O(n log n) in the fragment length: a binary heap of candidate pairs over
 * a linked list of symbols; stale pairs are recognised by their size. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tokenizer/merge_heap.h"
#include "tokenizer/tok_internal.h"

typedef struct sym {
    int32_t prev, next;
    uint32_t start, n; /* bytes of the symbol in the escaped text; n = 0 once merged away */
} sym;

static flint_status try_pair(const fl_tokenizer *t, const char *text, const sym *s, int32_t l, int32_t r, fl_merge_heap *h) {
    if (l < 0 || r < 0) return FLINT_OK;
    uint32_t size = s[l].n + s[r].n;
    int32_t id = fl_tok_lookup(t, text + s[l].start, size);
    if (id < 0) return FLINT_OK;
    return fl_merge_push(h, (fl_merge){-(double)t->scores[id], l, r, (int32_t)size, 0});
}

static flint_status push_bytes(const fl_tokenizer *t, const uint8_t *p, size_t n, fl_tok_ids *out) {
    flint_status st = FLINT_OK;
    for (size_t i = 0; i < n && !st; i++) {
        int32_t id = t->byte_tok[p[i]];
        if (id < 0) {
            char c = (char)p[i];
            id = fl_tok_lookup(t, &c, 1);
        }
        if (id < 0) id = t->unk;
        if (id >= 0) st = fl_tok_push(out, id);
    }
    return st;
}

/* The length of the UTF-8 character at p: llama.cpp trusts the lead byte
 * (so a stray 0xFF swallows the next three bytes, '▁' included, which then
 * decode as raw bytes instead of a space); here a malformed sequence is one
 * byte per symbol, which is the same on valid text and lossless on any. */
static uint32_t char_len(const uint8_t *p, size_t n) {
    uint8_t c = p[0];
    uint32_t l = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (l > n) return 1;
    for (uint32_t k = 1; k < l; k++)
        if ((p[k] & 0xC0) != 0x80) return 1;
    return l;
}

flint_status fl_tok_encode_spm(const fl_tokenizer *t, const char *s, size_t n, bool prefix, fl_tok_ids *out) {
    if (n == 0) return FLINT_OK;
    /* escape: ' ' -> U+2581 (3 bytes), optional leading one */
    size_t cap = 3 * n + 3;
    char *text = malloc(cap);
    sym *syms = malloc((n + 1) * sizeof *syms);
    fl_merge_heap h = {0};
    flint_status st = FLINT_OK;
    if (!text || !syms) {
        st = fl_errorf(FLINT_E_NOMEM, "out of memory (tokenizer)");
        goto done;
    }
    size_t len = 0;
    if (prefix) memcpy(text, "\xE2\x96\x81", 3), len = 3;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') memcpy(text + len, "\xE2\x96\x81", 3), len += 3;
        else text[len++] = s[i];
    }
    int32_t ns = 0;
    for (size_t o = 0; o < len;) {
        uint32_t l = char_len((const uint8_t *)text + o, len - o);
        syms[ns] = (sym){ns - 1, ns + 1, (uint32_t)o, l};
        ns++;
        o += l;
    }
    syms[ns - 1].next = -1;
    for (int32_t i = 1; i < ns && !st; i++) st = try_pair(t, text, syms, i - 1, i, &h);
    while (h.n && !st) {
        fl_merge p = fl_merge_pop(&h);
        sym *L = &syms[p.left], *R = &syms[p.a];
        if (!L->n || !R->n || L->n + R->n != (uint32_t)p.b) continue; /* stale */
        L->n += R->n;
        R->n = 0;
        L->next = R->next;
        if (R->next >= 0) syms[R->next].prev = p.left;
        st = try_pair(t, text, syms, L->prev, p.left, &h);
        if (!st) st = try_pair(t, text, syms, p.left, L->next, &h);
    }
    for (int32_t i = 0; i >= 0 && !st; i = syms[i].next) {
        int32_t id = fl_tok_lookup(t, text + syms[i].start, syms[i].n);
        st = id >= 0 ? fl_tok_push(out, id) : push_bytes(t, (const uint8_t *)text + syms[i].start, syms[i].n, out);
    }
done:
    free(text);
    free(syms);
    fl_merge_heap_free(&h);
    return st;
}
