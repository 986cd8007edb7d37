/* request.c — an OpenAI request body checked and copied into a srv_request
 *
 * Owns the checks of every field flint reads and the copies of every string
 * the request keeps; nothing points into the jansson tree once parse
 * returns. jansson's parser recurses once per nesting level, so a scan of
 * the raw bytes refuses deep nesting before jansson sees the body. Must not
 * touch the engine or print: every problem becomes a srv_error. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "server/request.h"

#include <float.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Arrays and objects inside one another; real requests stay far below it
 * (a tool's parameter schema is the deepest part, a few levels). */
#define MAX_DEPTH 64

typedef char path_buf[sizeof(((srv_error *)0)->param)];

/* Writes a field's path ("messages[2].content") into out and returns out; a
 * path too long for srv_error.param is cut. */
__attribute__((format(printf, 2, 3))) static const char *path_of(path_buf out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, sizeof(path_buf), fmt, ap);
    va_end(ap);
    return out;
}

typedef struct parser {
    srv_request *r;
    const srv_limits *lim;
    srv_error *err;
} parser;

/* ---- errors ---- */

/* Messages quote the body and the server sends them back inside JSON, so a
 * byte that starts no valid UTF-8 character (also one cut by truncation)
 * becomes '?'. */
static void make_utf8(char *s) {
    utf8proc_ssize_t n = (utf8proc_ssize_t)strlen(s);
    for (utf8proc_ssize_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, n - i, &c);
        if (k > 0) {
            i += k;
        } else {
            s[i++] = '?';
        }
    }
}

/* The message is the path followed by fmt ("temperature" " must be a
 * number"); the param is the path. */
static flint_status fail(parser *p, const char *path, const char *fmt, ...) {
    srv_error *e = p->err;
    int n = snprintf(e->message, sizeof e->message, "%s", path);
    if (n >= 0 && (size_t)n < sizeof e->message) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->message + n, sizeof e->message - (size_t)n, fmt, ap);
        va_end(ap);
    }
    snprintf(e->param, sizeof e->param, "%s", path);
    make_utf8(e->message);
    make_utf8(e->param);
    return FLINT_E_INVALID_ARG;
}

static flint_status nomem(parser *p) {
    snprintf(p->err->message, sizeof p->err->message, "out of memory reading the request");
    p->err->param[0] = '\0';
    return FLINT_E_NOMEM;
}

/* ---- the raw bytes ---- */

/* What a scan of body[0..len) saw: nesting deeper than max_depth, and the
 * top-level key whose value the scan ended inside (key_len 0: none). */
typedef struct scan_result {
    bool too_deep;
    int depth;
    const char *key;
    size_t key_len;
} scan_result;

/* Counts [ and { outside strings (the scan does not check the syntax; jansson
 * does that after). The key is a string at depth 1 right after '{' or ',';
 * its value starts at the ':' after it and ends at the next ',' at depth 1. */
static scan_result scan(const char *s, size_t len, int max_depth) {
    scan_result res = {0};
    bool in_string = false, escaped = false, string_is_key = false, in_value = false;
    size_t string_start = 0;
    char last = 0; /* the last byte outside strings that is not white space */
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
                if (string_is_key) {
                    res.key = s + string_start;
                    res.key_len = i - string_start;
                }
                last = c;
            }
            continue;
        }
        switch (c) {
        case '"':
            in_string = true;
            string_start = i + 1;
            string_is_key = depth == 1 && (last == '{' || last == ',');
            if (string_is_key) in_value = false;
            break;
        case '{':
        case '[':
            if (++depth > max_depth) {
                res.too_deep = true;
                return res;
            }
            break;
        case '}':
        case ']':
            if (depth > 0) depth--;
            if (depth == 0) in_value = false;
            break;
        case ':':
            if (depth == 1 && last == '"' && string_is_key) in_value = true;
            break;
        case ',':
            if (depth == 1) in_value = false;
            break;
        }
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') last = c;
    }
    res.depth = depth;
    if (!in_value || in_string) res.key_len = 0;
    return res;
}

/* jansson refuses a number beyond double or int64 at load (1e309 is no
 * infinity in JSON); the scan finds the field it was the value of. */
