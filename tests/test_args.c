/* test_args.c — the command line's option parser (src/cli/args.c, linked
 * as the CLI links it): each kind, each refusal with its message, the
 * all-or-nothing store, positionals, repeatable options and the generated
 * help. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"
#include "harness.h"

static int32_t threads, count32;
static int64_t big;
static float temp;
static const char *model, *text;
static int json, mode;
static cli_strings stops, rest;

static const cli_opt opts[] = {
    {"-m", "--model", CLI_OPT_STRING, &model, .meta = "PATH", .help = "the model", .required = 1},
    {"-t", "--threads", CLI_OPT_INT32, &threads, 1, 1024, .help = "threads"},
    {"-n", NULL, CLI_OPT_INT32, &count32, .help = "any int32"},
    {"--big", NULL, CLI_OPT_INT64, &big, .help = "any int64"},
    {"--temp", NULL, CLI_OPT_FLOAT, &temp, 0, 2, .help = "temperature"},
    {"--json", NULL, CLI_OPT_FLAG, &json, .help = "JSON"},
    {"--pieces", NULL, CLI_OPT_FLAG, &mode, .set = 2, .help = "pieces"},
    {"--stop", NULL, CLI_OPT_STRINGS, &stops, .meta = "TEXT", .help = "repeatable"},
    {"TEXT", NULL, CLI_OPT_STRING, &text, .help = "the text"},
    {"FILES", NULL, CLI_OPT_STRINGS, &rest, .help = "the rest"},
};
static const cli_cmd cmd = {"demo", "A test command.", opts, CLI_N_OPTS(opts)};

static char err[4096];

static void reset(void) {
    cli_args_free(&cmd);
    threads = 4, count32 = 7, big = 0, temp = 0.8f, model = text = NULL, json = mode = 0;
}

/* Parses the space-separated words of line (no quoting: "''" is an empty
 * word), stderr captured into err[]. */
static int parse(const char *line) {
    static char buf[1024];
    char *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "demo %s", line);
    for (char *p = strtok(buf, " "); p && argc < 63; p = strtok(NULL, " ")) argv[argc++] = strcmp(p, "''") ? p : p + 2;
    argv[argc] = NULL;
    fflush(stderr);
    FILE *tmp = tmpfile();
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    int rc = cli_args_parse(&cmd, argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(err, 1, sizeof err - 1, tmp);
    err[n] = '\0';
    fclose(tmp);
    return rc;
}

#define REFUSED(line, needle)                                                                          \
    do {                                                                                               \
        reset();                                                                                       \
        CHECK_INT_EQ(parse(line), 2);                                                                  \
        CHECK_MSG(strstr(err, needle) && strstr(err, "flint demo: ") && strstr(err, "--help"),         \
                  "'%s': wanted \"%s\", got \"%s\"", line, needle, err);                               \
        CHECK_INT_EQ(threads, 4); /* nothing stored */                                                 \
    } while (0)

static void test_valid(void) {
    TEST_GROUP("valid");
    reset();
    CHECK_INT_EQ(parse("-m a.gguf -t 8 -n -5 --big 9000000000 --temp=1.5 --json --pieces hello x y"), 0);
    CHECK_STR_EQ(model, "a.gguf");
    CHECK_INT_EQ(threads, 8);
    CHECK_INT_EQ(count32, -5);
    CHECK_INT_EQ(big, 9000000000LL);
    CHECK_NEAR(temp, 1.5, 0);
    CHECK_INT_EQ(json, 1);
    CHECK_INT_EQ(mode, 2);
    CHECK_STR_EQ(text, "hello");
    CHECK_INT_EQ(rest.n, 2);
    CHECK(rest.n == 2 && !strcmp(rest.v[0], "x") && !strcmp(rest.v[1], "y"));
    reset();
    CHECK_INT_EQ(parse("--model b -t 2 -t 3 --stop a --stop b -"), 0); /* last wins; '-' is positional */
    CHECK_STR_EQ(model, "b");
    CHECK_INT_EQ(threads, 3);
    CHECK(stops.n == 2 && !strcmp(stops.v[0], "a") && !strcmp(stops.v[1], "b"));
    CHECK(text && !strcmp(text, "-"));
    reset();
    CHECK_INT_EQ(parse("-m c -- -t"), 0); /* after --, "-t" is text */
    CHECK(text && !strcmp(text, "-t"));
    CHECK_INT_EQ(threads, 4);
    reset();
    CHECK_INT_EQ(parse("-m c -t 1 -t 1024 --temp 0 -n -2147483648 --big -9223372036854775808"), 0);
    CHECK_INT_EQ(threads, 1024);
    CHECK_INT_EQ(count32, INT32_MIN);
    CHECK_INT_EQ(big, INT64_MIN);
    reset();
    CHECK_INT_EQ(parse("-m ''"), 0); /* strings may be empty */
    CHECK(model && !*model);
    reset();
}

