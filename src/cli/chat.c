/* chat.c — `flint chat -m PATH [options]`: an interactive chat with
 * history. Each turn renders the whole conversation with the model's chat
 * template, decodes only the tokens the cache does not hold yet (the
 * rendered history is normally a prefix of the new prompt), streams the
 * reply until a stop token, and keeps it in the history. /reset starts
 * over, /exit (or end of input) quits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "cli/cli.h"
#include "flint.h"
#include "sample/sample.h"
#include "tokenizer/tokenizer.h"

#define MAX_TURNS 1024

static void usage(FILE *f) {
    fprintf(f, "usage: flint chat -m PATH [options]\n"
               "  --system TEXT   a system message\n"
               "  --think | --no-think   turn the model's thinking on or off (where the template has it)\n"
               "  -n N            most tokens per reply (default 512)\n"
               "  --verbose       prompt sizes and cache reuse on stderr\n"
               "  -c CTX          context (default 4096)   -t THREADS\n"
               "  --temp T --top-k K --top-p P --min-p P --seed S   sampling, as in flint run\n"
               "commands at the prompt: /reset (forget the conversation), /exit\n");
}

typedef struct chat {
    flint_context *ctx;
    fl_tokenizer *tok;
    flint_sampler *smp;
    fl_chat_family fam;
    fl_chat_params cp;
    fl_chat_msg msgs[MAX_TURNS];
    char *owned[MAX_TURNS];
    size_t n_msgs;
    fl_tok_ids cached; /* the tokens sequence 0 holds */
    float *logits;
    int32_t n_reply;
    int verbose;
} chat;

static void forget(chat *c, size_t keep) {
    for (size_t i = keep; i < c->n_msgs; i++) free(c->owned[i]);
    c->n_msgs = keep;
}

static int add_msg(chat *c, const char *role, const char *text, size_t len) {
    if (c->n_msgs == MAX_TURNS) return 0;
    char *s = malloc(len + 1);
    if (!s) return 0;
    memcpy(s, text, len);
    s[len] = '\0';
    c->owned[c->n_msgs] = s;
    c->msgs[c->n_msgs++] = (fl_chat_msg){.role = role, .content = s};
    return 1;
}

/* Brings the cache to `want` (reusing the common prefix when the cache
 * holds exactly a prefix) and leaves the last position's logits. */
static flint_status sync_cache(chat *c, const fl_tok_ids *want) {
    size_t common = 0;
    while (common < c->cached.n && common < want->n && c->cached.ids[common] == want->ids[common]) common++;
    if (common == want->n) common--; /* decode at least the last token, for its logits */
    if (common < c->cached.n && flint_seq_truncate(c->ctx, 0, (int32_t)common) != FLINT_OK) {
        flint_status st = flint_seq_reset(c->ctx, 0); /* too far back for the sliding window: start over */
        if (st) return st;
        common = 0;
    }
    if (c->verbose) fprintf(stderr, "(prompt %zu tokens, %zu reused from the cache)\n", want->n, common);
    flint_status st = flint_decode(c->ctx, 0, want->ids + common, (int32_t)(want->n - common), c->logits, 0);
    if (st) return st;
    free(c->cached.ids);
    c->cached.ids = malloc(want->n * sizeof *c->cached.ids);
    if (!c->cached.ids) return fl_errorf(FLINT_E_NOMEM, "out of memory for %zu prompt tokens", want->n);
    memcpy(c->cached.ids, want->ids, want->n * sizeof *want->ids);
    c->cached.n = c->cached.cap = want->n;
    return FLINT_OK;
}

/* One turn: prompt the model with the conversation and stream its reply. */
static flint_status turn(chat *c, fl_tok_text *reply) {
    fl_tok_text prompt = {0};
    fl_tok_ids ids = {0};
    flint_status st = fl_chat_render(c->fam, c->msgs, c->n_msgs, &c->cp, &prompt);
    if (!st) st = fl_tokenize(c->tok, prompt.s, prompt.n, FL_TOK_PARSE_SPECIAL, &ids);
    if (!st && (int64_t)ids.n + c->n_reply > flint_context_n_ctx(c->ctx)) {
        fprintf(stderr, "(the conversation no longer fits the context of %d tokens: /reset, or a larger -c)\n",
                flint_context_n_ctx(c->ctx));
        st = fl_errorf(FLINT_E_INVALID_ARG, "context full");
    }
    if (!st) st = sync_cache(c, &ids);
    flint_sampler_reset(c->smp);
    fl_tok_stream stream;
    fl_tok_stream_init(&stream, c->tok, 0);
    reply->n = 0;
    for (int32_t i = 0; !st && i < c->n_reply; i++) {
        int32_t t = flint_sampler_sample(c->smp, c->logits);
        if (fl_tokenizer_is_stop(c->tok, t)) break;
        size_t before = reply->n;
        if ((st = fl_tok_stream_push(&stream, t, reply))) break;
        fwrite(reply->s + before, 1, reply->n - before, stdout);
        fflush(stdout);
        if ((st = flint_decode(c->ctx, 0, &t, 1, c->logits, 0))) break;
        if (c->cached.n == c->cached.cap) {
            size_t cap = c->cached.cap * 2 + 16;
            int32_t *p = realloc(c->cached.ids, cap * sizeof *p);
            if (!p) {
                st = fl_errorf(FLINT_E_NOMEM, "out of memory for the reply");
                break;
            }
            c->cached.ids = p, c->cached.cap = cap;
        }
        c->cached.ids[c->cached.n++] = t;
    }
    if (!st) fl_tok_stream_flush(&stream, reply);
    printf("\n");
    fl_tok_text_free(&prompt);
    fl_tok_ids_free(&ids);
    return st;
}