static flint_status number_overflow(parser *p, const char *body, size_t len, const json_error_t *je) {
    size_t at = je->position > 0 && (size_t)je->position < len ? (size_t)je->position : len;
    scan_result s = scan(body, at, MAX_DEPTH);
    if (s.key_len == 0)
        return fail(p, "", "invalid JSON: %s (line %d, column %d)", je->text, je->line, je->column);
    path_buf key;
    snprintf(key, sizeof key, "%.*s", (int)(s.key_len < sizeof key ? s.key_len : sizeof key - 1), s.key);
    bool integer = strstr(je->text, "integer") != NULL;
    if (s.depth == 1)
        return fail(p, key, integer ? " must be an integer within 64 bits" : " must be a finite number");
    return fail(p, key, " holds a number out of range (line %d, column %d)", je->line, je->column);
}

static flint_status load(parser *p, const char *body, size_t len, json_t **root) {
    if (scan(body, len, MAX_DEPTH).too_deep)
        return fail(p, "", "the request body nests arrays and objects more than %d deep", MAX_DEPTH);
    json_error_t je;
    *root = json_loadb(body, len, JSON_DECODE_ANY, &je);
    if (*root) return FLINT_OK;
    switch (json_error_code(&je)) {
    case json_error_out_of_memory: return nomem(p);
    case json_error_numeric_overflow: return number_overflow(p, body, len, &je);
    case json_error_invalid_utf8:
        return fail(p, "", "the request body has invalid UTF-8: %s (line %d, column %d)", je.text, je.line,
                    je.column);
    default: return fail(p, "", "invalid JSON: %s (line %d, column %d)", je.text, je.line, je.column);
    }
}

/* ---- typed fields ---- */

/* A field's value, or NULL when absent or null. */
static json_t *field(const json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

/* The getters below see NULL only for a field that must be there. */
static flint_status wrong_type(parser *p, const json_t *v, const char *path, const char *type) {
    return v ? fail(p, path, " must be %s", type) : fail(p, path, " is required");
}

/* A copy of a string field; NULL with *st set when it is not one. jansson
 * refuses NUL in strings at load, so strdup copies them whole. */
static char *get_string(parser *p, const json_t *v, const char *path, flint_status *st) {
    char *s = NULL;
    if (!json_is_string(v)) {
        *st = wrong_type(p, v, path, "a string");
    } else if (!(s = strdup(json_string_value(v)))) {
        *st = nomem(p);
    }
    return s;
}

static flint_status get_bool(parser *p, const json_t *v, const char *path, int32_t *out) {
    if (!json_is_boolean(v)) return wrong_type(p, v, path, "a boolean");
    *out = json_is_true(v);
    return FLINT_OK;
}

/* An integer; 2.0 counts as 2 (JavaScript clients cannot tell them apart). */
static flint_status get_int(parser *p, const json_t *v, const char *path, int64_t *out) {
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return FLINT_OK;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d >= -0x1p63 && d < 0x1p63 && d == (double)(int64_t)d) {
            *out = (int64_t)d;
            return FLINT_OK;
        }
    }
    return wrong_type(p, v, path, "an integer");
}

/* jansson's reals are always finite (it refuses overflow at load). */
static flint_status get_number(parser *p, const json_t *v, const char *path, double *out) {
    if (!json_is_number(v)) return wrong_type(p, v, path, "a number");
    *out = json_number_value(v);
    return FLINT_OK;
}

static flint_status get_object(parser *p, const json_t *v, const char *path) {
    return json_is_object(v) ? FLINT_OK : wrong_type(p, v, path, "an object");
}

static flint_status get_array(parser *p, const json_t *v, const char *path) {
    return json_is_array(v) ? FLINT_OK : wrong_type(p, v, path, "an array");
}

/* A "type" that must be "function" (tools, tool calls, tool_choice). */
static flint_status get_function_type(parser *p, const json_t *v, const char *path) {
    if (json_is_string(v) && strcmp(json_string_value(v), "function") == 0) return FLINT_OK;
    return wrong_type(p, v, path, "\"function\"");
}

/* ---- sampling ---- */

/* The sampling fields that are plain numbers, with vLLM's ranges (the upper
 * ends of temperature and repetition_penalty keep the value a finite float). */
static const struct number_field {
    const char *key;
    size_t offset; /* of the float in flint_sampling_params */
    double lo, hi;
    bool lo_excluded;
    const char *range;
} number_fields[] = {
    {"temperature", offsetof(flint_sampling_params, temperature), 0, FLT_MAX, false,
     "a number >= 0 (at most 3.4e38)"},
    {"top_p", offsetof(flint_sampling_params, top_p), 0, 1, true, "in (0, 1]"},
    {"min_p", offsetof(flint_sampling_params, min_p), 0, 1, false, "in [0, 1]"},
    {"presence_penalty", offsetof(flint_sampling_params, presence_penalty), -2, 2, false, "in [-2, 2]"},
    {"frequency_penalty", offsetof(flint_sampling_params, frequency_penalty), -2, 2, false, "in [-2, 2]"},
    {"repetition_penalty", offsetof(flint_sampling_params, repetition_penalty), 0, FLT_MAX, true,
     "a number > 0 (at most 3.4e38)"},
};

