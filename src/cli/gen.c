/* gen.c — see gen.h. */
#define _POSIX_C_SOURCE 200809L
#include "cli/gen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

int32_t cli_kv_type(const char *cmd, const char *name) {
    if (!name) return FLINT_KV_DEFAULT;
    if (!strcmp(name, "f16")) return FLINT_KV_F16;
    if (!strcmp(name, "bf16")) return FLINT_KV_BF16;
    if (!strcmp(name, "f32")) return FLINT_KV_F32;
    fprintf(stderr, "flint %s: --kv-type '%s' (f16, bf16 or f32)\n", cmd, name);
    return -1;
}

/* prompt and decode tokens/s of a finished request */
static void speeds(const cli_result *r, double *prompt_tps, double *decode_tps) {
    double gen_s = r->usage.generate_ms / 1e3, prompt_s = r->usage.prompt_ms / 1e3;
    int32_t computed = r->usage.prompt_tokens - r->usage.cached_tokens;
    *prompt_tps = prompt_s > 0 ? computed / prompt_s : 0.0;
    *decode_tps = gen_s > 0 && r->out.n > 1 ? (r->out.n - 1) / gen_s : 0.0;
}

char *cli_read_prompt(const char *arg, int from_file) {
    if (!from_file && strcmp(arg, "-")) return strdup(arg);
    FILE *f = from_file ? fopen(arg, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "flint: cannot open '%s': %s\n", arg, strerror(errno));
        return NULL;
    }
    fl_tok_text t = {0};
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0)
        if (fl_tok_text_append(&t, buf, k)) break;
    int bad = ferror(f) || (!t.s && fl_tok_text_append(&t, "", 0));
    if (from_file) fclose(f);
    if (bad) {
        fprintf(stderr, "flint: cannot read the prompt from '%s'\n", arg);
        fl_tok_text_free(&t);
        return NULL;
    }
    return t.s;
}

flint_status cli_default_ctx(flint_model *m, const char *text, int chat, int32_t n_gen, int32_t *n_ctx) {
    flint_tokenizer *tok;
    flint_status st = flint_tokenizer_load(m, &tok);
    if (st) return st;
    size_t n = 0, len = 0;
    char *rendered = NULL;
    if (chat) {
        flint_chat_message msg = {.role = "user", .content = text};
        st = flint_chat_render(tok, &msg, 1, NULL, NULL, 0, &len);
        if (!st && !(rendered = malloc(len + 1))) st = FLINT_E_NOMEM;
        if (!st) st = flint_chat_render(tok, &msg, 1, NULL, rendered, len + 1, &len);
    }
    if (!st)
        st = flint_tokenize(tok, chat ? rendered : text, chat ? len : strlen(text),
                            chat ? FLINT_TOKENIZE_SPECIAL : FLINT_TOKENIZE_ADD_BOS | FLINT_TOKENIZE_SPECIAL, NULL, 0,
                            &n);
    /* a system message and the template's own tokens: some room to spare */
    size_t want = n + (size_t)n_gen + (chat ? 256 : 1);
    if (!st) *n_ctx = (int32_t)(want < (1u << 24) ? want : 1u << 24);
    free(rendered);
    flint_tokenizer_free(tok);
    return st;
}

void cli_warn_ctx(const flint_engine *e, const char *cmd) {
    int32_t train = flint_engine_n_ctx_train(e), n = flint_engine_n_ctx(e);
    if (train > 0 && n > train)
        fprintf(stderr, "flint %s: warning: a context of %d exceeds the %d positions the model was trained for\n", cmd,
                n, train);
}

flint_status cli_collect(flint_engine *e, uint64_t id, FILE *stream, volatile sig_atomic_t *interrupt,
                         cli_result *res) {
    int cancelled = 0;
    for (;;) {
        if (interrupt && *interrupt && !cancelled) {
            flint_engine_cancel(e, id);
            cancelled = 1;
        }
        flint_event ev;
        flint_status st = flint_engine_poll(e, id, interrupt ? 100 : -1, &ev);
        if (st) return st;
        if (!fl_req_out_push(&res->out, ev.tokens, ev.logprobs, ev.top, ev.n_tokens, ev.n_top, ev.text, ev.len))
            return FLINT_E_NOMEM;
        if (ev.len && stream) {
            fwrite(ev.text, 1, ev.len, stream);
            fflush(stream);
        }
        res->n_top = ev.logprobs ? ev.n_top : -1;
        if (ev.finish) {
            res->finish = ev.finish;
            res->usage = *ev.usage;
            if (ev.error_msg) snprintf(res->error, sizeof res->error, "%s", ev.error_msg);
            if (ev.stop) snprintf(res->stop, sizeof res->stop, "%s", ev.stop);
            return FLINT_OK;
        }
    }
}

