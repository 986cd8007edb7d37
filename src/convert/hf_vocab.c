/* hf_vocab.c — an HF folder's tokenizer as the converter writes it, where
 * flint follows its path: a SentencePiece tokenizer.model (Gemma 1-3;
 * _create_vocab_sentencepiece, then gguf's SpecialVocab). The pieces fill
 * the config's vocab_size ([PADn] beyond them, pieces beyond it dropped),
 * added_tokens.json and tokenizer_config.json's added_tokens_decoder
 * override entries, special ids come from tokenizer_config.json's
 * <type>_token (looked up in tokenizer.json's added_tokens) then
 * config.json's <type>_token_id, add_<type>_token flags from
 * tokenizer.json's TemplateProcessing then tokenizer_config.json, the chat
 * template from tokenizer_config.json or chat_template.jinja/json. Not
 * followed: TemplateProcessing's pair/sep rules and eot/eom rewrites, and
 * the BPE paths (tokenizer.json only: Gemma 3 without tokenizer.model,
 * Gemma 4, Qwen3.5), whose pre-tokenizer llama.cpp names by a hash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "base/json.h"
#include "convert/plan.h"
#include "convert/spm_model.h"
#include "format/gguf_write.h"

#define MAX_TOKENIZER_BYTES (256ull << 20)

static const char *special_types[] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};
/* gguf's key for each special type (SpecialVocab skips the types without one) */
static const char *id_key(const char *typ) {
    static const struct { const char *typ, *key; } keys[] = {
        {"bos", "tokenizer.ggml.bos_token_id"}, {"eos", "tokenizer.ggml.eos_token_id"},
        {"unk", "tokenizer.ggml.unknown_token_id"}, {"sep", "tokenizer.ggml.seperator_token_id"},
        {"pad", "tokenizer.ggml.padding_token_id"}, {"cls", "tokenizer.ggml.cls_token_id"},
        {"mask", "tokenizer.ggml.mask_token_id"}, {"eot", "tokenizer.ggml.eot_token_id"}};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (strcmp(keys[i].typ, typ) == 0) return keys[i].key;
    return NULL;
}
static const char *add_key(const char *typ) {
    if (strcmp(typ, "bos") == 0) return "tokenizer.ggml.add_bos_token";
    if (strcmp(typ, "eos") == 0) return "tokenizer.ggml.add_eos_token";
    if (strcmp(typ, "sep") == 0) return "tokenizer.ggml.add_sep_token";
    return NULL;
}

/* A JSON file of the folder, or NULL (absent or unreadable: as the converter, which reads what is there). */
static flint_status load_json(const char *dir, const char *name, json_t **out) {
    *out = NULL;
    char *path = fl_path_join(dir, name), *text = NULL;
    uint64_t len;
    flint_status st = FLINT_OK;
    if (!path) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (fl_exists(path)) {
        st = fl_read_file(path, MAX_TOKENIZER_BYTES, &text, &len);
        if (!st) st = fl_json_load(text, (size_t)len, path, "JSON", out);
    }
    free(text);
    free(path);
    return st;
}

typedef struct vocab {
    const char **text;
    uint32_t *len;
    float *score;
    int32_t *type;
    int64_t n;
    fl_meta *owner;   /* the plan's metadata owns the strings made here */
} vocab;

static flint_status set_token(vocab *v, int64_t id, const char *s, size_t n, float score, int32_t type) {
    char *copy = malloc(n + 1);
    flint_status st = fl_meta_own(v->owner, copy);
    if (st) return st;
    memcpy(copy, s, n);
    v->text[id] = copy;
    v->len[id] = (uint32_t)n;
    v->score[id] = score;
    v->type[id] = type;
    return FLINT_OK;
}