static flint_status parse_numbers(parser *p, const json_t *body) {
    for (size_t i = 0; i < sizeof number_fields / sizeof *number_fields; i++) {
        const struct number_field *f = &number_fields[i];
        const json_t *v = field(body, f->key);
        if (!v) continue;
        double x = 0;
        flint_status st = get_number(p, v, f->key, &x);
        if (st) return st;
        if (x < f->lo || x > f->hi || (f->lo_excluded && x == f->lo))
            return fail(p, f->key, " must be %s (got %g)", f->range, x);
        *(float *)((char *)&p->r->sampling + f->offset) = (float)x;
    }
    return FLINT_OK;
}

/* A logit_bias key: a token id written in decimal digits ("abc", "-1" and
 * ids past the vocabulary are not token ids). */
static bool token_key(const char *key, int32_t n_vocab, int32_t *token) {
    int64_t id = 0;
    if (!*key) return false;
    for (const char *c = key; *c; c++) {
        if (*c < '0' || *c > '9') return false;
        id = id * 10 + (*c - '0');
        if (id >= n_vocab) return false;
    }
    *token = (int32_t)id;
    return true;
}

static flint_status parse_logit_bias(parser *p, const json_t *v) {
    flint_status st = get_object(p, v, "logit_bias");
    if (st || json_object_size(v) == 0) return st;
    if (json_object_size(v) > (size_t)p->lim->n_vocab)
        return fail(p, "logit_bias", " has %zu entries, more than the %d tokens of the vocabulary",
                    json_object_size(v), p->lim->n_vocab);
    flint_logit_bias *bias = calloc(json_object_size(v), sizeof *bias);
    if (!bias) return nomem(p);
    p->r->sampling.logit_bias = bias;
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)v, key, value) {
        flint_logit_bias *b = &bias[p->r->sampling.n_logit_bias];
        if (!token_key(key, p->lim->n_vocab, &b->token))
            return fail(p, "logit_bias", ": the key \"%.40s\" is not a token id in [0, %d)", key,
                        p->lim->n_vocab);
        if (!json_is_number(value))
            return fail(p, "logit_bias", ": the bias of token %d must be a number", b->token);
        double x = json_number_value(value);
        if (x < -100 || x > 100)
            return fail(p, "logit_bias", ": the bias of token %d must be in [-100, 100] (got %g)", b->token, x);
        b->bias = (float)x;
        p->r->sampling.n_logit_bias++;
    }
    return FLINT_OK;
}

static flint_status parse_sampling(parser *p, const json_t *body) {
    srv_request *r = p->r;
    flint_status st = parse_numbers(p, body);
    const json_t *v;
    int64_t x = 0;
    if (!st && (v = field(body, "top_k"))) {
        st = get_int(p, v, "top_k", &x);
        if (!st && (x < -1 || x > INT32_MAX))
            return fail(p, "top_k", " must be -1 or 0 (off) or a positive integer (got %lld)", (long long)x);
        if (!st) r->sampling.top_k = x > 0 ? (int32_t)x : 0;
    }
    /* llama.cpp's window of the penalties: N tokens, -1 all, 0 penalties off */
    if (!st && (v = field(body, "repeat_last_n"))) {
        st = get_int(p, v, "repeat_last_n", &x);
        if (!st && (x < -1 || x > INT32_MAX))
            return fail(p, "repeat_last_n", " must be -1 (all), 0 (off) or a positive integer (got %lld)",
                        (long long)x);
        /* a window past the context is the whole context */
        if (!st) r->sampling.penalty_last_n = p->lim->max_tokens > 0 && x > p->lim->max_tokens ? -1 : (int32_t)x;
        r->penalties_off = !st && x == 0;
    }
    if (!st && (v = field(body, "seed"))) {
        st = get_int(p, v, "seed", &x);
        if (!st) r->sampling.seed = (uint64_t)x;
        r->seed_given = !st;
    }
    if (!st && (v = field(body, "logit_bias"))) st = parse_logit_bias(p, v);
    if (!st && r->penalties_off) {
        r->sampling.repetition_penalty = 0;
        r->sampling.presence_penalty = r->sampling.frequency_penalty = 0;
    }
    return st;
}

