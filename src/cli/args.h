/* args.h — the one option parser of the command line. A command declares
 * a table of options (names, kind, destination, allowed range, one line of
 * help) and calls cli_args_parse(); the --help text is generated from the
 * same table, so help and parser cannot disagree.
 *
 * Syntax: `-t 4`, `--temp 0.5` or `--temp=0.5`; `-h`/`--help`; a lone `-`
 * is a positional argument; `--` ends the options (what follows is
 * positional). An option's value is always the next argument, even if it
 * starts with '-' (`--temp -1` is then refused by the range check).
 *
 * Checks (each refusal printed to stderr as `flint CMD: ...` naming the
 * option and the value, then a hint to run --help; status 2): unknown
 * options, a missing value, an empty number, a number that is not a whole
 * decimal (`abc`, `10x`, ` 5`), out of the type's range (overflow) or of
 * the option's [min, max], NaN or infinite floats, a missing required
 * option, more positional arguments than the table has. A non-repeatable
 * option given twice is accepted and the last one wins (as getopt-based
 * tools do: a wrapper script can override a default by appending). String
 * values may be empty. Nothing is stored unless the whole command line is
 * valid: a first pass checks, a second stores. */
#ifndef FL_CLI_ARGS_H
#define FL_CLI_ARGS_H

#include <stdint.h>
#include <stdio.h>

typedef enum cli_opt_kind {
    CLI_OPT_FLAG,    /* int *dst = set (1 when set is 0); takes no value */
    CLI_OPT_INT32,   /* int32_t *dst */
    CLI_OPT_INT64,   /* int64_t *dst */
    CLI_OPT_FLOAT,   /* float *dst; NaN and infinities refused */
    CLI_OPT_STRING,  /* const char **dst, pointing into argv */
    CLI_OPT_STRINGS, /* cli_strings *dst: every occurrence appended (a repeatable option,
                        or as a positional, all the remaining positional arguments) */
} cli_opt_kind;

/* A repeatable string's values (pointers into argv), in the order given;
 * freed by cli_args_free(). */
typedef struct cli_strings {
    const char **v;
    int32_t n;
} cli_strings;

typedef struct cli_opt {
    const char *name;  /* "-m", "--temp"; a name without a leading '-' ("TEXT") is a
                          positional argument, filled in table order */
    const char *alias; /* another spelling ("--model"), or NULL */
    cli_opt_kind kind;
    void *dst;
    double min, max;  /* numbers: the allowed range, inclusive; both 0: the type's whole range
                         (int64 bounds beyond 2^53 are approximate) */
    const char *meta; /* the value's placeholder in the help ("N", "PATH"); NULL: by kind */
    const char *help; /* one line; the default is appended from *dst when it is in range */
    int required;     /* missing is a usage error */
    int set;          /* CLI_OPT_FLAG: the value stored (0 stores 1) */
} cli_opt;

typedef struct cli_cmd {
    const char *name;  /* "bench": messages read "flint bench: ..." */
    const char *about; /* a sentence or two under the usage line, or NULL */
    const cli_opt *opts;
    int32_t n_opts;
} cli_cmd;

#define CLI_N_OPTS(a) ((int32_t)(sizeof(a) / sizeof((a)[0])))

/* Parses argv[1..argc) (argv[0] is the command's name) into the table's
 * destinations. Returns 0: parsed; 1: --help printed to stdout (the caller
 * returns 0); 2: a usage error printed to stderr (the caller returns 2). */
int cli_args_parse(const cli_cmd *cmd, int argc, char **argv);

/* The usage line, the about text and one line per option, with the
 * defaults read from the destinations as they are now. */
void cli_args_usage(const cli_cmd *cmd, FILE *f);

/* A size in bytes: "<digits>[KMG]" (1024-based) into *out; 0 when s is
 * anything else or past INT64_MAX. */
int cli_size_parse(const char *s, int64_t *out);

/* Frees the lists of the table's CLI_OPT_STRINGS options. */
void cli_args_free(const cli_cmd *cmd);

#endif
