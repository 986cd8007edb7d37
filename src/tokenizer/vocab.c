/* vocab.c — the vocabulary core: allocation, the piece -> id hash, the
 * merge hash, decoded bytes per token, the special-token trie, the
 * pre-tokenizer regexes, stop ids, and the queries of tokenizer.h.
 * Loading from a file lives in vocab_gguf.c and vocab_hf.c; the algorithms
 * in spm.c, bpe.c and encode.c. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "tokenizer/tok_internal.h"

uint64_t fl_tok_hash(const char *s, size_t n) {
    /* FNV-1a over 8-byte words then bytes: fast enough for short pieces */
    uint64_t h = 0xcbf29ce484222325ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    h ^= h >> 32;
    return h * 0x9E3779B97F4A7C15ull;
}

flint_status fl_tok_push(fl_tok_ids *v, int32_t id) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        int32_t *p = realloc(v->ids, cap * sizeof *p);
        if (!p) return fl_errorf(FLINT_E_NOMEM, "out of memory (token ids)");
        v->ids = p;
        v->cap = cap;
    }
    v->ids[v->n++] = id;
    return FLINT_OK;
}

void fl_tok_ids_free(fl_tok_ids *v) {
    free(v->ids);
    memset(v, 0, sizeof *v);
}

void fl_tok_text_free(fl_tok_text *t) {
    free(t->s);
    memset(t, 0, sizeof *t);
}

flint_status fl_tok_text_append(fl_tok_text *t, const char *s, size_t n) {
    if (t->n + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < t->n + n + 1) {
            if (cap > SIZE_MAX / 2) return fl_errorf(FLINT_E_NOMEM, "out of memory (text)");
            cap *= 2;
        }
        char *p = realloc(t->s, cap);
        if (!p) return fl_errorf(FLINT_E_NOMEM, "out of memory (text)");
        t->s = p;
        t->cap = cap;
    }
    if (n) memcpy(t->s + t->n, s, n);
    t->n += n;
    t->s[t->n] = '\0';
    return FLINT_OK;
}

flint_status fl_tok_alloc_vocab(fl_tokenizer *t, int32_t n_vocab, uint64_t text_bytes, const char *path) {
    if (n_vocab <= 0 || n_vocab > FL_TOK_MAX_VOCAB)
        return fl_errorf(FLINT_E_FORMAT, "%s: vocabulary of %d tokens (want 1 .. %d)", path, n_vocab,
                         FL_TOK_MAX_VOCAB);
    if (text_bytes > UINT32_MAX / 2)
        return fl_errorf(FLINT_E_FORMAT, "%s: vocabulary text of %llu bytes is too large", path,
                         (unsigned long long)text_bytes);
    t->n_vocab = n_vocab;
    t->text = malloc(text_bytes + (uint64_t)n_vocab + 1);
    t->off = calloc((size_t)n_vocab + 1, sizeof *t->off);
    t->type = malloc((size_t)n_vocab);
    if (!t->text || !t->off || !t->type) return fl_errorf(FLINT_E_NOMEM, "out of memory (vocabulary)");
    memset(t->type, FL_TOK_TYPE_NORMAL, (size_t)n_vocab);
    return FLINT_OK;
}

int32_t fl_tok_lookup(const fl_tokenizer *t, const char *s, size_t n) {
    if (!t->hmask) return -1;
    for (uint32_t i = (uint32_t)(fl_tok_hash(s, n) >> 32) & t->hmask;; i = (i + 1) & t->hmask) {
        uint32_t v = t->hslot[i];
        if (!v) return -1;
        int32_t id = (int32_t)(v - 1);
        if (t->off[id + 1] - t->off[id] - 1 == n && !memcmp(t->text + t->off[id], s, n)) return id;
    }
}

static uint32_t pow2_above(uint64_t n) {
    uint64_t c = 16;
    while (c < n * 2) c *= 2;
    return (uint32_t)c;
}

/* GPT-2's byte <-> unicode table: printable Latin-1 bytes map to
 * themselves, the other 68 to U+0100 onwards. */
static void gpt2_byte_to_cp(uint32_t cp[256]) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
        cp[b] = keep ? (uint32_t)b : (uint32_t)(256 + n++);
    }
}

static int put_utf8(uint32_t cp, char *o) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 63)); o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 63));
    o[2] = (char)(0x80 | ((cp >> 6) & 63)); o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* Decodes one UTF-8 character of s[0..n) if well formed: its length, else 0. */
