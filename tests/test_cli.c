/* test_cli.c — the command line as a user runs it: `flint info`'s tensor
 * listing against what the gguf package's GGUFReader reads from the
 * bundled model, `flint bench --json`, perplexity against llama.cpp's,
 * chat through a pipe, --exact (each command's help, and flint logits
 * against a reference), an MLX folder (info, run, and flint logits against
 * mlx-lm's), --gpu and info --gpus in a build without a GPU backend, and
 * the exit codes and messages for bad invocations. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include "flint.h"
#include "base/file.h"
#include "harness.h"

/* Runs cmd, returns its exit status and stdout+stderr in *out (malloc'ed). */
static int run(const char *cmd, char **out) {
    char full[1024];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    size_t n = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    if (!p || !buf) abort();
    size_t k;
    while ((k = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += k;
        if (cap - n < 4096 && !(buf = realloc(buf, cap *= 2))) abort();
    }
    buf[n] = '\0';
    *out = buf;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Each line of the gguf-py listing "name|TYPE|shape|offset|bytes" must be a
 * row of `flint info --tensors`. */
static void test_tensor_listing(void) {
    TEST_GROUP("info --tensors");
    char *out;
    int rc = run(FLINT_BIN " info -m models/tiny-gemma3.gguf --tensors", &out);
    CHECK_INT_EQ(rc, 0);
    CHECK(strstr(out, "architecture: gemma3") != NULL);
    CHECK(strstr(out, "block_count") != NULL);
    FILE *f = fopen(FIXTURE("gguf/tiny-gemma3.tensors.txt"), "r");
    CHECK(f != NULL);
    char line[512];
    int rows = 0;
    while (f && fgets(line, sizeof line, f)) {
        char name[128], type[16], shape[64];
        unsigned long long offset, bytes;
        if (sscanf(line, "%127[^|]|%15[^|]|%63[^|]|%llu|%llu", name, type, shape, &offset, &bytes) != 5) continue;
        char want[512];
        snprintf(want, sizeof want, "%-56s %-8s %-28s %14llu %12llu\n", name, type, shape, offset, bytes);
        CHECK_MSG(strstr(out, want) != NULL, "missing row: %s", want);
        rows++;
        long long h, n_vocab;
        if (!strcmp(name, "token_embd.weight") && sscanf(shape, "%lld x %lld", &h, &n_vocab) == 2) {
            /* the tokenizer summary lists one token per embedding row */
            snprintf(want, sizeof want, "[%lld x string]", n_vocab);
            CHECK_MSG(strstr(out, want) != NULL, "no %s in the tokenizer summary", want);
        }
    }
    if (f) fclose(f);
    CHECK_INT_EQ(rows, 2 + 13 * 2);
    char want[64];
    snprintf(want, sizeof want, "tensors: %d,", rows);
    CHECK(strstr(out, want) != NULL);
    free(out);
}

static void test_bad_invocations(void) {
    TEST_GROUP("bad invocations");
    char *out;
    int rc;
    CHECK_INT_EQ(run(FLINT_BIN " info -m tests/fixtures/absent.gguf", &out), 1);
    CHECK(strstr(out, "absent.gguf") != NULL && strstr(out, "cannot open") != NULL);
    free(out);
    CHECK_INT_EQ(run(FLINT_BIN " info -m tests/harness.h", &out), 1);
    CHECK(strstr(out, "harness.h") != NULL && strstr(out, "not a GGUF file") != NULL);
    free(out);
    CHECK_INT_EQ(run(FLINT_BIN " info", &out), 2);
    CHECK(strstr(out, "usage: flint info") != NULL);
    free(out);
    CHECK_INT_EQ(run(FLINT_BIN " frobnicate", &out), 2);
    CHECK(strstr(out, "unknown command 'frobnicate'") != NULL);
    free(out);
    rc = run(FLINT_BIN " --help", &out);
    CHECK_INT_EQ(rc, 0);
    CHECK(strstr(out, "info") != NULL);
    free(out);
}

/* The running estimates of "[i]v," lists into v[]; returns the count. */
static int parse_chunks(const char *s, double *v, int cap) {
    int n = 0;
    const char *p = s;
    while (n < cap && (p = strchr(p, '['))) {
        int idx;
        double x;
        if (sscanf(p, "[%d]%lf,", &idx, &x) == 2 && idx == n + 1) v[n++] = x;
        p++;
    }
    return n;
}

/* flint perplexity against llama.cpp's perplexity tool on the same GGUF and
 * text (its output is the fixture): same chunks, same numbers up to float
 * summation order. */
static void test_perplexity_vs_llama_cpp(void) {
    TEST_GROUP("perplexity vs llama.cpp");
    char *out, *want = NULL;
    int rc = run(FLINT_BIN " perplexity -m models/tiny-gemma3.gguf -f tests/fixtures/gemma3/ppl-text.txt -c 128 -t 1", &out);
    CHECK_INT_EQ(rc, 0);
    FILE *f = fopen(FIXTURE("gemma3/ppl-llama.cpp.txt"), "r");
    if (f) {
        want = calloc(1, 1 << 16);
        if (want) fread(want, 1, (1 << 16) - 1, f);
        fclose(f);
    }
    CHECK(want != NULL);
    double a[256], b[256];
    int na = parse_chunks(out, a, 256), nb = want ? parse_chunks(want, b, 256) : 0;
    CHECK_MSG(na == nb && na > 10, "flint %d chunks, llama.cpp %d", na, nb);
    double worst = 0;
    for (int i = 0; i < na && i < nb; i++) worst = fmax(worst, fabs(a[i] - b[i]) / b[i]);
    CHECK_MSG(worst < 5e-3, "a running estimate differs by %.3g (relative)", worst);
    CHECK_MSG(na > 0 && nb > 0 && fabs(a[na - 1] - b[nb - 1]) / b[nb - 1] < 1e-3, "final %.4f vs %.4f", a[na - 1], b[nb - 1]);
    char last[64];
    snprintf(last, sizeof last, "perplexity: %.4f\n", na ? a[na - 1] : 0.0);
    CHECK(strstr(out, last) != NULL);
    free(want);
    free(out);
}

/* flint chat through a pipe: turns, /reset and /exit; the second turn
 * reuses the first one's cache. */
static void test_chat(void) {
    TEST_GROUP("chat");
    char *out;
    int rc = run("printf 'hello there\\nhow are you\\n/reset\\nagain\\n/exit\\n' | " FLINT_BIN
                 " chat -m models/tiny-gemma3.gguf -n 8 --temp 0 --verbose", &out);
    CHECK_INT_EQ(rc, 0);
    CHECK(strstr(out, "prefill: 27 tokens (0 cached)") != NULL);
    CHECK(strstr(out, "(27 cached)") != NULL && strstr(out, "(conversation reset)") != NULL);
    CHECK(strstr(out, "/help") == NULL);
    free(out);
}

/* flint bench --json: one object per test, the decode test over two
 * sequences decoded together; bad options are usage errors. */
static void test_bench(void) {
    TEST_GROUP("bench");
    char *out;
    int rc = run(FLINT_BIN " bench -m models/tiny-gemma3.gguf -p 8 -n 4 -r 1 -t 1 -s 2 --json", &out);
    CHECK_INT_EQ(rc, 0);
    CHECK(strstr(out, "\"test\": \"pp8\", \"tokens_per_s\": ") != NULL);
    CHECK(strstr(out, "\"test\": \"tg4x2\", \"tokens_per_s\": ") != NULL && strstr(out, "\"floor_ratio\": ") != NULL);
    free(out);
    /* -d: the tests run after 16 tokens of context; --no-floor: no probe, no floor fields */
    rc = run(FLINT_BIN " bench -m models/tiny-gemma3.gguf -p 8 -n 4 -d 16 -r 1 -t 1 -s 2 --json --no-floor", &out);
    CHECK_INT_EQ(rc, 0);
    CHECK(strstr(out, "\"depth\": 16, \"test\": \"pp8 @ d16\", \"tokens_per_s\": ") != NULL);
    CHECK(strstr(out, "\"depth\": 16, \"test\": \"tg4x2 @ d16\", \"tokens_per_s\": ") != NULL);
    CHECK(strstr(out, "floor") == NULL && strstr(out, "read_bandwidth") == NULL);
    free(out);
    CHECK_INT_EQ(run(FLINT_BIN " bench -m models/tiny-gemma3.gguf -s 0", &out), 2);
    CHECK(strstr(out, "flint bench: -s '0': out of range 1..4096") != NULL);
    free(out);
}

/* Every class of bad option value on several commands: status 2 before
 * anything is loaded, and one message naming the option and the value. */
static void test_bad_options(void) {
    TEST_GROUP("bad options");
    int rc;
    static const struct {
        const char *args, *want;
    } cases[] = {
        {"bench -m M -t abc", "flint bench: -t 'abc': not an integer"},
        {"logits -m M --tokens 1 -t abc", "flint logits: -t 'abc': not an integer"},
        {"bench -m M -p 10x", "flint bench: -p '10x': not an integer (trailing 'x')"},
        {"perplexity -m M -f F -c 10x", "flint perplexity: -c '10x': not an integer (trailing 'x')"},
        {"bench -m M -n ''", "flint bench: -n '': empty value"},
        {"perplexity -m M -f F -t ''", "flint perplexity: -t '': empty value"},
        {"bench -m M -r 99999999999999999999", "flint bench: -r '99999999999999999999': out of range 1..1000"},
        {"logits -m M --tokens 1 -t 4294967297", "flint logits: -t '4294967297': out of range 1..1024"},
        {"bench -m M -t 0", "flint bench: -t '0': out of range 1..1024"},
        {"perplexity -m M -f F -c 3", "flint perplexity: -c '3': out of range 4..16777216"},
        {"bench -m M -p -1", "flint bench: -p '-1': out of range 0..1048576"},
        {"bench -m M -t", "flint bench: -t needs a value (N)"},
        {"info -m", "flint info: -m needs a value (MODEL)"},
        {"tokenize -m M --foo x", "flint tokenize: unknown option '--foo'"},
        {"info -m M --foo", "flint info: unknown option '--foo'"},
        {"info -m M extra", "flint info: unexpected argument 'extra'"},
        {"perplexity -m M", "flint perplexity: missing -f FILE"},
        {"tokenize -m M", "flint tokenize: missing TEXT|-"},
        {"bench -m M --json=1", "flint bench: --json takes no value, got '1'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[256], *out;
        snprintf(cmd, sizeof cmd, "%s %s", FLINT_BIN, cases[i].args);
        rc = run(cmd, &out);
        CHECK_MSG(rc == 2 && strstr(out, cases[i].want) && strstr(out, "--help"), "'%s': status %d, \"%s\"",
                  cases[i].args, rc, out);
        free(out);
    }
    char *out;
    rc = run(FLINT_BIN " bench --help", &out);
    CHECK_INT_EQ(rc, 0);
    CHECK(strstr(out, "usage: flint bench -m MODEL [options]") && strstr(out, "(1..1024)"));
    free(out);
    /* a text starting with '-' after "--"; the last of --ids/--pieces wins */
    rc = run(FLINT_BIN " tokenize -m models/tiny-gemma3.gguf --pieces --ids -- -x", &out);
    CHECK_INT_EQ(rc, 0);
    CHECK(strchr(out, '\t') == NULL);
    free(out);
}

/* flint run on the engine: the prompt from -p, stdin or a file gives the
 * same text; --json, --stop, --chat, -n -1; every numeric option checked. */
static void test_run(void) {
    TEST_GROUP("run");
    char *out;
    int rc;
    const char *m = FLINT_BIN " run -m models/tiny-gemma3.gguf --temp 0 -n 6";
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s -p Hello", m);
    rc = run(cmd, &out);
    CHECK_INT_EQ(rc, 0);
    CHECK_MSG(!strncmp(out, " model model model model model model\nprefill: ", 46), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "printf Hello | %s -p -", m);
    rc = run(cmd, &out);
    CHECK_INT_EQ(rc, 0);
    CHECK_MSG(!strncmp(out, " model model model model model model\nprefill: ", 46), "%s", out);
    free(out);
    FILE *f = fopen("build/tests/prompt.txt", "w");
    if (f) fputs("Hello", f), fclose(f);
    snprintf(cmd, sizeof cmd, "%s -f build/tests/prompt.txt --stop 'del mo' --json 2>/dev/null", m);
    rc = run(cmd, &out);
    CHECK_INT_EQ(rc, 0);
    CHECK_MSG(strstr(out, "\"text\":\" mo\"") && strstr(out, "\"finish_reason\":\"stop\"") &&
                  strstr(out, "\"stop\":\"del mo\"") && strstr(out, "\"completion_tokens\":2"),
              "%s", out);
    free(out);
    /* -n -1 runs to the end of the context */
    snprintf(cmd, sizeof cmd, FLINT_BIN " run -m models/tiny-gemma3.gguf --temp 0 -n -1 -c 16 -p Hello --json --logprobs 2 2>/dev/null");
    rc = run(cmd, &out);
    CHECK_INT_EQ(rc, 0);
    CHECK_MSG(strstr(out, "\"finish_reason\":\"length\"") && strstr(out, "\"completion_tokens\":10") &&
                  strstr(out, "\"top\":[{"),
              "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s --chat --system 'Be brief.' -p Hi --json 2>/dev/null", m);
    rc = run(cmd, &out);
    CHECK_INT_EQ(rc, 0);
    CHECK_MSG(strstr(out, "\"prompt_tokens\":") && strstr(out, "\"completion_tokens\":6"), "%s", out);
    free(out);
    static const char *const bad[][2] = {
        {"-t 0", "-t"}, {"-t 100000", "-t"}, {"--temp -1", "--temp"}, {"--top-p 2", "--top-p"},
        {"--min-p 1.5", "--min-p"}, {"--seed abc", "--seed"}, {"-n 10x", "-n"}, {"--top-k -3", "--top-k"},
        {"--repeat-penalty -1", "--repeat-penalty"}, {"--temp nan", "--temp"}, {"-c 99999999999", "-c"},
        {"--frequency-penalty 3", "--frequency-penalty"}, {"--bogus 1", "unknown option '--bogus'"},
        {"--kv-type f8", "--kv-type"}, {"--system x", "--chat"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, FLINT_BIN " run -m models/tiny-gemma3.gguf -p Hi %s", bad[i][0]);
        rc = run(cmd, &out);
        CHECK_MSG(rc == 2 && strstr(out, bad[i][1]), "'%s': exit %d, %s", bad[i][0], rc, out);
        free(out);
    }
    /* examples/chat.c, the public API's chat in under 100 lines */
    rc = run("printf 'Hi\\nAgain\\n' | build/examples/chat models/tiny-gemma3.gguf", &out);
    CHECK_INT_EQ(rc, 0);
    CHECK_MSG(strlen(out) > 10, "%s", out);
    free(out);
}

/* --exact on every command that runs a model (in its --help), and through
 * `flint logits`: the K-quant fixture's first sequence within 1e-4 of
 * transformers on its dequantized weights (tests/fixtures/exact), the
 * default mode further away (test_exact.c holds the rest). */
static double logits_error(const char *flags, const float *ref, int64_t n) {
    char cmd[1024], *out;
    const char *tmp = "build/tests/exact-logits.bin";
    snprintf(cmd, sizeof cmd,
             FLINT_BIN " logits -m tests/fixtures/exact/gemma3/model-q4_k.gguf -t 2 --out %s %s --tokens "
                       "2,3,124,207,240,137,65,34,230,26,13,224,188,16,6,224,56,130,117,69,155,115,82,107,199,202,229,"
                       "62,147,219,17,44,99,150,167,213,35,223,236,65",
             tmp, flags);
    int rc = run(cmd, &out);
    CHECK_MSG(rc == 0, "%s: %s", cmd, out);
    free(out);
    float *y = malloc((size_t)n * sizeof *y);
    FILE *f = fopen(tmp, "rb");
    size_t got = f ? fread(y, sizeof *y, (size_t)n, f) : 0;
    if (f) fclose(f);
    remove(tmp);
    CHECK_MSG(got == (size_t)n, "%s: %zu of %lld logits", tmp, got, (long long)n);
    double d = 0, r = 0;
    for (int64_t i = 0; i < (int64_t)got; i++) d = fmax(d, fabs(y[i] - ref[i])), r = fmax(r, fabs(ref[i]));
    free(y);
    return got == (size_t)n ? d / r : INFINITY;
}

static void test_exact(void) {
    TEST_GROUP("exact");
    const char *cmds[] = {"run", "chat", "bench", "perplexity", "logits", "serve"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char cmd[256], *out;
        snprintf(cmd, sizeof cmd, FLINT_BIN " %s --help", cmds[i]);
        CHECK_INT_EQ(run(cmd, &out), 0);
        CHECK_MSG(strstr(out, "--exact") != NULL, "flint %s --help has no --exact", cmds[i]);
        free(out);
    }
    enum { N = 40 * 256 };
    float *ref = malloc(N * sizeof *ref);
    FILE *f = fopen("tests/fixtures/exact/gemma3/logits-q4_k.bin", "rb");
    int ok = f && fread(ref, sizeof *ref, N, f) == N;
    if (f) fclose(f);
    CHECK_MSG(ok, "tests/fixtures/exact/gemma3/logits-q4_k.bin");
    if (ok) {
        const double exact = logits_error("--exact", ref, N), fast = logits_error("", ref, N);
        printf("  flint logits on the Q4_K fixture: --exact %.2e, default %.2e max|d|/max|ref|\n", exact, fast);
        CHECK_MSG(exact < 1e-4, "--exact: %.3g", exact);
        CHECK_MSG(fast > exact, "default %.3g, --exact %.3g", fast, exact);
    }
    free(ref);
}

/* An MLX folder as mlx-lm writes it (tests/fixtures/mlx, test_mlx.c holds
 * the rest): info lists its packed tensors and quantization block, run
 * generates, and flint logits --exact gives mlx-lm's logits within 1e-4. */
static void test_mlx_folder(void) {
    TEST_GROUP("mlx folder");
    const char *dir = "tests/fixtures/mlx/gemma3-q4";
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, FLINT_BIN " info -m %s", dir);
    CHECK_INT_EQ(run(cmd, &out), 0);
    CHECK_MSG(strstr(out, "quantization.bits") && strstr(out, "U32"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, FLINT_BIN " run -m %s -p Hi -n 4 --temp 0 -t 1", dir);
    CHECK_INT_EQ(run(cmd, &out), 0);
    CHECK_MSG(strstr(out, "decode: 4 tokens") != NULL, "%s", out);
    free(out);

    char tokens[1024] = "", line[1024];
    FILE *f = fopen("tests/fixtures/mlx/gemma3-q4/tokens.txt", "r");
    int n = 0;
    if (f && fgets(line, sizeof line, f))
        for (char *t = strtok(line, " \n"); t; t = strtok(NULL, " \n"), n++)
            snprintf(tokens + strlen(tokens), sizeof tokens - strlen(tokens), "%s%s", n ? "," : "", t);
    if (f) fclose(f);
    const char *tmp = "build/tests/mlx-logits.bin";
    snprintf(cmd, sizeof cmd, FLINT_BIN " logits -m %s -t 2 --exact --out %s --tokens %s", dir, tmp, tokens);
    CHECK_INT_EQ(run(cmd, &out), 0);
    free(out);
    const size_t count = (size_t)n * 256;
    float *y = malloc(count * sizeof *y), *ref = malloc(count * sizeof *ref);
    FILE *a = fopen(tmp, "rb"), *b = fopen("tests/fixtures/mlx/gemma3-q4/logits.bin", "rb");
    int ok = n > 0 && a && b && fread(y, sizeof *y, count, a) == count && fread(ref, sizeof *ref, count, b) == count;
    if (a) fclose(a);
    if (b) fclose(b);
    remove(tmp);
    double d = 0, r = 0;
    for (size_t i = 0; ok && i < count; i++) d = fmax(d, fabs(y[i] - ref[i])), r = fmax(r, fabs(ref[i]));
    printf("  flint logits --exact on %s: max|d|/max|ref| %.2e against mlx-lm\n", dir, ok ? d / r : INFINITY);
    CHECK_MSG(ok && d / r < 1e-4, "flint logits on %s: %.3g", dir, ok ? d / r : INFINITY);
    free(y);
    free(ref);
}

/* Every command that runs a model has both strings in its --help. */
static void model_commands_help(const char *a, const char *b) {
    const char *cmds[] = {"run", "chat", "bench", "perplexity", "logits", "serve"};
    char cmd[512], *out;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        snprintf(cmd, sizeof cmd, FLINT_BIN " %s --help", cmds[i]);
        CHECK_INT_EQ(run(cmd, &out), 0);
        CHECK_MSG(strstr(out, a) && strstr(out, b), "flint %s --help lacks %s or %s", cmds[i], a, b);
        free(out);
    }
}

/* --expert-cache and --expert-histogram on every command that loads a
 * model; `flint logits` streaming with one slot per layer writes the
 * resident run's bytes, says so on stderr (resident MoE models say so too,
 * dense ones nothing), and a bad size is refused naming the option; the
 * histogram is written at exit, read by the next run (same bytes again),
 * and a file that is not one is refused naming it. */
static void test_expert_cache(void) {
    TEST_GROUP("expert cache");
    model_commands_help("--expert-cache", "--expert-histogram");
    char cmd[512], *out;
    const char *m = "tests/fixtures/qwen35/moe/model-q8_0.gguf", *toks = "5,17,99,3,250,41,7,7,180,64,12,33";
    const char *hist = "build/tests/experts-hist.bin";
    remove(hist);
    const char *flags[3] = {"", "--expert-cache 1K --expert-histogram build/tests/experts-hist.bin",
                            "--expert-cache 1K --expert-histogram build/tests/experts-hist.bin"};
    char *bytes[3] = {NULL, NULL, NULL};
    uint64_t len[3] = {0, 0, 0}, hist_len[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, FLINT_BIN " logits -m %s -t 2 --out build/tests/experts-%d.bin %s --tokens %s", m, i,
                 flags[i], toks);
        int rc = run(cmd, &out);
        CHECK_MSG(rc == 0, "%s: %s", cmd, out);
        if (i) CHECK_MSG(strstr(out, "experts: streamed, 2 of 8 per token") && strstr(out, "1 of 8 experts"), "%s", out);
        else CHECK_MSG(strstr(out, "experts: resident, 2 of 8 per token x 8 layers"), "%s", out);
        free(out);
        snprintf(cmd, sizeof cmd, "build/tests/experts-%d.bin", i);
        CHECK(fl_read_file(cmd, 1 << 26, &bytes[i], &len[i]) == FLINT_OK);
        remove(cmd);
        char *h = NULL;
        if (i) CHECK(fl_read_file(hist, 1 << 20, &h, &hist_len[i]) == FLINT_OK);
        free(h);
    }
    for (int i = 1; i < 3; i++)
        CHECK_MSG(len[0] && len[0] == len[i] && !memcmp(bytes[0], bytes[i], len[0]),
                  "streamed logits differ (%llu, %llu bytes)", (unsigned long long)len[0], (unsigned long long)len[i]);
    /* 8 layers x 8 experts of 8-byte counts after the 24-byte header */
    CHECK_MSG(hist_len[1] == 24 + 8 * 8 * 8 && hist_len[2] == hist_len[1], "histogram files of %llu and %llu bytes",
              (unsigned long long)hist_len[1], (unsigned long long)hist_len[2]);
    free(bytes[0]), free(bytes[1]), free(bytes[2]);
    snprintf(cmd, sizeof cmd, FLINT_BIN " logits -m tests/fixtures/gemma3/a/model-q8_0.gguf -t 2 --tokens 5,17 --out build/tests/experts-0.bin");
    CHECK_MSG(run(cmd, &out) == 0 && !strstr(out, "experts:"), "a dense model: %s", out);
    free(out);
    remove("build/tests/experts-0.bin");
    snprintf(cmd, sizeof cmd, FLINT_BIN " logits -m %s --expert-cache 1K --expert-histogram %s --tokens 5", m, m);
    CHECK_MSG(run(cmd, &out) != 0 && strstr(out, "not an expert histogram") && strstr(out, m), "%s", out);
    free(out);
    remove(hist);
    /* bench with streamed experts: the disk's floor from random expert reads
     * around the test and a sequential read, no memory floor, the I/O times */
    snprintf(cmd, sizeof cmd, FLINT_BIN " bench -m %s --expert-cache 1K -p 0 -n 4 -r 1 -t 2 --json", m);
    CHECK_MSG(run(cmd, &out) == 0 && strstr(out, "\"experts\": {\"hit_rate\": ") &&
                  strstr(out, "\"disk_gbs_before\": ") && strstr(out, "\"disk_gbs_after\": ") &&
                  strstr(out, "\"disk_floor_ratio\": ") && strstr(out, "\"disk_seq_floor_ratio\": ") &&
                  strstr(out, "\"io_busy_share\": ") && strstr(out, "\"io_wait_ms_per_token\": ") &&
                  !strstr(out, "\"floor_ratio\"") && !strstr(out, "read_bandwidth_gbs"),
              "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, FLINT_BIN " logits -m %s --expert-cache 1x --tokens 5", m);
    CHECK_MSG(run(cmd, &out) != 0 && strstr(out, "--expert-cache '1x'"), "%s", out);
    free(out);
}

/* --gpu on every command that runs a model; in this build (no VULKAN=1)
 * vulkan is refused saying how to get it, a value that names no device is
 * refused naming it, and info --gpus says there is no GPU backend
 * (tests/vulkan/test_vk_models.c runs the Vulkan build's side). */
static void test_gpu(void) {
    TEST_GROUP("gpu");
    model_commands_help("--gpu DEVICE", "vulkan:N");
    char cmd[512], *out;
    const char *m = "models/tiny-gemma3.gguf";
    snprintf(cmd, sizeof cmd, FLINT_BIN " run -m %s -p Hi -n 2 --gpu nonsense", m);
    CHECK_MSG(run(cmd, &out) == 1 && strstr(out, "flint run: gpu 'nonsense' names no device"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, FLINT_BIN " logits -m %s --tokens 2,3 --gpu vulkan:1x", m);
    CHECK_MSG(run(cmd, &out) == 1 && strstr(out, "gpu 'vulkan:1x' names no device"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, FLINT_BIN " bench -m %s -p 4 -n 2 -r 1 --no-floor --gpu cpu --json", m);
    CHECK_MSG(run(cmd, &out) == 0 && strstr(out, "\"device\": \"cpu\""), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, FLINT_BIN " run -m %s -p Hi -n 2 --temp 0 --verbose", m);
    CHECK_MSG(run(cmd, &out) == 0 && strstr(out, "\ndevice: cpu\n"), "%s", out);
    free(out);
#ifndef FLINT_VULKAN
    const char *gpu_cmds[] = {"run -p Hi", "bench -p 4 -n 2 -r 1 --no-floor", "perplexity -f README.md",
                              "logits --tokens 2,3"};
    for (size_t i = 0; i < sizeof gpu_cmds / sizeof gpu_cmds[0]; i++) {
        snprintf(cmd, sizeof cmd, FLINT_BIN " %s -m %s --gpu vulkan", gpu_cmds[i], m);
        CHECK_MSG(run(cmd, &out) == 1 && strstr(out, "gpu 'vulkan': this build has no GPU backend; build flint with "
                                                      "make VULKAN=1"),
                  "%s: %s", cmd, out);
        free(out);
    }
    CHECK_INT_EQ(run(FLINT_BIN " info --gpus", &out), 0);
    CHECK_MSG(!strcmp(out, "no GPU backend in this build (make VULKAN=1)\n"), "%s", out);
    free(out);
#endif
    CHECK_INT_EQ(run(FLINT_BIN " info", &out), 2);
    CHECK_MSG(strstr(out, "flint info: missing -m MODEL (or --gpus)") != NULL, "%s", out);
    free(out);
}

/* --gpu-layers (-ngl) and --gpu-memory on every command that runs a
 * model: bad values refused naming them (usage errors, status 2), and
 * layers placed without a GPU refused by the library (test_vk_placement.c
 * runs them on a device). */
static void test_gpu_layers(void) {
    TEST_GROUP("gpu layers");
    model_commands_help("--gpu-layers, -ngl N|all|auto", "--gpu-memory SIZE");
    char cmd[512], *out;
    const char *bad[][2] = {
        {"run -p Hi --gpu-layers -3", "flint run: --gpu-layers '-3': a count of layers (0: none), all or auto"},
        {"logits --tokens 2,3 -ngl some", "flint logits: --gpu-layers 'some': a count of layers"},
        {"perplexity -f README.md --gpu-layers 99999999999", "--gpu-layers '99999999999'"},
        {"bench -p 4 -n 2 --gpu-memory 1T", "flint bench: --gpu-memory '1T': a size such as 512M or 8G"},
        {"run -p Hi --gpu-memory 0", "flint run: --gpu-memory '0': a size"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, FLINT_BIN " %s -m models/tiny-gemma3.gguf", bad[i][0]);
        CHECK_MSG(run(cmd, &out) == 2 && strstr(out, bad[i][1]), "%s: %s", cmd, out);
        free(out);
    }
    snprintf(cmd, sizeof cmd, FLINT_BIN " run -m models/tiny-gemma3.gguf -p Hi -n 2 --gpu-layers 4");
    CHECK_MSG(run(cmd, &out) == 1 && strstr(out, "gpu_layers 4 / gpu_memory 0 place layers on a GPU, but gpu is cpu"),
              "%s", out);
    free(out);
}

int main(void) {
    test_gpu();
    test_gpu_layers();
    test_expert_cache();
    test_exact();
    test_mlx_folder();
    test_run();
    test_tensor_listing();
    test_bench();
    test_bad_invocations();
    test_bad_options();
    test_perplexity_vs_llama_cpp();
    test_chat();
    return test_finish("cli");
}
