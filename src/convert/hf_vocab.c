/* hf_vocab.c — an HF folder's token list as the converter
 * (convert_hf_to_gguf.py at 34af94cd9) writes it, by family and files:
 *  - Gemma 1-3 with a SentencePiece tokenizer.model (_create_vocab_sentencepiece):
 *    the pieces fill the config's vocab_size ([PADn] beyond them, pieces beyond
 *    it dropped), added_tokens.json and tokenizer_config.json's
 *    added_tokens_decoder override entries;
 *  - Qwen3.5 with tokenizer.json (_set_vocab_gpt2): model "gpt2", the vocabulary
 *    and added tokens by id up to the config's vocab_size ([PADn] in the gaps,
 *    UNUSED), added tokens CONTROL when special or looking special, else
 *    USER_DEFINED; the pre-tokenizer, which the converter names by hashing what
 *    the HF tokenizer makes of a check text, is named by the family: "qwen35"
 *    (what that hash gives for the real Qwen3.5 tokenizer);
 *  - Gemma 4 with tokenizer.json (LlamaHfVocab): model "gemma4", the base
 *    vocabulary then the added tokens past it, scores -1000, <0xHH> BYTE, the
 *    tokenizer_config.json's special tokens CONTROL, Gemma 4's channel and tool
 *    markers USER_DEFINED.
 * Then gguf's SpecialVocab (hf_special.c). Not followed: Gemma 1-3 with only a
 * tokenizer.json (the converter hashes it; the real tokenizer's hash is not in
 * its table), and an added token that is not normalized is taken as written
 * (the converter encodes and decodes it with the HF tokenizer first, which
 * leaves the usual ones unchanged). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "convert/hf_special.h"
#include "convert/spm_model.h"
#include "format/gguf_write.h"

enum { NORMAL = 1, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6 };

typedef struct vocab {
    const char **text;
    uint32_t *len;
    float *score;
    int32_t *type;
    int64_t n;
    fl_meta *owner;   /* the plan's metadata owns the strings made here */
} vocab;

#define MAX_TOKENS (1 << 24) /* token ids are int32; far above any real vocabulary */

static flint_status vocab_init(vocab *v, int64_t n, fl_cv_plan *p, const char *path) {
    *v = (vocab){.n = n, .owner = &p->kv};
    if (n <= 0 || n > MAX_TOKENS) return fl_errorf(FLINT_E_FORMAT, "%s: %lld tokens", path, (long long)n);
    v->text = calloc((size_t)n, sizeof *v->text), v->len = calloc((size_t)n, sizeof *v->len);
    v->score = calloc((size_t)n, sizeof *v->score), v->type = calloc((size_t)n, sizeof *v->type);
    return v->text && v->len && v->score && v->type ? FLINT_OK : fl_errorf(FLINT_E_NOMEM, "out of memory");
}

static void vocab_free(vocab *v) {
    free(v->text);
    free(v->len);
    free(v->score);
    free(v->type);
}

static flint_status set_token(vocab *v, int64_t id, const char *s, size_t n, float score, int32_t type) {
    char *copy = malloc(n + 1);
    flint_status st = fl_meta_own(v->owner, copy);
    if (st) return st;
    memcpy(copy, s, n);
    copy[n] = 0;
    v->text[id] = copy;
    v->len[id] = (uint32_t)n;
    v->score[id] = score;
    v->type[id] = type;
    return FLINT_OK;
}

/* "▁" -> " " (the converter pre-normalises user-defined tokens) */
static char *spaces(const char *s) {
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out) return NULL;
    while (*s) {
        if (!strncmp(s, "\xe2\x96\x81", 3)) *o++ = ' ', s += 3;
        else *o++ = *s++;
    }
    *o = 0;
    return out;
}

static flint_status set_user_defined(vocab *v, int64_t id, const char *content) {
    char *s = spaces(content);
    flint_status st = s ? set_token(v, id, s, strlen(s), -1000.0f, USER_DEFINED) : fl_errorf(FLINT_E_NOMEM, "out of memory");
    free(s);
    return st;
}

