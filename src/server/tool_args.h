/* tool_args.h — one tool-call argument value written as JSON text
 *
 * output.c finds the calls in a reply; this file knows how a value is
 * written in each family and what JSON it becomes:
 *   chatml (Qwen3.5 XML): the text between <parameter=K> and </parameter>,
 *     typed by the type the tool's JSON schema gives K, as vLLM's
 *     qwen3_coder parser types it;
 *   gemma4: <|"|>text<|"|>, {key:value,...}, [value,...] or a bare word
 *     (number, true, false, null), nested freely.
 * Everything appends to an fl_tok_text and returns FLINT_OK or
 * FLINT_E_NOMEM; what is appended is always valid JSON (invalid UTF-8
 * becomes U+FFFD). No I/O, no state beyond the arguments. */
#ifndef FLINT_SERVER_TOOL_ARGS_H
#define FLINT_SERVER_TOOL_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "tokenizer/tokenizer.h"

/* Gemma 4's string delimiter and the end of a call. */
#define SRV_G4_QUOTE "<|\"|>"
#define SRV_G4_CALL_END "<tool_call|>"

/* The "properties" object of the function called name in tools (an OpenAI
 * tools array), or NULL when there is none. Borrowed from tools. */
json_t *srv_tool_properties(json_t *tools, const char *name);

/* s[0..n) as a JSON string, quotes included. */
flint_status srv_json_put_string(fl_tok_text *out, const char *s, size_t n);

/* A Qwen3.5 parameter's value (newlines around it already trimmed) typed
 * by props[key].type: "null" (any case) is null for every type; a string
 * type, an unknown key or no schema keep the text; integer / number types
 * read a number (a number with no fraction is written as an integer),
 * boolean ones are true exactly for "true" (any case); object, array and
 * every other type read the text as JSON; text that does not read as its
 * type stays a string. */
flint_status srv_args_put_xml_value(fl_tok_text *out, const json_t *props, const char *key, const char *value,
                                    size_t n);

/* Where a Gemma 4 value that starts at s[0] (no leading whitespace) ends.
 * Call it again as the text grows (s stays the value's start, n grows) with
 * the same scan (zeroed for a new value): it resumes where it stopped. True
 * once the value is complete, with its length in *len: a string through its
 * closing <|"|>, an object or array through its closing bracket, a bare
 * word up to the ',', '}' or ']' after it (not included). A value the model
 * leaves open ends before a "<tool_call|>" outside strings. */
typedef struct srv_g4_scan {
    size_t pos;   /* bytes examined */
    size_t depth; /* open brackets */
    bool in_string;
} srv_g4_scan;
bool srv_gemma4_value_end(const char *s, size_t n, srv_g4_scan *scan, size_t *len);

/* A complete Gemma 4 value s[0..n) as JSON. Strings keep their text;
 * true / false; null, none, nil (any case) are null; a bare word that is a
 * JSON number is that number, any other bare word a string (trimmed);
 * objects and arrays convert recursively, closed if the text ends inside
 * them. */
flint_status srv_args_put_gemma4_value(fl_tok_text *out, const char *s, size_t n);

#endif
