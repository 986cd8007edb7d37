/* convert.c — the driver of `flint convert`: opens the source (HF folder or
 * GGUF), plans the output tensors and metadata (hf_names.c + hf_meta.c, or
 * a copy of a GGUF's), chooses each tensor's type (rules.c), then writes
 * OUT.tmp tensor by tensor — rows read and transformed (rows.c) and
 * quantized on the thread pool into one buffer the size of the largest
 * output tensor — and renames it to OUT once complete. A failure removes
 * OUT.tmp; an existing OUT is left alone unless force is set. */
#define _DEFAULT_SOURCE /* madvise */
#include "convert/convert.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/model_file.h"
#include "base/checked.h"
#include "base/error.h"
#include "base/file.h"
#include "base/pool.h"
#include "convert/plan.h"
#include "format/gguf_write.h"
#include "model/model.h"
#include "quant/dequant.h"
#include "quant/types.h"

static void warnf(const fl_convert_params *p, const char *fmt, const char *arg) {
    if (!p->warn) return;
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    p->warn(p->user, msg);
}

/* A GGUF source: its tensors as they are and its key/values, less the split
 * keys and with the alignment this writer uses (llama-quantize's copy). */
static flint_status plan_gguf(const flint_model *m, fl_cv_plan *p) {
    const fl_meta *meta = fl_model_file_meta(m);
    flint_status st;
    const char *arch = flint_model_arch(m);
    if (!*arch) return fl_errorf(FLINT_E_FORMAT, "%s: no general.architecture", fl_model_file_path(m));
    snprintf(p->arch, sizeof p->arch, "%s", arch);
    for (int64_t i = 0; i < meta->n_kvs; i++) {
        const char *k = meta->kvs[i].key;
        if (strncmp(k, "split.", 6) == 0) continue;
        if (strcmp(k, "general.alignment") == 0) st = fl_gguf_kv_u32(&p->kv, k, FL_GGUF_WRITE_ALIGNMENT);
        else st = fl_gguf_kv_set(&p->kv, k, &meta->kvs[i].value);
        if (st) return st;
    }
    char key[96];
    int64_t x;
    snprintf(key, sizeof key, "%s.block_count", arch);
    if (flint_meta_get_int(m, key, &x) || x <= 0) return fl_errorf(FLINT_E_FORMAT, "%s: no %s", fl_model_file_path(m), key);
    p->n_layer = x;
    snprintf(key, sizeof key, "%s.expert_count", arch);
    p->n_expert = flint_meta_get_int(m, key, &x) == FLINT_OK ? x : 0;
    int64_t n = flint_tensor_count(m);
    for (int64_t i = 0; i < n; i++) {
        flint_tensor_info ti;
        if ((st = flint_tensor_get(m, i, &ti))) return st;
        if (ti.n_dims > 4) return fl_errorf(FLINT_E_UNSUPPORTED, "tensor '%s' has %d dimensions", ti.name, (int)ti.n_dims);
        if (!fl_cv_plan_add(p, ti.name, &ti)) return FLINT_E_NOMEM;
    }
    return FLINT_OK;
}

/* Whether t's bytes are the source's as they are (no transform, same type). */
static bool copies_bytes(const fl_cv_tensor *t) {
    if (t->values || t->is_mlx || t->join_rows || t->type != t->src.type || t->op != FL_CV_COPY || t->rows.n_k || t->cols.n_k ||
        t->slab_offset ||
        t->slab_rows != t->src_slab_rows)
        return false;
    for (int d = 0; d < 4; d++)
        if (t->ne[d] != (d < t->src.n_dims ? t->src.ne[d] : 1)) return false;
    return true;
}

typedef struct job {
    const fl_cv_tensor *t;
    uint8_t *out;
    uint64_t row_bytes;
    int64_t n_rows;
    float *scratch;          /* per thread: 2 x max row */
    int64_t scratch_stride;
    pthread_mutex_t lock;
    flint_status st;
    char msg[512];
} job;

static void convert_rows(void *ctx, int64_t task, int32_t thread) {
    job *j = ctx;
    float *row = j->scratch + (int64_t)thread * j->scratch_stride, *tmp = row + j->scratch_stride / 2;
    /* tasks are fixed-size runs of rows */
    int64_t per = 16, r0 = task * per, r1 = r0 + per < j->n_rows ? r0 + per : j->n_rows;
    for (int64_t r = r0; r < r1; r++) {
        flint_status st = fl_cv_read_row(j->t, r, row, tmp);
        if (!st) st = fl_quant_row(j->t->type, row, j->out + (uint64_t)r * j->row_bytes, j->t->ne[0]);
        if (st) {
            pthread_mutex_lock(&j->lock);
            if (!j->st) {
                j->st = st;
                snprintf(j->msg, sizeof j->msg, "tensor '%s' row %lld: %s", j->t->name, (long long)r, flint_errmsg());
            }
            pthread_mutex_unlock(&j->lock);
            return;
        }
    }
}