static int get_utf8(const uint8_t *s, size_t n, uint32_t *cp) {
    uint8_t c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (!len || (size_t)len > n || c > 0xF4) return 0;
    uint32_t v = c & (0x3F >> (len - 1));
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* "<0xXX>" -> XX, else -1 */
static int byte_piece(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
    int hi = hexval(s[3]), lo = hexval(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

static flint_status build_trie(fl_tokenizer *t) {
    uint32_t cap = 1024, n = 1;
    fl_trie_node *nodes = calloc(cap, sizeof *nodes);
    if (!nodes) return fl_errorf(FLINT_E_NOMEM, "out of memory (special tokens)");
    memset(t->root, 0, sizeof t->root);
    for (int32_t id = 0; id < t->n_vocab; id++) {
        uint8_t ty = t->type[id];
        if (ty != FL_TOK_TYPE_CONTROL && ty != FL_TOK_TYPE_USER_DEFINED && ty != FL_TOK_TYPE_UNKNOWN) continue;
        const uint8_t *s = (const uint8_t *)t->text + t->off[id];
        size_t len = t->off[id + 1] - t->off[id] - 1;
        if (!len) continue;
        uint32_t node = 0; /* parent (0: the root table) */
        for (size_t i = 0; i < len; i++) {
            uint32_t c = node ? nodes[node].child : t->root[s[0]];
            while (c && nodes[c].byte != s[i]) c = nodes[c].sibling;
            if (!c) {
                if (n == cap) {
                    if (cap > (1u << 28)) { free(nodes); return fl_errorf(FLINT_E_NOMEM, "special tokens too large"); }
                    fl_trie_node *p = realloc(nodes, (size_t)cap * 2 * sizeof *p);
                    if (!p) { free(nodes); return fl_errorf(FLINT_E_NOMEM, "out of memory (special tokens)"); }
                    nodes = p;
                    cap *= 2;
                }
                c = n++;
                uint32_t *head = node ? &nodes[node].child : &t->root[s[0]];
                nodes[c] = (fl_trie_node){.id = -1, .child = 0, .sibling = *head, .byte = s[i]};
                *head = c;
            }
            node = c;
        }
        if (nodes[node].id < 0) nodes[node].id = id; /* the first id wins on duplicate text */
        t->first_byte[1][s[0]] = true;
        if (ty == FL_TOK_TYPE_USER_DEFINED) t->first_byte[0][s[0]] = true;
        t->has_special = true;
    }
    t->nodes = nodes;
    t->n_nodes = n;
    return FLINT_OK;
}

flint_status fl_tok_finish(fl_tokenizer *t, const char *path) {
    int32_t nv = t->n_vocab;
    /* piece hash */
    uint32_t cap = pow2_above((uint64_t)nv);
    t->hslot = calloc(cap, sizeof *t->hslot);
    if (!t->hslot) return fl_errorf(FLINT_E_NOMEM, "out of memory (vocabulary index)");
    t->hmask = cap - 1;
    for (int32_t id = 0; id < nv; id++) {
        const char *s = t->text + t->off[id];
        size_t n = t->off[id + 1] - t->off[id] - 1;
        uint32_t i = (uint32_t)(fl_tok_hash(s, n) >> 32) & t->hmask;
        bool dup = false;
        for (; t->hslot[i]; i = (i + 1) & t->hmask) {
            int32_t o = (int32_t)t->hslot[i] - 1;
            if (t->off[o + 1] - t->off[o] - 1 == n && !memcmp(t->text + t->off[o], s, n)) { dup = true; break; }
        }
        if (!dup) t->hslot[i] = (uint32_t)id + 1; /* duplicates: the lowest id keeps the text */
    }
    /* byte tables */
    for (int b = 0; b < 256; b++) t->byte_tok[b] = t->byte_char[b] = -1;
    uint32_t cp_of[256], byte_of_cp[512];
    gpt2_byte_to_cp(cp_of);
    for (int i = 0; i < 512; i++) byte_of_cp[i] = 0xFFFFFFFF;
    for (int b = 0; b < 256; b++) {
        byte_of_cp[cp_of[b]] = (uint32_t)b;
        char u[4];
        int ul = put_utf8(cp_of[b], u);
        if (t->algo == FL_TOK_BPE_BYTES) t->byte_char[b] = fl_tok_lookup(t, u, (size_t)ul);
        char bp[7];
        static const char hx[] = "0123456789ABCDEF";
        bp[0] = '<', bp[1] = '0', bp[2] = 'x', bp[3] = hx[b >> 4], bp[4] = hx[b & 15], bp[5] = '>';
        t->byte_tok[b] = fl_tok_lookup(t, bp, 6);
    }
    /* decoded bytes: never longer than the piece plus one byte */
    t->dec = malloc((size_t)t->off[nv] + 1);
    t->dec_off = malloc(((size_t)nv + 1) * sizeof *t->dec_off);
    if (!t->dec || !t->dec_off) return fl_errorf(FLINT_E_NOMEM, "out of memory (vocabulary)");
    uint32_t d = 0;
    for (int32_t id = 0; id < nv; id++) {
        t->dec_off[id] = d;
        const char *s = t->text + t->off[id];
        size_t n = t->off[id + 1] - t->off[id] - 1;
        uint8_t ty = t->type[id];
        int bv;
        if (ty == FL_TOK_TYPE_BYTE && (bv = byte_piece(s, n)) >= 0) {
            t->dec[d++] = (char)bv;
        } else if (ty != FL_TOK_TYPE_NORMAL) {
            memcpy(t->dec + d, s, n), d += (uint32_t)n;
        } else if (t->algo == FL_TOK_BPE_BYTES) {
            for (size_t i = 0; i < n;) {
                uint32_t cp;
                int l = get_utf8((const uint8_t *)s + i, n - i, &cp);
                if (l && cp < 512 && byte_of_cp[cp] != 0xFFFFFFFF) {
                    t->dec[d++] = (char)byte_of_cp[cp];
                    i += (size_t)l;
                } else {
                    if (!l) l = 1;
                    memcpy(t->dec + d, s + i, (size_t)l), d += (uint32_t)l, i += (size_t)l;
                }
            }
        } else {
            for (size_t i = 0; i < n;) {
                if (i + 3 <= n && !memcmp(s + i, "\xE2\x96\x81", 3)) t->dec[d++] = ' ', i += 3;
                else t->dec[d++] = s[i++];
            }
        }
    }
    t->dec_off[nv] = d;
    if (t->unk >= nv) t->unk = -1;
    if (t->bos >= nv) t->bos = -1;
    if (t->eos >= nv) t->eos = -1;
    if (t->eot >= nv) t->eot = -1;
    if (t->pad >= nv) t->pad = -1;
    if (t->eom >= nv) t->eom = -1;
    fl_tok_set_stops(t);
    (void)path;
    return build_trie(t);
}

flint_status fl_tok_init_merges(fl_tokenizer *t, uint64_t n, const char *path) {
    if (n > (1u << 26)) return fl_errorf(FLINT_E_FORMAT, "%s: %llu merges is too many", path, (unsigned long long)n);
    uint32_t cap = pow2_above(n ? n : 1);
    t->mkey = calloc(cap, sizeof *t->mkey);
    t->mrank = malloc((size_t)cap * sizeof *t->mrank);
    t->mres = malloc((size_t)cap * sizeof *t->mres);
    if (!t->mkey || !t->mrank || !t->mres) return fl_errorf(FLINT_E_NOMEM, "out of memory (merges)");
    t->mmask = cap - 1;
    return FLINT_OK;
}

flint_status fl_tok_add_merge(fl_tokenizer *t, int32_t left, int32_t right, int32_t result, uint32_t rank) {
    if ((uint64_t)t->n_merges * 2 >= (uint64_t)t->mmask + 1) return fl_errorf(FLINT_E_FORMAT, "too many merges");
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    uint32_t i = (uint32_t)(h >> 32) & t->mmask;
    for (; t->mkey[i]; i = (i + 1) & t->mmask)
        if (t->mkey[i] == key) return FLINT_OK; /* a repeated merge keeps its first (best) rank */
    t->mkey[i] = key;
    t->mrank[i] = rank;
    t->mres[i] = result;
    t->n_merges++;
    return FLINT_OK;
}

bool fl_tok_split_merge(const char *s, size_t n, size_t *split) {
    /* the separator is the first space after position 0 (a half may itself be
     * a lone space only at the start in byte-level vocabularies: none do) */
    for (size_t i = 1; i < n; i++)
        if (s[i] == ' ') {
            *split = i;
            return i + 1 < n;
        }
    return false;
}

flint_status fl_tok_compile_regex(fl_tokenizer *t, const char *pattern, size_t len, const char *path) {
    if (t->n_re == FL_TOK_MAX_REGEX) return fl_errorf(FLINT_E_FORMAT, "%s: more than %d pre-tokenizer regexes", path, FL_TOK_MAX_REGEX);
    int err;
    PCRE2_SIZE at;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, len, PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &at, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return fl_errorf(FLINT_E_FORMAT, "%s: pre-tokenizer regex does not compile at offset %zu: %s", path,
                         (size_t)at, (const char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* interpreted matching if JIT is unavailable */
    t->re[t->n_re++] = re;
    return FLINT_OK;
}

#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define RE_LLAMA3 "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2 "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN35 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

const char *fl_tok_pre_regex(const char *pre, bool *nfc, bool *ignore_merges) {
    *nfc = false;
    *ignore_merges = false;
    if (!strcmp(pre, "default") || !strcmp(pre, "gpt-2") || !strcmp(pre, "gpt2")) return RE_GPT2;
    if (!strcmp(pre, "llama3") || !strcmp(pre, "llama-bpe") || !strcmp(pre, "llama-v3")) {
        *ignore_merges = true;
        return RE_LLAMA3;
    }
    if (!strcmp(pre, "qwen2")) { *nfc = true; return RE_QWEN2; }
    if (!strcmp(pre, "qwen35") || !strcmp(pre, "qwen3.5")) { *nfc = true; return RE_QWEN35; }
    return NULL;
}

void fl_tok_set_stops(fl_tokenizer *t) {
    static const char *names[] = {"<end_of_turn>", "<turn|>", "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<eos>"};
    t->n_stop = 0;
    int32_t cand[16];
    size_t nc = 0;
    cand[nc++] = t->eos;
    cand[nc++] = t->eot;
    cand[nc++] = t->eom;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int32_t id = fl_tok_lookup(t, names[i], strlen(names[i]));
        if (id >= 0 && t->type[id] != FL_TOK_TYPE_NORMAL) cand[nc++] = id;
    }
    for (size_t i = 0; i < nc; i++) {
        if (cand[i] < 0) continue;
        bool seen = false;
        for (size_t j = 0; j < t->n_stop; j++) seen |= t->stop[j] == cand[i];
        if (!seen) t->stop[t->n_stop++] = cand[i];
    }
}

void fl_tokenizer_free(fl_tokenizer *t) {
    if (!t) return;
    free(t->text); free(t->off); free(t->dec); free(t->dec_off); free(t->scores); free(t->type);
    free(t->hslot); free(t->mkey); free(t->mrank); free(t->mres); free(t->nodes);
    for (int i = 0; i < t->n_re; i++) pcre2_code_free(t->re[i]);
    free(t->chat_template); free(t->arch);
    fl_word_cache_free(t->cache);
    pthread_mutex_destroy(&t->cache_lock);
    free(t);
}

flint_status fl_tokenizer_load(const char *path, fl_tokenizer **out) {
    if (!path || !out) return fl_errorf(FLINT_E_INVALID_ARG, "fl_tokenizer_load: NULL argument");
    *out = NULL;
    if (fl_is_dir(path)) return fl_tokenizer_load_hf(path, out);
    return fl_tokenizer_load_gguf_file(path, out);
}

fl_tok_algo fl_tokenizer_algo(const fl_tokenizer *t) { return t->algo; }
int32_t fl_tokenizer_n_vocab(const fl_tokenizer *t) { return t->n_vocab; }
const char *fl_tokenizer_piece(const fl_tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->n_vocab) return NULL;
    if (len) *len = t->off[id + 1] - t->off[id] - 1;
    return t->text + t->off[id];
}
const char *fl_tokenizer_token_bytes(const fl_tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->n_vocab) return NULL;
    if (len) *len = t->dec_off[id + 1] - t->dec_off[id];
    return t->dec + t->dec_off[id];
}
fl_tok_type fl_tokenizer_type(const fl_tokenizer *t, int32_t id) {
    return id < 0 || id >= t->n_vocab ? 0 : (fl_tok_type)t->type[id];
}
int32_t fl_tokenizer_find(const fl_tokenizer *t, const char *s, size_t n) { return fl_tok_lookup(t, s, n); }
int32_t fl_tokenizer_bos(const fl_tokenizer *t) { return t->bos; }
int32_t fl_tokenizer_eos(const fl_tokenizer *t) { return t->eos; }
int32_t fl_tokenizer_unk(const fl_tokenizer *t) { return t->unk; }
int32_t fl_tokenizer_pad(const fl_tokenizer *t) { return t->pad; }
bool fl_tokenizer_add_bos(const fl_tokenizer *t) { return t->add_bos && t->bos >= 0; }
const int32_t *fl_tokenizer_stop_ids(const fl_tokenizer *t, size_t *n) {
    *n = t->n_stop;
    return t->stop;
}
bool fl_tokenizer_is_stop(const fl_tokenizer *t, int32_t id) {
    for (size_t i = 0; i < t->n_stop; i++)
        if (t->stop[i] == id) return true;
    return false;
}
const char *fl_tokenizer_chat_template(const fl_tokenizer *t) { return t->chat_template; }
const char *fl_tokenizer_arch(const fl_tokenizer *t) { return t->arch ? t->arch : ""; }

fl_tokenizer *fl_tok_new(fl_tok_algo algo) {
    fl_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->algo = algo;
    t->bos = t->eos = t->eot = t->unk = t->pad = t->eom = -1;
    pthread_mutex_init(&t->cache_lock, NULL);
    return t;
}