/* tokens, [scores,] token_type */
static flint_status write_tokens(fl_cv_plan *p, const vocab *v, bool scores) {
    flint_status st = fl_gguf_kv_strings(&p->kv, "tokenizer.ggml.tokens", v->text, v->len, (uint64_t)v->n);
    if (!st && scores) st = fl_gguf_kv_array(&p->kv, "tokenizer.ggml.scores", FLINT_META_F32, v->score, (uint64_t)v->n);
    if (!st) st = fl_gguf_kv_array(&p->kv, "tokenizer.ggml.token_type", FLINT_META_I32, v->type, (uint64_t)v->n);
    return st;
}

static flint_status overrides(vocab *v, const char *dir) {
    json_t *added, *cfg;
    flint_status st = fl_cv_load_json(dir, "added_tokens.json", &added);
    if (st) return st;
    const char *key;
    json_t *val;
    if (json_is_object(added)) {
        json_object_foreach(added, key, val) {
            json_int_t id = json_is_integer(val) ? json_integer_value(val) : -1;
            if (id < 0 || id >= v->n) continue;
            if ((st = set_token(v, id, key, strlen(key), -1000.0f, USER_DEFINED))) break;
        }
    }
    json_decref(added);
    if (st || (st = fl_cv_load_json(dir, "tokenizer_config.json", &cfg))) return st;
    json_t *dec = json_object_get(cfg, "added_tokens_decoder");
    if (json_is_object(dec)) {
        json_object_foreach(dec, key, val) {
            char *end;
            long long id = strtoll(key, &end, 10);
            const char *content = json_string_value(json_object_get(val, "content"));
            if (*end || id < 0 || id >= v->n || !content) continue;
            if (json_is_true(json_object_get(val, "special")) || fl_cv_looks_special(content))
                st = set_token(v, id, content, strlen(content), -1000.0f, CONTROL);
            else
                st = set_user_defined(v, id, content);
            if (st) break;
        }
    }
    json_decref(cfg);
    return st;
}

/* Gemma 1-3 with a tokenizer.model at path. */
static flint_status spm(const char *dir, const char *path, const fl_meta *config, fl_cv_plan *p) {
    char *buf = NULL;
    uint64_t size;
    fl_spm_piece *pieces = NULL;
    int64_t n_pieces = 0, n_vocab = 0;
    vocab v = {0};
    flint_status st = fl_read_file(path, FL_CV_MAX_TOKENIZER_BYTES, &buf, &size);
    if (!st) st = fl_spm_model_parse((const uint8_t *)buf, (size_t)size, path, &pieces, &n_pieces);
    if (!st) {
        const fl_meta_value *vs = fl_meta_find_text(config, "vocab_size");
        if (!vs || fl_meta_value_int(vs, &n_vocab) || n_vocab <= 0) n_vocab = n_pieces;
        st = vocab_init(&v, n_vocab, p, path);
    }
    for (int64_t i = 0; !st && i < n_vocab; i++) {
        char pad[32];
        if (i < n_pieces) {
            const fl_spm_piece *pc = &pieces[i];
            int32_t t = pc->type == 2 || pc->type == 3 || pc->type == 5 || pc->type == 6 ? pc->type : NORMAL;
            st = set_token(&v, i, pc->text, pc->len, pc->score, t);
        } else {
            snprintf(pad, sizeof pad, "[PAD%lld]", (long long)i);
            st = set_token(&v, i, pad, strlen(pad), -10000.0f, UNUSED);
        }
    }
    if (!st) st = overrides(&v, dir);
    if (!st && !(st = fl_gguf_kv_str(&p->kv, "tokenizer.ggml.model", "llama")) &&
        !(st = fl_gguf_kv_str(&p->kv, "tokenizer.ggml.pre", "default")) && !(st = write_tokens(p, &v, true)))
        st = fl_cv_add_special_vocab(dir, config, n_vocab, p);
    if (!st && strcmp(p->arch, "gemma") == 0) { /* CodeGemma's fill-in-the-middle ids; only eot has a key */
        static const char *fim[] = {"prefix", "suffix", "middle", "fsep", "eot"};
        fl_cv_specials f = {0};
        st = fl_cv_special_vocab(dir, config, fim, 5, 0, &f, p, false);
        fl_cv_special_id(&f, "prefix", 67, 0), fl_cv_special_id(&f, "suffix", 69, 0), fl_cv_special_id(&f, "middle", 68, 0);
        fl_cv_special_id(&f, "fsep", 70, 0), fl_cv_special_id(&f, "eot", 107, 0);
        if (!st) st = fl_cv_write_specials(p, &f);
    }
    if (!st) st = fl_gguf_kv_bool(&p->kv, "tokenizer.ggml.add_space_prefix", false);
    /* Gemma 3 keeps the embedding rows of the vocabulary */
    for (int64_t i = 0; !st && i < p->n; i++)
        if (!strcmp(p->arch, "gemma3") && !strcmp(p->t[i].name, "token_embd.weight") && p->t[i].ne[1] > n_vocab)
            p->t[i].ne[1] = n_vocab;
    vocab_free(&v);
    free(pieces);
    free(buf);
    return st;
}