static void test_refused(void) {
    TEST_GROUP("refused");
    REFUSED("-m a -t abc", "-t 'abc': not an integer");
    REFUSED("-m a -t 10x", "-t '10x': not an integer (trailing 'x')");
    REFUSED("-m a -t ''", "-t '': empty value");
    REFUSED("-m a --temp ''", "--temp '': empty value");
    REFUSED("-m a -t 0", "-t '0': out of range 1..1024");
    REFUSED("-m a --threads 1025", "--threads '1025': out of range 1..1024");
    REFUSED("-m a -n 2147483648", "-n '2147483648': out of range -2147483648..2147483647");
    REFUSED("-m a -n 99999999999999999999", "-n '99999999999999999999': out of range");
    REFUSED("-m a --big 9223372036854775808", "--big '9223372036854775808': out of range");
    REFUSED("-m a --temp -1", "--temp '-1': out of range 0..2");
    REFUSED("-m a --temp nan", "--temp 'nan': not a number");
    REFUSED("-m a --temp inf", "--temp 'inf': not a finite float");
    REFUSED("-m a --temp 1e39", "--temp '1e39': not a finite float");
    REFUSED("-m a --temp 1.5.2", "--temp '1.5.2': not a number (trailing '.2')");
    REFUSED("-m a -t", "-t needs a value (N)");
    REFUSED("-m a --foo 1", "unknown option '--foo'");
    REFUSED("-m a --json=1", "--json takes no value");
    REFUSED("-t 2", "missing -m PATH");
    REFUSED("-m a t1 -t 5 --temp=x", "--temp 'x': not a number");
    reset();
    CHECK_INT_EQ(parse(""), 2); /* nothing at all: the usage */
    CHECK(strstr(err, "usage: flint demo -m PATH [options] [TEXT] [FILES...]") != NULL);
}

static void test_help(void) {
    TEST_GROUP("help");
    reset();
    fflush(stdout);
    FILE *tmp = tmpfile();
    int saved = dup(1);
    dup2(fileno(tmp), 1);
    int rc = parse("-t 9 --help");
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    rewind(tmp);
    char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    CHECK_INT_EQ(rc, 1);
    CHECK_INT_EQ(threads, 4);
    CHECK(strstr(out, "usage: flint demo -m PATH [options] [TEXT] [FILES...]\nA test command.\n") != NULL);
    CHECK(strstr(out, "  -t, --threads N        threads (1..1024; default 4)\n") != NULL);
    CHECK(strstr(out, "  --temp X               temperature (0..2; default 0.8)\n") != NULL);
    CHECK(strstr(out, "  -n N                   any int32 (default 7)\n") != NULL);
    CHECK(strstr(out, "  --json                 JSON\n") != NULL);
    CHECK_MSG(strstr(out, "  -m, --model PATH       the model\n") != NULL, "%s", out);
    reset();
}

int main(void) {
    test_valid();
    test_refused();
    test_help();
    return test_finish("args");
}
