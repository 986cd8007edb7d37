/* generate.c — POST /v1/chat/completions and /v1/completions: a checked
 * request becomes prompt tokens and an engine request; the engine's events
 * become one JSON reply or a stream of server-sent events.
 *
 * The server renders chat prompts itself (not the engine) so that it knows
 * the prompt's length before submitting (a 400 with the numbers, as vLLM),
 * whether the prompt left a thinking block open, and so that tool_choice
 * "required" or a named function can start the reply with the family's
 * call syntax: the model then writes a call, not maybe one.
 *
 * Each connection has its own thread (see http.c), which waits on the
 * engine in short polls and between them notices a client that left, the
 * request's time running out, or the server stopping — each cancels the
 * engine request, which then ends within a step. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "base/clock.h"
#include "server/internal.h"
#include "server/output.h"
#include "server/request.h"

#define POLL_MS 200
#define PING_MS 5000

typedef struct tool_call_acc {
    char id[40];
    char *name;
    srv_buf args;
} tool_call_acc;

typedef struct gen {
    srv *s;
    flint_engine *e;
    const flint_tokenizer *tok;
    srv_request req;
    int chat, fd;
    uint64_t id;
    int submitted;
    char cid[48];
    srv_output *out;
    double t0, last_sent;
    /* what the current event adds (a stream chunk), or the whole reply */
    srv_buf content, reasoning;
    json_t *tool_deltas;  /* stream: this chunk's tool_calls entries */
    tool_call_acc *calls; /* whole reply: the calls */
    int32_t n_calls;
    json_t *logprobs;     /* chat: [entries]; completions: {tokens, token_logprobs, ...} */
    size_t text_offset;   /* completions' text_offset */
    /* the end */
    flint_finish_reason finish;
    flint_usage usage;
    const char *stop_reason; /* we cancelled: why (a message for the client) */
    char *error;
    /* a stream's bytes not yet taken by libmicrohttpd */
    srv_buf wire;
    size_t wire_off;
    int ended; /* the final event was read */
    int closed; /* [DONE] queued */
} gen;

static void gen_free(gen *g) {
    if (!g) return;
    if (g->submitted && !g->ended) {
        /* the client left: stop the request and read its last event, which frees it */
        flint_engine_cancel(g->e, g->id);
        flint_event ev;
        while (!flint_engine_poll(g->e, g->id, 1000, &ev) && !ev.finish) {}
    }
    srv_output_free(g->out);
    srv_request_free(&g->req);
    srv_buf_free(&g->content);
    srv_buf_free(&g->reasoning);
    json_decref(g->tool_deltas);
    for (int32_t i = 0; i < g->n_calls; i++) free(g->calls[i].name), srv_buf_free(&g->calls[i].args);
    free(g->calls);
    json_decref(g->logprobs);
    free(g->error);
    srv_buf_free(&g->wire);
    free(g);
}

/* ---- the prompt ---- */

/* The text a forced tool choice starts the reply with, in the family's syntax. */
static void forced_call_prefix(const gen *g, srv_buf *b) {
    const char *tpl = g->s->template_name;
    const char *name = g->req.tool_choice == SRV_TOOLS_NAMED ? g->req.tool_choice_name : NULL;
    if (!strcmp(tpl, "chatml")) {
        srv_buf_add(b, "<tool_call>\n<function=", 22);
        if (name) srv_buf_add(b, name, strlen(name)), srv_buf_add(b, ">\n", 2);
    } else {
        srv_buf_add(b, "<|tool_call>call:", 17);
        if (name) srv_buf_add(b, name, strlen(name)), srv_buf_add(b, "{", 1);
    }
}

static int ends_with(const srv_buf *b, const char *s) {
    size_t n = strlen(s);
    return b->n >= n && !memcmp(b->p + b->n - n, s, n);
}

/* Renders the conversation; *prefix gets the text the reply is forced to
 * start with (fed to the output parser as if the model wrote it). */