/* Each token of tokenizer.json by id: the model's vocabulary, then the added
 * tokens (which win where both name an id). Ids must be below n. */
static flint_status tokens_by_id(json_t *tok, const char *path, int64_t n, const char **text, json_t **added) {
    json_t *model_vocab = json_object_get(json_object_get(tok, "model"), "vocab");
    const char *key;
    json_t *val;
    size_t i;
    if (!json_is_object(model_vocab)) return fl_errorf(FLINT_E_FORMAT, "%s: no model.vocab object", path);
    json_object_foreach(model_vocab, key, val) {
        json_int_t id = json_is_integer(val) ? json_integer_value(val) : -1;
        if (id < 0 || id >= n)
            return fl_errorf(FLINT_E_FORMAT, "%s: token '%s' has id %lld, outside the %lld of the vocabulary", path, key,
                             (long long)id, (long long)n);
        text[id] = key;
    }
    json_array_foreach(json_object_get(tok, "added_tokens"), i, val) {
        json_t *idv = json_object_get(val, "id");
        const char *content = json_string_value(json_object_get(val, "content"));
        json_int_t id = json_is_integer(idv) ? json_integer_value(idv) : -1;
        if (!content || id < 0 || id >= n)
            return fl_errorf(FLINT_E_FORMAT, "%s: added token %zu: no content or an id outside the %lld of the vocabulary",
                             path, i, (long long)n);
        text[id] = content;
        added[id] = val;
    }
    return FLINT_OK;
}

/* The size of the id space of tokenizer.json: 1 + its largest id. */
static int64_t id_space(json_t *tok) {
    int64_t n = 0;
    const char *key;
    json_t *val;
    size_t i;
    json_object_foreach(json_object_get(json_object_get(tok, "model"), "vocab"), key, val)
        if (json_is_integer(val) && json_integer_value(val) >= n) n = json_integer_value(val) + 1;
    json_array_foreach(json_object_get(tok, "added_tokens"), i, val)
        if (json_is_integer(json_object_get(val, "id")) && json_integer_value(json_object_get(val, "id")) >= n)
            n = json_integer_value(json_object_get(val, "id")) + 1;
    return n;
}

