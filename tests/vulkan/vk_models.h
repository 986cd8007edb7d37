/* vk_models.h — running the model fixtures through a context on the
 * device, for test_vk_models.c and test_vk_placement.c: two sequences at
 * a time in one flint_decode_batch (their prompts in steps of 32 tokens,
 * then DECODE_STEPS single-token steps of both), and the comparison with
 * a reference's logits. */
#ifndef FL_TEST_VK_MODELS_H
#define FL_TEST_VK_MODELS_H

#include <sys/wait.h>
#include <unistd.h>

#include "base/file.h"
#include "model_fixture.h"

/* The fixture in FIXTURE_DIR/dir_name (tokens and the reference logits in
 * logits_file) and the path of its model: file in it, or (file NULL) the
 * HF folder itself. 0 (a failed check) when the files cannot be read. */
static int load_vk_case(const char *dir_name, const char *file, const char *logits_file, char *path, size_t size,
                        fixture *f) {
    char dir[200];
    snprintf(dir, sizeof dir, "%s/%s", FIXTURE_DIR, dir_name);
    if (file) snprintf(path, size, "%s/%s", dir, file);
    else snprintf(path, size, "%s", dir);
    if (load_fixture_logits(dir, logits_file, f)) return 1;
    CHECK_MSG(0, "%s/%s: fixture files", dir, logits_file);
    return 0;
}

/* decode steps after each prompt */
#define DECODE_STEPS 6

/* A context of 2 sequences of MAX_TOK on gpu, steps of extra->n_batch
 * tokens (0: 32), with the rest of its params from *extra (NULL: none). */
static flint_status open_ctx_with(const char *path, const char *gpu, int32_t kv_type, int32_t exact,
                                  const flint_context_params *extra, flint_model **m, flint_context **ctx) {
    flint_context_params cp = extra ? *extra : (flint_context_params){0};
    cp.n_ctx = MAX_TOK, cp.n_batch = cp.n_batch ? cp.n_batch : 32, cp.n_seq = 2, cp.n_threads = 2, cp.kv_type = kv_type, cp.exact = exact;
    cp.gpu = gpu;
    *m = NULL, *ctx = NULL;
    flint_status st = flint_model_open(path, NULL, m);
    if (!st) st = flint_context_create(*m, &cp, ctx);
    return st;
}

static flint_status open_ctx(const char *path, const char *gpu, int32_t kv_type, int32_t exact, flint_model **m,
                             flint_context **ctx) {
    return open_ctx_with(path, gpu, kv_type, exact, NULL, m, ctx);
}

/* Sequences a and b of f through ctx together: one batch of both prompts
 * (every row's logits), then DECODE_STEPS batches of one token each. Their
 * logits land in out_a / out_b [len][V] (rows of the fixture's order). */
static int run_pair(flint_context *ctx, const fixture *f, int32_t a, int32_t b, float *out_a, float *out_b,
                    float *scratch) {
    const int64_t V = flint_context_n_vocab(ctx);
    const int32_t pa = f->len[a] - DECODE_STEPS, pb = f->len[b] - DECODE_STEPS;
    if (pa < 1 || pb < 1) {
        CHECK_MSG(0, "sequences %d and %d hold %d and %d tokens: too few", a, b, f->len[a], f->len[b]);
        return 0;
    }
    flint_status st = flint_seq_reset(ctx, 0);
    if (!st) st = flint_seq_reset(ctx, 1);
    flint_batch_seq prompt[2] = {{0, f->tok[a], pa, 1}, {1, f->tok[b], pb, 1}};
    if (!st) st = flint_decode_batch(ctx, prompt, 2, scratch);
    if (!st) {
        memcpy(out_a, scratch, (size_t)(pa * V) * sizeof *scratch);
        memcpy(out_b, scratch + pa * V, (size_t)(pb * V) * sizeof *scratch);
    }
    for (int32_t j = 0; j < DECODE_STEPS && !st; j++) {
        flint_batch_seq step[2] = {{0, f->tok[a] + pa + j, 1, 0}, {1, f->tok[b] + pb + j, 1, 0}};
        st = flint_decode_batch(ctx, step, 2, scratch);
        memcpy(out_a + (pa + j) * V, scratch, (size_t)V * sizeof *scratch);
        memcpy(out_b + (pb + j) * V, scratch + V, (size_t)V * sizeof *scratch);
    }
    CHECK_MSG(st == FLINT_OK, "decoding sequences %d and %d: %s", a, b, flint_errmsg());
    return st == FLINT_OK;
}

/* Every sequence of the fixture, in pairs, on ctx: its logits [seq][len][V]
 * back to back as the fixture stores them, into out. */
static int run_fixture(flint_context *ctx, const fixture *f, float *out) {
    const int64_t V = flint_context_n_vocab(ctx);
    float *scratch = malloc((size_t)(2 * MAX_TOK * V) * sizeof *scratch);
    int64_t at[MAX_SEQ + 1] = {0};
    for (int32_t q = 0; q < f->n_seq; q++) at[q + 1] = at[q] + f->len[q] * V;
    int ok = scratch != NULL;
    for (int32_t q = 0; q < f->n_seq && ok; q += 2) {
        const int32_t other = q + 1 < f->n_seq ? q + 1 : 0; /* an odd count pairs the last with the first */
        ok = run_pair(ctx, f, q, other, out + at[q], out + at[other], scratch);
    }
    free(scratch);
    return ok;
}

/* Worst max|d| / max|ref| over the positions of every sequence, and top-1 agreement. */
static double compare(const fixture *f, const float *got, const float *ref, int64_t V, double *top1) {
    double worst = 0;
    int64_t agree = 0, positions = 0;
    for (int32_t q = 0; q < f->n_seq; q++)
        for (int32_t t = 0; t < f->len[q]; t++, got += V, ref += V) {
            worst = fmax(worst, max_rel_diff(ref, got, V));
            agree += argmax(got, V) == argmax(ref, V);
            positions++;
        }
    *top1 = (double)agree / (double)positions;
    return worst;
}

/* Runs cmd; its status, stdout in *out and stderr in *err (malloc'ed). */
static int run_cmd(const char *cmd, char **out, char **err) {
    char full[1024];
    char err_file[256];
    snprintf(err_file, sizeof err_file, "%s.stderr.%d", FLINT_BIN, (int)getpid());
    snprintf(full, sizeof full, "%s 2>%s", cmd, err_file);
    FILE *p = popen(full, "r");
    size_t n = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    if (!p || !buf) abort();
    size_t k;
    while ((k = fread(buf + n, 1, cap - n - 1, p)) > 0) n += k;
    buf[n] = '\0';
    int st = pclose(p);
    uint64_t len;
    if (fl_read_file(err_file, 1 << 20, err, &len)) *err = strdup("");
    remove(err_file);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#endif
