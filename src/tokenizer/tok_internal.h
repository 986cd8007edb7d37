/* tok_internal.h — the tokenizer's data, shared by its .c files only:
 * the vocabulary (pieces in one blob, decoded bytes, scores, types), the
 * piece -> id hash, the (left, right) -> (rank, result) merge hash, the
 * special-token trie, the pre-tokenizer regexes and the word cache. */
#ifndef FL_TOK_INTERNAL_H
#define FL_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>

#include "tokenizer/tokenizer.h"

#define FL_TOK_MAX_VOCAB (1 << 24)  /* ids are int32; 16M is far above any real vocabulary */
#define FL_TOK_MAX_PIECE 65536      /* bytes of one vocabulary entry */
#define FL_TOK_MAX_REGEX 4

/* A node of the special-token trie (first level in root[256], deeper
 * levels as sibling lists; index 0 means none). */
typedef struct fl_trie_node {
    int32_t id;       /* token ending here, or -1 */
    uint32_t child;   /* first child */
    uint32_t sibling; /* next node with the same parent */
    uint8_t byte;
} fl_trie_node;

typedef struct fl_word_cache fl_word_cache;

struct fl_tokenizer {
    fl_tok_algo algo;
    int32_t n_vocab;
    char *text;           /* piece i = text[off[i] .. off[i+1]) , NUL after each */
    uint32_t *off;
    char *dec;            /* decoded bytes of token i = dec[dec_off[i] .. dec_off[i+1]) */
    uint32_t *dec_off;
    float *scores;        /* SPM; NULL otherwise */
    uint8_t *type;        /* fl_tok_type per id */

    uint32_t *hslot;      /* piece hash: id+1 per slot, 0 empty */
    uint32_t hmask;

    uint64_t *mkey;       /* merge hash: (left id << 32 | right id) + 1, 0 empty */
    uint32_t *mrank;
    int32_t *mres;
    uint32_t mmask;
    int64_t n_merges;

    int32_t byte_tok[256];  /* <0xXX> ids (-1 if absent) */
    int32_t byte_char[256]; /* BPE_BYTES: id of the GPT-2 unicode char for byte b (-1 if absent) */

    int32_t bos, eos, eot, unk, pad, eom;
    bool add_bos, add_eos, add_space_prefix, byte_fallback, ignore_merges, nfc, fuse_unk;
    bool spaces_to_meta;   /* BPE_CHARS: ' ' -> U+2581 */
    uint8_t prepend_meta;  /* BPE_CHARS: prepend U+2581: 0 never, 1 to every fragment, 2 to the first */

    int32_t stop[16];
    size_t n_stop;

    /* pre-tokenizer: regexes applied one after another (each splits the
     * pieces of the one before; "isolated": matches and gaps both kept) */
    pcre2_code *re[FL_TOK_MAX_REGEX];
    int n_re;

    /* special tokens: a byte trie; parse_only[i] marks control tokens that
     * are matched only with FL_TOK_PARSE_SPECIAL */
    fl_trie_node *nodes;     /* nodes[0] unused */
    uint32_t n_nodes;
    uint32_t root[256];
    bool first_byte[2][256]; /* [parse_special] bytes that can start a special token */
    bool has_special;

    char *chat_template;
    char *arch;
    int chat_override;       /* fl_chat_family chosen by the caller; 0: detect */

    fl_word_cache *cache;
    pthread_mutex_t cache_lock;
};

/* vocab.c */
uint64_t fl_tok_hash(const char *s, size_t n);
flint_status fl_tok_alloc_vocab(fl_tokenizer *t, int32_t n_vocab, uint64_t text_bytes, const char *path);
int32_t fl_tok_lookup(const fl_tokenizer *t, const char *s, size_t n);
/* Builds the piece hash, decoded bytes, byte tables, special trie. */
flint_status fl_tok_finish(fl_tokenizer *t, const char *path);
flint_status fl_tok_add_merge(fl_tokenizer *t, int32_t left, int32_t right, int32_t result, uint32_t rank);
flint_status fl_tok_init_merges(fl_tokenizer *t, uint64_t n, const char *path);
/* rank and result of merging (left, right); false if no such merge */
static inline bool fl_tok_merge(const fl_tokenizer *t, int32_t left, int32_t right, uint32_t *rank, int32_t *res) {
    if (!t->mmask || left < 0 || right < 0) return false;
    uint64_t key = (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    for (uint32_t i = (uint32_t)(h >> 32) & t->mmask;; i = (i + 1) & t->mmask) {
        if (t->mkey[i] == key) {
            *rank = t->mrank[i];
            *res = t->mres[i];
            return true;
        }
        if (!t->mkey[i]) return false;
    }
}
/* Splits a merges entry "a b" into its two halves (the first space not at the start). */
bool fl_tok_split_merge(const char *s, size_t n, size_t *split);
flint_status fl_tok_compile_regex(fl_tokenizer *t, const char *pattern, size_t len, const char *path);
/* The regex of a llama.cpp pre-tokenizer name; NULL if unknown. */
const char *fl_tok_pre_regex(const char *pre, bool *nfc, bool *ignore_merges);
void fl_tok_set_stops(fl_tokenizer *t);

/* vocab_gguf.c */
flint_status fl_tokenizer_load_gguf_file(const char *path, fl_tokenizer **out);
/* vocab.c: a zeroed tokenizer with no special ids */
fl_tokenizer *fl_tok_new(fl_tok_algo algo);

/* bpe.c */
flint_status fl_tok_encode_bytes(const fl_tokenizer *t, const char *s, size_t n, fl_tok_ids *out);
flint_status fl_tok_encode_chars(const fl_tokenizer *t, const char *s, size_t n, bool first, fl_tok_ids *out);
void fl_word_cache_free(fl_word_cache *c);
/* spm.c */
flint_status fl_tok_encode_spm(const fl_tokenizer *t, const char *s, size_t n, bool prefix, fl_tok_ids *out);


#endif
