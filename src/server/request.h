/* request.h — an OpenAI request body, parsed and checked
 *
 * Turns the JSON body of POST /v1/chat/completions or /v1/completions into
 * an owned, validated request the server hands to the engine. Validation
 * follows vLLM's: a known field of the wrong type or out of range is an
 * error naming the field; unknown fields are ignored, and null counts as
 * absent (OpenAI's SDK sends null for unset fields). Fields of the other
 * endpoint (messages for completions, prompt for chat) are unknown fields.
 * Pure (no I/O, no engine): the fuzz target and test_server_request drive
 * it directly. */
#ifndef FLINT_SERVER_REQUEST_H
#define FLINT_SERVER_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "flint.h"

typedef enum srv_endpoint { SRV_CHAT = 0, SRV_COMPLETION = 1 } srv_endpoint;

typedef enum srv_tool_choice {
    SRV_TOOLS_AUTO = 0, /* the model decides (the default when tools are given) */
    SRV_TOOLS_NONE,     /* "none": tools are not offered, output is not parsed for calls */
    SRV_TOOLS_REQUIRED, /* "required": the reply is a call to one of the tools */
    SRV_TOOLS_NAMED,    /* {"type":"function","function":{"name":N}}: a call to N */
} srv_tool_choice;

/* What the parser may accept; the server fills it from its options. */
typedef struct srv_limits {
    int32_t max_messages;   /* messages per chat request */
    int32_t max_stop;       /* stop strings */
    int32_t max_tokens;     /* a cap on max_tokens (the context); 0: none */
    int32_t n_vocab;        /* token ids (prompt tokens, logit_bias keys) must be below it */
} srv_limits;

typedef struct srv_request {
    srv_endpoint endpoint;
    char *model;                  /* NULL when not given */
    /* chat: messages with every string owned by the request; roles are
     * "system" (developer too), "user", "assistant", "tool"; content given
     * as text parts is their texts joined with "\n" (as vLLM joins them);
     * a tool message without a name gets the name of the call it answers
     * (the assistant message just before the tool messages, same id) */
    flint_chat_message *messages;
    int32_t n_messages;
    /* completions: a string prompt, or token ids */
    char *prompt;
    int32_t *prompt_tokens;
    int32_t n_prompt_tokens;
    /* tools: the "tools" array as JSON text (NULL: none), the choice */
    char *tools;
    int32_t n_tools;
    srv_tool_choice tool_choice;
    char *tool_choice_name;       /* SRV_TOOLS_NAMED */
    int32_t thinking;             /* chat_template_kwargs.enable_thinking: 0 unset, 1 true, -1 false */
    int32_t continue_final;       /* continue_final_message (vLLM): the last message is an assistant
                                     message with text and no calls, which the reply continues (prefill) */
    flint_sampling_params sampling; /* temperature 1 when not given (OpenAI's default);
                                       sampling.logit_bias is owned by the request */
    int32_t penalties_off;        /* repeat_last_n 0 (llama.cpp): the penalties are off */
    int32_t seed_given;           /* seed was given; otherwise sampling.seed is 0 and the server picks one */
    int32_t max_tokens;           /* max_completion_tokens, else max_tokens; -1 when not given */
    char **stop;                  /* empty strings dropped */
    int32_t n_stop;
    int32_t logprobs;             /* chat: logprobs true; completions: logprobs N given */
    int32_t top_logprobs;         /* chat: top_logprobs; completions: the N of logprobs */
    int32_t stream;
    int32_t include_usage;        /* stream_options.include_usage */
    int32_t ignore_eos;           /* ignore_eos (vLLM, llama.cpp) */
    char *user;                   /* OpenAI's user field, kept for logs; NULL when absent */
} srv_request;

/* A client error: the message names the field; param is the field's name
 * ("messages[2].content", "temperature") or "" when no one field is at fault. */
typedef struct srv_error {
    char message[256];
    char param[64];
} srv_error;

/* Parses and checks body[0..len). FLINT_OK fills *out (free it with
 * srv_request_free); FLINT_E_INVALID_ARG fills *err and leaves *out empty.
 * Never reads past len; the body need not be NUL-terminated. */
flint_status srv_request_parse(const char *body, size_t len, srv_endpoint endpoint, const srv_limits *limits,
                               srv_request *out, srv_error *err);
void srv_request_free(srv_request *r);

#endif
