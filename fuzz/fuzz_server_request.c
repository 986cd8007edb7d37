/* fuzz_server_request.c — libFuzzer entry for the OpenAI request parser
 * (server/request.c): each input is parsed as a chat and as a completions
 * body under small limits. A parsed request must keep within the limits
 * and have every string readable whole; a refused one must be left empty
 * with a message that names its param. libFuzzer's input buffer is exactly
 * the input's size, so a read past len is caught. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const srv_limits limits = {.max_messages = 16, .max_stop = 4, .max_tokens = 256, .n_vocab = 1000};

static volatile size_t sink;

static void touch(const char *s) {
    if (s) sink += strlen(s);
}

static void check_request(const srv_request *r) {
    if (r->max_tokens != -1 && (r->max_tokens < 1 || r->max_tokens > limits.max_tokens)) abort();
    if (r->n_stop < 0 || r->n_stop > limits.max_stop) abort();
    for (int32_t i = 0; i < r->n_stop; i++)
        if (!r->stop[i][0]) abort(); /* empty stops are dropped */
    for (int32_t i = 0; i < r->sampling.n_logit_bias; i++) {
        const flint_logit_bias *b = &r->sampling.logit_bias[i];
        if (b->token < 0 || b->token >= limits.n_vocab || !(b->bias >= -100 && b->bias <= 100)) abort();
    }
    if ((r->tools == NULL) != (r->n_tools == 0)) abort();
    if ((r->tool_choice == SRV_TOOLS_NAMED) != (r->tool_choice_name != NULL)) abort();
    if (r->top_logprobs < 0 || r->top_logprobs > FLINT_MAX_TOP_LOGPROBS) abort();
    touch(r->model), touch(r->tools), touch(r->tool_choice_name), touch(r->user);
    if (r->endpoint == SRV_COMPLETION) {
        if ((r->prompt != NULL) == (r->n_prompt_tokens > 0)) abort(); /* exactly one of the two */
        for (int32_t i = 0; i < r->n_prompt_tokens; i++)
            if (r->prompt_tokens[i] < 0 || r->prompt_tokens[i] >= limits.n_vocab) abort();
        touch(r->prompt);
        return;
    }
    if (r->n_messages < 1 || r->n_messages > limits.max_messages) abort();
    for (int32_t i = 0; i < r->n_messages; i++) {
        const flint_chat_message *m = &r->messages[i];
        if (strcmp(m->role, "system") && strcmp(m->role, "user") && strcmp(m->role, "assistant") &&
            strcmp(m->role, "tool"))
            abort();
        if (!strcmp(m->role, "tool") && !m->tool_call_id) abort();
        touch(m->content), touch(m->reasoning_content), touch(m->tool_call_id), touch(m->name);
        for (int32_t k = 0; k < m->n_tool_calls; k++) {
            if (!m->tool_calls[k].name || !m->tool_calls[k].arguments) abort();
            touch(m->tool_calls[k].id), touch(m->tool_calls[k].name), touch(m->tool_calls[k].arguments);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int ep = SRV_CHAT; ep <= SRV_COMPLETION; ep++) {
        srv_request r;
        srv_error e;
        flint_status st = srv_request_parse((const char *)data, size, (srv_endpoint)ep, &limits, &r, &e);
        if (st == FLINT_OK) {
            check_request(&r);
        } else {
            static const srv_request empty;
            if (st != FLINT_E_INVALID_ARG || memcmp(&r, &empty, sizeof r) != 0) abort();
            if (!memchr(e.message, 0, sizeof e.message) || !memchr(e.param, 0, sizeof e.param)) abort();
            if (!e.message[0] || strncmp(e.message, e.param, strlen(e.param)) != 0) abort();
        }
        srv_request_free(&r);
    }
    return 0;
}