static srv_reply chat_prompt(gen *g, srv_buf *prompt, srv_buf *prefix, int *in_reasoning) {
    const char *tpl = g->s->template_name;
    srv_request *r = &g->req;
    int use_tools = r->tools && r->tool_choice != SRV_TOOLS_NONE;
    if (!tpl) return srv_error_reply(400, "messages", "this model has no chat template flint knows; use /v1/completions");
    if (use_tools && !strcmp(tpl, "gemma"))
        return srv_error_reply(400, "tools", "tools: this model's chat template (Gemma 1-3) has no tool-call syntax");
    int forced = use_tools && (r->tool_choice == SRV_TOOLS_REQUIRED || r->tool_choice == SRV_TOOLS_NAMED);
    /* a forced call skips the thinking: a reply cannot both think and start with the call */
    flint_chat_params cp = {.thinking = forced ? -1 : r->thinking, .tools = use_tools ? r->tools : NULL};
    /* a prefill is rendered as the start of the reply, after the generation prompt */
    int32_t n_messages = r->n_messages - (r->continue_final ? 1 : 0);
    size_t len = 0;
    flint_status st = flint_chat_render(g->tok, r->messages, n_messages, &cp, NULL, 0, &len);
    char *text = st ? NULL : malloc(len + 1);
    if (!st && !text) st = FLINT_E_NOMEM;
    if (!st) st = flint_chat_render(g->tok, r->messages, n_messages, &cp, text, len + 1, &len);
    if (st) {
        free(text);
        return st == FLINT_E_INVALID_ARG ? srv_error_reply(400, "messages", "messages: %s", flint_errmsg())
                                         : srv_error_reply(500, NULL, "chat template: %s", flint_errmsg());
    }
    srv_buf_add(prompt, text, len);
    free(text);
    *in_reasoning = !forced && !strcmp(tpl, "chatml") && ends_with(prompt, "<think>\n");
    if (forced) forced_call_prefix(g, prefix);
    if (r->continue_final) srv_buf_add(prefix, r->messages[n_messages].content, strlen(r->messages[n_messages].content));
    srv_buf_add(prompt, prefix->p, prefix->n);
    return (srv_reply){0};
}

