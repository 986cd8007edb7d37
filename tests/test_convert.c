/* test_convert.c — `flint convert` against llama.cpp: every manifest in
 * tests/fixtures/convert (written by tools/gen_convert_fixtures.py from
 * convert_hf_to_gguf.py and llama-quantize outputs, as the gguf package
 * reads them) is reproduced by fl_convert from the same source: the same
 * key/values (type and a hash of the value), the same tensors (type, shape
 * and a hash of the bytes), nothing more; an "error" manifest (llama-quantize
 * refused) must be refused too. Then: converted files load in flint and give
 * the fixtures' transformers logits, MLX folders mlx-lm's; the converted
 * tokenizers (spm-*, bpe-* manifests) encode tok/<name>/cases.json as the HF
 * tokenizer; --force; the no-tokenizer warning (and none with a tokenizer); bad
 * input (unknown architecture, a missing layer, a directory as output, an
 * unknown type, a full disk) fails with a message and leaves no output. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "convert/convert.h"
#include "format/gguf.h"
#include "format/gguf_write.h"
#include "model_fixture.h"
#include "tokenizer/tokenizer.h"

static char tmpdir[64];

static uint64_t fnv1a64(const void *data, uint64_t n) {
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* The gguf package's names of the value types, by id. */
static const char *value_type_name(flint_meta_type t) {
    static const char *names[] = {"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
                                  "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "?";
}

static uint64_t value_hash(const fl_meta_value *v) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    flint_status st = fl_gguf_write_value(f, v);
    fclose(f);
    uint64_t h = st ? 0 : fnv1a64(buf, len);
    free(buf);
    return h;
}

static bool exists(const char *path) {
    struct stat s;
    return stat(path, &s) == 0;
}

/* No OUT and no OUT.tmp. */
static bool nothing_written(const char *out) {
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    return !exists(out) && !exists(tmp);
}

static flint_status convert(const char *src, const char *out, const char *type, bool force) {
    fl_convert_params p = {.src = src, .out = out, .type = type, .force = force, .n_threads = 2};
    return fl_convert(&p);
}

/* Qwen3.5's ssm_a = -exp(A_log): torch's vectorised exp is not correctly
 * rounded (flint's expf is), so the manifest holds the bits of each value;
 * they must agree within one ulp, and where they do not agree exactly the
 * difference is printed. */
static bool within_one_ulp(const flint_tensor_info *t, const char *bits, const char *name) {
    const uint32_t *x = t->data;
    int64_t n = (int64_t)(t->size / 4), off = 0;
    const char *p = bits;
    for (int64_t i = 0; i < n; i++) {
        char *end;
        uint32_t want = (uint32_t)strtoul(p, &end, 16);
        if (end == p) return false;
        p = *end == ',' ? end + 1 : end;
        int64_t d = (int64_t)x[i] - (int64_t)want; /* same sign: the bit patterns are ordered like the values */
        if (d < -1 || d > 1) return false;
        off += d != 0;
    }
    printf("  %s: %s: %lld of %lld values 1 ulp from torch's exp\n", name, t->name, (long long)off, (long long)n);
    return *p == 0;
}

