/* vocab_gguf.c — a tokenizer from GGUF metadata: tokenizer.ggml.model
 * (llama = SPM by scores, gpt2 = byte-level BPE, gemma4 = character BPE),
 * tokens, scores, token_type, merges, the special ids, add_bos / add_eos /
 * add_space_prefix, pre (the pre-tokenizer regex) and chat_template.
 * Every array length and element type is checked before use. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "format/gguf.h"
#include "tokenizer/tok_internal.h"

static bool get_str(const fl_meta *m, const char *key, const char **s, size_t *n) {
    const fl_meta_value *v = fl_meta_find(m, key);
    if (!v || v->type != FLINT_META_STRING) return false;
    *s = v->data;
    *n = (size_t)v->count;
    return true;
}

static int32_t get_id(const fl_meta *m, const char *key) {
    const fl_meta_value *v = fl_meta_find(m, key);
    int64_t x;
    if (!v || fl_meta_value_int(v, &x) || x < 0 || x > INT32_MAX) return -1;
    return (int32_t)x;
}

static bool get_bool(const fl_meta *m, const char *key, bool def) {
    const fl_meta_value *v = fl_meta_find(m, key);
    int64_t x;
    if (!v || fl_meta_value_int(v, &x)) return def;
    return x != 0;
}

static char *dup_n(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) memcpy(p, s, n), p[n] = '\0';
    return p;
}

static flint_status load(fl_tokenizer **out, const fl_meta *m, const char *path) {
    const char *model, *s;
    size_t model_len, n;
    if (!get_str(m, "tokenizer.ggml.model", &model, &model_len))
        return fl_errorf(FLINT_E_NOT_FOUND, "%s: no tokenizer (tokenizer.ggml.model is missing)", path);
    fl_tok_algo algo;
    if (model_len == 5 && !memcmp(model, "llama", 5)) algo = FL_TOK_SPM;
    else if (model_len == 4 && !memcmp(model, "gpt2", 4)) algo = FL_TOK_BPE_BYTES;
    else if (model_len == 6 && !memcmp(model, "gemma4", 6)) algo = FL_TOK_BPE_CHARS;
    else
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: tokenizer.ggml.model '%.*s' is not supported (llama, gpt2, gemma4)",
                         path, (int)(model_len > 64 ? 64 : model_len), model);
    fl_tokenizer *t = fl_tok_new(algo);
    if (!t) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    *out = t;

    const fl_meta_value *tokens = fl_meta_find(m, "tokenizer.ggml.tokens");
    if (!tokens || tokens->type != FLINT_META_ARRAY || tokens->elem_type != FLINT_META_STRING || !tokens->items)
        return fl_errorf(FLINT_E_FORMAT, "%s: tokenizer.ggml.tokens is missing or not an array of strings", path);
    if (tokens->count == 0 || tokens->count > FL_TOK_MAX_VOCAB)
        return fl_errorf(FLINT_E_FORMAT, "%s: tokenizer.ggml.tokens has %llu entries", path,
                         (unsigned long long)tokens->count);
    int32_t nv = (int32_t)tokens->count;
    uint64_t bytes = 0;
    for (int32_t i = 0; i < nv; i++) {
        if (tokens->items[i].count > FL_TOK_MAX_PIECE)
            return fl_errorf(FLINT_E_FORMAT, "%s: token %d is %llu bytes long", path, i,
                             (unsigned long long)tokens->items[i].count);
        bytes += tokens->items[i].count + 1;
    }
    flint_status st = fl_tok_alloc_vocab(t, nv, bytes, path);
    if (st) return st;
    uint32_t o = 0;
    for (int32_t i = 0; i < nv; i++) {
        t->off[i] = o;
        memcpy(t->text + o, tokens->items[i].data, (size_t)tokens->items[i].count);
        o += (uint32_t)tokens->items[i].count;
        t->text[o++] = '\0';
    }
    t->off[nv] = o;

    const fl_meta_value *types = fl_meta_find(m, "tokenizer.ggml.token_type");
    if (types) {
        if (types->type != FLINT_META_ARRAY || types->count != (uint64_t)nv)
            return fl_errorf(FLINT_E_FORMAT, "%s: tokenizer.ggml.token_type must be an array of %d numbers", path, nv);
        for (int32_t i = 0; i < nv; i++) {
            fl_meta_value tmp;
            const fl_meta_value *e;
            int64_t x;
            if (fl_meta_array_at(types, (uint64_t)i, &tmp, &e) || fl_meta_value_int(e, &x))
                return fl_errorf(FLINT_E_FORMAT, "%s: tokenizer.ggml.token_type[%d] is not an integer", path, i);
            t->type[i] = x >= 1 && x <= 6 ? (uint8_t)x : FL_TOK_TYPE_NORMAL;
        }
    }
    const fl_meta_value *scores = fl_meta_find(m, "tokenizer.ggml.scores");
    if (algo == FL_TOK_SPM) {
        if (!scores || scores->type != FLINT_META_ARRAY || scores->count != (uint64_t)nv)
            return fl_errorf(FLINT_E_FORMAT, "%s: tokenizer.ggml.scores must be an array of %d numbers", path, nv);
        t->scores = malloc((size_t)nv * sizeof *t->scores);
        if (!t->scores) return fl_errorf(FLINT_E_NOMEM, "out of memory");
        for (int32_t i = 0; i < nv; i++) {
            fl_meta_value tmp;
            const fl_meta_value *e;
            double x;
            if (fl_meta_array_at(scores, (uint64_t)i, &tmp, &e) || fl_meta_value_float(e, &x))
                return fl_errorf(FLINT_E_FORMAT, "%s: tokenizer.ggml.scores[%d] is not a number", path, i);
            t->scores[i] = (float)x;
        }
    }

    t->bos = get_id(m, "tokenizer.ggml.bos_token_id");
    t->eos = get_id(m, "tokenizer.ggml.eos_token_id");
    t->unk = get_id(m, "tokenizer.ggml.unknown_token_id");
    t->pad = get_id(m, "tokenizer.ggml.padding_token_id");
    t->eot = get_id(m, "tokenizer.ggml.eot_token_id");
    t->eom = get_id(m, "tokenizer.ggml.eom_token_id");
    t->add_bos = get_bool(m, "tokenizer.ggml.add_bos_token", algo != FL_TOK_BPE_BYTES);
    t->add_eos = get_bool(m, "tokenizer.ggml.add_eos_token", false);
    t->add_space_prefix = get_bool(m, "tokenizer.ggml.add_space_prefix", algo == FL_TOK_SPM);
    t->byte_fallback = algo != FL_TOK_BPE_BYTES;
    if (algo == FL_TOK_BPE_CHARS) {
        t->spaces_to_meta = true;
        t->prepend_meta = t->add_space_prefix ? 1 : 0;
        t->add_space_prefix = false;
        static const char split[] = "[^\\n]+|[\\n]+";
        if ((st = fl_tok_compile_regex(t, split, sizeof split - 1, path))) return st;
    }
    if (algo == FL_TOK_BPE_BYTES) {
        char pre[64] = "default";
        if (get_str(m, "tokenizer.ggml.pre", &s, &n) && n < sizeof pre) memcpy(pre, s, n), pre[n] = '\0';
        bool nfc, ign;
        const char *re = fl_tok_pre_regex(pre, &nfc, &ign);
        if (!re)
            return fl_errorf(FLINT_E_UNSUPPORTED,
                             "%s: pre-tokenizer '%s' is not supported (gpt-2, llama3, qwen2, qwen35)", path, pre);
        t->nfc = nfc;
        t->ignore_merges = ign;
        if ((st = fl_tok_compile_regex(t, re, strlen(re), path))) return st;
    }
    if (get_str(m, "tokenizer.chat_template", &s, &n) && !(t->chat_template = dup_n(s, n)))
        return fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (get_str(m, "general.architecture", &s, &n) && !(t->arch = dup_n(s, n)))
        return fl_errorf(FLINT_E_NOMEM, "out of memory");
    if ((st = fl_tok_finish(t, path))) return st;

    if (algo != FL_TOK_SPM) {
        const fl_meta_value *merges = fl_meta_find(m, "tokenizer.ggml.merges");
        if (!merges || merges->type != FLINT_META_ARRAY || (merges->count && (merges->elem_type != FLINT_META_STRING || !merges->items)))
            return fl_errorf(FLINT_E_FORMAT, "%s: tokenizer.ggml.merges is missing or not an array of strings", path);
        if ((st = fl_tok_init_merges(t, merges->count, path))) return st;
        char *buf = malloc(2 * FL_TOK_MAX_PIECE + 2);
        if (!buf) return fl_errorf(FLINT_E_NOMEM, "out of memory");
        for (uint64_t r = 0; r < merges->count; r++) {
            const char *ms = merges->items[r].data;
            size_t ml = (size_t)merges->items[r].count, sp;
            if (!fl_tok_split_merge(ms, ml, &sp)) {
                free(buf);
                return fl_errorf(FLINT_E_FORMAT, "%s: merge %llu ('%.*s') is not two pieces separated by a space",
                                 path, (unsigned long long)r, (int)(ml > 40 ? 40 : ml), ms);
            }
            int32_t a = fl_tok_lookup(t, ms, sp), b = fl_tok_lookup(t, ms + sp + 1, ml - sp - 1);
            if (a < 0 || b < 0 || ml - 1 > 2 * FL_TOK_MAX_PIECE) continue; /* merges of unknown pieces never apply */
            memcpy(buf, ms, sp);
            memcpy(buf + sp, ms + sp + 1, ml - sp - 1);
            int32_t c = fl_tok_lookup(t, buf, ml - 1);
            if (c < 0) continue;
            if ((st = fl_tok_add_merge(t, a, b, c, (uint32_t)r))) break;
        }
        free(buf);
        if (st) return st;
    }
    return FLINT_OK;
}

flint_status fl_tokenizer_load_gguf(const fl_meta *meta, const char *path, fl_tokenizer **out) {
    if (!meta || !out) return fl_errorf(FLINT_E_INVALID_ARG, "fl_tokenizer_load_gguf: NULL argument");
    if (!path) path = "(gguf)";
    fl_tokenizer *t = NULL;
    flint_status st = load(&t, meta, path);
    if (st) {
        fl_tokenizer_free(t);
        *out = NULL;
        return st;
    }
    *out = t;
    return FLINT_OK;
}

flint_status fl_tokenizer_load_gguf_file(const char *path, fl_tokenizer **out) {
    fl_gguf g;
    flint_status st = fl_gguf_open(&g, path);
    if (st) return st;
    st = fl_tokenizer_load_gguf(&g.meta, path, out);
    fl_gguf_close(&g);
    return st;
}