/* Checks the lengths against the context and submits. */
static srv_reply submit(gen *g, const int32_t *ids, size_t n) {
    int32_t n_ctx = flint_engine_n_ctx(g->e);
    srv_request *r = &g->req;
    if (n == 0) return srv_error_reply(400, g->chat ? "messages" : "prompt", "the prompt is empty");
    if ((int64_t)n + (r->max_tokens > 0 ? r->max_tokens : 1) > n_ctx)
        return srv_error_reply(400, r->max_tokens > 0 ? "max_tokens" : (g->chat ? "messages" : "prompt"),
                               "this model's maximum context length is %d tokens; the request needs %lld "
                               "(%zu in the prompt, %d to generate)",
                               (int)n_ctx, (long long)n + (r->max_tokens > 0 ? r->max_tokens : 1), n,
                               r->max_tokens > 0 ? (int)r->max_tokens : 1);
    /* Gemma 4 ends a turn that called tools with <|tool_response> (the
     * caller answers there); the reply parser needs the family's control
     * tokens (<|tool_call>, <|channel>) in the text */
    const char *tpl = g->s->template_name;
    int32_t tool_response = -1;
    if (g->out && tpl && !strcmp(tpl, "gemma4") && r->tools && r->tool_choice != SRV_TOOLS_NONE)
        tool_response = flint_token_find(g->tok, "<|tool_response>", 16);
    flint_request q = {
        .prompt_tokens = ids,
        .n_prompt_tokens = (int32_t)n,
        .sampling = r->sampling,
        .max_tokens = r->max_tokens > 0 ? r->max_tokens : -1,
        .stop = (const char *const *)r->stop,
        .n_stop = r->n_stop,
        .ignore_eos = r->ignore_eos,
        .stop_tokens = tool_response >= 0 ? &tool_response : NULL,
        .n_stop_tokens = tool_response >= 0,
        .special_text = g->out && tpl && strcmp(tpl, "gemma"),
        .logprobs = r->logprobs,
        .top_logprobs = r->logprobs ? r->top_logprobs : 0,
    };
    /* no seed: each request samples its own way */
    if (!r->seed_given && getrandom(&q.sampling.seed, sizeof q.sampling.seed, 0) != (ssize_t)sizeof q.sampling.seed)
        q.sampling.seed = (uint64_t)(fl_now_seconds() * 1e9) ^ (uint64_t)(uintptr_t)g;
    flint_status st = flint_engine_submit(g->e, &q, &g->id);
    if (st == FLINT_E_BUSY) {
        atomic_fetch_add(&g->s->outcomes[SRV_REJECTED], 1);
        srv_reply rep = srv_error_reply(429, NULL, "the server is busy: its queue is full; retry shortly");
        if (rep.response) MHD_add_response_header(rep.response, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return rep;
    }
    if (st == FLINT_E_INVALID_ARG) return srv_error_reply(400, NULL, "%s", flint_errmsg());
    if (st) return srv_error_reply(500, NULL, "%s", flint_errmsg());
    g->submitted = 1;
    return (srv_reply){0};
}

/* ---- events into reply pieces ---- */

static void on_delta(const srv_delta *d, void *user) {
    gen *g = user;
    int stream = g->req.stream;
    switch (d->kind) {
    case SRV_DELTA_CONTENT: srv_buf_add(&g->content, d->text, d->len); break;
    case SRV_DELTA_REASONING: srv_buf_add(&g->reasoning, d->text, d->len); break;
    case SRV_DELTA_TOOL_START:
        if (stream) {
            json_array_append_new(g->tool_deltas,
                                  json_pack("{s:i,s:s,s:s,s:{s:s,s:s}}", "index", (int)d->index, "id", d->id, "type",
                                            "function", "function", "name", d->name, "arguments", ""));
        } else {
            tool_call_acc *c = realloc(g->calls, (size_t)(g->n_calls + 1) * sizeof *c);
            if (!c) break;
            g->calls = c;
            c = &g->calls[g->n_calls++];
            *c = (tool_call_acc){0};
            snprintf(c->id, sizeof c->id, "%s", d->id);
            c->name = strdup(d->name);
        }
        break;
    case SRV_DELTA_TOOL_ARGS:
        if (stream) {
            size_t last = json_array_size(g->tool_deltas);
            json_t *prev = last ? json_array_get(g->tool_deltas, last - 1) : NULL;
            if (prev && json_integer_value(json_object_get(prev, "index")) == d->index) {
                /* this chunk's entry for the call grows */
                json_t *fn = json_object_get(prev, "function");
                srv_buf a = {0};
                const char *was = json_string_value(json_object_get(fn, "arguments"));
                srv_buf_add(&a, was, strlen(was));
                srv_buf_add(&a, d->text, d->len);
                json_object_set_new(fn, "arguments", json_stringn(a.p ? a.p : "", a.n));
                srv_buf_free(&a);
            } else {
                json_array_append_new(g->tool_deltas, json_pack("{s:i,s:{s:s%}}", "index", (int)d->index, "function",
                                                                "arguments", d->text, d->len));
            }
        } else if (d->index >= 0 && d->index < g->n_calls) {
            srv_buf_add(&g->calls[d->index].args, d->text, d->len);
        }
        break;
    }
}

static json_t *token_bytes(const json_t *text) {
    json_t *a = json_array();
    const char *s = json_string_value(text);
    for (size_t i = 0, n = json_string_length(text); i < n; i++) json_array_append_new(a, json_integer((unsigned char)s[i]));
    return a;
}

/* Appends the event's tokens' log-probabilities in the endpoint's shape. */
static void add_logprobs(gen *g, const flint_event *ev) {
    if (!ev->logprobs || !ev->n_tokens) return;
    if (!g->logprobs) g->logprobs = g->chat ? json_array()
                                            : json_pack("{s:[],s:[],s:[],s:[]}", "tokens", "token_logprobs",
                                                        "top_logprobs", "text_offset");
    for (int32_t i = 0; i < ev->n_tokens; i++) {
        json_t *t = srv_token_json(g->tok, ev->tokens[i]);
        const flint_token_logprob *top = ev->top + (size_t)i * (size_t)ev->n_top;
        if (g->chat) {
            json_t *alts = json_array();
            for (int32_t k = 0; k < ev->n_top; k++) {
                if (top[k].token < 0) continue;
                json_t *at = srv_token_json(g->tok, top[k].token);
                json_array_append_new(alts, json_pack("{s:O,s:f,s:o}", "token", at, "logprob", (double)top[k].logprob,
                                                      "bytes", token_bytes(at)));
                json_decref(at);
            }
            json_array_append_new(g->logprobs, json_pack("{s:O,s:f,s:o,s:o}", "token", t, "logprob",
                                                         (double)ev->logprobs[i], "bytes", token_bytes(t),
                                                         "top_logprobs", alts));
        } else {
            json_t *alts = json_object();
            for (int32_t k = 0; k < ev->n_top; k++) {
                if (top[k].token < 0) continue;
                json_t *at = srv_token_json(g->tok, top[k].token);
                json_object_set_new(alts, json_string_value(at), json_real(top[k].logprob));
                json_decref(at);
            }
            json_array_append(json_object_get(g->logprobs, "tokens"), t);
            json_array_append_new(json_object_get(g->logprobs, "token_logprobs"), json_real(ev->logprobs[i]));
            json_array_append_new(json_object_get(g->logprobs, "top_logprobs"), alts);
            json_array_append_new(json_object_get(g->logprobs, "text_offset"), json_integer((json_int_t)g->text_offset));
            g->text_offset += json_string_length(t);
        }
        json_decref(t);
    }
}

/* Takes in one engine event. */
static void take_event(gen *g, const flint_event *ev) {
    if (g->out) srv_output_feed(g->out, ev->text, ev->len, on_delta, g);
    else srv_buf_add(&g->content, ev->text, ev->len);
    add_logprobs(g, ev);
    if (!ev->finish) return;
    g->ended = 1;
    if (g->out) srv_output_finish(g->out, on_delta, g);
    g->finish = ev->finish;
    if (ev->usage) g->usage = *ev->usage;
    if (ev->finish == FLINT_FINISH_ERROR) g->error = strdup(ev->error_msg ? ev->error_msg : flint_status_name(ev->error));
}

static const char *finish_reason(const gen *g) {
    switch (g->finish) {
    case FLINT_FINISH_LENGTH: return "length";
    case FLINT_FINISH_STOP: return g->out && srv_output_n_tool_calls(g->out) ? "tool_calls" : "stop";
    default: return "stop"; /* cancelled by the server: the text so far, ended */
    }
}

static json_t *usage_json(const gen *g) {
    return json_pack("{s:i,s:i,s:i,s:{s:i}}", "prompt_tokens", (int)g->usage.prompt_tokens, "completion_tokens",
                     (int)g->usage.generated_tokens, "total_tokens",
                     (int)(g->usage.prompt_tokens + g->usage.generated_tokens), "prompt_tokens_details",
                     "cached_tokens", (int)g->usage.cached_tokens);
}

/* Waits for the next event; between polls, cancels the request when the
 * client left, the time ran out or the server stops. 0: an event (maybe
 * empty) is in *ev; -1: the engine failed. */
static int next_event(gen *g, flint_event *ev) {
    if (flint_engine_poll(g->e, g->id, POLL_MS, ev)) return -1;
    if (ev->finish || g->stop_reason) return 0;
    const char *why = NULL;
    if (atomic_load(&g->s->stopping)) why = "the server is shutting down";
    else if (g->s->opt.timeout_s > 0 && (1000.0 * fl_now_seconds()) - g->t0 > 1000.0 * g->s->opt.timeout_s) why = "the request ran past the server's --timeout";
    else if (srv_client_gone(g->fd)) why = "the client closed the connection";
    if (why) {
        g->stop_reason = why;
        flint_engine_cancel(g->e, g->id);
    }
    return 0;
}

/* ---- one JSON reply ---- */

static json_t *whole_reply(gen *g) {
    const char *model = g->req.model ? g->req.model : g->s->model_name;
    json_t *choice;
    if (g->chat) {
        json_t *msg = json_pack("{s:s}", "role", "assistant");
        json_object_set_new(msg, "content", g->content.n || !g->n_calls ? srv_json_bytes(g->content.p ? g->content.p : "", g->content.n)
                                                                        : json_null());
        if (g->reasoning.n) json_object_set_new(msg, "reasoning_content", srv_json_bytes(g->reasoning.p, g->reasoning.n));
        if (g->n_calls) {
            json_t *calls = json_array();
            for (int32_t i = 0; i < g->n_calls; i++)
                json_array_append_new(calls, json_pack("{s:s,s:s,s:{s:s,s:o}}", "id", g->calls[i].id, "type",
                                                       "function", "function", "name", g->calls[i].name ? g->calls[i].name : "",
                                                       "arguments", srv_json_bytes(g->calls[i].args.p ? g->calls[i].args.p : "{}",
                                                                                   g->calls[i].args.p ? g->calls[i].args.n : 2)));
            json_object_set_new(msg, "tool_calls", calls);
        }
        choice = json_pack("{s:i,s:o,s:o?,s:s}", "index", 0, "message", msg, "logprobs",
                           g->logprobs ? json_pack("{s:O}", "content", g->logprobs) : NULL, "finish_reason",
                           finish_reason(g));
    } else {
        choice = json_pack("{s:i,s:o,s:O?,s:s}", "index", 0, "text",
                           srv_json_bytes(g->content.p ? g->content.p : "", g->content.n), "logprobs", g->logprobs,
                           "finish_reason", finish_reason(g));
    }
    return json_pack("{s:s,s:s,s:I,s:s,s:[o],s:o}", "id", g->cid, "object", g->chat ? "chat.completion" : "text_completion",
                     "created", (json_int_t)time(NULL), "model", model, "choices", choice, "usage", usage_json(g));
}

/* The finished request's reply when it did not end well, else {0}. */
static srv_reply failed_reply(gen *g) {
    if (g->finish == FLINT_FINISH_ERROR) {
        atomic_fetch_add(&g->s->outcomes[SRV_FAILED], 1);
        return srv_error_reply(500, NULL, "generation failed: %s", g->error ? g->error : "unknown error");
    }
    if (g->finish == FLINT_FINISH_CANCELLED) {
        atomic_fetch_add(&g->s->outcomes[SRV_CANCELLED], 1);
        return srv_error_reply(g->s->opt.timeout_s && strstr(g->stop_reason ? g->stop_reason : "", "timeout") ? 504 : 503,
                               NULL, "request cancelled: %s", g->stop_reason ? g->stop_reason : "cancelled");
    }
    return (srv_reply){0};
}

static srv_reply run_whole(gen *g) {
    flint_event ev;
    while (!g->ended) {
        if (next_event(g, &ev)) return srv_error_reply(500, NULL, "engine: %s", flint_errmsg());
        take_event(g, &ev);
    }
    srv_reply r = failed_reply(g);
    if (r.response) return r;
    atomic_fetch_add(&g->s->outcomes[SRV_OK], 1);
    return srv_json_reply(200, whole_reply(g));
}

/* ---- a stream ---- */

static void send_data(gen *g, json_t *j) {
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text) return;
    srv_buf_add(&g->wire, "data: ", 6);
    srv_buf_add(&g->wire, text, strlen(text));
    srv_buf_add(&g->wire, "\n\n", 2);
    free(text);
    g->last_sent = (1000.0 * fl_now_seconds());
}