/* Drops the source pages of a tensor once it is written, so that the
 * mapped source does not accumulate in memory (the pages are file-backed
 * and read again if another output tensor needs them). */
static void release(const flint_tensor_info *s) {
    if (!s->data || s->size == 0) return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)s->data, b = a + s->size;
    a = (a + page - 1) / page * page;
    b = b / page * page;
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

static flint_status sizes(fl_cv_plan *p, fl_gguf_out_tensor *out, uint64_t *max_bytes, int64_t *max_row) {
    for (int64_t i = 0; i < p->n; i++) {
        fl_cv_tensor *t = &p->t[i];
        const fl_type_info *ti = fl_type_get(t->type);
        uint64_t rb, bytes;
        if (!ti || !fl_type_row_bytes(t->type, (uint64_t)t->ne[0], &rb) || !fl_mul_u64(rb, (uint64_t)fl_cv_rows(t), &bytes))
            return fl_errorf(FLINT_E_FORMAT, "tensor '%s': %lld columns do not fit type %s", t->name, (long long)t->ne[0],
                             flint_type_name(t->type));
        if (!copies_bytes(t) && !ti->can_quant)
            return fl_errorf(FLINT_E_UNSUPPORTED, "tensor '%s': flint cannot write type %s", t->name, ti->name);
        out[i] = (fl_gguf_out_tensor){.name = t->name, .type = t->type, .n_dims = t->n_dims, .size = bytes};
        memcpy(out[i].ne, t->ne, sizeof t->ne);
        if (bytes == 0 || copies_bytes(t)) continue; /* nothing to convert: no buffer, no scratch */
        if (bytes > *max_bytes) *max_bytes = bytes;
        if (t->ne[0] > *max_row) *max_row = t->ne[0];
        if (t->src.ne[0] > *max_row) *max_row = t->src.ne[0];
    }
    return FLINT_OK;
}

static flint_status write_all(const fl_convert_params *prm, fl_cv_plan *p, FILE *f, const char *path) {
    fl_gguf_out_tensor *out = calloc((size_t)(p->n ? p->n : 1), sizeof *out);
    if (!out) return fl_errorf(FLINT_E_NOMEM, "out of memory");
    uint64_t max_bytes = 0, total = 0, done = 0;
    int64_t max_row = 1;
    flint_status st = sizes(p, out, &max_bytes, &max_row);
    for (int64_t i = 0; !st && i < p->n; i++) total += out[i].size;
    if (!st) st = fl_gguf_write_header(f, path, &p->kv, out, p->n);
    fl_pool *pool = NULL;
    uint8_t *buf = NULL;
    float *scratch = NULL;
    if (!st) st = fl_pool_create(prm->n_threads, &pool);
    if (!st) {
        int32_t nt = fl_pool_threads(pool);
        buf = malloc(max_bytes ? (size_t)max_bytes : 1);
        scratch = malloc((size_t)nt * 2 * (size_t)max_row * sizeof *scratch);
        if (!buf || !scratch) st = fl_errorf(FLINT_E_NOMEM, "out of memory for a tensor of %llu bytes", (unsigned long long)max_bytes);
    }
    for (int64_t i = 0; !st && i < p->n; i++) {
        const fl_cv_tensor *t = &p->t[i];
        const uint8_t *data = buf;
        if (copies_bytes(t)) {
            data = t->src.data;
        } else if (out[i].size > 0) {
            job j = {.t = t, .out = buf, .row_bytes = out[i].size / (uint64_t)fl_cv_rows(t), .n_rows = fl_cv_rows(t),
                     .scratch = scratch, .scratch_stride = 2 * max_row};
            pthread_mutex_init(&j.lock, NULL);
            fl_pool_run(pool, (j.n_rows + 15) / 16, convert_rows, &j);
            pthread_mutex_destroy(&j.lock);
            if (j.st) st = fl_errorf(j.st, "%s", j.msg);
        }
        if (!st && out[i].size && fwrite(data, 1, (size_t)out[i].size, f) != out[i].size)
            st = fl_errorf(FLINT_E_IO, "%s: write failed: %s", path, strerror(errno));
        if (!st) st = fl_gguf_write_pad(f, path, out[i].size);
        release(&t->src);
        done += out[i].size;
        if (!st && prm->progress) prm->progress(prm->user, done, total);
    }
    fl_pool_free(pool);
    free(scratch);
    free(buf);
    free(out);
    return st;
}