/* ---- output controls ---- */

static flint_status parse_max_tokens(parser *p, const json_t *v, const char *key) {
    int64_t n = 0;
    flint_status st = get_int(p, v, key, &n);
    if (st) return st;
    if (n < 1) return fail(p, key, " must be at least 1 (got %lld)", (long long)n);
    int32_t cap = p->lim->max_tokens > 0 ? p->lim->max_tokens : INT32_MAX;
    if (n > cap) return fail(p, key, " is %lld, more than the limit of %d tokens", (long long)n, cap);
    p->r->max_tokens = (int32_t)n;
    return FLINT_OK;
}

static flint_status add_stop(parser *p, const json_t *v, const char *path) {
    if (!json_is_string(v)) return fail(p, path, " must be a string");
    if (json_string_length(v) == 0) return FLINT_OK;
    flint_status st = FLINT_OK;
    p->r->stop[p->r->n_stop++] = get_string(p, v, path, &st);
    return st;
}

static flint_status parse_stop(parser *p, const json_t *v) {
    bool one = json_is_string(v);
    if (!one && !json_is_array(v)) return fail(p, "stop", " must be a string or an array of strings");
    size_t n = one ? 1 : json_array_size(v);
    if (n > (size_t)p->lim->max_stop)
        return fail(p, "stop", " has %zu strings; at most %d are supported", n, p->lim->max_stop);
    if (n == 0) return FLINT_OK;
    p->r->stop = calloc(n, sizeof *p->r->stop);
    if (!p->r->stop) return nomem(p);
    if (one) return add_stop(p, v, "stop");
    for (size_t i = 0; i < n; i++) {
        path_buf path;
        path_of(path, "stop[%zu]", i);
        flint_status st = add_stop(p, json_array_get(v, i), path);
        if (st) return st;
    }
    return FLINT_OK;
}

static flint_status parse_stream(parser *p, const json_t *body) {
    const json_t *v = field(body, "stream");
    flint_status st = v ? get_bool(p, v, "stream", &p->r->stream) : FLINT_OK;
    const json_t *opts = field(body, "stream_options");
    if (st || !opts) return st;
    if (!p->r->stream) return fail(p, "stream_options", " is only allowed when stream is true");
    if ((st = get_object(p, opts, "stream_options"))) return st;
    v = field(opts, "include_usage");
    return v ? get_bool(p, v, "stream_options.include_usage", &p->r->include_usage) : FLINT_OK;
}

static flint_status parse_top_logprobs(parser *p, const json_t *v, const char *key) {
    int64_t n = 0;
    flint_status st = get_int(p, v, key, &n);
    if (st) return st;
    if (n < 0 || n > FLINT_MAX_TOP_LOGPROBS)
        return fail(p, key, " must be in [0, %d] (got %lld)", FLINT_MAX_TOP_LOGPROBS, (long long)n);
    p->r->top_logprobs = (int32_t)n;
    return FLINT_OK;
}

/* chat: logprobs is a boolean and top_logprobs the number of alternatives;
 * completions: logprobs is that number (0: the chosen token's only). */
static flint_status parse_logprobs(parser *p, const json_t *body) {
    srv_request *r = p->r;
    const json_t *v = field(body, "logprobs");
    if (r->endpoint == SRV_COMPLETION) {
        if (!v) return FLINT_OK;
        r->logprobs = 1;
        return parse_top_logprobs(p, v, "logprobs");
    }
    flint_status st = v ? get_bool(p, v, "logprobs", &r->logprobs) : FLINT_OK;
    const json_t *top = field(body, "top_logprobs");
    if (st || !top) return st;
    if (!r->logprobs) return fail(p, "top_logprobs", " needs logprobs set to true");
    return parse_top_logprobs(p, top, "top_logprobs");
}

/* Fields both endpoints read. */
static flint_status parse_common(parser *p, const json_t *body) {
    srv_request *r = p->r;
    const json_t *v;
    int64_t n = 0;
    flint_status st = FLINT_OK;
    if ((v = field(body, "model"))) r->model = get_string(p, v, "model", &st);
    if (!st && (v = field(body, "user"))) r->user = get_string(p, v, "user", &st);
    if (!st) st = parse_sampling(p, body);
    if (!st && (v = field(body, "n"))) {
        st = get_int(p, v, "n", &n);
        if (!st && n != 1) return fail(p, "n", ": only n=1 is supported");
    }
    if (!st && (v = field(body, "stop"))) st = parse_stop(p, v);
    if (!st) st = parse_stream(p, body);
    if (!st) st = parse_logprobs(p, body);
    if (!st && (v = field(body, "ignore_eos"))) st = get_bool(p, v, "ignore_eos", &r->ignore_eos);
    return st;
}

