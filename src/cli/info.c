/* info.c — `flint info -m PATH [--tensors]`: what a model file holds,
 * read through the public API only: architecture, hyperparameters,
 * tokenizer summary, tensor count and bytes per type, and optionally every
 * tensor (name, type, shape, offset). Reads no tensor data. `flint info
 * --gpus`: the GPU devices --gpu can name. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/model_arg.h"
#include "cli/cli.h"
#include "cli/gpu.h"
#include "flint.h"

static void print_bytes(uint64_t n) {
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double x = (double)n;
    int u = 0;
    while (x >= 1024 && u < 4) x /= 1024, u++;
    if (u == 0) printf("%" PRIu64 " B", n);
    else printf("%.2f %s", x, unit[u]);
}

/* Prints a metadata value on one line; long strings and arrays are cut. */
static void print_value(const flint_model *m, const char *key) {
    flint_meta_type t;
    if (flint_meta_type_of(m, key, &t)) return;
    int64_t i;
    double f;
    const char *s;
    uint64_t len;
    switch (t) {
    case FLINT_META_STRING:
        flint_meta_get_str(m, key, &s, &len);
        if (len > 60) printf("\"%.60s...\" (%" PRIu64 " bytes)", s, len);
        else printf("\"%.*s\"", (int)len, s);
        break;
    case FLINT_META_ARRAY: {
        flint_meta_type et;
        flint_meta_get_array(m, key, &et, &len);
        printf("[%" PRIu64 " x %s]", len, et == FLINT_META_STRING ? "string" : et == FLINT_META_ARRAY ? "array" : "number");
        break;
    }
    case FLINT_META_F32: case FLINT_META_F64:
        flint_meta_get_float(m, key, &f);
        printf("%.9g", f);
        break;
    case FLINT_META_BOOL:
        flint_meta_get_int(m, key, &i);
        printf("%s", i ? "true" : "false");
        break;
    case FLINT_META_NULL:
        printf("null");
        break;
    default:
        if (flint_meta_get_int(m, key, &i) == FLINT_OK) printf("%" PRId64, i);
        else if (flint_meta_get_float(m, key, &f) == FLINT_OK) printf("%.0f", f);
        break;
    }
}

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* GGUF: the "<arch>." keys. HF: config.json, less the vision/audio towers. */
static void print_hparams(const flint_model *m, const char *arch) {
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s.", arch);
    int gguf = flint_model_file_kind(m) == FLINT_FILE_GGUF;
    printf("hyperparameters:\n");
    for (int64_t i = 0; i < flint_meta_count(m); i++) {
        const char *key = flint_meta_key(m, i);
        if (gguf ? !starts_with(key, prefix)
                 : starts_with(key, "vision_config.") || starts_with(key, "audio_config.") || strchr(key, '['))
            continue;
        printf("  %-44s ", gguf ? key + strlen(prefix) : key);
        print_value(m, key);
        printf("\n");
    }
}

static void print_tokenizer(const flint_model *m) {
    printf("tokenizer:\n");
    if (flint_model_file_kind(m) != FLINT_FILE_GGUF) {
        int any = 0;
        const char *keys[] = {"bos_token_id", "eos_token_id", "pad_token_id", "vocab_size"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            flint_meta_type t;
            char text_key[64];
            snprintf(text_key, sizeof text_key, "text_config.%s", keys[k]);
            const char *key = flint_meta_type_of(m, text_key, &t) == FLINT_OK ? text_key : keys[k];
            if (flint_meta_type_of(m, key, &t) != FLINT_OK) continue;
            printf("  %-44s ", keys[k]);
            print_value(m, key);
            printf("\n");
            any = 1;
        }
        if (!any) printf("  (none in config.json)\n");
        return;
    }
    int any = 0;
    for (int64_t i = 0; i < flint_meta_count(m); i++) {
        const char *key = flint_meta_key(m, i);
        if (!starts_with(key, "tokenizer.")) continue;
        printf("  %-44s ", key + strlen("tokenizer."));
        print_value(m, key);
        printf("\n");
        any = 1;
    }
    if (!any) printf("  (no tokenizer.* keys)\n");
}

static void print_tensors(const flint_model *m, int list) {
    uint64_t bytes[FLINT_TYPE_COUNT] = {0}, total = 0;
    int64_t count[FLINT_TYPE_COUNT] = {0}, n = flint_tensor_count(m);
    for (int64_t i = 0; i < n; i++) {
        flint_tensor_info t;
        if (flint_tensor_get(m, i, &t)) continue;
        bytes[t.type] += t.size;
        count[t.type]++;
        total += t.size;
    }
    printf("tensors: %" PRId64 ", ", n);
    print_bytes(total);
    printf("\n");
    for (int t = 0; t < FLINT_TYPE_COUNT; t++) {
        if (!count[t]) continue;
        printf("  %-8s %6" PRId64 " tensors  ", flint_type_name((flint_type)t), count[t]);
        print_bytes(bytes[t]);
        printf("\n");
    }
    if (!list) return;
    printf("\n%-56s %-8s %-28s %14s %12s\n", "name", "type", "shape", "offset", "bytes");
    for (int64_t i = 0; i < n; i++) {
        flint_tensor_info t;
        if (flint_tensor_get(m, i, &t)) continue;
        char shape[128];
        int k = 0;
        for (int d = 0; d < t.n_dims && k < (int)sizeof shape - 24; d++)
            k += snprintf(shape + k, sizeof shape - (size_t)k, d ? " x %" PRId64 : "%" PRId64, t.ne[d]);
        if (t.n_dims == 0) snprintf(shape, sizeof shape, "scalar");
        printf("%-56s %-8s %-28s %14" PRIu64 " %12" PRIu64 "\n", t.name, flint_type_name(t.type), shape, t.offset,
               t.size);
    }
}

int cli_info(int argc, char **argv) {
    const char *path = NULL;
    int list = 0, gpus = 0;
    cli_opt opts[] = {
        CLI_MODEL_OPT(path),
        {"--tensors", NULL, CLI_OPT_FLAG, &list,
         .help = "list every tensor: name, type, shape (fastest dimension first), offset, bytes"},
        {"--gpus", NULL, CLI_OPT_FLAG, &gpus,
         .help = "list the GPU devices --gpu can name (index, name, kind, memory, subgroup size); no -m needed"},
    };
    opts[0].required = 0; /* --gpus alone opens no model */
    const cli_cmd cmd = {"info", NULL, opts, CLI_N_OPTS(opts)};
    int parsed = cli_args_parse(&cmd, argc, argv);
    if (parsed) return parsed == 1 ? 0 : 2;
    if (gpus && !path) return cli_gpus_print(stdout);
    if (!path) {
        fprintf(stderr, "flint info: missing -m MODEL (or --gpus)\n");
        cli_args_usage(&cmd, stderr);
        return 2;
    }
    if (gpus && cli_gpus_print(stdout)) return 1;
    flint_model *m;
    if (cli_model_open(path, NULL, &m) != FLINT_OK) {
        fprintf(stderr, "flint info: %s\n", flint_errmsg());
        return 1;
    }
    const char *arch = flint_model_arch(m);
    printf("file:         %s (%s)\n", path, flint_model_file_kind(m) == FLINT_FILE_GGUF ? "GGUF" : "safetensors folder");
    printf("architecture: %s\n", *arch ? arch : "(none)");
    print_hparams(m, arch);
    print_tokenizer(m);
    print_tensors(m, list);
    flint_model_close(m);
    return 0;
}