/* Qwen3.5: the GPT-2 BPE path, pre-tokenizer pre. */
static flint_status gpt2(const char *dir, const char *path, json_t *tok, const fl_meta *config, const char *pre, fl_cv_plan *p) {
    int64_t n = 0, ids = id_space(tok);
    const fl_meta_value *vs = fl_meta_find_text(config, "vocab_size");
    if (!vs || fl_meta_value_int(vs, &n) || n <= 0) n = ids;
    if (ids > n)
        return fl_errorf(FLINT_E_FORMAT, "%s: token id %lld is past the config's vocab_size %lld", path, (long long)ids - 1,
                         (long long)n);
    vocab v;
    flint_status st = vocab_init(&v, n, p, path);
    const char **text = st ? NULL : calloc((size_t)n, sizeof *text);
    json_t **added = st ? NULL : calloc((size_t)n, sizeof *added);
    if (!st && (!text || !added)) st = fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (!st) st = tokens_by_id(tok, path, n, text, added);
    for (int64_t i = 0; !st && i < n; i++) {
        char pad[32];
        if (!text[i]) {
            snprintf(pad, sizeof pad, "[PAD%lld]", (long long)i);
            st = set_token(&v, i, pad, strlen(pad), 0.0f, UNUSED);
        } else if (!added[i]) {
            st = set_token(&v, i, text[i], strlen(text[i]), 0.0f, NORMAL);
        } else if (json_is_true(json_object_get(added[i], "special")) || fl_cv_looks_special(text[i])) {
            st = set_token(&v, i, text[i], strlen(text[i]), 0.0f, CONTROL);
        } else {
            st = set_user_defined(&v, i, text[i]);
        }
    }
    if (!st && !(st = fl_gguf_kv_str(&p->kv, "tokenizer.ggml.model", "gpt2")) &&
        !(st = fl_gguf_kv_str(&p->kv, "tokenizer.ggml.pre", pre)) && !(st = write_tokens(p, &v, false)) &&
        !(st = fl_cv_add_merges(tok, path, p)))
        st = fl_cv_add_special_vocab(dir, config, n, p);
    free(text);
    free(added);
    vocab_free(&v);
    return st;
}

/* Whether content is one of tokenizer_config.json's special tokens (the HF
 * tokenizer's all_special_tokens: the named ones and the additional/extra lists). */
static bool config_special(json_t *cfg, const char *content) {
    static const char *named[] = {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};
    for (size_t i = 0; i < sizeof named / sizeof *named; i++) {
        json_t *e = json_object_get(cfg, named[i]);
        const char *s = json_string_value(json_is_object(e) ? json_object_get(e, "content") : e);
        if (s && !strcmp(s, content)) return true;
    }
    static const char *lists[] = {"additional_special_tokens", "extra_special_tokens"};
    for (size_t l = 0; l < 2; l++) {
        json_t *list = json_object_get(cfg, lists[l]), *e;
        size_t i;
        const char *key;
        json_array_foreach(list, i, e) {
            const char *s = json_string_value(json_is_object(e) ? json_object_get(e, "content") : e);
            if (s && !strcmp(s, content)) return true;
        }
        json_object_foreach(list, key, e) {
            const char *s = json_string_value(json_is_object(e) ? json_object_get(e, "content") : e);
            if (s && !strcmp(s, content)) return true;
        }
    }
    return false;
}

/* "<0xHH>" */
static bool byte_token(const char *s) {
    const char *hex = "0123456789abcdefABCDEF";
    return strlen(s) == 6 && !strncmp(s, "<0x", 3) && strchr(hex, s[3]) && strchr(hex, s[4]) && s[5] == '>';
}

/* Gemma 4's markers the chat parser reads: always rendered */
static bool gemma4_visible(const char *s) {
    static const char *visible[] = {"<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|tool_response>",
                                    "<tool_response|>", "<|\"|>"};
    for (size_t i = 0; i < sizeof visible / sizeof *visible; i++)
        if (!strcmp(s, visible[i])) return true;
    return false;
}

