/* info.c — the routes that do not generate: the page, health, the model
 * list, Prometheus metrics, and llama-server's tokenize / detokenize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/internal.h"
#include "server/page.h"

srv_reply srv_page(srv_call *c) {
    (void)c;
    srv_reply r = srv_text_reply(200, "text/html; charset=utf-8", srv_page_html, srv_page_html_len);
    if (r.response) MHD_add_response_header(r.response, "X-Content-Type-Options", "nosniff");
    return r;
}

srv_reply srv_health(srv_call *c) {
    if (atomic_load(&c->s->engine)) return srv_json_reply(200, json_pack("{s:s}", "status", "ok"));
    json_t *j = srv_error_json(503, NULL, "the model is still loading");
    if (j) json_object_set_new(j, "status", json_string("loading"));
    return srv_json_reply(503, j);
}

srv_reply srv_models(srv_call *c) {
    flint_engine *e = atomic_load(&c->s->engine);
    return srv_json_reply(200, json_pack("{s:s,s:[{s:s,s:s,s:I,s:s,s:i}]}", "object", "list", "data", "id",
                                         c->s->model_name, "object", "model", "created", (json_int_t)c->s->started,
                                         "owned_by", "flint", "max_model_len", (int)flint_engine_n_ctx(e)));
}

srv_reply srv_metrics(srv_call *c) {
    srv *s = c->s;
    flint_engine_stats st;
    flint_engine_stats_get(atomic_load(&s->engine), &st);
    srv_buf b = {0};
    char line[256];
#define METRIC(type, name, help) \
    srv_buf_add(&b, line, (size_t)snprintf(line, sizeof line, "# HELP flint_" name " " help "\n# TYPE flint_" name " " type "\n"))
#define VALUE(fmt, ...) srv_buf_add(&b, line, (size_t)snprintf(line, sizeof line, fmt "\n", __VA_ARGS__))
    static const char *const finish[] = {"none", "stop", "length", "cancelled", "error"};
    METRIC("counter", "requests_total", "Generation requests finished, by finish reason.");
    for (int i = 1; i < 5; i++) VALUE("flint_requests_total{finish=\"%s\"} %lld", finish[i], (long long)st.requests_done[i]);
    static const char *const outcome[SRV_N_OUTCOMES] = {"ok", "client_error", "rejected", "cancelled", "failed"};
    METRIC("counter", "http_responses_total", "HTTP requests answered, by outcome (rejected: queue full).");
    for (int i = 0; i < SRV_N_OUTCOMES; i++)
        VALUE("flint_http_responses_total{outcome=\"%s\"} %lld", outcome[i], (long long)atomic_load(&s->outcomes[i]));
    METRIC("counter", "prompt_tokens_total", "Prompt tokens of finished and running requests.");
    VALUE("flint_prompt_tokens_total %lld", (long long)st.prompt_tokens);
    METRIC("counter", "cached_prompt_tokens_total", "Prompt tokens reused from the prefix cache.");
    VALUE("flint_cached_prompt_tokens_total %lld", (long long)st.cached_tokens);
    METRIC("counter", "generated_tokens_total", "Tokens generated.");
    VALUE("flint_generated_tokens_total %lld", (long long)st.generated_tokens);
    METRIC("counter", "prefix_cache_hits_total", "Requests that started from a cached prefix.");
    VALUE("flint_prefix_cache_hits_total %lld", (long long)st.prefix_hits);
    METRIC("counter", "preemptions_total", "Requests preempted when the KV pool ran out.");
    VALUE("flint_preemptions_total %lld", (long long)st.preemptions);
    METRIC("gauge", "queue_depth", "Requests waiting for a slot.");
    VALUE("flint_queue_depth %d", (int)st.waiting);
    METRIC("gauge", "slots_busy", "Requests running.");
    VALUE("flint_slots_busy %d", (int)st.running);
    METRIC("gauge", "slots", "Requests that can run at once.");
    VALUE("flint_slots %d", (int)st.n_slots);
    METRIC("gauge", "kv_blocks", "Blocks of the KV pool.");
    VALUE("flint_kv_blocks %lld", (long long)st.kv_blocks_total);
    METRIC("gauge", "kv_blocks_free", "Free blocks of the KV pool.");
    VALUE("flint_kv_blocks_free %lld", (long long)st.kv_blocks_free);
    METRIC("gauge", "kv_bytes_used", "Bytes of K/V in use.");
    VALUE("flint_kv_bytes_used %llu", (unsigned long long)st.kv_bytes_used);
    if (st.experts.streamed) {
        METRIC("counter", "expert_cache_hits_total", "Routed experts found in the expert cache.");
        VALUE("flint_expert_cache_hits_total %llu", (unsigned long long)st.experts.hits);
        METRIC("counter", "expert_cache_misses_total", "Routed experts read from disk.");
        VALUE("flint_expert_cache_misses_total %llu", (unsigned long long)st.experts.misses);
        METRIC("counter", "expert_bytes_read_total", "Bytes of experts read from disk.");
        VALUE("flint_expert_bytes_read_total %llu", (unsigned long long)st.experts.bytes_read);
        METRIC("counter", "expert_read_pending_seconds_total", "Time with expert reads queued or in progress.");
        VALUE("flint_expert_read_pending_seconds_total %.6f", (double)st.experts.io_busy_ns * 1e-9);
        METRIC("counter", "expert_wait_seconds_total", "Time the model waited for experts on their way from disk.");
        VALUE("flint_expert_wait_seconds_total %.6f", (double)st.experts.io_wait_ns * 1e-9);
        METRIC("gauge", "expert_cache_bytes", "Bytes the expert cache may take.");
        VALUE("flint_expert_cache_bytes %lld", (long long)st.experts.budget);
    }
#undef METRIC
#undef VALUE
    if (b.failed) {
        srv_buf_free(&b);
        return srv_error_reply(500, NULL, "out of memory");
    }
    srv_reply r = srv_text_reply(200, "text/plain; version=0.0.4", b.p, b.n);
    srv_buf_free(&b);
    return r;
}

/* The body as a JSON object, or an error reply in *err. */
static json_t *body_object(srv_call *c, srv_reply *err) {
    json_error_t je;
    json_t *j = json_loadb(c->body, c->len, 0, &je);
    if (!j) *err = srv_error_reply(400, NULL, "body is not valid JSON: %s at line %d column %d", je.text, je.line, je.column);
    else if (!json_is_object(j)) *err = srv_error_reply(400, NULL, "body must be a JSON object"), json_decref(j), j = NULL;
    return j;
}

