/* serve.c — `flint serve -m PATH [options]`: the OpenAI-compatible HTTP
 * server. It listens first (so /health says "loading"), then loads the
 * model, serves until SIGINT or SIGTERM, and then cancels what runs, lets
 * every stream end and exits 0. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
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
#include "server/server.h"

/* The key file's first line, without its line ending. */
static char *read_key_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "flint serve: --api-key-file %s: cannot open it\n", path);
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (n <= 0) {
        fprintf(stderr, "flint serve: --api-key-file %s: the first line is empty\n", path);
        free(line);
        return NULL;
    }
    return line;
}

int cli_serve(int argc, char **argv) {
    const char *path = NULL, *host = "127.0.0.1", *key = NULL, *key_file = NULL, *alias = NULL, *kv = NULL;
    const char *chat_template = NULL;
    cli_gpu_opts gpu = {0};
    int32_t gpu_layers = 0;
    int64_t gpu_memory = 0;
    cli_experts_opts experts = {0};
    int32_t port = 8080, parallel = 4, n_ctx = 0, threads = 0, timeout = 600, idle = 30, read_timeout = 30, max_queue = 64;
    int32_t step_tokens = 512;
    int32_t max_messages = 4096, max_conn = 256;
    int64_t max_body = 8 << 20;
    int deterministic = 0, exact = 0;
    const cli_opt opts[] = {
        CLI_MODEL_OPT(path),
        {"--host", NULL, CLI_OPT_STRING, &host, .meta = "ADDR", .help = "address to listen on (0.0.0.0: every interface)"},
        {"--port", NULL, CLI_OPT_INT32, &port, 1, 65535, .help = "TCP port"},
        {"--parallel", "-np", CLI_OPT_INT32, &parallel, 1, 1024, .help = "requests generated at once"},
        {"-c", "--ctx", CLI_OPT_INT32, &n_ctx, 1, 1 << 24, .help = "positions per request (default: min(4096, trained))"},
        {"-t", NULL, CLI_OPT_INT32, &threads, 1, 1024, .help = "threads (default: one per physical core)"},
        {"--step-tokens", "-b", CLI_OPT_INT32, &step_tokens, 16, 1 << 16,
         .help = "tokens per forward step: decodes plus prompt chunks (smaller: steadier streams, slower prompts)"},
        {"--max-queue", NULL, CLI_OPT_INT32, &max_queue, 1, 1 << 20, .help = "requests waiting for a slot before 429"},
        {"--kv-type", NULL, CLI_OPT_STRING, &kv, .meta = "f16|bf16|f32", .help = "how K and V are stored (default: f16; f32 with --exact)"},
        {"--deterministic", NULL, CLI_OPT_FLAG, &deterministic,
         .help = "batch-invariant arithmetic: a request's output does not depend on what else runs"},
        {"--exact", NULL, CLI_OPT_FLAG, &exact, .help = "f32 activations against the dequantized weights (slower; see docs/PERF.md)"},
        {"--api-key", NULL, CLI_OPT_STRING, &key, .meta = "KEY", .help = "require \"Authorization: Bearer KEY\""},
        {"--api-key-file", NULL, CLI_OPT_STRING, &key_file, .meta = "FILE", .help = "the key from a file's first line"},
        {"--chat-template", NULL, CLI_OPT_STRING, &chat_template, .meta = "gemma|gemma4|chatml",
         .help = "render chats with this family's template, not the file's"},
        {"--alias", NULL, CLI_OPT_STRING, &alias, .meta = "NAME", .help = "the model's name in /v1/models (default: the file's)"},
        {"--timeout", NULL, CLI_OPT_INT32, &timeout, 0, 1 << 24, .help = "seconds a request may run; 0: no limit"},
        {"--idle-timeout", NULL, CLI_OPT_INT32, &idle, 1, 86400, .help = "seconds a silent connection is kept"},
        {"--read-timeout", NULL, CLI_OPT_INT32, &read_timeout, 1, 86400,
         .help = "seconds a client has to send a whole request"},
        {"--max-body", NULL, CLI_OPT_INT64, &max_body, 1024, 1 << 30, .help = "bytes of a request body"},
        {"--max-messages", NULL, CLI_OPT_INT32, &max_messages, 1, 1 << 20, .help = "messages of a chat request"},
        {"--max-connections", NULL, CLI_OPT_INT32, &max_conn, 1, 65536, .help = "connections at once"},
        CLI_GPU_OPT(gpu),
        CLI_EXPERT_OPTS(experts),
    };
    const cli_cmd cmd = {"serve", "An OpenAI-compatible HTTP server: /v1/chat/completions, /v1/completions, "
                                  "/v1/models, /health, /metrics, /tokenize, /detokenize, and a chat page at /.",
                         opts, CLI_N_OPTS(opts)};
    int parsed = cli_args_parse(&cmd, argc, argv);
    if (parsed) return parsed == 1 ? 0 : 2;
    int rc = 2;
    char *file_key = NULL, *name = NULL;
    srv *s = NULL;
    flint_model *m = NULL;
    flint_engine *e = NULL;
    int32_t kv_type = cli_kv_type("serve", kv);
    if (kv_type < 0 || cli_gpu_parse("serve", &gpu, &gpu_layers, &gpu_memory)) goto done;
    if (key && key_file) {
        fprintf(stderr, "flint serve: --api-key or --api-key-file, not both\n");
        goto done;
    }
    if (key && !*key) {
        fprintf(stderr, "flint serve: --api-key is empty\n");
        goto done;
    }
    if (key_file && !(key = file_key = read_key_file(key_file))) goto done;
    rc = 1;
    /* the name: --alias, else the file or folder's base name */
    const char *base = strrchr(path, '/');
    base = base && base[1] ? base + 1 : path;
    name = strdup(alias ? alias : base);
    /* SIGINT and SIGTERM are blocked in every thread (the server's and the
     * engine's inherit the mask) and taken by sigwait below: a signal during
     * the load ends the server once the load is done */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    srv_options so = {.host = host, .port = port, .api_key = key, .model_name = name, .timeout_s = timeout,
                      .idle_timeout_s = idle, .read_timeout_s = read_timeout, .max_body = (size_t)max_body, .max_messages = max_messages,
                      .max_connections = max_conn};
    if (!name || srv_start(&so, &s)) goto fail;
    fprintf(stderr, "flint serve: listening on http://%s%s%s:%d/ (loading %s)\n", strchr(host, ':') ? "[" : "", host,
            strchr(host, ':') ? "]" : "", (int)port, path);
    if (cli_model_open(path, &experts, &m)) goto fail;
    flint_engine_params ep = {.n_slots = parallel, .n_ctx = n_ctx, .n_threads = threads, .max_queue = max_queue, .step_tokens = step_tokens,
                              .kv_type = kv_type, .deterministic = deterministic,
                              .chat_template = chat_template, .exact = exact,
                              .gpu = gpu.device, .gpu_layers = gpu_layers, .gpu_memory = gpu_memory};
    if (flint_engine_create(m, &ep, &e)) goto fail;
    cli_experts_line(m, stderr);
    cli_warn_ctx(e, "serve");
    const char *tpl = flint_chat_template_name(flint_engine_tokenizer(e));
    const char *text;
    uint64_t len;
    if (chat_template) fprintf(stderr, "flint serve: chat requests use the %s template (--chat-template)\n", tpl);
    else if (!tpl) fprintf(stderr, "flint serve: this model has no chat template flint knows: only /v1/completions works\n");
    else if (flint_meta_get_str(m, "tokenizer.chat_template", &text, &len))
        fprintf(stderr, "flint serve: the model file carries no chat template: chat requests use the %s family's\n", tpl);
    srv_set_engine(s, e);
    fprintf(stderr, "flint serve: ready: model \"%s\" on %s, %d slots of %d positions%s%s%s\n", name,
            flint_engine_device(e), (int)parallel, (int)flint_engine_n_ctx(e), deterministic ? ", deterministic" : "",
            exact ? ", exact" : "", key ? ", API key required" : "");
    int sig = 0;
    sigwait(&stop_signals, &sig);
    fprintf(stderr, "flint serve: %s: cancelling what runs and stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "flint serve: %s\n", flint_errmsg());
done:
    srv_stop(s);
    flint_engine_free(e);
    cli_experts_save(m, &experts);
    flint_model_close(m);
    free(file_key);
    free(name);
    cli_args_free(&cmd);
    return rc;
}