/* A chunk with one choice, or with none (the usage chunk). */
static json_t *chunk(gen *g, json_t *choice) {
    return json_pack("{s:s,s:s,s:I,s:s,s:o}", "id", g->cid, "object",
                     g->chat ? "chat.completion.chunk" : "text_completion", "created", (json_int_t)time(NULL), "model",
                     g->req.model ? g->req.model : g->s->model_name, "choices",
                     choice ? json_pack("[o]", choice) : json_array());
}

/* The chunk for what the last event added, the final one with finish_reason. */
static void send_event_chunk(gen *g) {
    int has = g->content.n || g->reasoning.n || json_array_size(g->tool_deltas) || json_array_size(g->logprobs) ||
              (!g->chat && g->logprobs);
    if (!has && !g->ended) return;
    json_t *lp = NULL;
    if (g->logprobs) lp = g->chat ? json_pack("{s:O}", "content", g->logprobs) : json_incref(g->logprobs);
    json_t *choice;
    if (g->chat) {
        json_t *delta = json_object();
        if (g->content.n) json_object_set_new(delta, "content", srv_json_bytes(g->content.p, g->content.n));
        if (g->reasoning.n) json_object_set_new(delta, "reasoning_content", srv_json_bytes(g->reasoning.p, g->reasoning.n));
        if (json_array_size(g->tool_deltas)) json_object_set(delta, "tool_calls", g->tool_deltas);
        choice = json_pack("{s:i,s:o,s:o?}", "index", 0, "delta", delta, "logprobs", lp);
    } else {
        choice = json_pack("{s:i,s:o,s:o?}", "index", 0, "text", srv_json_bytes(g->content.p ? g->content.p : "", g->content.n),
                           "logprobs", lp);
    }
    json_object_set_new(choice, "finish_reason", g->ended ? json_string(finish_reason(g)) : json_null());
    send_data(g, chunk(g, choice));
    srv_buf_free(&g->content);
    srv_buf_free(&g->reasoning);
    json_array_clear(g->tool_deltas);
    json_decref(g->logprobs);
    g->logprobs = NULL;
}

