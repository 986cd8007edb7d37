/* convert.c — `flint convert -m SRC -o OUT.gguf --type T [--force]`: an HF
 * folder or a GGUF file to a GGUF file llama.cpp reads (convert/convert.h),
 * with a progress bar on a terminal. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "convert/convert.h"

static void progress(void *user, uint64_t done, uint64_t total) {
    (void)user;
    if (!isatty(fileno(stderr)) || total == 0) return;
    int width = 40, fill = (int)(width * (double)done / (double)total);
    fprintf(stderr, "\r[%.*s%*s] %3d%% %8.1f / %.1f MiB", fill, "########################################", width - fill,
            "", (int)(100.0 * (double)done / (double)total), (double)done / 1048576.0, (double)total / 1048576.0);
    if (done == total) fputc('\n', stderr);
}

static void warn(void *user, const char *msg) {
    (void)user;
    fprintf(stderr, "flint convert: warning: %s\n", msg);
}

int cli_convert(int argc, char **argv) {
    const char *src = NULL, *out = NULL, *type = NULL;
    int force = 0;
    int32_t threads = 0;
    const cli_opt opts[] = {
        {"-m", "--model", CLI_OPT_STRING, &src, .meta = "SRC", .required = 1,
         .help = "a Hugging Face folder (config.json + *.safetensors), an MLX folder or a .gguf file"},
        {"-o", "--output", CLI_OPT_STRING, &out, .meta = "OUT", .required = 1, .help = "the GGUF file to write"},
        {"--type", NULL, CLI_OPT_STRING, &type, .meta = "T", .required = 1,
         .help = "F32 F16 BF16 Q8_0 Q4_0 Q4_K Q5_K Q6_K Q4_K_M Q5_K_M"},
        {"--force", NULL, CLI_OPT_FLAG, &force, .help = "replace OUT if it exists"},
        {"-t", "--threads", CLI_OPT_INT32, &threads, 0, 1024, .meta = "N", .help = "quantizing threads (0: physical cores)"},
    };
    const cli_cmd cmd = {"convert",
                         "Writes the tensors, names and metadata llama.cpp's converter writes (and llama-quantize's "
                         "types for the quantized ones), to OUT.tmp, then renames it to OUT.",
                         opts, CLI_N_OPTS(opts)};
    int rc = cli_args_parse(&cmd, argc, argv);
    if (rc) return rc == 1 ? 0 : 2;
    fl_convert_params p = {.src = src, .out = out, .type = type, .force = force, .n_threads = threads,
                           .progress = progress, .warn = warn};
    if (fl_convert(&p) != FLINT_OK) {
        fprintf(stderr, "flint convert: %s\n", flint_errmsg());
        return 1;
    }
    return 0;
}
