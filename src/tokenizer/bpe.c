/* bpe.c — merge-rank BPE (the lowest-ranked adjacent pair merges first,
 * leftmost on ties) for the two rank-based algorithms:
 *   byte-level (GPT-2 / Qwen): regex pieces, each byte mapped to its GPT-2
 *     unicode character, with a word cache for repeated pieces;
 *   characters (Gemma 4, converted SentencePiece): ' ' -> '▁', whole UTF-8
 *     characters as base symbols, unknown ones to <0xXX> byte tokens.
 * O(n log n) per word: a binary heap of candidate merges over a linked list
 * of symbols; a popped merge is stale if either side changed id. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tokenizer/merge_heap.h"
#include "tokenizer/tok_internal.h"

typedef struct sym {
    int32_t id; /* -1: not in the vocabulary (byte fallback at the end) */
    int32_t prev, next;
    uint32_t start, n; /* bytes in the word */
} sym;

static flint_status try_pair(const fl_tokenizer *t, const sym *s, int32_t l, fl_merge_heap *h) {
    if (l < 0 || s[l].next < 0) return FLINT_OK;
    uint32_t rank;
    int32_t res;
    if (!fl_tok_merge(t, s[l].id, s[s[l].next].id, &rank, &res)) return FLINT_OK;
    return fl_merge_push(h, (fl_merge){rank, l, s[l].id, s[s[l].next].id, res});
}

/* Merges syms[0..ns) in place (a list starting at 0). */
static flint_status merge_all(const fl_tokenizer *t, sym *s, int32_t ns, fl_merge_heap *h) {
    flint_status st = FLINT_OK;
    h->n = 0;
    for (int32_t i = 0; i + 1 < ns && !st; i++) st = try_pair(t, s, i, h);
    while (h->n && !st) {
        fl_merge c = fl_merge_pop(h);
        sym *L = &s[c.left];
        if (L->id != c.a || L->next < 0 || s[L->next].id != c.b) continue; /* stale */
        sym *R = &s[L->next];
        L->id = c.c;
        L->n += R->n;
        L->next = R->next;
        if (R->next >= 0) s[R->next].prev = c.left;
        R->id = -2; /* dead */
        st = try_pair(t, s, L->prev, h);
        if (!st) st = try_pair(t, s, c.left, h);
    }
    return st;
}

static flint_status push_fallback(const fl_tokenizer *t, const uint8_t *p, size_t n, fl_tok_ids *out) {
    flint_status st = FLINT_OK;
    if (!t->byte_fallback) {
        if (t->unk >= 0) {
            if (t->fuse_unk && out->n && out->ids[out->n - 1] == t->unk) return FLINT_OK;
            return fl_tok_push(out, t->unk);
        }
        return FLINT_OK; /* no unk: HF drops the piece */
    }
    for (size_t i = 0; i < n && !st; i++) {
        int32_t id = t->byte_tok[p[i]];
        if (id < 0) id = t->unk;
        if (id >= 0) st = fl_tok_push(out, id);
    }
    return st;
}

/* ---- word cache (byte-level BPE): direct-mapped, bounded ---- */

#define CACHE_SLOTS (1u << 16)
#define CACHE_MAX_WORD 64

typedef struct centry {
    uint64_t hash;
    uint32_t len, n_ids;
    char *bytes;    /* len bytes, then n_ids int32 (unaligned-safe via memcpy) */
} centry;

struct fl_word_cache {
    centry e[CACHE_SLOTS];
};

void fl_word_cache_free(fl_word_cache *c) {
    if (!c) return;
    for (uint32_t i = 0; i < CACHE_SLOTS; i++) free(c->e[i].bytes);
    free(c);
}

static bool cache_get(const fl_word_cache *c, uint64_t h, const char *s, size_t n, fl_tok_ids *out, flint_status *st) {
    const centry *e = &c->e[h & (CACHE_SLOTS - 1)];
    if (!e->bytes || e->hash != h || e->len != n || memcmp(e->bytes, s, n)) return false;
    *st = FLINT_OK;
    for (uint32_t i = 0; i < e->n_ids && !*st; i++) {
        int32_t id;
        memcpy(&id, e->bytes + n + 4 * i, 4);
        *st = fl_tok_push(out, id);
    }
    return true;
}

static void cache_put(fl_word_cache *c, uint64_t h, const char *s, size_t n, const int32_t *ids, size_t n_ids) {
    centry *e = &c->e[h & (CACHE_SLOTS - 1)];
    char *p = realloc(e->bytes, n + 4 * n_ids);
    if (!p) return; /* a cache miss next time, nothing worse */
    memcpy(p, s, n);
    memcpy(p + n, ids, 4 * n_ids);
    *e = (centry){h, (uint32_t)n, (uint32_t)n_ids, p};
}