static void send_end(gen *g) {
    if (g->finish == FLINT_FINISH_ERROR || g->finish == FLINT_FINISH_CANCELLED) {
        srv_reply unused = failed_reply(g); /* counts the outcome */
        if (unused.response) MHD_destroy_response(unused.response);
        char msg[512];
        snprintf(msg, sizeof msg, "%s%s", g->finish == FLINT_FINISH_ERROR ? "generation failed: " : "request cancelled: ",
                 g->finish == FLINT_FINISH_ERROR ? (g->error ? g->error : "unknown error")
                                                 : (g->stop_reason ? g->stop_reason : "cancelled"));
        send_data(g, srv_error_json(g->finish == FLINT_FINISH_ERROR ? 500 : 503, NULL, msg));
    } else {
        atomic_fetch_add(&g->s->outcomes[SRV_OK], 1);
        send_event_chunk(g);
        if (g->req.include_usage) {
            json_t *c = chunk(g, NULL);
            json_object_set_new(c, "usage", usage_json(g));
            send_data(g, c);
        }
    }
    srv_buf_add(&g->wire, "data: [DONE]\n\n", 14);
    g->closed = 1;
}

/* Makes more bytes for the wire: an event's chunk, a ping, or the end. */
static int produce(gen *g) {
    flint_event ev;
    if (next_event(g, &ev)) {
        g->ended = 1, g->finish = FLINT_FINISH_ERROR;
        free(g->error);
        g->error = strdup(flint_errmsg());
    } else {
        take_event(g, &ev);
    }
    if (g->ended) send_end(g);
    else send_event_chunk(g);
    if (g->wire.n == g->wire_off && (1000.0 * fl_now_seconds()) - g->last_sent > PING_MS) {
        srv_buf_add(&g->wire, ": ping\n\n", 8);
        g->last_sent = (1000.0 * fl_now_seconds());
    }
    return g->wire.failed ? -1 : 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    gen *g = cls;
    while (g->wire_off == g->wire.n) {
        srv_buf_free(&g->wire);
        g->wire_off = 0;
        if (g->closed) return MHD_CONTENT_READER_END_OF_STREAM;
        if (produce(g)) return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = g->wire.n - g->wire_off < max ? g->wire.n - g->wire_off : max;
    memcpy(buf, g->wire.p + g->wire_off, n);
    g->wire_off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls) { gen_free(cls); }

static srv_reply start_stream(gen *g) {
    if (g->chat) {
        /* the first chunk names the role, as OpenAI's */
        json_t *choice = json_pack("{s:i,s:{s:s,s:s},s:n,s:n}", "index", 0, "delta", "role", "assistant", "content", "",
                                   "logprobs", "finish_reason");
        send_data(g, chunk(g, choice));
    }
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 << 10, stream_read, g, stream_free);
    if (!r) {
        gen_free(g);
        return srv_error_reply(500, NULL, "out of memory");
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    return (srv_reply){200, r};
}

/* ---- the two endpoints ---- */

static srv_reply generate(srv_call *c, srv_endpoint endpoint) {
    srv *s = c->s;
    gen *g = calloc(1, sizeof *g);
    if (!g) return srv_error_reply(500, NULL, "out of memory");
    g->s = s, g->e = atomic_load(&s->engine), g->tok = flint_engine_tokenizer(g->e);
    g->chat = endpoint == SRV_CHAT, g->fd = c->fd, g->t0 = g->last_sent = (1000.0 * fl_now_seconds());
    srv_random_id(g->cid, sizeof g->cid, g->chat ? "chatcmpl-" : "cmpl-");
    srv_limits lim = {.max_messages = s->opt.max_messages, .max_stop = 16, .max_tokens = flint_engine_n_ctx(g->e),
                      .n_vocab = flint_tokenizer_n_vocab(g->tok)};
    srv_error err;
    if (srv_request_parse(c->body, c->len, endpoint, &lim, &g->req, &err)) {
        gen_free(g);
        return srv_json_reply(400, srv_error_json(400, err.param, err.message));
    }
    srv_buf prompt = {0}, prefix = {0};
    int32_t *ids = NULL;
    size_t n = 0;
    int in_reasoning = 0;
    srv_reply r = {0};
    flint_status st = FLINT_OK;
    if (g->chat) {
        r = chat_prompt(g, &prompt, &prefix, &in_reasoning);
        if (!r.response) st = srv_tokenize_text(g->tok, prompt.p ? prompt.p : "", prompt.n, FLINT_TOKENIZE_SPECIAL, &ids, &n);
    } else if (g->req.prompt) {
        st = srv_tokenize_text(g->tok, g->req.prompt, strlen(g->req.prompt), FLINT_TOKENIZE_ADD_BOS | FLINT_TOKENIZE_SPECIAL, &ids, &n);
    }
    if (!r.response && st) r = srv_error_reply(500, NULL, "tokenize: %s", flint_errmsg());
    if (!r.response && g->chat) {
        g->out = srv_output_new(s->template_name, g->req.tool_choice == SRV_TOOLS_NONE ? NULL : g->req.tools, in_reasoning);
        if (!g->out) r = srv_error_reply(500, NULL, "out of memory");
    }
    if (!r.response) {
        if (!g->chat && !g->req.prompt) r = submit(g, g->req.prompt_tokens, (size_t)g->req.n_prompt_tokens);
        else r = submit(g, ids, n);
    }
    free(ids);
    srv_buf_free(&prompt);
    if (!r.response) {
        if (g->req.stream) g->tool_deltas = json_array();
        if (prefix.n) srv_output_give(g->out, prefix.p, prefix.n, on_delta, g);
        r = g->req.stream ? start_stream(g) : run_whole(g);
        if (!g->req.stream) gen_free(g);
    } else {
        gen_free(g);
    }
    srv_buf_free(&prefix);
    return r;
}

srv_reply srv_chat_completions(srv_call *c) { return generate(c, SRV_CHAT); }
srv_reply srv_completions(srv_call *c) { return generate(c, SRV_COMPLETION); }
