/* fuzz_server_output.c — libFuzzer entry for the reply splitter
 * (server/output.h). The first byte picks the template (chatml, gemma4,
 * gemma, none), whether tools are given and whether the reply starts in
 * thinking; the second seeds where the text is cut; the rest is the reply.
 * It is fed whole and in random pieces. Checks: no crash; every call's
 * TOOL_ARGS pieces concatenate to a JSON object; deltas are never empty and
 * calls are numbered in order; both feeds give the same content,
 * reasoning, call names, arguments and count. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "server/output.h"
#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CALLS 64

static const char TOOLS[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\"},\"ratio\":{\"type\":"
    "\"number\"},\"on\":{\"type\":\"boolean\"},\"opts\":{\"type\":\"object\"},\"tags\":{\"type\":\"array\"},"
    "\"any\":{\"type\":[\"integer\",\"null\"]}}}}}]";

typedef struct result {
    fl_tok_text content, reasoning, names, args[MAX_CALLS];
    int32_t n_calls, n_done;
} result;

static void collect(const srv_delta *d, void *user) {
    result *r = user;
    switch (d->kind) {
    case SRV_DELTA_CONTENT:
    case SRV_DELTA_REASONING:
        if (!d->len) abort();
        if (fl_tok_text_append(d->kind == SRV_DELTA_CONTENT ? &r->content : &r->reasoning, d->text, d->len)) abort();
        break;
    case SRV_DELTA_TOOL_START:
        if (d->index != r->n_calls || !d->id || !d->name || strlen(d->id) != 29) abort();
        if (fl_tok_text_append(&r->names, d->name, strlen(d->name) + 1)) abort();
        r->n_calls++;
        break;
    case SRV_DELTA_TOOL_ARGS:
        if (!d->len || d->index != r->n_calls - 1) abort();
        if (d->index < MAX_CALLS && fl_tok_text_append(&r->args[d->index], d->text, d->len)) abort();
        break;
    }
}

static void run(const char *tmpl, const char *tools, int in_reasoning, const char *text, size_t len, uint32_t seed,
                result *r) {
    srv_output *o = srv_output_new(tmpl, tools, in_reasoning);
    if (!o) abort();
    for (size_t at = 0; at < len;) {
        size_t piece = len - at;
        if (seed) { /* xorshift32: pieces of 1 to 16 bytes */
            seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
            piece = 1 + seed % 16;
            if (piece > len - at) piece = len - at;
        }
        srv_output_feed(o, text + at, piece, collect, r);
        at += piece;
    }
    srv_output_finish(o, collect, r);
    r->n_done = srv_output_n_tool_calls(o);
    srv_output_free(o);
    for (int32_t i = 0; i < r->n_calls && i < MAX_CALLS; i++) {
        json_error_t err;
        json_t *j = json_loadb(r->args[i].s, r->args[i].n, JSON_ALLOW_NUL, &err);
        /* a key with U+0000 is JSON, but jansson cannot hold it */
        if (!json_is_object(j) && !strstr(err.text, "NUL byte in object key")) abort();
        json_decref(j);
    }
    if (r->n_done > r->n_calls) abort();
}

static bool same(const fl_tok_text *a, const fl_tok_text *b) { return a->n == b->n && (!a->n || !memcmp(a->s, b->s, a->n)); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const templates[] = {"chatml", "gemma4", "gemma", NULL};
    if (size < 2) return 0;
    const char *tmpl = templates[data[0] & 3], *tools = data[0] & 4 ? TOOLS : NULL;
    int in_reasoning = (data[0] >> 3) & 1;
    const char *text = (const char *)data + 2;
    size_t len = size - 2;
    result whole = {0}, split = {0};
    run(tmpl, tools, in_reasoning, text, len, 0, &whole);
    run(tmpl, tools, in_reasoning, text, len, 0x9E3779B9u ^ data[1], &split);
    if (!same(&whole.content, &split.content) || !same(&whole.reasoning, &split.reasoning) ||
        !same(&whole.names, &split.names) ||
        whole.n_calls != split.n_calls || whole.n_done != split.n_done)
        abort();
    for (int32_t i = 0; i < whole.n_calls && i < MAX_CALLS; i++)
        if (!same(&whole.args[i], &split.args[i])) abort();
    fl_tok_text_free(&whole.content), fl_tok_text_free(&whole.reasoning);
    fl_tok_text_free(&split.content), fl_tok_text_free(&split.reasoning);
    fl_tok_text_free(&whole.names), fl_tok_text_free(&split.names);
    for (int i = 0; i < MAX_CALLS; i++) fl_tok_text_free(&whole.args[i]), fl_tok_text_free(&split.args[i]);
    return 0;
}