/* An optional boolean field: *v unchanged when absent or null. */
static int opt_bool(json_t *o, const char *key, int *v, srv_reply *err) {
    json_t *f = json_object_get(o, key);
    if (!f || json_is_null(f)) return 1;
    if (!json_is_boolean(f)) {
        *err = srv_error_reply(400, key, "%s: wants true or false", key);
        return 0;
    }
    *v = json_is_true(f);
    return 1;
}

srv_reply srv_tokenize(srv_call *c) {
    srv_reply r;
    json_t *in = body_object(c, &r);
    if (!in) return r;
    const flint_tokenizer *tok = flint_engine_tokenizer(atomic_load(&c->s->engine));
    json_t *content = json_object_get(in, "content");
    int add_special = 0, parse_special = 1, with_pieces = 0;
    if (!json_is_string(content)) r = srv_error_reply(400, "content", "content: wants the text to tokenize as a string");
    else if (opt_bool(in, "add_special", &add_special, &r) && opt_bool(in, "parse_special", &parse_special, &r) &&
             opt_bool(in, "with_pieces", &with_pieces, &r)) {
        const char *text = json_string_value(content);
        size_t len = json_string_length(content), n = 0;
        uint32_t flags = (add_special ? FLINT_TOKENIZE_ADD_BOS : 0) | (parse_special ? FLINT_TOKENIZE_SPECIAL : 0);
        int32_t *ids = NULL;
        flint_status st = srv_tokenize_text(tok, text, len, flags, &ids, &n);
        json_t *arr = st ? NULL : json_array();
        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(arr, with_pieces ? json_pack("{s:i,s:o}", "id", (int)ids[i], "piece",
                                                               srv_token_json(tok, ids[i]))
                                                   : json_integer(ids[i]));
        free(ids);
        r = st ? srv_error_reply(400, "content", "content: %s", flint_errmsg())
               : srv_json_reply(200, json_pack("{s:o}", "tokens", arr));
    }
    json_decref(in);
    return r;
}

srv_reply srv_detokenize(srv_call *c) {
    srv_reply r;
    json_t *in = body_object(c, &r);
    if (!in) return r;
    const flint_tokenizer *tok = flint_engine_tokenizer(atomic_load(&c->s->engine));
    json_t *tokens = json_object_get(in, "tokens");
    int32_t n_vocab = flint_tokenizer_n_vocab(tok);
    if (!json_is_array(tokens)) {
        json_decref(in);
        return srv_error_reply(400, "tokens", "tokens: wants an array of token ids");
    }
    size_t n = json_array_size(tokens);
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    char *text = NULL;
    r.response = NULL;
    for (size_t i = 0; ids && i < n && !r.response; i++) {
        json_t *t = json_array_get(tokens, i);
        json_int_t v = json_is_integer(t) ? json_integer_value(t) : -1;
        if (v < 0 || v >= n_vocab)
            r = srv_error_reply(400, "tokens", "tokens[%zu]: wants a token id in [0, %d)", i, (int)n_vocab);
        else ids[i] = (int32_t)v;
    }
    if (!r.response) {
        size_t len = 0;
        flint_status st = ids ? flint_detokenize(tok, ids, n, 0, NULL, 0, &len) : FLINT_E_NOMEM;
        if (!st && !(text = malloc(len + 1))) st = FLINT_E_NOMEM;
        if (!st) st = flint_detokenize(tok, ids, n, 0, text, len + 1, &len);
        r = st ? srv_error_reply(500, NULL, "detokenize: %s", flint_errmsg())
               : srv_json_reply(200, json_pack("{s:o}", "content", srv_json_bytes(text, len)));
    }
    free(text);
    free(ids);
    json_decref(in);
    return r;
}
