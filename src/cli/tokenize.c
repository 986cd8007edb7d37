/* tokenize.c — `flint tokenize -m PATH [--ids|--pieces] [--bos] [--special]
 * [TEXT|-]`: the token ids of a text, read from the argument or byte for
 * byte from stdin (-). By default the text is encoded exactly as given:
 * no BOS/EOS, special-token text not parsed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/model_arg.h"
#include "tokenizer/tokenizer.h"

static char *read_stdin(size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, stdin);
        n += r;
        if (n < cap) break;
        char *p = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
        if (!p) { free(buf); return NULL; }
        buf = p, cap *= 2;
    }
    if (buf && ferror(stdin)) { free(buf); return NULL; }
    *len = n;
    return buf;
}

int cli_tokenize(int argc, char **argv) {
    const char *model = NULL, *text = NULL;
    int mode = 1, bos = 0, special = 0; /* mode: 1 ids, 2 pieces (the last given wins) */
    const cli_opt opts[] = {
        CLI_MODEL_OPT(model),
        {"--ids", NULL, CLI_OPT_FLAG, &mode, .set = 1,
         .help = "print only the ids, on one line separated by spaces (default)"},
        {"--pieces", NULL, CLI_OPT_FLAG, &mode, .set = 2,
         .help = "print one token per line: id, then the vocabulary piece"},
        {"--bos", NULL, CLI_OPT_FLAG, &bos, .help = "add BOS (and EOS) where the vocabulary asks for them"},
        {"--special", NULL, CLI_OPT_FLAG, &special,
         .help = "written special tokens (<bos>, <|im_start|>) become single tokens"},
        {"TEXT|-", NULL, CLI_OPT_STRING, &text, .required = 1,
         .help = "the text, or - to read stdin (byte for byte); after --, a text starting with -"},
    };
    const cli_cmd cmd = {"tokenize", NULL, opts, CLI_N_OPTS(opts)};
    int parsed = cli_args_parse(&cmd, argc, argv);
    if (parsed) return parsed == 1 ? 0 : 2;
    int pieces = mode == 2;
    unsigned flags = (bos ? FL_TOK_ADD_BOS | FL_TOK_ADD_EOS : 0u) | (special ? FL_TOK_PARSE_SPECIAL : 0u);
    fl_tokenizer *tok;
    char *path = NULL;
    flint_status s = cli_model_path(model, &path);
    if (!s) s = fl_tokenizer_load(path, &tok);
    free(path);
    if (s) {
        fprintf(stderr, "flint tokenize: %s\n", flint_errmsg());
        return 1;
    }
    char *buf = NULL;
    size_t len;
    if (!strcmp(text, "-")) {
        if (!(buf = read_stdin(&len))) {
            fprintf(stderr, "flint tokenize: cannot read stdin\n");
            fl_tokenizer_free(tok);
            return 1;
        }
        text = buf;
    } else len = strlen(text);
    fl_tok_ids ids = {0};
    int rc = 0;
    if (fl_tokenize(tok, text, len, flags, &ids)) {
        fprintf(stderr, "flint tokenize: %s\n", flint_errmsg());
        rc = 1;
    } else if (pieces) {
        for (size_t i = 0; i < ids.n; i++) {
            size_t pl;
            const char *p = fl_tokenizer_piece(tok, ids.ids[i], &pl);
            printf("%d\t%.*s\n", ids.ids[i], (int)pl, p);
        }
    } else {
        for (size_t i = 0; i < ids.n; i++) printf(i ? " %d" : "%d", ids.ids[i]);
        printf("\n");
    }
    fl_tok_ids_free(&ids);
    free(buf);
    fl_tokenizer_free(tok);
    return rc;
}
