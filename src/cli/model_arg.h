/* model_arg.h — what every command's -m means: a .gguf file or a model
 * folder as given, else a Hugging Face repository ORG/NAME[:QUANT] opened
 * from the hub cache, offline (hub/cache.h; `flint pull` puts it there). */
#ifndef FL_CLI_MODEL_ARG_H
#define FL_CLI_MODEL_ARG_H

#include "cli/experts.h"
#include "flint.h"

/* The -m option, the same on every command that opens a model. */
#define CLI_MODEL_OPT(dst)                                                                                         \
    {"-m", NULL, CLI_OPT_STRING, &(dst), .meta = "MODEL", .required = 1,                                          \
     .help = "a .gguf file, a model folder (Hugging Face or MLX), or ORG/NAME[:QUANT] from the hub cache "        \
             "(flint pull)"}

/* The path -m names, a new string in *path. */
flint_status cli_model_path(const char *arg, char **path);
/* flint_model_open on that path, with --expert-cache's value (NULL:
 * resident experts) and --expert-histogram's file loaded if it exists
 * (cli/experts.h); experts NULL: neither. */
flint_status cli_model_open(const char *arg, const cli_experts_opts *experts, flint_model **m);

#endif
