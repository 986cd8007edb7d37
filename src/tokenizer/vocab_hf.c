/* vocab_hf.c — a tokenizer from Hugging Face tokenizer.json (+
 * tokenizer_config.json for BOS/EOS, add_bos_token and chat_template, and
 * config.json for the architecture). Supported: model BPE; normalizers
 * NFC, Replace(" " -> "▁"), Prepend("▁"), Sequence; pre-tokenizers
 * ByteLevel, Split (Isolated), Metaspace, Sequence. A ByteLevel anywhere
 * makes a byte-level BPE; otherwise a character BPE with '▁'. Anything else
 * is refused with a message naming it, never guessed. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"
#include "base/json.h"
#include "tokenizer/tok_internal.h"

#define MAX_JSON (256u << 20)

typedef struct hf {
    const char *path;
    bool byte_level, use_gpt2_regex, nfc;
    bool spaces_to_meta;
    uint8_t prepend;
    const char *regex[FL_TOK_MAX_REGEX];
    size_t regex_len[FL_TOK_MAX_REGEX];
    char *owned[FL_TOK_MAX_REGEX];
    int n_regex;
} hf;

static flint_status unsupported(const hf *h, const char *what, const char *type) {
    return fl_errorf(FLINT_E_UNSUPPORTED, "%s: %s '%.60s' is not supported", h->path, what, type ? type : "?");
}

static const char *str_of(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static flint_status add_regex(hf *h, json_t *pattern) {
    if (h->n_regex == FL_TOK_MAX_REGEX) return fl_errorf(FLINT_E_UNSUPPORTED, "%s: too many Split pre-tokenizers", h->path);
    const char *re = str_of(pattern, "Regex"), *lit = str_of(pattern, "String");
    if (re) {
        h->regex[h->n_regex] = re;
        h->regex_len[h->n_regex++] = strlen(re);
        return FLINT_OK;
    }
    if (!lit) return fl_errorf(FLINT_E_FORMAT, "%s: a Split pre-tokenizer has no pattern", h->path);
    size_t n = strlen(lit);
    char *e = malloc(2 * n + 1);
    if (!e) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)lit[i];
        if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) e[k++] = '\\';
        e[k++] = (char)c;
    }
    e[k] = '\0';
    h->owned[h->n_regex] = e;
    h->regex[h->n_regex] = e;
    h->regex_len[h->n_regex++] = k;
    return FLINT_OK;
}

static flint_status normalizer(hf *h, json_t *n, int depth) {
    if (!n || json_is_null(n)) return FLINT_OK;
    if (depth > 8) return fl_errorf(FLINT_E_FORMAT, "%s: normalizers nested too deeply", h->path);
    const char *type = str_of(n, "type");
    if (!type) return fl_errorf(FLINT_E_FORMAT, "%s: a normalizer has no type", h->path);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(n, "normalizers"), *it;
        size_t i;
        json_array_foreach(list, i, it) {
            flint_status st = normalizer(h, it, depth + 1);
            if (st) return st;
        }
        return FLINT_OK;
    }
    if (!strcmp(type, "NFC")) return h->nfc = true, FLINT_OK;
    if (!strcmp(type, "Replace")) {
        const char *from = str_of(json_object_get(n, "pattern"), "String"), *to = str_of(n, "content");
        if (from && to && !strcmp(from, " ") && !strcmp(to, "\xE2\x96\x81")) return h->spaces_to_meta = true, FLINT_OK;
        return unsupported(h, "normalizer Replace other than ' ' -> '\xE2\x96\x81', type", type);
    }
    if (!strcmp(type, "Prepend")) {
        const char *p = str_of(n, "prepend");
        if (p && !strcmp(p, "\xE2\x96\x81")) return h->prepend = 1, FLINT_OK;
        return unsupported(h, "normalizer Prepend of", p);
    }
    return unsupported(h, "normalizer", type);
}

static flint_status pre_tokenizer(hf *h, json_t *p, int depth) {
    if (!p || json_is_null(p)) return FLINT_OK;
    if (depth > 8) return fl_errorf(FLINT_E_FORMAT, "%s: pre-tokenizers nested too deeply", h->path);
    const char *type = str_of(p, "type");
    if (!type) return fl_errorf(FLINT_E_FORMAT, "%s: a pre-tokenizer has no type", h->path);
    if (!strcmp(type, "Sequence")) {
        json_t *list = json_object_get(p, "pretokenizers"), *it;
        size_t i;
        json_array_foreach(list, i, it) {
            flint_status st = pre_tokenizer(h, it, depth + 1);
            if (st) return st;
        }
        return FLINT_OK;
    }
    if (!strcmp(type, "ByteLevel")) {
        if (json_is_true(json_object_get(p, "add_prefix_space")))
            return unsupported(h, "pre-tokenizer ByteLevel with add_prefix_space", "true");
        h->byte_level = true;
        json_t *ur = json_object_get(p, "use_regex");
        if (!ur || json_is_true(ur)) h->use_gpt2_regex = true;
        return FLINT_OK;
    }
    if (!strcmp(type, "Split")) {
        const char *beh = str_of(p, "behavior");
        const char *lit = str_of(json_object_get(p, "pattern"), "String");
        /* GemmaConverter's Split(" ") runs after ' ' -> '▁': it never matches */
        if (lit && !strcmp(lit, " ") && h->spaces_to_meta) return FLINT_OK;
        if (!beh || strcmp(beh, "Isolated") || json_is_true(json_object_get(p, "invert")))
            return unsupported(h, "Split behaviour", beh);
        return add_regex(h, json_object_get(p, "pattern"));
    }
    if (!strcmp(type, "Metaspace")) {
        const char *r = str_of(p, "replacement"), *scheme = str_of(p, "prepend_scheme");
        if (r && strcmp(r, "\xE2\x96\x81")) return unsupported(h, "Metaspace replacement", r);
        h->spaces_to_meta = true;
        if (!scheme) h->prepend = json_is_false(json_object_get(p, "add_prefix_space")) ? 0 : 1;
        else h->prepend = !strcmp(scheme, "always") ? 1 : !strcmp(scheme, "first") ? 2 : 0;
        if (!json_is_false(json_object_get(p, "split"))) {
            if (h->n_regex == FL_TOK_MAX_REGEX) return fl_errorf(FLINT_E_UNSUPPORTED, "%s: too many pre-tokenizers", h->path);
            h->regex[h->n_regex] = "\xE2\x96\x81[^\xE2\x96\x81]*|[^\xE2\x96\x81]+";
            h->regex_len[h->n_regex] = strlen(h->regex[h->n_regex]);
            h->n_regex++;
        }
        return FLINT_OK;
    }
    return unsupported(h, "pre-tokenizer", type);
}