/* ---- completions ---- */

static flint_status parse_tokens(parser *p, const json_t *v, const char *path) {
    srv_request *r = p->r;
    size_t n = json_array_size(v);
    if (n == 0) return fail(p, path, " has no tokens");
    if (n > INT32_MAX) return fail(p, path, " has more than %d tokens", INT32_MAX);
    r->prompt_tokens = malloc(n * sizeof *r->prompt_tokens);
    if (!r->prompt_tokens) return nomem(p);
    for (size_t i = 0; i < n; i++) {
        path_buf item;
        path_of(item, "%s[%zu]", path, i);
        int64_t id = 0;
        flint_status st = get_int(p, json_array_get(v, i), item, &id);
        if (st) return st;
        if (id < 0 || id >= p->lim->n_vocab)
            return fail(p, item, " is %lld, not a token id in [0, %d)", (long long)id, p->lim->n_vocab);
        r->prompt_tokens[r->n_prompt_tokens++] = (int32_t)id;
    }
    return FLINT_OK;
}

/* A string, token ids, or a list holding one of those (OpenAI's batch form
 * with a batch of one). */
static flint_status parse_prompt(parser *p, const json_t *body) {
    const json_t *v = field(body, "prompt");
    flint_status st = FLINT_OK;
    if (!v) return fail(p, "prompt", " is required");
    if (json_is_string(v)) {
        p->r->prompt = get_string(p, v, "prompt", &st);
        return st;
    }
    if (!json_is_array(v)) return fail(p, "prompt", " must be a string or an array of token ids");
    const json_t *first = json_array_get(v, 0);
    if (first && !json_is_string(first) && !json_is_array(first)) return parse_tokens(p, v, "prompt");
    if (json_array_size(v) != 1)
        return fail(p, "prompt", ": only one prompt per request is supported (got %zu)", json_array_size(v));
    if (!json_is_string(first)) return parse_tokens(p, first, "prompt[0]");
    p->r->prompt = get_string(p, first, "prompt[0]", &st);
    return st;
}

/* ---- chat: messages ---- */

/* One element of a content array: a text part; its text's length in *len. */
static flint_status check_part(parser *p, const json_t *part, const char *path, size_t *len) {
    flint_status st = get_object(p, part, path);
    if (st) return st;
    const json_t *type = field(part, "type"), *text = field(part, "text");
    path_buf at;
    path_of(at, "%s.type", path);
    if (!json_is_string(type)) return fail(p, at, " must be a string");
    if (strcmp(json_string_value(type), "text") != 0)
        return fail(p, at, ": \"%.40s\" parts are not supported (only text)", json_string_value(type));
    if (!json_is_string(text)) return fail(p, path_of(at, "%s.text", path), " must be a string");
    *len = json_string_length(text);
    return FLINT_OK;
}

/* A string, or text parts joined with "\n" as vLLM joins them; other parts
 * (images, audio, files) are refused. NULL with *st set on error. */
static char *parse_content(parser *p, const json_t *v, const char *path, flint_status *st) {
    if (json_is_string(v)) return get_string(p, v, path, st);
    if (!json_is_array(v)) {
        *st = fail(p, path, " must be a string or an array of text parts");
        return NULL;
    }
    size_t n = json_array_size(v), total = 1;
    for (size_t j = 0; j < n; j++) {
        path_buf at;
        size_t len = 0;
        path_of(at, "%s[%zu]", path, j);
        if ((*st = check_part(p, json_array_get(v, j), at, &len))) return NULL;
        total += len + 1;
    }
    char *s = malloc(total), *end = s;
    if (!s) {
        *st = nomem(p);
        return NULL;
    }
    for (size_t j = 0; j < n; j++) {
        const json_t *text = json_object_get(json_array_get(v, j), "text");
        if (j > 0) *end++ = '\n';
        memcpy(end, json_string_value(text), json_string_length(text));
        end += json_string_length(text);
    }
    *end = '\0';
    return s;
}

/* A call's arguments: the text of a JSON object (templates read its keys). */
static flint_status check_arguments(parser *p, const char *text, const char *path) {
    size_t len = strlen(text);
    json_t *args = scan(text, len, MAX_DEPTH).too_deep ? NULL : json_loadb(text, len, 0, NULL);
    bool ok = json_is_object(args);
    json_decref(args);
    return ok ? FLINT_OK : fail(p, path, " must be a JSON object as text");
}

