/* output.h — the model's reply split into content, reasoning and tool calls
 *
 * The engine streams text; an OpenAI reply separates what the model thought
 * (reasoning_content), what it said (content) and the functions it called
 * (tool_calls). The split depends on the family's syntax:
 *   chatml (Qwen3.5/3.6): <think>...</think>, then text and
 *     <tool_call>\n<function=NAME>\n<parameter=P>\nVALUE\n</parameter>\n...</function>\n</tool_call>
 *   gemma4: <|channel>thought\n...<channel|>, then text and
 *     <|tool_call>call:NAME{key:<|"|>text<|"|>,n:5,...}<tool_call|>
 *   gemma (1-3): plain text.
 * The parser is fed the text as it arrives and emits deltas as soon as they
 * are certain: text that may be the start of a marker is held back until the
 * next feed shows it is not. */
#ifndef FLINT_SERVER_OUTPUT_H
#define FLINT_SERVER_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

typedef enum srv_delta_kind {
    SRV_DELTA_CONTENT = 0,   /* text: plain reply text */
    SRV_DELTA_REASONING,     /* text: thinking */
    SRV_DELTA_TOOL_START,    /* a new call: index, id, name */
    SRV_DELTA_TOOL_ARGS,     /* text: the next piece of call `index`'s arguments (JSON text; the
                                pieces of one call concatenate to one JSON object) */
} srv_delta_kind;

typedef struct srv_delta {
    srv_delta_kind kind;
    const char *text;
    size_t len;
    int32_t index;           /* tool calls: 0, 1, ... in order */
    const char *id;          /* TOOL_START: "call_" + 24 random alphanumerics, stable for the call */
    const char *name;        /* TOOL_START */
} srv_delta;

typedef void (*srv_delta_fn)(const srv_delta *d, void *user);

typedef struct srv_output srv_output;

/* template: flint_chat_template_name()'s answer ("chatml", "gemma4", "gemma"
 * or NULL: plain text). tools: the request's tools array as JSON text, or
 * NULL (no tool-call parsing); argument values are typed by the tool's
 * parameter schema (a chatml "5" for an integer parameter is 5, for a
 * string "5"). in_reasoning: the prompt left a thinking block open (the
 * Qwen3.5 generation prompt with thinking on ends in "<think>\n"). Returns
 * NULL on allocation failure. */
srv_output *srv_output_new(const char *template_name, const char *tools, int in_reasoning);
void srv_output_free(srv_output *o);
/* Parses text[0..len) (whole UTF-8 characters) and calls emit for each delta. */
void srv_output_feed(srv_output *o, const char *text, size_t len, srv_delta_fn emit, void *user);
/* Feeds the start of the reply that the client gave (a prefill): parsed as
 * reply text, but its content and reasoning are not emitted — not even the
 * part held back until later text decides it; the calls it starts are. */
void srv_output_give(srv_output *o, const char *text, size_t len, srv_delta_fn emit, void *user);
/* End of the reply: flushes what was held back. A call cut off before its
 * name is complete (max_tokens) is emitted as content text, as written; one
 * cut off later stays as emitted (its finish_reason "length" says so). */
void srv_output_finish(srv_output *o, srv_delta_fn emit, void *user);
/* Number of complete tool calls emitted so far (finish_reason "tool_calls"). */
int32_t srv_output_n_tool_calls(const srv_output *o);

#endif