/* a token given as "text" or {"content": "text"} */
static const char *token_text(json_t *v) {
    if (json_is_string(v)) return json_string_value(v);
    return json_is_object(v) ? str_of(v, "content") : NULL;
}

static flint_status load(fl_tokenizer **out, json_t *root, json_t *cfg, const char *path) {
    hf h = {.path = path};
    flint_status st = FLINT_OK;
    if (!json_is_object(root)) return fl_errorf(FLINT_E_FORMAT, "%s: tokenizer.json is not an object", path);
    json_t *model = json_object_get(root, "model");
    const char *mtype = str_of(model, "type");
    if (!json_is_object(model)) return fl_errorf(FLINT_E_FORMAT, "%s: no \"model\" object", path);
    if (mtype && strcmp(mtype, "BPE")) return unsupported(&h, "tokenizer model", mtype);
    json_t *vocab = json_object_get(model, "vocab"), *added = json_object_get(root, "added_tokens");
    if (!json_is_object(vocab)) return fl_errorf(FLINT_E_FORMAT, "%s: model.vocab is not an object", path);
    if (added && !json_is_array(added) && !json_is_null(added))
        return fl_errorf(FLINT_E_FORMAT, "%s: added_tokens is not an array", path);
    if ((st = normalizer(&h, json_object_get(root, "normalizer"), 0))) goto out;
    if ((st = pre_tokenizer(&h, json_object_get(root, "pre_tokenizer"), 0))) goto out;

    fl_tokenizer *t = fl_tok_new(h.byte_level ? FL_TOK_BPE_BYTES : FL_TOK_BPE_CHARS);
    if (!t) { st = fl_errorf(FLINT_E_NOMEM, "out of memory"); goto out; }
    *out = t;

    /* ids: vocab and added tokens; the vocabulary spans 0 .. max id */
    int64_t max_id = -1;
    uint64_t bytes = 0;
    const char *key;
    json_t *v, *it;
    size_t i;
    json_object_foreach(vocab, key, v) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= FL_TOK_MAX_VOCAB) {
            st = fl_errorf(FLINT_E_FORMAT, "%s: vocab entry '%.40s' has no valid id", path, key);
            goto out;
        }
        if (json_integer_value(v) > max_id) max_id = json_integer_value(v);
    }
    json_array_foreach(added, i, it) {
        json_t *id = json_object_get(it, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) >= FL_TOK_MAX_VOCAB ||
            !str_of(it, "content")) {
            st = fl_errorf(FLINT_E_FORMAT, "%s: added_tokens[%zu] needs an id and a content", path, i);
            goto out;
        }
        if (json_integer_value(id) > max_id) max_id = json_integer_value(id);
    }
    if (max_id < 0) { st = fl_errorf(FLINT_E_FORMAT, "%s: the vocabulary is empty", path); goto out; }
    int32_t nv = (int32_t)max_id + 1;
    const char **piece = calloc((size_t)nv, sizeof *piece);
    if (!piece) { st = fl_errorf(FLINT_E_NOMEM, "out of memory"); goto out; }
    json_object_foreach(vocab, key, v) piece[json_integer_value(v)] = key;
    uint8_t *ty = calloc((size_t)nv, 1);
    if (!ty) { free(piece); st = fl_errorf(FLINT_E_NOMEM, "out of memory"); goto out; }
    json_array_foreach(added, i, it) {
        int64_t id = json_integer_value(json_object_get(it, "id"));
        piece[id] = str_of(it, "content");
        ty[id] = json_is_true(json_object_get(it, "special")) ? FL_TOK_TYPE_CONTROL : FL_TOK_TYPE_USER_DEFINED;
    }
    for (int32_t k = 0; k < nv; k++) {
        size_t l = piece[k] ? strlen(piece[k]) : 0;
        if (l > FL_TOK_MAX_PIECE) { st = fl_errorf(FLINT_E_FORMAT, "%s: token %d is %zu bytes long", path, k, l); break; }
        bytes += l + 1;
    }
    if (!st) st = fl_tok_alloc_vocab(t, nv, bytes, path);
    if (!st) {
        bool bf = json_is_true(json_object_get(model, "byte_fallback"));
        uint32_t o = 0;
        for (int32_t k = 0; k < nv; k++) {
            size_t l = piece[k] ? strlen(piece[k]) : 0;
            t->off[k] = o;
            if (l) memcpy(t->text + o, piece[k], l);
            o += (uint32_t)l;
            t->text[o++] = '\0';
            if (ty[k]) t->type[k] = ty[k];
            else if (!piece[k]) t->type[k] = FL_TOK_TYPE_UNUSED;
            else if (bf && l == 6 && !memcmp(piece[k], "<0x", 3) && piece[k][5] == '>') t->type[k] = FL_TOK_TYPE_BYTE;
        }
        t->off[nv] = o;
        t->byte_fallback = bf;
    }
    free(piece);
    free(ty);
    if (st) goto out;

    t->ignore_merges = json_is_true(json_object_get(model, "ignore_merges"));
    t->fuse_unk = json_is_true(json_object_get(model, "fuse_unk"));
    t->nfc = h.nfc;
    t->spaces_to_meta = h.spaces_to_meta;
    t->prepend_meta = h.prepend;
    const char *unk = str_of(model, "unk_token");
    for (int r = 0; r < h.n_regex && !st; r++) st = fl_tok_compile_regex(t, h.regex[r], h.regex_len[r], path);
    if (!st && h.use_gpt2_regex) {
        bool nfc, ign;
        const char *re = fl_tok_pre_regex("gpt-2", &nfc, &ign);
        st = fl_tok_compile_regex(t, re, strlen(re), path);
    }
    if (st) goto out;

    /* special ids: tokenizer_config.json, else common names */
    const char *bos = token_text(json_object_get(cfg, "bos_token"));
    const char *eos = token_text(json_object_get(cfg, "eos_token"));
    const char *pad = token_text(json_object_get(cfg, "pad_token"));
    if (!unk) unk = token_text(json_object_get(cfg, "unk_token"));
    /* hash first so that names resolve */
    t->unk = t->bos = t->eos = t->pad = -1;
    if ((st = fl_tok_finish(t, path))) goto out;
    if (unk) {
        t->unk = fl_tok_lookup(t, unk, strlen(unk));
        if (t->unk >= 0 && t->type[t->unk] == FL_TOK_TYPE_NORMAL) t->type[t->unk] = FL_TOK_TYPE_UNKNOWN;
    }
    if (bos) t->bos = fl_tok_lookup(t, bos, strlen(bos));
    if (eos) t->eos = fl_tok_lookup(t, eos, strlen(eos));
    if (pad) t->pad = fl_tok_lookup(t, pad, strlen(pad));
    json_t *ab = json_object_get(cfg, "add_bos_token"), *ae = json_object_get(cfg, "add_eos_token");
    if (ab) t->add_bos = json_is_true(ab);
    else {
        /* TemplateProcessing that starts with a special token adds BOS */
        json_t *pp = json_object_get(root, "post_processor");
        json_t *single = json_object_get(pp, "single");
        if (!single) {
            json_t *procs = json_object_get(pp, "processors");
            json_array_foreach(procs, i, it) if (json_object_get(it, "single")) single = json_object_get(it, "single");
        }
        json_t *first = json_array_get(single, 0);
        const char *sid = str_of(json_object_get(first, "SpecialToken"), "id");
        if (sid) {
            t->add_bos = true;
            if (t->bos < 0) t->bos = fl_tok_lookup(t, sid, strlen(sid));
        }
    }
    if (ae) t->add_eos = json_is_true(ae);
    fl_tok_set_stops(t);

    /* merges: "a b" strings or [a, b] pairs */
    json_t *merges = json_object_get(model, "merges");
    size_t nm = json_is_array(merges) ? json_array_size(merges) : 0;
    if ((st = fl_tok_init_merges(t, nm, path))) goto out;
    char *buf = NULL;
    size_t cap = 0;
    json_array_foreach(merges, i, it) {
        const char *a, *b;
        size_t la, lb;
        if (json_is_string(it)) {
            const char *s = json_string_value(it);
            size_t n = json_string_length(it), sp;
            if (!fl_tok_split_merge(s, n, &sp)) {
                st = fl_errorf(FLINT_E_FORMAT, "%s: merges[%zu] is not two pieces separated by a space", path, i);
                break;
            }
            a = s, la = sp, b = s + sp + 1, lb = n - sp - 1;
        } else if (json_is_array(it) && json_array_size(it) == 2 && json_is_string(json_array_get(it, 0)) &&
                   json_is_string(json_array_get(it, 1))) {
            a = json_string_value(json_array_get(it, 0)), la = json_string_length(json_array_get(it, 0));
            b = json_string_value(json_array_get(it, 1)), lb = json_string_length(json_array_get(it, 1));
        } else {
            st = fl_errorf(FLINT_E_FORMAT, "%s: merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", path, i);
            break;
        }
        int32_t ia = fl_tok_lookup(t, a, la), ib = fl_tok_lookup(t, b, lb);
        if (ia < 0 || ib < 0) continue;
        if (la + lb > cap) {
            char *p = realloc(buf, la + lb);
            if (!p) { st = fl_errorf(FLINT_E_NOMEM, "out of memory"); break; }
            buf = p, cap = la + lb;
        }
        memcpy(buf, a, la);
        memcpy(buf + la, b, lb);
        int32_t ic = fl_tok_lookup(t, buf, la + lb);
        if (ic >= 0 && (st = fl_tok_add_merge(t, ia, ib, ic, (uint32_t)i))) break;
    }
    free(buf);