static flint_status parse_tool_call(parser *p, const json_t *v, const char *path, flint_tool_call *call) {
    flint_status st = get_object(p, v, path);
    if (st) return st;
    path_buf at;
    const json_t *f;
    if ((f = field(v, "id")) && !(call->id = get_string(p, f, path_of(at, "%s.id", path), &st))) return st;
    if ((f = field(v, "type")) && (st = get_function_type(p, f, path_of(at, "%s.type", path)))) return st;
    const json_t *fn = field(v, "function");
    if ((st = get_object(p, fn, path_of(at, "%s.function", path)))) return st;
    if (!(call->name = get_string(p, field(fn, "name"), path_of(at, "%s.function.name", path), &st))) return st;
    path_of(at, "%s.function.arguments", path);
    if (!(call->arguments = get_string(p, field(fn, "arguments"), at, &st))) return st;
    return check_arguments(p, call->arguments, at);
}

static flint_status parse_tool_calls(parser *p, const json_t *v, const char *path, flint_chat_message *m) {
    flint_status st = get_array(p, v, path);
    size_t n = json_array_size(v);
    if (st || n == 0) return st;
    if (n > INT32_MAX) return fail(p, path, " has more than %d calls", INT32_MAX);
    flint_tool_call *calls = calloc(n, sizeof *calls);
    if (!calls) return nomem(p);
    m->tool_calls = calls;
    m->n_tool_calls = (int32_t)n;
    for (size_t j = 0; j < n && !st; j++) {
        path_buf at;
        path_of(at, "%s[%zu]", path, j);
        st = parse_tool_call(p, json_array_get(v, j), at, &calls[j]);
    }
    return st;
}

static const struct role {
    const char *name, *as; /* as given, as kept */
} roles[] = {
    {"system", "system"}, {"developer", "system"}, {"user", "user"}, {"assistant", "assistant"}, {"tool", "tool"},
};

static flint_status parse_role(parser *p, const json_t *v, const char *path, flint_chat_message *m) {
    for (size_t k = 0; json_is_string(v) && k < sizeof roles / sizeof *roles; k++)
        if (strcmp(json_string_value(v), roles[k].name) == 0) {
            m->role = strdup(roles[k].as);
            return m->role ? FLINT_OK : nomem(p);
        }
    return fail(p, path, " must be one of system, developer, user, assistant, tool");
}

static flint_status parse_message(parser *p, const json_t *v, size_t i, flint_chat_message *m) {
    path_buf path, at;
    path_of(path, "messages[%zu]", i);
    flint_status st = get_object(p, v, path);
    if (!st) st = parse_role(p, json_object_get(v, "role"), path_of(at, "%s.role", path), m);
    if (st) return st;
    const json_t *f;
    bool assistant = strcmp(m->role, "assistant") == 0, tool = strcmp(m->role, "tool") == 0;
    if (assistant && (f = field(v, "tool_calls")) &&
        (st = parse_tool_calls(p, f, path_of(at, "%s.tool_calls", path), m)))
        return st;
    if (assistant && (f = field(v, "reasoning_content")) &&
        !(m->reasoning_content = get_string(p, f, path_of(at, "%s.reasoning_content", path), &st)))
        return st;
    if ((f = field(v, "content"))) {
        if (!(m->content = parse_content(p, f, path_of(at, "%s.content", path), &st))) return st;
    } else if (!(assistant && m->n_tool_calls > 0)) {
        return fail(p, path_of(at, "%s.content", path),
                    " is required (only an assistant message with tool_calls may omit it)");
    }
    if (tool) {
        if (!(m->tool_call_id = get_string(p, field(v, "tool_call_id"), path_of(at, "%s.tool_call_id", path), &st)))
            return st;
        if ((f = field(v, "name")) && !(m->name = get_string(p, f, path_of(at, "%s.name", path), &st))) return st;
    }
    return FLINT_OK;
}

/* A tool message without a name takes it from the call it answers: tool
 * results follow the assistant message that made the calls. */
static flint_status name_tool_message(parser *p, flint_chat_message *m, const flint_chat_message *caller) {
    for (int32_t k = 0; caller && !m->name && k < caller->n_tool_calls; k++) {
        const flint_tool_call *c = &caller->tool_calls[k];
        if (c->id && strcmp(c->id, m->tool_call_id) == 0 && !(m->name = strdup(c->name))) return nomem(p);
    }
    return FLINT_OK;
}

