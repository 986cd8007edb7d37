/* main.c — the flint command line: dispatches to one file per subcommand.
 * Only cli/ exits; the library reports errors as values. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"info", cli_info, "show a model's architecture, hyperparameters, tokenizer and tensors"},
    {"run", cli_run, "generate text from a prompt (-m PATH -p TEXT [-n N] [--temp T] ...)"},
    {"chat", cli_chat, "an interactive chat with the model's chat template (-m PATH; /reset, /exit)"},
    {"perplexity", cli_perplexity, "perplexity of a text file, as llama.cpp's perplexity tool computes it"},
    {"logits", cli_logits, "the logits of every position for given token ids (-m PATH --tokens 2,651,...)"},
    {"serve", cli_serve, "an OpenAI-compatible HTTP server with a chat page (-m PATH [--port N] [--parallel N])"},
    {"bench", cli_bench, "prefill and decode tokens/s and the ratio to the bandwidth floor"},
    {"pull", cli_pull, "download a model from Hugging Face into its cache (ORG/NAME[:QUANT]); then -m ORG/NAME"},
    {"convert", cli_convert, "an HF folder or a GGUF to a GGUF llama.cpp reads (-m SRC -o OUT --type Q4_K_M)"},
    {"tokenize", cli_tokenize, "the token ids of a text (-m PATH [--ids|--pieces] [--bos] [--special] [TEXT|-])"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: flint COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'flint COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "flint: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