out:
    for (int r = 0; r < FL_TOK_MAX_REGEX; r++) free(h.owned[r]);
    return st;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}

flint_status fl_tokenizer_load_hf_json(const char *json, size_t len, const char *config, size_t config_len,
                                       const char *path, fl_tokenizer **out) {
    if (!json || !out) return fl_errorf(FLINT_E_INVALID_ARG, "fl_tokenizer_load_hf_json: NULL argument");
    *out = NULL;
    if (!path) path = "tokenizer.json";
    json_t *root = NULL, *cfg = NULL;
    flint_status st = fl_json_load(json, len, path, "tokenizer", &root);
    if (!st && config)
        st = fl_json_load_flags(config, config_len, path, "tokenizer_config", JSON_DECODE_INT_AS_REAL, &cfg);
    fl_tokenizer *t = NULL;
    if (!st) st = load(&t, root, cfg, path);
    if (!st && t) {
        json_t *ct = json_object_get(cfg, "chat_template"), *it;
        size_t i;
        const char *tmpl = json_is_string(ct) ? json_string_value(ct) : NULL;
        json_array_foreach(ct, i, it) /* [{"name": "default", "template": ...}, ...] */
            if (!tmpl || (str_of(it, "name") && !strcmp(str_of(it, "name"), "default"))) tmpl = str_of(it, "template");
        if (tmpl && !(t->chat_template = dup_str(tmpl))) st = fl_errorf(FLINT_E_NOMEM, "out of memory");
    }
    json_decref(root);
    json_decref(cfg);
    if (st) {
        fl_tokenizer_free(t);
        return st;
    }
    *out = t;
    return FLINT_OK;
}