static flint_status parse_messages(parser *p, const json_t *body) {
    srv_request *r = p->r;
    const json_t *v = field(body, "messages");
    flint_status st = get_array(p, v, "messages");
    if (st) return st;
    size_t n = json_array_size(v);
    if (n == 0) return fail(p, "messages", " must hold at least one message");
    if (n > (size_t)p->lim->max_messages)
        return fail(p, "messages", " has %zu messages; at most %d are accepted", n, p->lim->max_messages);
    r->messages = calloc(n, sizeof *r->messages);
    if (!r->messages) return nomem(p);
    r->n_messages = (int32_t)n;
    const flint_chat_message *caller = NULL; /* the assistant message tool messages answer */
    for (size_t i = 0; i < n; i++) {
        flint_chat_message *m = &r->messages[i];
        if ((st = parse_message(p, json_array_get(v, i), i, m))) return st;
        if (strcmp(m->role, "tool") == 0) {
            if ((st = name_tool_message(p, m, caller))) return st;
        } else {
            caller = strcmp(m->role, "assistant") == 0 ? m : NULL;
        }
    }
    return FLINT_OK;
}

/* ---- chat: tools ---- */

/* OpenAI's rule for function names: 1 to 64 of a-z, A-Z, 0-9, '_', '.', '-'. */
static bool tool_name_ok(const char *s) {
    size_t n = strlen(s);
    return n >= 1 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static flint_status parse_tool(parser *p, const json_t *v, const char *path) {
    path_buf at;
    flint_status st = get_object(p, v, path);
    if (!st) st = get_function_type(p, field(v, "type"), path_of(at, "%s.type", path));
    const json_t *fn = field(v, "function"), *f;
    if (!st) st = get_object(p, fn, path_of(at, "%s.function", path));
    if (st) return st;
    f = field(fn, "name");
    if (!json_is_string(f) || !tool_name_ok(json_string_value(f)))
        return fail(p, path_of(at, "%s.function.name", path),
                    " must be a string of 1 to 64 letters, digits, '_', '.' or '-'");
    if ((f = field(fn, "description")) && !json_is_string(f))
        return fail(p, path_of(at, "%s.function.description", path), " must be a string");
    if ((f = field(fn, "parameters")) && !json_is_object(f))
        return fail(p, path_of(at, "%s.function.parameters", path), " must be an object");
    return FLINT_OK;
}

static flint_status parse_tools(parser *p, const json_t *v) {
    flint_status st = get_array(p, v, "tools");
    size_t n = json_array_size(v);
    if (st || n == 0) return st;
    if (n > INT32_MAX) return fail(p, "tools", " has more than %d tools", INT32_MAX);
    for (size_t i = 0; i < n; i++) {
        path_buf path;
        path_of(path, "tools[%zu]", i);
        if ((st = parse_tool(p, json_array_get(v, i), path))) return st;
    }
    p->r->tools = json_dumps(v, JSON_COMPACT);
    if (!p->r->tools) return nomem(p);
    p->r->n_tools = (int32_t)n;
    return FLINT_OK;
}

static bool has_tool(const json_t *tools, const char *name) {
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t) {
        if (strcmp(json_string_value(json_object_get(json_object_get(t, "function"), "name")), name) == 0)
            return true;
    }
    return false;
}

static flint_status parse_tool_choice(parser *p, const json_t *v, const json_t *tools) {
    srv_request *r = p->r;
    const char *s = json_string_value(v);
    if (s && strcmp(s, "none") == 0) {
        r->tool_choice = SRV_TOOLS_NONE;
    } else if (s && strcmp(s, "auto") == 0) {
        r->tool_choice = SRV_TOOLS_AUTO;
    } else if (s && strcmp(s, "required") == 0) {
        r->tool_choice = SRV_TOOLS_REQUIRED;
    } else if (json_is_object(v)) {
        const json_t *fn = field(v, "function");
        flint_status st = get_function_type(p, field(v, "type"), "tool_choice.type");
        if (!st) st = get_object(p, fn, "tool_choice.function");
        if (!st) r->tool_choice_name = get_string(p, field(fn, "name"), "tool_choice.function.name", &st);
        if (st) return st;
        r->tool_choice = SRV_TOOLS_NAMED;
    } else {
        return fail(p, "tool_choice", " must be \"none\", \"auto\", \"required\" or an object naming a function");
    }
    if ((r->tool_choice == SRV_TOOLS_REQUIRED || r->tool_choice == SRV_TOOLS_NAMED) && r->n_tools == 0)
        return fail(p, "tool_choice", ": %s needs tools", s ? "\"required\"" : "a named function");
    if (r->tool_choice == SRV_TOOLS_NAMED && !has_tool(tools, r->tool_choice_name))
        return fail(p, "tool_choice", ": no tool is named \"%.40s\"", r->tool_choice_name);
    return FLINT_OK;
}