int cli_chat(int argc, char **argv) {
    const char *path = NULL, *system = NULL;
    int32_t threads = 0, n_ctx = 4096, think = -1;
    chat c = {.n_reply = 512};
    flint_sampling_params sp = {.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f, .repetition_penalty = 1};
    for (int i = 1; i < argc;) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout), 0;
        if (!strcmp(a, "--think") || !strcmp(a, "--no-think") || !strcmp(a, "--verbose")) {
            if (!strcmp(a, "--verbose")) c.verbose = 1;
            else think = !strcmp(a, "--think");
            i++;
            continue;
        }
        if (!v) return fprintf(stderr, "flint chat: '%s' needs a value\n", a), 2;
        if (!strcmp(a, "-m")) path = v;
        else if (!strcmp(a, "--system")) system = v;
        else if (!strcmp(a, "-n")) c.n_reply = atoi(v);
        else if (!strcmp(a, "-c")) n_ctx = atoi(v);
        else if (!strcmp(a, "-t")) threads = atoi(v);
        else if (!strcmp(a, "--temp")) sp.temperature = strtof(v, NULL);
        else if (!strcmp(a, "--top-k")) sp.top_k = atoi(v);
        else if (!strcmp(a, "--top-p")) sp.top_p = strtof(v, NULL);
        else if (!strcmp(a, "--min-p")) sp.min_p = strtof(v, NULL);
        else if (!strcmp(a, "--seed")) sp.seed = strtoull(v, NULL, 10);
        else return fprintf(stderr, "flint chat: unexpected argument '%s'\n", a), usage(stderr), 2;
        i += 2;
    }
    if (!path || c.n_reply <= 0 || n_ctx <= 0) return usage(stderr), 2;

    int rc = 1;
    flint_model *m = NULL;
    fl_tok_text reply = {0};
    flint_context_params cpar = {.n_ctx = n_ctx, .n_threads = threads};
    if (flint_model_open(path, NULL, &m) || fl_tokenizer_load(path, &c.tok) || flint_context_create(m, &cpar, &c.ctx))
        goto fail;
    c.fam = fl_tokenizer_chat_family(c.tok);
    if (c.fam == FL_CHAT_NONE) {
        fprintf(stderr, "flint chat: %s has no chat template flint knows\n", path);
        goto done;
    }
    int32_t n_vocab = flint_context_n_vocab(c.ctx), n_real = fl_tokenizer_n_vocab(c.tok);
    if (n_real > 0 && n_real < n_vocab) n_vocab = n_real;
    if (!(c.logits = malloc((size_t)flint_context_n_vocab(c.ctx) * sizeof *c.logits)) ||
        flint_sampler_create(&sp, n_vocab, &c.smp))
        goto fail;
    int32_t bos = fl_tokenizer_bos(c.tok);
    c.cp = (fl_chat_params){.add_generation_prompt = true, .enable_thinking = think};
    if (bos >= 0 && fl_tokenizer_add_bos(c.tok)) c.cp.bos = fl_tokenizer_piece(c.tok, bos, NULL);
    size_t base = 0;
    if (system && add_msg(&c, "system", system, strlen(system))) base = 1;

    char line[65536];
    for (;;) {
        fputs("> ", stderr);
        if (!fgets(line, sizeof line, stdin)) break;
        size_t len = strcspn(line, "\n");
        if (len == 0) continue;
        if (!strncmp(line, "/exit", 5)) break;
        if (!strncmp(line, "/reset", 6)) {
            forget(&c, base);
            fprintf(stderr, "(conversation reset)\n");
            continue;
        }
        if (!add_msg(&c, "user", line, len)) {
            fprintf(stderr, "flint chat: the conversation is too long\n");
            break;
        }
        flint_status st = turn(&c, &reply);
        if (st == FLINT_E_INVALID_ARG) {
            forget(&c, c.n_msgs - 1);
            continue;
        }
        if (st) goto fail;
        if (!add_msg(&c, "assistant", reply.s ? reply.s : "", reply.n)) break;
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "flint chat: %s\n", flint_errmsg());
done:
    forget(&c, 0);
    free(c.logits);
    free(c.cached.ids);
    fl_tok_text_free(&reply);
    flint_sampler_free(c.smp);
    fl_tokenizer_free(c.tok);
    flint_context_free(c.ctx);
    flint_model_close(m);
    return rc;
}