/* scratch shared by the words of one fragment */
typedef struct scratch {
    sym *s;
    size_t cap;
    fl_merge_heap h;
    char *enc;
    size_t enc_cap;
} scratch;

static flint_status grow_syms(scratch *sc, size_t n) {
    if (n <= sc->cap) return FLINT_OK;
    size_t cap = sc->cap ? sc->cap : 64;
    while (cap < n) cap *= 2;
    sym *p = realloc(sc->s, cap * sizeof *p);
    if (!p) return fl_errorf(FLINT_E_NOMEM, "out of memory (tokenizer)");
    sc->s = p, sc->cap = cap;
    return FLINT_OK;
}

static const char *gpt2_char(uint8_t b, int *len) {
    /* the UTF-8 of GPT-2's unicode character for byte b */
    static char tab[256][3];
    static uint8_t tlen[256];
    static int ready;
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        int k = 0;
        for (int c = 0; c < 256; c++) {
            bool keep = (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174);
            uint32_t cp = keep ? (uint32_t)c : (uint32_t)(256 + k++);
            if (cp < 0x80) tab[c][0] = (char)cp, tlen[c] = 1;
            else tab[c][0] = (char)(0xC0 | cp >> 6), tab[c][1] = (char)(0x80 | (cp & 63)), tlen[c] = 2;
        }
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    *len = tlen[b];
    return tab[b];
}

static flint_status bytes_word(const fl_tokenizer *t, scratch *sc, fl_word_cache *cache, const char *w, size_t n,
                               fl_tok_ids *out) {
    flint_status st;
    uint64_t h = 0;
    if (cache && n <= CACHE_MAX_WORD) {
        h = fl_tok_hash(w, n);
        if (cache_get(cache, h, w, n, out, &st)) return st;
    }
    size_t first = out->n;
    if (t->ignore_merges) {
        if (sc->enc_cap < 2 * n) {
            char *p = realloc(sc->enc, 2 * n);
            if (!p) return fl_errorf(FLINT_E_NOMEM, "out of memory (tokenizer)");
            sc->enc = p, sc->enc_cap = 2 * n;
        }
        size_t el = 0;
        for (size_t i = 0; i < n; i++) {
            int l;
            const char *c = gpt2_char((uint8_t)w[i], &l);
            memcpy(sc->enc + el, c, (size_t)l), el += (size_t)l;
        }
        int32_t id = fl_tok_lookup(t, sc->enc, el);
        if (id >= 0) {
            if ((st = fl_tok_push(out, id))) return st;
            goto cached;
        }
    }
    if ((st = grow_syms(sc, n))) return st;
    for (size_t i = 0; i < n; i++)
        sc->s[i] = (sym){t->byte_char[(uint8_t)w[i]], (int32_t)i - 1, (int32_t)i + 1, (uint32_t)i, 1};
    sc->s[n - 1].next = -1;
    if ((st = merge_all(t, sc->s, (int32_t)n, &sc->h))) return st;
    for (int32_t i = 0; i >= 0 && !st; i = sc->s[i].next)
        st = sc->s[i].id >= 0 ? fl_tok_push(out, sc->s[i].id)
                              : push_fallback(t, (const uint8_t *)w + sc->s[i].start, sc->s[i].n, out);
    if (st) return st;
cached:
    if (cache && n <= CACHE_MAX_WORD && out->n > first) cache_put(cache, h, w, n, out->ids + first, out->n - first);
    return FLINT_OK;
}

static flint_status chars_word(const fl_tokenizer *t, scratch *sc, const char *w, size_t n, fl_tok_ids *out) {
    flint_status st;
    if (t->ignore_merges) {
        int32_t id = fl_tok_lookup(t, w, n);
        if (id >= 0) return fl_tok_push(out, id);
    }
    if ((st = grow_syms(sc, n))) return st;
    int32_t ns = 0;
    for (size_t o = 0; o < n;) {
        uint8_t c = (uint8_t)w[o];
        size_t l = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (l > n - o) l = 1;
        for (size_t k = 1; k < l; k++)
            if (((uint8_t)w[o + k] & 0xC0) != 0x80) l = 1;
        sc->s[ns] = (sym){fl_tok_lookup(t, w + o, l), ns - 1, ns + 1, (uint32_t)o, (uint32_t)l};
        ns++;
        o += l;
    }
    sc->s[ns - 1].next = -1;
    if ((st = merge_all(t, sc->s, ns, &sc->h))) return st;
    for (int32_t i = 0; i >= 0 && !st; i = sc->s[i].next)
        st = sc->s[i].id >= 0 ? fl_tok_push(out, sc->s[i].id)
                              : push_fallback(t, (const uint8_t *)w + sc->s[i].start, sc->s[i].n, out);
    return st;
}