/* Gemma 4: a byte-fallback BPE tokenizer.json as gguf's LlamaHfVocab lists it. */
static flint_status gemma4(const char *dir, const char *path, json_t *tok, const fl_meta *config, fl_cv_plan *p) {
    json_t *model = json_object_get(tok, "model");
    const char *type = json_string_value(json_object_get(model, "type"));
    const char *dec = json_string_value(json_object_get(json_object_get(tok, "decoder"), "type"));
    if (!type || strcmp(type, "BPE") || !json_is_true(json_object_get(model, "byte_fallback")) || !dec || strcmp(dec, "Sequence"))
        return fl_errorf(FLINT_E_UNSUPPORTED, "%s: not a byte-fallback BPE tokenizer with a Sequence decoder, as Gemma 4's is",
                         path);
    int64_t base = (int64_t)json_object_size(json_object_get(model, "vocab")), ids = id_space(tok), n = base;
    if (ids > MAX_TOKENS)
        return fl_errorf(FLINT_E_FORMAT, "%s: token id %lld is past the %d ids a vocabulary may hold", path,
                         (long long)ids - 1, MAX_TOKENS);
    json_t *cfg = NULL;
    flint_status st = fl_cv_load_json(dir, "tokenizer_config.json", &cfg);
    const char **text = st ? NULL : calloc((size_t)(ids > 0 ? ids : 1), sizeof *text);
    json_t **added = st ? NULL : calloc((size_t)(ids > 0 ? ids : 1), sizeof *added);
    if (!st && (!text || !added)) st = fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (!st) st = tokens_by_id(tok, path, ids, text, added);
    for (int64_t i = base; !st && i < ids; i++) n += added[i] != NULL;
    vocab v = {0};
    if (!st) st = vocab_init(&v, n, p, path);
    int64_t at = 0;
    for (int64_t i = 0; !st && i < ids; i++) {
        if (i < base && !text[i]) {
            st = fl_errorf(FLINT_E_FORMAT, "%s: no token has id %lld of the %lld of the vocabulary", path, (long long)i,
                           (long long)base);
            break;
        }
        if (i >= base && !added[i]) continue; /* past the vocabulary, only the added tokens are listed, in id order */
        bool special = cfg && config_special(cfg, text[i]);
        int32_t t = i < base ? (byte_token(text[i]) ? BYTE : special ? CONTROL : NORMAL) : special ? CONTROL : USER_DEFINED;
        if (gemma4_visible(text[i])) t = USER_DEFINED;
        st = set_token(&v, at++, text[i], strlen(text[i]), -1000.0f, t);
    }
    if (!st && !(st = fl_gguf_kv_str(&p->kv, "tokenizer.ggml.model", "gemma4")) && !(st = write_tokens(p, &v, true)) &&
        !(st = fl_cv_add_merges(tok, path, p)) && !(st = fl_cv_add_special_vocab(dir, config, 0, p)) &&
        !(st = fl_gguf_kv_bool(&p->kv, "tokenizer.ggml.add_space_prefix", false)))
        st = fl_gguf_kv_bool(&p->kv, "tokenizer.ggml.add_bos_token", true);
    json_decref(cfg);
    free(text);
    free(added);
    vocab_free(&v);
    return st;
}

flint_status fl_cv_vocab_hf(const char *dir, const fl_meta *config, fl_cv_plan *p, bool *written) {
    *written = false;
    bool gemma13 = !strcmp(p->arch, "gemma") || !strcmp(p->arch, "gemma2") || !strcmp(p->arch, "gemma3");
    bool qwen35 = !strcmp(p->arch, "qwen35") || !strcmp(p->arch, "qwen35moe"), g4 = !strcmp(p->arch, "gemma4");
    char *model = fl_path_join(dir, "tokenizer.model"), *json = fl_path_join(dir, "tokenizer.json");
    flint_status st = model && json ? FLINT_OK : fl_errorf(FLINT_E_NOMEM, "out of memory");
    json_t *tok = NULL;
    if (!st && gemma13 && fl_exists(model)) {
        st = spm(dir, model, config, p);
        *written = !st;
    } else if (!st && (qwen35 || g4) && !fl_exists(model) && fl_exists(json) &&
               !(st = fl_cv_load_json(dir, "tokenizer.json", &tok))) {
        st = g4 ? gemma4(dir, json, tok, config, p) : gpt2(dir, json, tok, config, "qwen35", p);
        *written = !st;
    }
    json_decref(tok);
    free(model);
    free(json);
    return st;
}
