/* chat.c — `flint chat -m PATH [options]`: an interactive chat. Each turn
 * sends the whole conversation to the engine as chat messages; the engine
 * keeps the previous turn's sequence and reuses it as a prefix, so only
 * the new tokens are computed. Ctrl-C stops the reply being written (what
 * came so far stays in the history), not the program. */
#define _POSIX_C_SOURCE 200809L
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

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

typedef struct history {
    flint_chat_message *msgs;
    char **owned;
    int32_t n, cap;
} history;

static int add_msg(history *h, const char *role, const char *text, size_t len) {
    if (h->n == h->cap) {
        int32_t cap = h->cap ? 2 * h->cap : 16;
        flint_chat_message *m = realloc(h->msgs, (size_t)cap * sizeof *m);
        if (m) h->msgs = m;
        char **o = realloc(h->owned, (size_t)cap * sizeof *o);
        if (o) h->owned = o;
        if (!m || !o) return 0;
        h->cap = cap;
    }
    char *s = malloc(len + 1);
    if (!s) return 0;
    memcpy(s, text, len);
    s[len] = '\0';
    h->owned[h->n] = s;
    h->msgs[h->n++] = (flint_chat_message){.role = role, .content = s};
    return 1;
}

static void forget(history *h, int32_t keep) {
    while (h->n > keep) free(h->owned[--h->n]);
}

static const char help_text[] = "/reset  forget the conversation (the system message stays)\n"
                                "/exit   quit (also end of input)\n"
                                "/help   this list\n"
                                "Ctrl-C stops the reply being written.\n";

int cli_chat(int argc, char **argv) {
    const char *path = NULL, *system = NULL, *kv = NULL;
    cli_gpu_opts gpu = {0};
    int32_t gpu_layers = 0;
    int64_t gpu_memory = 0;
    cli_experts_opts experts = {0};
    int32_t threads = 0, n_ctx = 0, n_reply = 512;
    int think = 0, no_think = 0, verbose = 0, exact = 0;
    int64_t seed = 0;
    flint_sampling_params sp = CLI_SAMPLING_DEFAULTS;
    const cli_opt opts[] = {
        CLI_MODEL_OPT(path),
        {"--system", NULL, CLI_OPT_STRING, &system, .meta = "TEXT", .help = "a system message"},
        {"--think", NULL, CLI_OPT_FLAG, &think, .help = "thinking on (where the template has it)"},
        {"--no-think", NULL, CLI_OPT_FLAG, &no_think, .help = "thinking off"},
        {"-n", NULL, CLI_OPT_INT32, &n_reply, -1, 1 << 24, .help = "most tokens per reply; -1: no limit"},
        {"-c", "--ctx", CLI_OPT_INT32, &n_ctx, 16, 1 << 24, .help = "context (default: the model's, at most 4096)"},
        {"-t", NULL, CLI_OPT_INT32, &threads, 1, 1024, .help = "threads (default: one per physical core)"},
        CLI_SAMPLING_OPTS(sp, seed),
        {"--kv-type", NULL, CLI_OPT_STRING, &kv, .meta = "f16|bf16|f32", .help = "how K and V are stored (default: f16; f32 with --exact)"},
        {"--exact", NULL, CLI_OPT_FLAG, &exact, .help = "f32 activations against the dequantized weights (slower; see docs/PERF.md)"},
        {"--verbose", NULL, CLI_OPT_FLAG, &verbose, .help = "prompt sizes, cache reuse and speed on stderr"},
        CLI_GPU_OPT(gpu),
        CLI_EXPERT_OPTS(experts),
    };
    const cli_cmd cmd = {"chat", "An interactive chat with the model's chat template; /help lists the commands.",
                         opts, CLI_N_OPTS(opts)};
    int parsed = cli_args_parse(&cmd, argc, argv);
    if (parsed) return parsed == 1 ? 0 : 2;
    int32_t kv_type = cli_kv_type("chat", kv);
    if (kv_type < 0 || cli_gpu_parse("chat", &gpu, &gpu_layers, &gpu_memory)) return 2;
    if (think && no_think) {
        fprintf(stderr, "flint chat: --think or --no-think, not both\n");
        return 2;
    }
    sp.seed = (uint64_t)seed;
    int rc = 1;
    flint_model *m = NULL;
    flint_engine *e = NULL;
    history h = {0};
    char *line = NULL;
    size_t line_cap = 0;
    flint_engine_params ep = {.n_slots = 1, .n_ctx = n_ctx, .n_threads = threads, .n_cache = 1, .kv_type = kv_type,
                              .exact = exact,
                              .gpu = gpu.device, .gpu_layers = gpu_layers, .gpu_memory = gpu_memory};
    if (cli_model_open(path, &experts, &m) || flint_engine_create(m, &ep, &e)) goto fail;
    cli_experts_line(m, stderr);
    if (!flint_chat_template_name(flint_engine_tokenizer(e))) {
        fprintf(stderr, "flint chat: %s has no chat template flint knows\n", path);
        goto done;
    }
    cli_warn_ctx(e, "chat");
    struct sigaction sa = {.sa_handler = on_sigint};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    int32_t base = 0;
    if (system && !(base = add_msg(&h, "system", system, strlen(system)))) goto fail;
    for (;;) {
        fputs("> ", stderr);
        interrupted = 0;
        ssize_t got = getline(&line, &line_cap, stdin);
        if (got < 0) break;
        size_t len = strcspn(line, "\r\n");
        if (len == 0) continue;
        if (line[0] == '/') {
            line[len] = '\0';
            if (!strcmp(line, "/exit")) break;
            if (!strcmp(line, "/reset")) {
                forget(&h, base);
                fprintf(stderr, "(conversation reset)\n");
            } else if (!strcmp(line, "/help")) {
                fputs(help_text, stderr);
            } else {
                fprintf(stderr, "unknown command '%s' (/help lists them)\n", line);
            }
            continue;
        }
        if (!add_msg(&h, "user", line, len)) goto fail;
        flint_request req = {.messages = h.msgs,
                             .n_messages = h.n,
                             .chat = {.thinking = think ? 1 : no_think ? -1 : 0},
                             .sampling = sp,
                             .max_tokens = n_reply};
        uint64_t id;
        flint_status st = flint_engine_submit(e, &req, &id);
        if (st == FLINT_E_INVALID_ARG) { /* e.g. the conversation outgrew the context */
            fprintf(stderr, "(%s: /reset, or a larger -c)\n", flint_errmsg());
            forget(&h, h.n - 1);
            continue;
        }
        cli_result res = {0};
        if (st || cli_collect(e, id, stdout, &interrupted, &res)) goto fail;
        printf("\n");
        fflush(stdout);
        if (res.finish == FLINT_FINISH_CANCELLED) fprintf(stderr, "(stopped)\n");
        if (verbose || res.finish == FLINT_FINISH_ERROR) cli_result_report(&res, stderr, verbose ? e : NULL);
        int ok = res.finish == FLINT_FINISH_ERROR || add_msg(&h, "assistant", res.out.text.s ? res.out.text.s : "", res.out.text.n);
        if (res.finish == FLINT_FINISH_ERROR) forget(&h, h.n - 1);
        cli_result_free(&res);
        if (!ok) goto fail;
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "flint chat: %s\n", flint_errmsg());
done:
    free(line);
    forget(&h, 0);
    free(h.msgs);
    free(h.owned);
    cli_args_free(&cmd);
    flint_engine_free(e);
    cli_experts_save(m, &experts);
    flint_model_close(m);
    return rc;
}