static flint_status check_output(const fl_convert_params *p) {
    if (fl_is_dir(p->out)) return fl_errorf(FLINT_E_INVALID_ARG, "output '%s' is a directory", p->out);
    if (fl_exists(p->out) && !p->force)
        return fl_errorf(FLINT_E_INVALID_ARG, "output '%s' exists (--force replaces it)", p->out);
    return FLINT_OK;
}

/* The names map whatever a folder holds; flint's own loader of the family
 * says whether that is a whole, consistent model (a missing tensor, a
 * shape the config contradicts) before anything is written. */
static flint_status check_loads(const flint_model *m, const char *path) {
    fl_lm lm;
    flint_status st = fl_lm_load(&lm, m, path);
    if (st) {
        char why[512];
        snprintf(why, sizeof why, "%s", flint_errmsg()); /* fl_errorf writes the buffer it would read */
        return fl_errorf(st, "%s is not a complete model: %s", path, why);
    }
    fl_lm_free(&lm);
    return FLINT_OK;
}

/* An HF folder's tokenizer that flint does not convert: say what the output lacks. */
static void tokenizer_warning(const fl_convert_params *p) {
    char *json = fl_path_join(p->src, "tokenizer.json"), *spm = fl_path_join(p->src, "tokenizer.model");
    if (json && spm && !fl_exists(json) && !fl_exists(spm))
        warnf(p, "%s has no tokenizer (tokenizer.json or tokenizer.model): the output has no tokenizer.ggml.* keys", p->src);
    else
        warnf(p, "%s: its tokenizer is not one flint converts (Gemma 1-3: tokenizer.model; Qwen3.5, Gemma 4: tokenizer.json "
                 "alone): the output has no tokenizer.ggml.* keys", p->src);
    free(json);
    free(spm);
}

flint_status fl_convert(const fl_convert_params *p) {
    if (!p || !p->src || !p->out || !p->type) return fl_errorf(FLINT_E_INVALID_ARG, "convert: source, output and type are required");
    const fl_cv_target *tg = fl_cv_target_find(p->type);
    if (!tg)
        return fl_errorf(FLINT_E_INVALID_ARG, "unknown type '%s' (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, Q4_K_M, Q5_K_M)",
                         p->type);
    flint_status st = check_output(p);
    if (st) return st;
    flint_model *m = NULL;
    if ((st = flint_model_open(p->src, NULL, &m))) return st;
    bool from_gguf = flint_model_file_kind(m) == FLINT_FILE_GGUF;
    fl_cv_plan plan = {0};
    bool vocab = from_gguf; /* a GGUF keeps its own */
    st = from_gguf ? plan_gguf(m, &plan) : fl_cv_plan_hf(m, &plan);
    if (!st && !from_gguf) st = check_loads(m, p->src);
    if (!st && !from_gguf) st = fl_cv_vocab_hf(p->src, fl_model_file_meta(m), &plan, &vocab);
    if (!st && !vocab) tokenizer_warning(p);
    if (!st) st = fl_cv_choose_types(&plan, tg, from_gguf);
    char *tmp = NULL;
    if (!st) {
        size_t n = strlen(p->out) + 5;
        tmp = malloc(n);
        if (!tmp) st = fl_errorf(FLINT_E_NOMEM, "out of memory");
        else snprintf(tmp, n, "%s.tmp", p->out);
    }
    FILE *f = NULL;
    if (!st && !(f = fopen(tmp, "wb"))) st = fl_errorf(FLINT_E_IO, "cannot create '%s': %s", tmp, strerror(errno));
    if (!st) st = write_all(p, &plan, f, tmp);
    if (f) {
        if (fflush(f) != 0 && !st) st = fl_errorf(FLINT_E_IO, "%s: write failed: %s", tmp, strerror(errno));
        if (fclose(f) != 0 && !st) st = fl_errorf(FLINT_E_IO, "%s: write failed: %s", tmp, strerror(errno));
        if (!st && rename(tmp, p->out) != 0) st = fl_errorf(FLINT_E_IO, "cannot rename '%s' to '%s': %s", tmp, p->out, strerror(errno));
        if (st) unlink(tmp);
    }
    free(tmp);
    fl_cv_plan_free(&plan);
    flint_model_close(m);
    return st;
}