/* BaseModel.does_token_look_special */
static bool looks_special(const char *s) {
    size_t n = strlen(s);
    if (!strcmp(s, "<pad>") || !strcmp(s, "<mask>") || !strcmp(s, "<2mass>") || !strcmp(s, "[@BOS@]")) return true;
    if (n >= 4 && !strncmp(s, "<|", 2) && !strcmp(s + n - 2, "|>")) return true;
    if (n >= 8 && !strncmp(s, "<\xef\xbd\x9c", 4) && !strcmp(s + n - 4, "\xef\xbd\x9c>")) return true;
    return n >= 8 && !strncmp(s, "<unused", 7) && s[n - 1] == '>';
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

static flint_status overrides(vocab *v, const char *dir) {
    json_t *added, *cfg;
    flint_status st = load_json(dir, "added_tokens.json", &added);
    if (st) return st;
    const char *key;
    json_t *val;
    if (json_is_object(added)) {
        json_object_foreach(added, key, val) {
            json_int_t id = json_is_integer(val) ? json_integer_value(val) : -1;
            if (id < 0 || id >= v->n) continue;
            if ((st = set_token(v, id, key, strlen(key), -1000.0f, 4))) break;
        }
    }
    json_decref(added);
    if (st || (st = load_json(dir, "tokenizer_config.json", &cfg))) return st;
    json_t *dec = json_object_get(cfg, "added_tokens_decoder");
    if (json_is_object(dec)) {
        json_object_foreach(dec, key, val) {
            char *end;
            long long id = strtoll(key, &end, 10);
            const char *content = json_string_value(json_object_get(val, "content"));
            if (*end || id < 0 || id >= v->n || !content) continue;
            if (json_is_true(json_object_get(val, "special")) || looks_special(content)) {
                st = set_token(v, id, content, strlen(content), -1000.0f, 3);
            } else {
                char *s = spaces(content);
                st = s ? set_token(v, id, s, strlen(s), -1000.0f, 4) : fl_errorf(FLINT_E_NOMEM, "out of memory");
                free(s);
            }
            if (st) break;
        }
    }
    json_decref(cfg);
    return st;
}

typedef struct specials {
    const char *typ[16];
    int64_t id[16];
    int n_id;
    const char *add_typ[16];
    bool add[16];
    int n_add;
} specials;

static void set_id(specials *s, const char *typ, json_int_t id, int64_t n_vocab) {
    if (id < 0 || (n_vocab > 0 && id >= n_vocab)) return;
    for (int i = 0; i < s->n_id; i++)
        if (!strcmp(s->typ[i], typ)) return;
    if (s->n_id < 16) s->typ[s->n_id] = typ, s->id[s->n_id++] = id;
}

static void set_add(specials *s, const char *typ, bool value) {
    for (int i = 0; i < s->n_add; i++)
        if (!strcmp(s->add_typ[i], typ)) {
            s->add[i] = value;
            return;
        }
    if (s->n_add < 16) s->add_typ[s->n_add] = typ, s->add[s->n_add++] = value;
}

static const char *token_content(json_t *entry) {
    if (json_is_object(entry)) entry = json_object_get(entry, "content");
    return json_string_value(entry);
}

/* TemplateProcessing's single sequence: whether it starts with BOS (or CLS)
 * and ends with EOS. */
static void template_flags(specials *s, json_t *tok, json_t *cfg) {
    json_t *pp = json_object_get(tok, "post_processor");
    if (!json_is_object(pp)) return;
    json_t *list = json_object_get(pp, "processors");
    size_t i;
    json_t *proc;
    json_t *single_list = json_array();
    if (json_is_array(list)) json_array_extend(single_list, list);
    else json_array_append(single_list, pp);
    const char *bos = token_content(json_object_get(cfg, "bos_token")), *cls = token_content(json_object_get(cfg, "cls_token"));
    const char *eos = token_content(json_object_get(cfg, "eos_token"));
    json_array_foreach(single_list, i, proc) {
        const char *type = json_string_value(json_object_get(proc, "type"));
        if (type && !strcmp(type, "RobertaProcessing")) {
            set_add(s, "bos", true), set_add(s, "eos", true), set_add(s, "sep", true);
            continue;
        }
        json_t *single = json_object_get(proc, "single");
        if (!type || strcmp(type, "TemplateProcessing") || json_array_size(single) <= 1) continue;
        const char *first = json_string_value(json_object_get(json_object_get(json_array_get(single, 0), "SpecialToken"), "id"));
        const char *last = json_string_value(
            json_object_get(json_object_get(json_array_get(single, json_array_size(single) - 1), "SpecialToken"), "id"));
        if (first) set_add(s, "bos", (bos && !strcmp(first, bos)) || (cls && !strcmp(first, cls)));
        if (last) set_add(s, "eos", eos && !strcmp(last, eos));
    }
    json_decref(single_list);
}

/* SpecialVocab(n_vocab) for types: ids, add flags, chat template. */
static flint_status special_vocab(const char *dir, const fl_meta *config, const char *const *types, int n_types,
                                  int64_t n_vocab, specials *s, fl_cv_plan *p, bool chat_template) {
    json_t *tok, *cfg;
    flint_status st = load_json(dir, "tokenizer.json", &tok);
    if (st || (st = load_json(dir, "tokenizer_config.json", &cfg))) {
        json_decref(tok);
        return st;
    }
    json_t *added = json_object_get(tok, "added_tokens");
    if (tok) template_flags(s, tok, cfg ? cfg : json_object());
    if (cfg) {
        const char *tmpl = json_string_value(json_object_get(cfg, "chat_template"));
        json_t *alt = NULL;
        char *jinja = NULL;
        uint64_t len = 0;
        char *path = fl_path_join(dir, "chat_template.jinja");
        if (!tmpl && path && fl_exists(path) && fl_read_file(path, MAX_TOKENIZER_BYTES, &jinja, &len) == FLINT_OK) tmpl = jinja;
        else if (!tmpl && load_json(dir, "chat_template.json", &alt) == FLINT_OK)
            tmpl = json_string_value(json_object_get(alt, "chat_template"));
        if (chat_template && tmpl) st = fl_gguf_kv_str(&p->kv, "tokenizer.chat_template", tmpl);
        free(path);
        free(jinja);
        json_decref(alt);
        for (int t = 0; t < n_types; t++) {
            char key[32];
            snprintf(key, sizeof key, "add_%s_token", types[t]);
            json_t *a = json_object_get(cfg, key);
            if (json_is_boolean(a)) set_add(s, types[t], json_is_true(a));
            snprintf(key, sizeof key, "%s_token", types[t]);
            const char *content = token_content(json_object_get(cfg, key));
            size_t i;
            json_t *at;
            if (!content || !json_is_array(added)) continue;
            json_array_foreach(added, i, at) {
                if (json_is_string(json_object_get(at, "content")) && !strcmp(json_string_value(json_object_get(at, "content")), content)) {
                    if (json_is_integer(json_object_get(at, "id"))) set_id(s, types[t], json_integer_value(json_object_get(at, "id")), n_vocab);
                    break;
                }
            }
        }
    }
    for (int t = 0; t < n_types; t++) {
        char key[48];
        int64_t id;
        snprintf(key, sizeof key, "%s_token_id", types[t]);
        const fl_meta_value *v = fl_meta_find(config, key);
        if (!v) {
            snprintf(key, sizeof key, "text_config.%s_token_id", types[t]);
            v = fl_meta_find(config, key);
        }
        if (v && v->type != FLINT_META_BOOL && fl_meta_value_int(v, &id) == FLINT_OK) set_id(s, types[t], id, n_vocab);
    }
    json_decref(tok);
    json_decref(cfg);
    return st;
}

static flint_status write_specials(fl_cv_plan *p, const specials *s) {
    flint_status st = FLINT_OK;
    for (int i = 0; i < s->n_id && !st; i++)
        if (id_key(s->typ[i])) st = fl_gguf_kv_u32(&p->kv, id_key(s->typ[i]), (uint32_t)s->id[i]);
    for (int i = 0; i < s->n_add && !st; i++)
        if (add_key(s->add_typ[i])) st = fl_gguf_kv_bool(&p->kv, add_key(s->add_typ[i]), s->add[i]);
    return st;
}

flint_status fl_cv_vocab_hf(const char *dir, const fl_meta *config, fl_cv_plan *p, bool *written) {
    *written = false;
    if (strcmp(p->arch, "gemma") && strcmp(p->arch, "gemma2") && strcmp(p->arch, "gemma3")) return FLINT_OK;
    char *path = fl_path_join(dir, "tokenizer.model"), *buf = NULL;
    uint64_t size;
    flint_status st = FLINT_OK;
    if (!path) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (!fl_exists(path)) {
        free(path);
        return FLINT_OK;
    }
    fl_spm_piece *pieces = NULL;
    int64_t n_pieces = 0, n_vocab = 0;
    if ((st = fl_read_file(path, MAX_TOKENIZER_BYTES, &buf, &size)) ||
        (st = fl_spm_model_parse((const uint8_t *)buf, (size_t)size, path, &pieces, &n_pieces)))
        goto done;
    const fl_meta_value *vs = fl_meta_find_text(config, "vocab_size");
    if (!vs || fl_meta_value_int(vs, &n_vocab) || n_vocab <= 0) n_vocab = n_pieces;
    if (n_vocab <= 0 || n_vocab > (1 << 24)) {
        st = fl_errorf(FLINT_E_FORMAT, "%s: %lld tokens", path, (long long)n_vocab);
        goto done;
    }
    vocab v = {calloc((size_t)n_vocab, sizeof *v.text), calloc((size_t)n_vocab, sizeof *v.len),
               calloc((size_t)n_vocab, sizeof *v.score), calloc((size_t)n_vocab, sizeof *v.type), n_vocab, &p->kv};
    if (!v.text || !v.len || !v.score || !v.type) st = fl_errorf(FLINT_E_NOMEM, "out of memory");
    for (int64_t i = 0; !st && i < n_vocab; i++) {
        char pad[32];
        if (i < n_pieces) {
            const fl_spm_piece *pc = &pieces[i];
            int32_t t = pc->type == 2 || pc->type == 3 || pc->type == 5 || pc->type == 6 ? pc->type : 1;
            st = set_token(&v, i, pc->text, pc->len, pc->score, t);
        } else {
            snprintf(pad, sizeof pad, "[PAD%lld]", (long long)i);
            st = set_token(&v, i, pad, strlen(pad), -10000.0f, 5);
        }
    }
    if (!st) st = overrides(&v, dir);
    if (!st && !(st = fl_gguf_kv_str(&p->kv, "tokenizer.ggml.model", "llama")) &&
        !(st = fl_gguf_kv_str(&p->kv, "tokenizer.ggml.pre", "default")) &&
        !(st = fl_gguf_kv_strings(&p->kv, "tokenizer.ggml.tokens", v.text, v.len, (uint64_t)n_vocab)) &&
        !(st = fl_gguf_kv_array(&p->kv, "tokenizer.ggml.scores", FLINT_META_F32, v.score, (uint64_t)n_vocab)))
        st = fl_gguf_kv_array(&p->kv, "tokenizer.ggml.token_type", FLINT_META_I32, v.type, (uint64_t)n_vocab);
    specials s = {0};
    if (!st) st = special_vocab(dir, config, special_types, 7, n_vocab, &s, p, true);
    if (!st) st = write_specials(p, &s);
    if (!st && strcmp(p->arch, "gemma") == 0) { /* CodeGemma's fill-in-the-middle ids; only eot has a key */
        static const char *fim[] = {"prefix", "suffix", "middle", "fsep", "eot"};
        specials f = {0};
        st = special_vocab(dir, config, fim, 5, 0, &f, p, false);
        set_id(&f, "prefix", 67, 0), set_id(&f, "suffix", 69, 0), set_id(&f, "middle", 68, 0);
        set_id(&f, "fsep", 70, 0), set_id(&f, "eot", 107, 0);
        if (!st) st = write_specials(p, &f);
    }
    if (!st) st = fl_gguf_kv_bool(&p->kv, "tokenizer.ggml.add_space_prefix", false);
    if (!st) {
        /* Gemma 3 keeps the embedding rows of the vocabulary */
        for (int64_t i = 0; i < p->n; i++)
            if (!strcmp(p->arch, "gemma3") && !strcmp(p->t[i].name, "token_embd.weight") && p->t[i].ne[1] > n_vocab)
                p->t[i].ne[1] = n_vocab;
        *written = true;
    }
    free(v.text);
    free(v.len);
    free(v.score);
    free(v.type);
done:
    free(pieces);
    free(buf);
    free(path);
    return st;
}