void cli_result_free(cli_result *r) {
    fl_req_out_free(&r->out);
    memset(r, 0, sizeof *r);
}

const char *cli_finish_name(flint_finish_reason r) {
    switch (r) {
    case FLINT_FINISH_STOP: return "stop";
    case FLINT_FINISH_LENGTH: return "length";
    case FLINT_FINISH_CANCELLED: return "cancelled";
    case FLINT_FINISH_ERROR: return "error";
    default: return "none";
    }
}

void cli_result_json(const cli_result *r, FILE *f) {
    json_t *o = json_object(), *toks = json_array();
    const fl_req_out *out = &r->out;
    json_object_set_new(o, "text", json_stringn(out->text.s ? out->text.s : "", out->text.n));
    for (int32_t i = 0; i < out->n; i++) json_array_append_new(toks, json_integer(out->tokens[i]));
    json_object_set_new(o, "tokens", toks);
    json_object_set_new(o, "finish_reason", json_string(cli_finish_name(r->finish)));
    if (r->stop[0]) json_object_set_new(o, "stop", json_string(r->stop));
    if (r->finish == FLINT_FINISH_ERROR) json_object_set_new(o, "error", json_string(r->error));
    json_object_set_new(o, "usage", json_pack("{s:i, s:i, s:i}", "prompt_tokens", r->usage.prompt_tokens,
                                              "cached_tokens", r->usage.cached_tokens, "completion_tokens",
                                              r->usage.generated_tokens));
    double prompt_tps, decode_tps;
    speeds(r, &prompt_tps, &decode_tps);
    json_object_set_new(
        o, "timings",
        json_pack("{s:f, s:f, s:f, s:f, s:f}", "queue_ms", r->usage.queue_ms, "ttft_ms", r->usage.ttft_ms,
                  "prompt_ms", r->usage.prompt_ms, "prompt_tokens_per_s", prompt_tps, "decode_tokens_per_s",
                  decode_tps));
    if (r->n_top >= 0) {
        json_t *lp = json_array();
        for (int32_t i = 0; i < out->n; i++) {
            json_t *alts = json_array();
            for (int32_t j = 0; j < r->n_top; j++) {
                const flint_token_logprob *t = &out->top[(size_t)i * r->n_top + j];
                json_array_append_new(alts, json_pack("{s:i, s:f}", "token", t->token, "logprob", (double)t->logprob));
            }
            json_array_append_new(lp, json_pack("{s:i, s:f, s:o}", "token", out->tokens[i], "logprob",
                                                (double)out->logprobs[i], "top", alts));
        }
        json_object_set_new(o, "logprobs", lp);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (s) fprintf(f, "%s\n", s);
    free(s);
    json_decref(o);
}

void cli_result_report(const cli_result *r, FILE *f, flint_engine *e) {
    if (r->finish == FLINT_FINISH_ERROR) fprintf(f, "flint: %s\n", r->error);
    double prompt_tps, decode_tps;
    speeds(r, &prompt_tps, &decode_tps);
    fprintf(f, "prefill: %d tokens (%d cached), %.2f tokens/s; decode: %d tokens, %.2f tokens/s\n",
            r->usage.prompt_tokens, r->usage.cached_tokens, prompt_tps, r->out.n, decode_tps);
    if (e) {
        flint_engine_stats s;
        flint_engine_stats_get(e, &s);
        fprintf(f, "device: %s\n", flint_engine_device(e));
        fprintf(f, "KV pool: %.1f KiB in use, %lld of %lld blocks free; context %d\n", (double)s.kv_bytes_used / 1024.0,
                (long long)s.kv_blocks_free, (long long)s.kv_blocks_total, flint_engine_n_ctx(e));
    }
}