/* Compares the GGUF at path with a manifest; returns the number of lines checked. */
static int compare(const char *path, FILE *mf, const char *name) {
    fl_gguf g;
    if (fl_gguf_open(&g, path)) {
        CHECK_MSG(0, "%s: %s", name, flint_errmsg());
        return 0;
    }
    char line[1024];
    int64_t n_kv = 0, n_t = 0, bad = 0;
    while (fgets(line, sizeof line, mf)) {
        char kind[16], key[256], type[32], shape[128], hash[32];
        if (sscanf(line, "%15s %255s %31s", kind, key, type) != 3) continue;
        if (strcmp(kind, "kv") == 0 && sscanf(line, "%*s %*s %*s %31s", hash) == 1) {
            n_kv++;
            const fl_meta_value *v = fl_meta_find(&g.meta, key);
            char got[32] = "";
            if (v) snprintf(got, sizeof got, "%016llx", (unsigned long long)value_hash(v));
            bool ok = v && strcmp(value_type_name(v->type), type) == 0 && strcmp(got, hash) == 0;
            bad += !ok;
            CHECK_MSG(ok, "%s: key %s: flint %s %s, llama.cpp %s %s", name, key, v ? value_type_name(v->type) : "(absent)",
                      got, type, hash);
        } else if (strcmp(kind, "tensor") == 0 && sscanf(line, "%*s %*s %*s %127s %31s", shape, hash) == 2) {
            char bits[1024] = "";
            sscanf(line, "%*s %*s %*s %*s %*s %1023s", bits);
            n_t++;
            int64_t i = fl_gguf_find_tensor(&g, key);
            char got_shape[128] = "", got[32] = "";
            const char *got_type = "(absent)";
            if (i >= 0) {
                const flint_tensor_info *t = &g.tensors[i];
                got_type = flint_type_name(t->type);
                for (int d = 0, o = 0; d < t->n_dims; d++)
                    o += snprintf(got_shape + o, sizeof got_shape - (size_t)o, d ? ",%lld" : "%lld", (long long)t->ne[d]);
                snprintf(got, sizeof got, "%016llx", (unsigned long long)fnv1a64(t->data, t->size));
            }
            bool ok = i >= 0 && strcmp(got_type, type) == 0 && strcmp(got_shape, shape) == 0 && strcmp(got, hash) == 0;
            if (!ok && i >= 0 && *bits && strcmp(got_shape, shape) == 0) ok = within_one_ulp(&g.tensors[i], bits, name);
            bad += !ok;
            CHECK_MSG(ok, "%s: tensor %s: flint %s [%s] %s, llama.cpp %s [%s] %s", name, key, got_type, got_shape, got, type,
                      shape, hash);
        }
    }
    CHECK_MSG(g.meta.n_kvs == n_kv && g.n_tensors == n_t, "%s: flint wrote %lld keys and %lld tensors, llama.cpp %lld and %lld",
              name, (long long)g.meta.n_kvs, (long long)g.n_tensors, (long long)n_kv, (long long)n_t);
    printf("  %-36s %3lld keys %4lld tensors  %s\n", name, (long long)n_kv, (long long)n_t, bad ? "DIFFERENT" : "equal");
    fl_gguf_close(&g);
    return (int)(n_kv + n_t);
}