/* continue_final_message: the reply continues the last message, which must
 * be the assistant's own text; a forced call cannot also start the reply. */
static flint_status parse_continue_final(parser *p, const json_t *v) {
    srv_request *r = p->r;
    flint_status st = get_bool(p, v, "continue_final_message", &r->continue_final);
    if (st || !r->continue_final) return st;
    const flint_chat_message *last = &r->messages[r->n_messages - 1];
    if (strcmp(last->role, "assistant") != 0 || last->n_tool_calls || !last->content)
        return fail(p, "continue_final_message", " needs the last message to be an assistant message with text "
                    "and no tool calls");
    if (r->tool_choice == SRV_TOOLS_REQUIRED || r->tool_choice == SRV_TOOLS_NAMED)
        return fail(p, "continue_final_message", " cannot be combined with tool_choice \"required\" or a named "
                    "function (both would start the reply)");
    return FLINT_OK;
}

static flint_status parse_chat(parser *p, const json_t *body) {
    srv_request *r = p->r;
    const json_t *v, *tools = field(body, "tools");
    flint_status st = parse_messages(p, body);
    /* max_completion_tokens replaces max_tokens: when it is given, max_tokens is not read */
    if (!st && (v = field(body, "max_completion_tokens"))) {
        st = parse_max_tokens(p, v, "max_completion_tokens");
    } else if (!st && (v = field(body, "max_tokens"))) {
        st = parse_max_tokens(p, v, "max_tokens");
    }
    if (!st && tools) st = parse_tools(p, tools);
    if (!st && (v = field(body, "tool_choice"))) st = parse_tool_choice(p, v, tools);
    const json_t *kwargs = field(body, "chat_template_kwargs");
    if (!st && kwargs && !(st = get_object(p, kwargs, "chat_template_kwargs")) &&
        (v = field(kwargs, "enable_thinking"))) {
        int32_t on = 0;
        st = get_bool(p, v, "chat_template_kwargs.enable_thinking", &on);
        if (!st) r->thinking = on ? 1 : -1;
    }
    if (!st && (v = field(body, "continue_final_message"))) st = parse_continue_final(p, v);
    return st;
}

static flint_status parse_completion(parser *p, const json_t *body) {
    const json_t *v = field(body, "max_tokens");
    flint_status st = parse_prompt(p, body);
    if (!st && v) st = parse_max_tokens(p, v, "max_tokens");
    return st;
}

/* ---- the request ---- */

flint_status srv_request_parse(const char *body, size_t len, srv_endpoint endpoint, const srv_limits *limits,
                               srv_request *out, srv_error *err) {
    memset(out, 0, sizeof *out);
    memset(err, 0, sizeof *err);
    parser p = {.r = out, .lim = limits, .err = err};
    out->endpoint = endpoint;
    out->max_tokens = -1;
    out->sampling.temperature = 1.0f;
    json_t *root = NULL;
    flint_status st = load(&p, body, len, &root);
    if (!st && !json_is_object(root)) st = fail(&p, "", "the request body must be a JSON object");
    if (!st) st = endpoint == SRV_CHAT ? parse_chat(&p, root) : parse_completion(&p, root);
    if (!st) st = parse_common(&p, root);
    json_decref(root);
    if (st) srv_request_free(out);
    return st;
}

static void free_message(flint_chat_message *m) {
    for (int32_t k = 0; k < m->n_tool_calls; k++) {
        free((void *)m->tool_calls[k].id);
        free((void *)m->tool_calls[k].name);
        free((void *)m->tool_calls[k].arguments);
    }
    free((void *)m->tool_calls);
    free((void *)m->role);
    free((void *)m->content);
    free((void *)m->reasoning_content);
    free((void *)m->tool_call_id);
    free((void *)m->name);
}

void srv_request_free(srv_request *r) {
    if (!r) return;
    for (int32_t i = 0; i < r->n_messages; i++) free_message(&r->messages[i]);
    for (int32_t i = 0; i < r->n_stop; i++) free(r->stop[i]);
    free(r->messages);
    free(r->model);
    free(r->prompt);
    free(r->prompt_tokens);
    free(r->tools);
    free(r->tool_choice_name);
    free((void *)r->sampling.logit_bias);
    free(r->stop);
    free(r->user);
    memset(r, 0, sizeof *r);
}
