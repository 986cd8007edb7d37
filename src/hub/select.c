/* select.c — the files of a repository flint needs (see select.h). Works
 * on path strings alone, so a listing and a cached snapshot choose alike. */
#define _POSIX_C_SOURCE 200809L
#include "hub/select.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"

/* What a model folder needs: flint's loader reads config.json, the
 * safetensors (one file or the index and its shards), tokenizer.json and
 * tokenizer_config.json, chat_template.jinja; the rest are read by the
 * peers that share the cache (transformers, mlx-lm) and are small. */
static const char *const folder_files[] = {
    "config.json",           "generation_config.json", "*.safetensors",      "*.safetensors.index.json",
    "tokenizer.json",        "tokenizer_config.json",  "tokenizer.model",    "special_tokens_map.json",
    "chat_template.jinja",   "chat_template.json",
};

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static bool ends_with_ci(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

static bool is_gguf_model(const char *p) {
    const char *b = base_name(p);
    return ends_with_ci(b, ".gguf") && !strstr(b, "mmproj") && !strstr(b, "imatrix");
}

/* NAME-00002-of-00003.gguf: *part 2, *count 3, *stem the length of "NAME";
 * a file that is not split: part 1, count 1, stem its whole length before ".gguf". */
static void split_info(const char *p, int *part, int *count, size_t *stem) {
    size_t n = strlen(p);
    *part = *count = 1;
    *stem = n - 5;
    const char *tail = "-00000-of-00000.gguf";
    size_t k = strlen(tail);
    if (n < k) return;
    const char *t = p + n - k;
    for (size_t i = 0; i < k; i++)
        if (tail[i] == '0' ? !isdigit((unsigned char)t[i]) : tolower((unsigned char)t[i]) != tail[i]) return;
    int a = 0, b = 0;
    for (int i = 1; i <= 5; i++) a = a * 10 + (t[i] - '0');
    for (int i = 10; i <= 14; i++) b = b * 10 + (t[i] - '0');
    if (a < 1 || b < 1 || a > b) return;
    *part = a;
    *count = b;
    *stem = n - k;
}

/* QUANT in the path, any case, with a separator (or the start) before it
 * and '.' or '-' after it */
static bool has_quant(const char *p, const char *q) {
    size_t n = strlen(p), k = strlen(q);
    for (size_t i = 0; k && i + k < n; i++) {
        if (strncasecmp(p + i, q, k)) continue;
        bool before = i == 0 || strchr("-._/", p[i - 1]);
        if (before && (p[i + k] == '.' || p[i + k] == '-')) return true;
    }
    return false;
}

/* Picks paths[first] and every other part of its split; refuses a split
 * with a part missing. */
static flint_status pick_model(const fl_hub_choice *c, const char *const *paths, int64_t n, int64_t first,
                               bool *pick) {
    int part, count;
    size_t stem;
    split_info(paths[first], &part, &count, &stem);
    int found = 0;
    for (int64_t i = 0; i < n; i++) {
        int p2, c2;
        size_t s2;
        split_info(paths[i], &p2, &c2, &s2);
        if (c2 == count && s2 == stem && !strncmp(paths[i], paths[first], stem) && is_gguf_model(paths[i])) {
            pick[i] = true;
            found++;
        }
    }
    if (found != count)
        return fl_errorf(FLINT_E_NOT_FOUND, "%s: '%s' is part of a GGUF split in %d files, but %d of them are there",
                         c->repo, paths[first], count, found);
    return FLINT_OK;
}

/* The tag a user would type for a GGUF file: the last '-'-separated word of
 * its name ("gemma-3-270m-it-Q4_K_M.gguf" -> "Q4_K_M"). */
static void tag_of(const char *p, char *out, size_t cap) {
    int part, count;
    size_t stem;
    split_info(p, &part, &count, &stem);
    const char *b = base_name(p);
    size_t end = stem - (size_t)(b - p), start = end;
    while (start > 0 && b[start - 1] != '-' && b[start - 1] != '.') start--;
    snprintf(out, cap, "%.*s", (int)(end - start), b + start);
}

/* "a.gguf, b.gguf, ..." of the GGUF models (first parts), into out */
static void list_models(const char *const *paths, int64_t n, char *out, size_t cap) {
    size_t used = 0;
    out[0] = 0;
    for (int64_t i = 0; i < n && used + 1 < cap; i++) {
        int part, count;
        size_t stem;
        split_info(paths[i], &part, &count, &stem);
        if (!is_gguf_model(paths[i]) || part != 1) continue;
        int w = snprintf(out + used, cap - used, "%s%s", used ? ", " : "", paths[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
    if (used >= cap && cap > 4) memcpy(out + cap - 4, "...", 4);
}

static flint_status pick_quant(const fl_hub_choice *c, const char *const *paths, int64_t n, bool *pick,
                               int64_t *model) {
    for (int64_t i = 0; i < n; i++) {
        int part, count;
        size_t stem;
        split_info(paths[i], &part, &count, &stem);
        if (is_gguf_model(paths[i]) && part == 1 && has_quant(paths[i], c->quant)) {
            *model = i;
            return pick_model(c, paths, n, i, pick);
        }
    }
    char names[1024];
    list_models(paths, n, names, sizeof names);
    if (!names[0]) return fl_errorf(FLINT_E_NOT_FOUND, "%s has no GGUF file (':%s' picks among GGUF files)", c->repo, c->quant);
    return fl_errorf(FLINT_E_NOT_FOUND, "%s has no GGUF file for '%s'; it has: %s", c->repo, c->quant, names);
}

flint_status fl_hub_select(const fl_hub_choice *c, const char *const *paths, int64_t n, bool *pick, int64_t *model) {
    memset(pick, 0, (size_t)n * sizeof *pick);
    *model = -1;
    if (c->quant) {
        flint_status s = pick_quant(c, paths, n, pick, model);
        if (s) return s;
    }
    if (c->n_include > 0) {
        bool any = false;
        for (int64_t i = 0; i < n; i++)
            for (int32_t g = 0; g < c->n_include && !pick[i]; g++)
                if (!fnmatch(c->include[g], paths[i], 0)) pick[i] = any = true;
        if (!any) return fl_errorf(FLINT_E_NOT_FOUND, "no file of %s matches --include %s", c->repo, c->include[0]);
        return FLINT_OK;
    }
    if (c->quant) return FLINT_OK;
    bool folder = false;
    for (int64_t i = 0; i < n; i++)
        if (!strchr(paths[i], '/') && ends_with_ci(paths[i], ".safetensors")) folder = true;
    if (folder) {
        for (int64_t i = 0; i < n; i++)
            for (size_t g = 0; g < sizeof folder_files / sizeof *folder_files && !pick[i]; g++)
                if (!fnmatch(folder_files[g], paths[i], FNM_PATHNAME)) pick[i] = true;
        return FLINT_OK;
    }
    int64_t first = -1, n_models = 0;
    for (int64_t i = 0; i < n; i++) {
        int part, count;
        size_t stem;
        split_info(paths[i], &part, &count, &stem);
        if (is_gguf_model(paths[i]) && part == 1 && n_models++ == 0) first = i;
    }
    if (n_models == 0)
        return fl_errorf(FLINT_E_NOT_FOUND, "%s has neither *.safetensors weights nor a GGUF file", c->repo);
    if (n_models > 1) {
        char names[1024], tag[64];
        list_models(paths, n, names, sizeof names);
        tag_of(paths[first], tag, sizeof tag);
        return fl_errorf(FLINT_E_INVALID_ARG, "%s has %lld GGUF models; choose one as %s:QUANT (e.g. %s:%s): %s",
                         c->repo, (long long)n_models, c->repo, c->repo, tag, names);
    }
    *model = first;
    return pick_model(c, paths, n, first, pick);
}