flint_status fl_tokenizer_load_hf(const char *dir, fl_tokenizer **out) {
    if (!dir || !out) return fl_errorf(FLINT_E_INVALID_ARG, "fl_tokenizer_load_hf: NULL argument");
    *out = NULL;
    char *p = fl_path_join(dir, "tokenizer.json"), *pc = fl_path_join(dir, "tokenizer_config.json");
    char *pm = fl_path_join(dir, "config.json"), *pj = fl_path_join(dir, "chat_template.jinja");
    char *js = NULL, *cs = NULL, *ms = NULL, *jt = NULL;
    uint64_t jl = 0, cl = 0, ml = 0, tl = 0;
    flint_status st = p && pc && pm && pj ? FLINT_OK : fl_errorf(FLINT_E_NOMEM, "out of memory");
    if (!st && !fl_exists(p)) st = fl_errorf(FLINT_E_NOT_FOUND, "%s: no tokenizer.json", dir);
    if (!st) st = fl_read_file(p, MAX_JSON, &js, &jl);
    if (!st && fl_read_file(pc, MAX_JSON, &cs, &cl)) cs = NULL, fl_error_clear(); /* optional */
    if (!st) st = fl_tokenizer_load_hf_json(js, (size_t)jl, cs, (size_t)cl, p, out);
    if (!st && !(*out)->chat_template && !fl_read_file(pj, MAX_JSON, &jt, &tl)) (*out)->chat_template = jt, jt = NULL;
    if (!st) fl_error_clear();
    if (!st && !fl_read_file(pm, MAX_JSON, &ms, &ml)) {
        json_t *c = NULL;
        if (!fl_json_load(ms, (size_t)ml, pm, "config", &c)) {
            const char *mt = str_of(c, "model_type");
            const char *tt = str_of(json_object_get(c, "text_config"), "model_type");
            if (tt || mt) (*out)->arch = dup_str(tt ? tt : mt);
        }
        json_decref(c);
    }
    if (!st) fl_error_clear();
    free(p), free(pc), free(pm), free(pj), free(js), free(cs), free(ms), free(jt);
    return st;
}