/* Splits s by regex `level` (compiled with PCRE2_MATCH_INVALID_UTF: invalid
 * bytes never match and end up in gaps; no per-call UTF check, so linear) ("isolated": matches and the gaps between them
 * are pieces) and hands each piece to the next level, the last to the word
 * encoder. */
typedef struct splitter {
    const fl_tokenizer *t;
    scratch sc;
    fl_word_cache *cache;
    pcre2_match_data *md[FL_TOK_MAX_REGEX];
    bool chars;
    fl_tok_ids *out;
} splitter;

static flint_status piece(splitter *sp, int level, const char *s, size_t n);

static flint_status split(splitter *sp, int level, const char *s, size_t n) {
    const fl_tokenizer *t = sp->t;
    size_t pos = 0, gap = 0;
    while (pos < n) {
        int rc = pcre2_match(t->re[level], (PCRE2_SPTR)s, n, pos, 0, sp->md[level], NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return fl_errorf(FLINT_E_INVALID_ARG, "pre-tokenizer regex failed: %s", (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(sp->md[level]);
        size_t a = ov[0], b = ov[1];
        if (b == a) { /* an empty match: step over one character */
            pos = a + 1;
            while (pos < n && ((uint8_t)s[pos] & 0xC0) == 0x80) pos++;
            continue;
        }
        flint_status st;
        if (a > gap && (st = piece(sp, level, s + gap, a - gap))) return st;
        if ((st = piece(sp, level, s + a, b - a))) return st;
        pos = gap = b;
    }
    return gap < n ? piece(sp, level, s + gap, n - gap) : FLINT_OK;
}

static flint_status piece(splitter *sp, int level, const char *s, size_t n) {
    if (level + 1 < sp->t->n_re) return split(sp, level + 1, s, n);
    return sp->chars ? chars_word(sp->t, &sp->sc, s, n, sp->out) : bytes_word(sp->t, &sp->sc, sp->cache, s, n, sp->out);
}

static flint_status run(const fl_tokenizer *t, const char *s, size_t n, bool chars, fl_tok_ids *out) {
    if (n == 0) return FLINT_OK;
    splitter sp = {.t = t, .chars = chars, .out = out};
    flint_status st = FLINT_OK;
    for (int i = 0; i < t->n_re; i++)
        if (!(sp.md[i] = pcre2_match_data_create_from_pattern(t->re[i], NULL))) st = fl_errorf(FLINT_E_NOMEM, "out of memory");
    /* the cache is used by one call at a time; a busy cache is skipped */
    fl_tokenizer *mt = (fl_tokenizer *)t;
    bool locked = !chars && !st && pthread_mutex_trylock(&mt->cache_lock) == 0;
    if (locked) {
        if (!mt->cache) mt->cache = calloc(1, sizeof *mt->cache);
        sp.cache = mt->cache;
    }
    if (!st) st = t->n_re ? split(&sp, 0, s, n) : piece(&sp, -1, s, n);
    if (locked) pthread_mutex_unlock(&mt->cache_lock);
    for (int i = 0; i < t->n_re; i++) pcre2_match_data_free(sp.md[i]);
    free(sp.sc.s);
    fl_merge_heap_free(&sp.sc.h);
    free(sp.sc.enc);
    return st;
}

flint_status fl_tok_encode_bytes(const fl_tokenizer *t, const char *s, size_t n, fl_tok_ids *out) {
    return run(t, s, n, false, out);
}

flint_status fl_tok_encode_chars(const fl_tokenizer *t, const char *s, size_t n, bool first, fl_tok_ids *out) {
    /* normalise: ' ' -> U+2581, optional leading U+2581 */
    bool pre = t->prepend_meta == 1 || (t->prepend_meta == 2 && first);
    if (n == 0) return FLINT_OK;
    size_t cap = 3 * n + 3, len = 0;
    char *buf = malloc(cap);
    if (!buf) return fl_errorf(FLINT_E_NOMEM, "out of memory (tokenizer)");
    if (pre) memcpy(buf, "\xE2\x96\x81", 3), len = 3;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ' && t->spaces_to_meta) memcpy(buf + len, "\xE2\x96\x81", 3), len += 3;
        else buf[len++] = s[i];
    }
    flint_status st = run(t, buf, len, true, out);
    free(buf);
    return st;
}
