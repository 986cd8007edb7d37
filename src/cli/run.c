/* run.c — `flint run -m PATH (-p TEXT | -p - | -f FILE) [options]`: one
 * request through the engine, its text streamed to stdout (or, with
 * --json, one object at the end); speed goes to stderr. The prompt is
 * used as it is, or with --chat as a user turn through the model's
 * template. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/model_arg.h"
#include "cli/cli.h"
#include "cli/experts.h"
#include "cli/gpu.h"
#include "cli/gen.h"
#include "flint.h"

int cli_run(int argc, char **argv) {
    const char *path = NULL, *prompt = NULL, *file = NULL, *system = NULL, *kv = NULL;
    cli_gpu_opts gpu = {0};
    int32_t gpu_layers = 0;
    int64_t gpu_memory = 0;
    cli_experts_opts experts = {0};
    cli_strings stops = {0};
    int32_t n_gen = 128, threads = 0, n_ctx = 0, top_logprobs = -1;
    int chat = 0, json = 0, verbose = 0, think = 0, no_think = 0, deterministic = 0, ignore_eos = 0, exact = 0;
    int64_t seed = 0;
    flint_sampling_params sp = CLI_SAMPLING_DEFAULTS;
    const cli_opt opts[] = {
        CLI_MODEL_OPT(path),
        {"-p", "--prompt", CLI_OPT_STRING, &prompt, .meta = "TEXT", .help = "the prompt; - reads it from stdin"},
        {"-f", "--file", CLI_OPT_STRING, &file, .meta = "FILE", .help = "read the prompt from a file"},
        {"--chat", NULL, CLI_OPT_FLAG, &chat, .help = "send the prompt as a user turn through the chat template"},
        {"--system", NULL, CLI_OPT_STRING, &system, .meta = "TEXT", .help = "a system message (with --chat)"},
        {"--think", NULL, CLI_OPT_FLAG, &think, .help = "thinking on (with --chat, where the template has it)"},
        {"--no-think", NULL, CLI_OPT_FLAG, &no_think, .help = "thinking off (with --chat)"},
        {"-n", "--max-tokens", CLI_OPT_INT32, &n_gen, -1, 1 << 24,
         .help = "tokens to generate; -1: until the end of the turn or a full context"},
        {"--stop", NULL, CLI_OPT_STRINGS, &stops, .meta = "TEXT", .help = "stop before this text (repeatable)"},
        {"--ignore-eos", NULL, CLI_OPT_FLAG, &ignore_eos, .help = "keep going past end-of-turn tokens"},
        CLI_SAMPLING_OPTS(sp, seed),
        {"--logprobs", NULL, CLI_OPT_INT32, &top_logprobs, 0, 20,
         .help = "with --json: each token's log-probability and its N best alternatives"},
        {"-t", NULL, CLI_OPT_INT32, &threads, 1, 1024, .help = "threads (default: one per physical core)"},
        {"-c", "--ctx", CLI_OPT_INT32, &n_ctx, 1, 1 << 24, .help = "context (default: prompt + n, or the model's)"},
        {"--kv-type", NULL, CLI_OPT_STRING, &kv, .meta = "f16|bf16|f32", .help = "how K and V are stored (default: f16; f32 with --exact)"},
        {"--deterministic", NULL, CLI_OPT_FLAG, &deterministic, .help = "batch-invariant arithmetic"},
        {"--exact", NULL, CLI_OPT_FLAG, &exact, .help = "f32 activations against the dequantized weights (slower; see docs/PERF.md)"},
        {"--json", NULL, CLI_OPT_FLAG, &json, .help = "one JSON object at the end instead of streamed text"},
        {"--verbose", NULL, CLI_OPT_FLAG, &verbose, .help = "memory and cache use on stderr"},
        CLI_GPU_OPT(gpu),
        CLI_EXPERT_OPTS(experts),
    };
    const cli_cmd cmd = {"run", "Generates from a prompt, streaming the text to stdout.", opts, CLI_N_OPTS(opts)};
    int parsed = cli_args_parse(&cmd, argc, argv);
    if (parsed) return parsed == 1 ? 0 : 2;
    int rc = 2;
    char *text = NULL;
    flint_model *m = NULL;
    flint_engine *e = NULL;
    int32_t kv_type = cli_kv_type("run", kv);
    if (kv_type < 0 || cli_gpu_parse("run", &gpu, &gpu_layers, &gpu_memory)) goto done;
    if (!!prompt + !!file != 1) fprintf(stderr, "flint run: give the prompt with -p TEXT, -p - or -f FILE\n");
    else if ((system || think || no_think) && !chat) fprintf(stderr, "flint run: --system and --think need --chat\n");
    else if (think && no_think) fprintf(stderr, "flint run: --think or --no-think, not both\n");
    else if (!(text = cli_read_prompt(file ? file : prompt, file != NULL))) rc = 1;
    else rc = 0;
    if (rc) goto done;
    rc = 1;
    sp.seed = (uint64_t)seed;
    if (cli_model_open(path, &experts, &m)) goto fail;
    /* n_cache 1: the finished request's sequence stays, so --verbose reports its K/V */
    flint_engine_params ep = {.n_slots = 1, .n_ctx = n_ctx, .n_threads = threads, .n_cache = 1,
                              .kv_type = kv_type, .deterministic = deterministic, .exact = exact,
                              .gpu = gpu.device, .gpu_layers = gpu_layers, .gpu_memory = gpu_memory};
    if (!n_ctx && n_gen > 0 && cli_default_ctx(m, text, chat, n_gen, &ep.n_ctx)) goto fail;
    if (flint_engine_create(m, &ep, &e)) goto fail;
    cli_experts_line(m, stderr);
    cli_warn_ctx(e, "run");
    flint_chat_message msgs[2];
    int32_t n_msgs = 0;
    if (system) msgs[n_msgs++] = (flint_chat_message){.role = "system", .content = system};
    msgs[n_msgs++] = (flint_chat_message){.role = "user", .content = text};
    flint_request req = {
        .prompt = chat ? NULL : text,
        .messages = chat ? msgs : NULL,
        .n_messages = chat ? n_msgs : 0,
        .chat = {.thinking = think ? 1 : no_think ? -1 : 0},
        .sampling = sp,
        .max_tokens = n_gen,
        .stop = stops.v,
        .n_stop = stops.n,
        .ignore_eos = ignore_eos,
        .logprobs = json && top_logprobs >= 0,
        .top_logprobs = json && top_logprobs > 0 ? top_logprobs : 0,
    };
    uint64_t id;
    if (flint_engine_submit(e, &req, &id)) goto fail;
    cli_result res = {0};
    if (cli_collect(e, id, json ? NULL : stdout, NULL, &res)) goto fail;
    if (json) cli_result_json(&res, stdout);
    else if (res.finish != FLINT_FINISH_ERROR) printf("\n");
    fflush(stdout);
    cli_result_report(&res, stderr, verbose ? e : NULL);
    rc = res.finish == FLINT_FINISH_ERROR ? 1 : 0;
    cli_result_free(&res);
    goto done;
fail:
    fprintf(stderr, "flint run: %s\n", flint_errmsg());
done:
    free(text);
    cli_args_free(&cmd);
    flint_engine_free(e);
    cli_experts_save(m, &experts);
    flint_model_close(m);
    return rc;
}
