/* hf_special.c — gguf's SpecialVocab for an HF folder: special ids, the
 * add_<type>_token flags, the chat template and BPE merges, as the
 * converter (convert_hf_to_gguf.py at 34af94cd9) adds them after its token
 * list. Not followed: TemplateProcessing's pair/sep rules and the eot/eom
 * rewrites. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "convert/hf_special.h"
#include "format/gguf_write.h"

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

flint_status fl_cv_load_json(const char *dir, const char *name, json_t **out) {
    *out = NULL;
    char *path = fl_path_join(dir, name), *text = NULL;
    uint64_t len;
    flint_status st = FLINT_OK;
    if (!path) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (fl_exists(path)) {
        st = fl_read_file(path, FL_CV_MAX_TOKENIZER_BYTES, &text, &len);
        if (!st) st = fl_json_load(text, (size_t)len, path, "JSON", out);
    }
    free(text);
    free(path);
    return st;
}

bool fl_cv_looks_special(const char *s) {
    size_t n = strlen(s);
    if (!strcmp(s, "<pad>") || !strcmp(s, "<mask>") || !strcmp(s, "<2mass>") || !strcmp(s, "[@BOS@]")) return true;
    if (n >= 4 && !strncmp(s, "<|", 2) && !strcmp(s + n - 2, "|>")) return true;
    if (n >= 8 && !strncmp(s, "<\xef\xbd\x9c", 4) && !strcmp(s + n - 4, "\xef\xbd\x9c>")) return true;
    return n >= 8 && !strncmp(s, "<unused", 7) && s[n - 1] == '>';
}

void fl_cv_special_id(fl_cv_specials *s, const char *typ, int64_t id, int64_t n_vocab) {
    if (id < 0 || (n_vocab > 0 && id >= n_vocab)) return;
    for (int i = 0; i < s->n_id; i++)
        if (!strcmp(s->typ[i], typ)) return;
    if (s->n_id < 16) s->typ[s->n_id] = typ, s->id[s->n_id++] = id;
}

static void set_add(fl_cv_specials *s, const char *typ, bool value) {
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
static void template_flags(fl_cv_specials *s, json_t *tok, json_t *cfg) {
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

flint_status fl_cv_special_vocab(const char *dir, const fl_meta *config, const char *const *types, int n_types,
                                 int64_t n_vocab, fl_cv_specials *s, fl_cv_plan *p, bool chat_template) {
    json_t *tok, *cfg;
    flint_status st = fl_cv_load_json(dir, "tokenizer.json", &tok);
    if (st || (st = fl_cv_load_json(dir, "tokenizer_config.json", &cfg))) {
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
        if (!tmpl && path && fl_exists(path) && fl_read_file(path, FL_CV_MAX_TOKENIZER_BYTES, &jinja, &len) == FLINT_OK) tmpl = jinja;
        else if (!tmpl && fl_cv_load_json(dir, "chat_template.json", &alt) == FLINT_OK)
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
                    if (json_is_integer(json_object_get(at, "id")))
                        fl_cv_special_id(s, types[t], json_integer_value(json_object_get(at, "id")), n_vocab);
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
        if (v && v->type != FLINT_META_BOOL && fl_meta_value_int(v, &id) == FLINT_OK) fl_cv_special_id(s, types[t], id, n_vocab);
    }
    json_decref(tok);
    json_decref(cfg);
    return st;
}

flint_status fl_cv_write_specials(fl_cv_plan *p, const fl_cv_specials *s) {
    flint_status st = FLINT_OK;
    for (int i = 0; i < s->n_id && !st; i++)
        if (id_key(s->typ[i])) st = fl_gguf_kv_u32(&p->kv, id_key(s->typ[i]), (uint32_t)s->id[i]);
    for (int i = 0; i < s->n_add && !st; i++)
        if (add_key(s->add_typ[i])) st = fl_gguf_kv_bool(&p->kv, add_key(s->add_typ[i]), s->add[i]);
    return st;
}

flint_status fl_cv_add_special_vocab(const char *dir, const fl_meta *config, int64_t n_vocab, fl_cv_plan *p) {
    static const char *types[] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};
    fl_cv_specials s = {0};
    flint_status st = fl_cv_special_vocab(dir, config, types, 7, n_vocab, &s, p, true);
    return st ? st : fl_cv_write_specials(p, &s);
}

/* One merge as gguf keeps it: a pair's parts with their spaces as U+0120, joined by a space. */
static char *pair_text(const char *a, const char *b) {
    size_t n = 2;
    for (const char *c = a; *c; c++) n += *c == ' ' ? 2 : 1;
    for (const char *c = b; *c; c++) n += *c == ' ' ? 2 : 1;
    char *out = malloc(n), *o = out;
    if (!out) return NULL;
    for (int part = 0; part < 2; part++) {
        if (part) *o++ = ' ';
        for (const char *c = part ? b : a; *c; c++)
            if (*c == ' ') *o++ = '\xc4', *o++ = '\xa0';
            else *o++ = *c;
    }
    *o = 0;
    return out;
}

flint_status fl_cv_add_merges(json_t *tokenizer, const char *path, fl_cv_plan *p) {
    json_t *merges = json_object_get(json_object_get(tokenizer, "model"), "merges");
    size_t n = json_array_size(merges);
    if (n == 0) return FLINT_OK; /* the converter warns and writes none */
    const char **text = calloc(n, sizeof *text);
    uint32_t *len = calloc(n, sizeof *len);
    char **made = calloc(n, sizeof *made);
    flint_status st = text && len && made ? FLINT_OK : fl_errorf(FLINT_E_NOMEM, "out of memory");
    bool pairs = json_is_array(json_array_get(merges, 0));
    for (size_t i = 0; i < n && !st; i++) {
        json_t *m = json_array_get(merges, i);
        const char *a = json_string_value(json_array_get(m, 0)), *b = json_string_value(json_array_get(m, 1));
        if (!pairs && json_is_string(m)) text[i] = json_string_value(m);
        else if (pairs && json_array_size(m) == 2 && a && b && !(text[i] = made[i] = pair_text(a, b)))
            st = fl_errorf(FLINT_E_NOMEM, "out of memory");
        if (!st && !text[i]) st = fl_errorf(FLINT_E_FORMAT, "%s: merge %zu is neither \"a b\" nor a pair of strings", path, i);
        if (!st) {
            size_t l = strlen(text[i]);
            if (l > UINT32_MAX) st = fl_errorf(FLINT_E_FORMAT, "%s: merge %zu is too long", path, i);
            else len[i] = (uint32_t)l;
        }
    }
    if (!st) st = fl_gguf_kv_strings(&p->kv, "tokenizer.ggml.merges", text, len, n);
    for (size_t i = 0; made && i < n; i++) free(made[i]);
    free(made);
    free(text);
    free(len);
    return st;
}