/* dir/name -> the file at target (an absolute link). */
static void link_file(const char *dir, const char *name, const char *target) {
    char path[320], abs[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    remove(path);
    if (realpath(target, abs)) CHECK_MSG(symlink(abs, path) == 0, "%s", path);
}

/* A folder with the config, weights and any chat_template.jinja of model (a
 * folder under tests/fixtures) and the tokenizer files of
 * tests/fixtures/tok/<tok>. */
static void tokenizer_folder(const char *model, const char *tok, const char *dir) {
    static const char *files[] = {"tokenizer.model", "tokenizer.json", "tokenizer_config.json"};
    char target[256];
    mkdir(dir, 0755);
    snprintf(target, sizeof target, "%s/%s/config.json", FIXTURE_DIR, model);
    link_file(dir, "config.json", target);
    snprintf(target, sizeof target, "%s/%s/model.safetensors", FIXTURE_DIR, model);
    link_file(dir, "model.safetensors", target);
    snprintf(target, sizeof target, "%s/%s/chat_template.jinja", FIXTURE_DIR, model);
    if (exists(target)) link_file(dir, "chat_template.jinja", target);
    for (int i = 0; i < 3; i++) {
        snprintf(target, sizeof target, "%s/tok/%s/%s", FIXTURE_DIR, tok, files[i]);
        if (exists(target)) link_file(dir, files[i], target);
    }
}

/* The tokenizer.json-only folders of gen_convert_fixtures.py's BPE_FIXTURES:
 * the model in tests/fixtures/convert/<tag>, the tokenizer of tok/<tok>. */
static const struct { const char *tag, *tok; } bpe_folders[] = {{"bpe-qwen35", "bytelevel"}, {"bpe-gemma4", "gemma4"}};

/* "gemma3-a-q4_k_m.txt" -> tests/fixtures/gemma3/a, "q4_k_m";
 * "spm-gemma1-a-f32.txt" -> gemma1/a with tok/spm's tokenizer (a folder made in tmpdir), "f32";
 * "bpe-qwen35-f32.txt" -> convert/bpe-qwen35 with tok/bytelevel's tokenizer (likewise), "f32";
 * "mlx-gemma3-q4-q8_0.txt" -> tests/fixtures/mlx/gemma3-q4, "q8_0";
 * "gguf-gemma3-a-f32-q8_0.txt" -> tests/fixtures/gemma3/a/model-f32.gguf, "q8_0". */
static bool manifest_source(const char *file, char *src, size_t cap, char *type) {
    char name[256];
    snprintf(name, sizeof name, "%s", file);
    char *dot = strrchr(name, '.'), *dash = strrchr(name, '-');
    if (!dot || !dash || dash > dot) return false;
    *dot = 0;
    snprintf(type, 16, "%s", dash + 1);
    *dash = 0;
    for (size_t i = 0; i < sizeof bpe_folders / sizeof *bpe_folders; i++)
        if (!strcmp(name, bpe_folders[i].tag)) {
            char model[64];
            snprintf(model, sizeof model, "convert/%s", bpe_folders[i].tag);
            snprintf(src, cap, "%s/%s", tmpdir, name);
            tokenizer_folder(model, bpe_folders[i].tok, src);
            return true;
        }
    if (!strncmp(name, "mlx-", 4)) return snprintf(src, cap, "%s/mlx/%s", FIXTURE_DIR, name + 4) < (int)cap;
    bool gguf = strncmp(name, "gguf-", 5) == 0, spm = strncmp(name, "spm-", 4) == 0;
    char *rest = gguf ? name + 5 : spm ? name + 4 : name, *first = strchr(rest, '-');
    if (!first) return false;
    *first = '/';
    if (spm) {
        snprintf(src, cap, "%s/spm-%.*s-%s", tmpdir, (int)(first - rest), rest, first + 1);
        tokenizer_folder(rest, "spm", src);
        return true;
    }
    if (!gguf) return snprintf(src, cap, "%s/%s", FIXTURE_DIR, rest) < (int)cap;
    char *last = strrchr(rest, '-');
    if (!last) return false;
    *last = 0;
    return snprintf(src, cap, "%s/%s/model-%s.gguf", FIXTURE_DIR, rest, last + 1) < (int)cap;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void check_manifests(void) {
    DIR *d = opendir(FIXTURE("convert"));
    CHECK_MSG(d, "%s", FIXTURE("convert"));
    if (!d) return;
    char *files[512];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 512;)
        if (strstr(e->d_name, ".txt")) files[n++] = strdup(e->d_name);
    closedir(d);
    qsort(files, (size_t)n, sizeof *files, cmp_str);
    CHECK_MSG(n >= 90, "only %d manifests", n);
    char out[128];
    snprintf(out, sizeof out, "%s/out.gguf", tmpdir);
    for (int i = 0; i < n; i++) {
        char src[320], type[16], path[320], line[512];
        snprintf(path, sizeof path, "%s/%s", FIXTURE("convert"), files[i]);
        FILE *mf = fopen(path, "r");
        if (!manifest_source(files[i], src, sizeof src, type) || !mf || !fgets(line, sizeof line, mf)) {
            CHECK_MSG(0, "%s: unreadable manifest", files[i]);
            if (mf) fclose(mf);
            continue;
        }
        remove(out);
        flint_status st = convert(src, out, type, false);
        if (strncmp(line, "error ", 6) == 0) { /* llama-quantize refused this one */
            CHECK_MSG(st == FLINT_E_UNSUPPORTED && nothing_written(out), "%s: flint %s (%s), llama-quantize: %s", files[i],
                      flint_status_name(st), flint_errmsg(), line + 6);
            printf("  %-36s refused, as llama-quantize does\n", files[i]);
        } else if (st) {
            CHECK_MSG(0, "%s: %s", files[i], flint_errmsg());
        } else {
            rewind(mf);
            compare(out, mf, files[i]);
        }
        fclose(mf);
        free(files[i]);
    }
    remove(out);
}

/* A converted file runs in flint: transformers' logits of the fixture. */
static void check_logits(const char *dir, const char *type, const char *logits_file, double tol, double top1, double kl) {
    char out[128], src[128];
    snprintf(out, sizeof out, "%s/logits.gguf", tmpdir);
    snprintf(src, sizeof src, "%s/%s", FIXTURE_DIR, dir);
    remove(out);
    fixture f;
    if (convert(src, out, type, false) || !load_fixture_logits(src, logits_file, &f)) {
        CHECK_MSG(0, "%s %s: %s", dir, type, flint_errmsg());
        return;
    }
    check_model(out, &f, tol, top1, kl);
    free(f.logits);
    remove(out);
}

/* The tokenizer flint reads from a converted folder's GGUF encodes
 * tests/fixtures/tok/<tok>/cases.json as the reference did (tokenizers or
 * sentencepiece, gen_tokenizer_fixtures.py): key "ids" plain, "ids_special"
 * parsing special tokens. Cases holding skip (if not NULL) are left out:
 * tok/gemma4's <|turn> and <turn|> are special added tokens in
 * tokenizer.json, but its tokenizer_config.json does not list them, so the
 * converter types them NORMAL and a GGUF reader does not parse them. */
static void check_tokenizer(const char *tag, const char *model, const char *tok, const char *key, unsigned flags,
                            const char *skip) {
    char dir[160], out[160], path[200];
    snprintf(dir, sizeof dir, "%s/%s-tok", tmpdir, tag);
    snprintf(out, sizeof out, "%s/%s-tok.gguf", tmpdir, tag);
    tokenizer_folder(model, tok, dir);
    fl_tokenizer *t = NULL;
    if (convert(dir, out, "F32", true) || fl_tokenizer_load(out, &t)) {
        CHECK_MSG(0, "%s: %s", tag, flint_errmsg());
        return;
    }
    snprintf(path, sizeof path, "%s/tok/%s/cases.json", FIXTURE_DIR, tok);
    json_t *cases = json_load_file(path, 0, NULL), *c;
    size_t i, n = 0, bad = 0, skipped = 0;
    fl_tok_ids ids = {0};
    json_array_foreach(cases, i, c) {
        json_t *want = json_object_get(c, key);
        const char *hex = json_string_value(json_object_get(c, "hex"));
        if (!want || !hex) continue;
        size_t len = strlen(hex) / 2;
        char *text = malloc(len + 1);
        for (size_t b = 0; b < len; b++) {
            unsigned v;
            sscanf(hex + 2 * b, "%2x", &v);
            text[b] = (char)v;
        }
        text[len] = 0;
        if (skip && strstr(text, skip)) {
            skipped++;
            free(text);
            continue;
        }
        ids.n = 0;
        bool eq = fl_tokenize(t, text, len, flags, &ids) == FLINT_OK && ids.n == json_array_size(want);
        for (size_t k = 0; eq && k < ids.n; k++) eq = ids.ids[k] == json_integer_value(json_array_get(want, k));
        CHECK_MSG(eq, "%s %s case %zu \"%.*s\"", tag, key, i, (int)(len > 40 ? 40 : len), text);
        bad += !eq;
        free(text);
        n++;
    }
    CHECK_MSG(n >= 25, "%s: only %zu cases", path, n);
    printf("  %-36s %3zu cases %-12s %s (%zu left out)\n", tag, n, key, bad ? "DIFFERENT" : "equal", skipped);
    fl_tok_ids_free(&ids);
    json_decref(cases);
    fl_tokenizer_free(t);
    remove(out);
}

static int n_warnings;
static char last_warning[512];
static void on_warn(void *user, const char *msg) {
    (void)user;
    n_warnings++;
    snprintf(last_warning, sizeof last_warning, "%s", msg);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A folder holding config.json with text and a link to fixture's weights. */
static void make_folder(const char *dir, const char *config, const char *fixture) {
    char path[256], weights[160];
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_text(path, config);
    snprintf(weights, sizeof weights, "%s/%s/model.safetensors", FIXTURE_DIR, fixture);
    link_file(dir, "model.safetensors", weights);
}

/* A fixture's config.json with one substitution. */
static char *edited_config(const char *fixture, const char *from, const char *to) {
    char *text = NULL, *out = NULL, path[160];
    uint64_t len;
    snprintf(path, sizeof path, "%s/%s/config.json", FIXTURE_DIR, fixture);
    if (fl_read_file(path, 1 << 20, &text, &len)) return NULL;
    char *at = strstr(text, from);
    if (at && (out = malloc(len + strlen(to) + 1))) {
        *at = 0;
        sprintf(out, "%s%s%s", text, to, at + strlen(from));
    }
    free(text);
    return out;
}

static void check_outputs(void) {
    char out[128], dir[128], tmp[160];
    snprintf(out, sizeof out, "%s/force.gguf", tmpdir);
    write_text(out, "keep me");
    CHECK_FAILS(convert(FIXTURE("gemma3/a"), out, "Q8_0", false), FLINT_E_INVALID_ARG, "--force");
    char buf[16] = "";
    FILE *f = fopen(out, "rb");
    if (f) {
        CHECK(fread(buf, 1, 7, f) == 7);
        fclose(f);
    }
    CHECK_STR_EQ(buf, "keep me");
    CHECK_INT_EQ(convert(FIXTURE("gemma3/a"), out, "Q8_0", true), FLINT_OK);
    f = fopen(out, "rb");
    if (f) {
        CHECK(fread(buf, 1, 4, f) == 4 && memcmp(buf, "GGUF", 4) == 0);
        fclose(f);
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    CHECK(!exists(tmp));
    remove(out);

    fl_convert_params p = {.src = FIXTURE("gemma3/a"), .out = out, .type = "F16", .warn = on_warn};
    CHECK_INT_EQ(fl_convert(&p), FLINT_OK);
    CHECK_MSG(n_warnings == 1 && strstr(last_warning, "no tokenizer"), "%d warnings, last: %s", n_warnings, last_warning);
    remove(out);
    snprintf(dir, sizeof dir, "%s/spm", tmpdir);
    tokenizer_folder("gemma2/a", "spm", dir);
    p.src = dir;
    CHECK_INT_EQ(fl_convert(&p), FLINT_OK);
    CHECK_MSG(n_warnings == 1, "a SentencePiece tokenizer converts without a warning: %s", last_warning);
    remove(out);
    snprintf(dir, sizeof dir, "%s/bpe", tmpdir);
    tokenizer_folder("convert/bpe-qwen35", "bytelevel", dir);
    p.src = dir;
    CHECK_INT_EQ(fl_convert(&p), FLINT_OK);
    CHECK_MSG(n_warnings == 1, "a tokenizer.json (Qwen3.5) converts without a warning: %s", last_warning);
    remove(out);
    /* a tokenizer.json whose ids pass the config's vocab_size */
    snprintf(tmp, sizeof tmp, "%s/tokenizer.json", dir);
    remove(tmp);
    write_text(tmp, "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 900}, \"merges\": []}, \"added_tokens\": []}");
    CHECK_FAILS(fl_convert(&p), FLINT_E_FORMAT, "token id 900 is past the config's vocab_size 854");
    CHECK(nothing_written(out));

    snprintf(out, sizeof out, "%s/bad.gguf", tmpdir);
    CHECK_FAILS(convert(FIXTURE("gemma3/a"), tmpdir, "Q8_0", true), FLINT_E_INVALID_ARG, "is a directory");
    CHECK_FAILS(convert(FIXTURE("gemma3/a"), out, "Q3_K", false), FLINT_E_INVALID_ARG, "unknown type 'Q3_K'");
    CHECK(nothing_written(out));

    snprintf(dir, sizeof dir, "%s/llama", tmpdir);
    make_folder(dir, "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"num_hidden_layers\": 8}", "gemma3/a");
    CHECK_FAILS(convert(dir, out, "Q8_0", false), FLINT_E_UNSUPPORTED, "'LlamaForCausalLM' is not one flint converts");
    CHECK(nothing_written(out));

    snprintf(dir, sizeof dir, "%s/missing", tmpdir);
    char *cfg = edited_config("gemma1/a", "\"num_hidden_layers\": 4", "\"num_hidden_layers\": 5");
    CHECK(cfg != NULL);
    if (cfg) make_folder(dir, cfg, "gemma1/a");
    free(cfg);
    CHECK_FAILS(convert(dir, out, "Q8_0", false), FLINT_E_FORMAT, "missing tensor 'model.layers.4.input_layernorm.weight'");
    CHECK(nothing_written(out));

    /* a full disk, as a file size limit: the write fails, OUT.tmp goes */
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {100000, 100000};
        setrlimit(RLIMIT_FSIZE, &rl);
        flint_status st = convert(FIXTURE("gemma3/a"), out, "F32", false);
        _exit(st == FLINT_E_IO && strstr(flint_errmsg(), "write failed") ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a write past the file size limit: status %d", status);
    CHECK(nothing_written(out));
}

int main(void) {
    (void)check_case, (void)check_batch, (void)check_consistency, (void)load_f32_fixture; /* model_fixture.h's, used by the family tests */
    snprintf(tmpdir, sizeof tmpdir, "/tmp/flint-convert-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;

    TEST_GROUP("llama.cpp's outputs");
    check_manifests();

    TEST_GROUP("converted files run");
    check_logits("gemma3/a", "F32", "logits.bin", 1e-4, 0, 0);
    check_logits("gemma3/a", "Q8_0", "logits-q8_0.bin", 0, dense_bounds.q8_deq_top1, dense_bounds.q8_deq_kl);
    check_logits("gemma4/b", "Q8_0", "logits-q8_0.bin", 0, moe_bounds.q8_deq_top1, moe_bounds.q8_deq_kl);
    check_logits("qwen35/dense", "F32", "logits.bin", 1e-4, 0, 0);
    check_logits("qwen35/moe", "Q8_0", "logits-q8_0.bin", 0, hybrid_moe_bounds.q8_deq_top1, hybrid_moe_bounds.q8_deq_kl);
    check_logits("gemma3/a", "Q4_K_M", "logits.bin", 0, dense_bounds.q4_top1, dense_bounds.q4_kl);
    /* MLX folders to F32: mlx-lm's own float32 logits (tests/fixtures/mlx), within test_mlx's exact-mode bound;
     * but gemma3-q3-g32-f16, whose norms are float16: the converter (so flint) adds Gemma's 1 in float16,
     * rounding 1 + w, where mlx-lm adds it in float32 at run time (measured 1.5e-3) */
    static const char *mlx_dirs[] = {"gemma3-q4", "gemma3-q8", "gemma3-q3-g32-f16", "gemma4a-q4-g32", "gemma4b-q4",
                                     "gemma4b-nvfp4", "qwen35-q8-g32-f32", "qwen35-mixed26", "qwen35-bf16",
                                     "qwen35moe-mxfp4", "qwen35moe-q5-g32"};
    for (size_t i = 0; i < sizeof mlx_dirs / sizeof *mlx_dirs; i++) {
        char dir[64];
        snprintf(dir, sizeof dir, "mlx/%s", mlx_dirs[i]);
        check_logits(dir, "F32", "logits.bin", strstr(dir, "-f16") ? 3e-3 : 1e-4, 0, 0);
    }

    TEST_GROUP("converted tokenizers encode as the HF tokenizer");
    check_tokenizer("bpe-qwen35", "convert/bpe-qwen35", "bytelevel", "ids", 0, NULL);
    check_tokenizer("bpe-qwen35", "convert/bpe-qwen35", "bytelevel", "ids_special", FL_TOK_PARSE_SPECIAL, NULL);
    check_tokenizer("bpe-gemma4", "convert/bpe-gemma4", "gemma4", "ids", 0, NULL);
    check_tokenizer("bpe-gemma4", "convert/bpe-gemma4", "gemma4", "ids_special", FL_TOK_PARSE_SPECIAL, "<|turn>");

    TEST_GROUP("outputs and bad input");
    check_outputs();

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_finish("test_convert");
}
