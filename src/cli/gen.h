/* gen.h — what the generating commands (run, chat, bench --parallel)
 * share on top of the engine: reading a prompt, sizing the context,
 * collecting a request's events, and printing the result. */
#ifndef FL_CLI_GEN_H
#define FL_CLI_GEN_H

#include <signal.h>
#include <stdio.h>

#include "engine/request.h"
#include "flint.h"
#include "tokenizer/tokenizer.h"

/* The sampling defaults and options of run and chat (seed: an int64_t
 * the command copies into sp.seed after parsing). */
#define CLI_SAMPLING_DEFAULTS {.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f}
#define CLI_SAMPLING_OPTS(sp, seed)                                                                           \
    {"--temp", NULL, CLI_OPT_FLOAT, &(sp).temperature, 0, 100, .help = "temperature; 0 is greedy"},           \
    {"--top-k", NULL, CLI_OPT_INT32, &(sp).top_k, 0, 1 << 30, .help = "keep the K most likely; 0: off"},      \
    {"--top-p", NULL, CLI_OPT_FLOAT, &(sp).top_p, 0, 1, .help = "nucleus sampling; 1: off"},                  \
    {"--min-p", NULL, CLI_OPT_FLOAT, &(sp).min_p, 0, 1, .help = "drop tokens below P x the best; 0: off"},    \
    {"--repeat-penalty", NULL, CLI_OPT_FLOAT, &(sp).repetition_penalty, 0, 10, .help = "1 or 0: off"},        \
    {"--presence-penalty", NULL, CLI_OPT_FLOAT, &(sp).presence_penalty, -2, 2, .help = "0: off"},             \
    {"--frequency-penalty", NULL, CLI_OPT_FLOAT, &(sp).frequency_penalty, -2, 2, .help = "0: off"},           \
    {"--seed", NULL, CLI_OPT_INT64, &(seed), 0, 9.2e18, .help = "random seed"}

/* "f16" / "bf16" / "f32" -> flint_kv_type, NULL (no --kv-type) ->
 * FLINT_KV_DEFAULT (F16, or F32 in exact mode); anything else -1, after
 * saying so as `flint CMD: ...` on stderr. */
int32_t cli_kv_type(const char *cmd, const char *name);
/* The prompt: the text itself, "-" for stdin, or (from_file) a file's
 * contents; NULL after printing why not. */
char *cli_read_prompt(const char *arg, int from_file);
/* The context run needs: the prompt's tokens (as a chat turn or as text) + n_gen. */
flint_status cli_default_ctx(flint_model *m, const char *text, int chat, int32_t n_gen, int32_t *n_ctx);
/* Warns on stderr when the context exceeds what the model was trained for. */
void cli_warn_ctx(const flint_engine *e, const char *cmd);

/* Everything one request produced. */
typedef struct cli_result {
    fl_req_out out;  /* text, tokens, logprobs, top alternatives */
    int32_t n_top;   /* -1: no logprobs were asked for */
    flint_finish_reason finish;
    char error[256];
    char stop[256];
    flint_usage usage;
} cli_result;

/* Polls request id to its end, writing text to stream (NULL: none) as it
 * comes. While *interrupt (may be NULL) is set, the request is cancelled. */
flint_status cli_collect(flint_engine *e, uint64_t id, FILE *stream, volatile sig_atomic_t *interrupt,
                         cli_result *res);
void cli_result_free(cli_result *res);
/* {"text", "tokens", "finish_reason", "usage", "timings", "logprobs"?} on one line. */
void cli_result_json(const cli_result *res, FILE *f);
/* The speed line (and with an engine, the device and memory) on f; an
 * error's message. */
void cli_result_report(const cli_result *res, FILE *f, flint_engine *verbose);
const char *cli_finish_name(flint_finish_reason r);

#endif
