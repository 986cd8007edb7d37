/* args.c — the table-driven option parser (args.h). Two passes over argv:
 * the first checks every argument and counts the repeatable ones, the
 * second stores, so a refused command line leaves the destinations as they
 * were (and --help prints the defaults, not half-parsed values). */
#include "cli/args.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_OPTS = 64 };

static int fail(const cli_cmd *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "flint %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nrun 'flint %s --help' for the options\n", cmd->name);
    va_end(ap);
    return 2;
}

static int is_positional(const cli_opt *o) { return o->name[0] != '-'; }
static int is_number(const cli_opt *o) {
    return o->kind == CLI_OPT_INT32 || o->kind == CLI_OPT_INT64 || o->kind == CLI_OPT_FLOAT;
}

/* The range a number must lie in: the option's, or its type's. */
static void range_of(const cli_opt *o, double *lo, double *hi) {
    if (o->min != 0 || o->max != 0) *lo = o->min, *hi = o->max;
    else if (o->kind == CLI_OPT_INT32) *lo = INT32_MIN, *hi = INT32_MAX;
    else if (o->kind == CLI_OPT_INT64) *lo = (double)INT64_MIN, *hi = (double)INT64_MAX;
    else *lo = -HUGE_VAL, *hi = HUGE_VAL;
}

static const char *meta_of(const cli_opt *o) {
    if (o->meta) return o->meta;
    return o->kind == CLI_OPT_FLOAT ? "X" : is_number(o) ? "N" : "VALUE";
}

/* Parses a number for option o (named as the user typed it) into *i or *f. */
static int parse_number(const cli_cmd *cmd, const cli_opt *o, const char *name, const char *s, int64_t *i,
                        double *f) {
    const char *what = o->kind == CLI_OPT_FLOAT ? "a number" : "an integer";
    if (!*s) return fail(cmd, "%s '': empty value, wants %s", name, what);
    if (isspace((unsigned char)*s)) return fail(cmd, "%s '%s': not %s", name, s, what);
    char *end;
    errno = 0;
    double v;
    if (o->kind == CLI_OPT_FLOAT) v = *f = strtod(s, &end);
    else v = (double)(*i = strtoll(s, &end, 10));
    if (end == s) return fail(cmd, "%s '%s': not %s", name, s, what);
    if (*end) return fail(cmd, "%s '%s': not %s (trailing '%s')", name, s, what, end);
    if (o->kind == CLI_OPT_FLOAT && isnan(v)) return fail(cmd, "%s '%s': not a number", name, s);
    if (o->kind == CLI_OPT_FLOAT && (isinf(v) || isinf((float)v)))
        return fail(cmd, "%s '%s': not a finite float", name, s);
    double lo, hi;
    range_of(o, &lo, &hi);
    int type_overflow = (o->kind != CLI_OPT_FLOAT && errno == ERANGE) ||
                        (o->kind == CLI_OPT_INT32 && (*i < INT32_MIN || *i > INT32_MAX));
    if (type_overflow || v < lo || v > hi) {
        if (o->kind == CLI_OPT_FLOAT) return fail(cmd, "%s '%s': out of range %g..%g", name, s, lo, hi);
        return fail(cmd, "%s '%s': out of range %.0f..%.0f", name, s, lo, hi);
    }
    return 0;
}

/* Checks (store = 0) or stores (store = 1) value s for option o. */
static int take(const cli_cmd *cmd, const cli_opt *o, const char *name, const char *s, int store) {
    int64_t i = 0;
    double f = 0;
    if (is_number(o) && parse_number(cmd, o, name, s, &i, &f)) return 2;
    if (!store) return 0;
    switch (o->kind) {
    case CLI_OPT_FLAG: *(int *)o->dst = o->set ? o->set : 1; break;
    case CLI_OPT_INT32: *(int32_t *)o->dst = (int32_t)i; break;
    case CLI_OPT_INT64: *(int64_t *)o->dst = i; break;
    case CLI_OPT_FLOAT: *(float *)o->dst = (float)f; break;
    case CLI_OPT_STRING: *(const char **)o->dst = s; break;
    case CLI_OPT_STRINGS: {
        cli_strings *l = o->dst;
        l->v[l->n++] = s; /* sized in the first pass */
        break;
    }
    }
    return 0;
}

/* The option named by arg ("-t", "--temp", or "--temp=..." with *eq set to
 * the '='), or NULL. */
static const cli_opt *find(const cli_cmd *cmd, const char *arg, const char **eq) {
    *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    size_t len = *eq ? (size_t)(*eq - arg) : strlen(arg);
    for (int32_t k = 0; k < cmd->n_opts; k++) {
        const cli_opt *o = &cmd->opts[k];
        if (is_positional(o)) continue;
        if ((strlen(o->name) == len && !strncmp(o->name, arg, len)) ||
            (o->alias && strlen(o->alias) == len && !strncmp(o->alias, arg, len)))
            return o;
    }
    return NULL;
}

static int pass(const cli_cmd *cmd, int argc, char **argv, int store, int32_t *count) {
    int32_t next_pos = 0; /* the table index from which to look for the next positional */
    int only_pos = 0;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (!only_pos && !strcmp(arg, "--")) {
            only_pos = 1;
            continue;
        }
        if (!only_pos && arg[0] == '-' && arg[1]) {
            if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
                cli_args_usage(cmd, stdout);
                return 1;
            }
            const char *eq;
            const cli_opt *o = find(cmd, arg, &eq);
            if (!o) return fail(cmd, "unknown option '%s'", arg);
            const char *val = eq ? eq + 1 : NULL;
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)(eq ? eq - arg : (long)strlen(arg)), arg);
            if (o->kind == CLI_OPT_FLAG && val) return fail(cmd, "%s takes no value, got '%s'", name, val);
            if (o->kind != CLI_OPT_FLAG && !val) {
                if (a + 1 >= argc) return fail(cmd, "%s needs a value (%s)", name, meta_of(o));
                val = argv[++a];
            }
            if (take(cmd, o, name, val, store)) return 2;
            count[o - cmd->opts]++;
            continue;
        }
        while (next_pos < cmd->n_opts && !is_positional(&cmd->opts[next_pos])) next_pos++;
        if (next_pos == cmd->n_opts) return fail(cmd, "unexpected argument '%s'", arg);
        const cli_opt *o = &cmd->opts[next_pos];
        if (take(cmd, o, o->name, arg, store)) return 2;
        count[next_pos]++;
        if (o->kind != CLI_OPT_STRINGS) next_pos++;
    }
    return 0;
}

int cli_args_parse(const cli_cmd *cmd, int argc, char **argv) {
    assert(cmd->n_opts <= MAX_OPTS);
    if (argc <= 1) {
        for (int32_t k = 0; k < cmd->n_opts; k++)
            if (cmd->opts[k].required) {
                cli_args_usage(cmd, stderr);
                return 2;
            }
    }
    int32_t count[MAX_OPTS] = {0};
    int rc = pass(cmd, argc, argv, 0, count);
    if (rc) return rc;
    for (int32_t k = 0; k < cmd->n_opts; k++) {
        const cli_opt *o = &cmd->opts[k];
        if (o->required && count[k] == 0) return fail(cmd, "missing %s%s%s", o->name, is_positional(o) ? "" : " ",
                                                       is_positional(o) ? "" : meta_of(o));
        if (o->kind == CLI_OPT_STRINGS && count[k] > 0) {
            cli_strings *l = o->dst;
            const char **v = realloc(l->v, (size_t)(l->n + count[k]) * sizeof *v);
            if (!v) return fail(cmd, "out of memory");
            l->v = v;
        }
    }
    int32_t unused[MAX_OPTS] = {0};
    return pass(cmd, argc, argv, 1, unused);
}

void cli_args_usage(const cli_cmd *cmd, FILE *f) {
    fprintf(f, "usage: flint %s", cmd->name);
    int optional = 0;
    for (int32_t k = 0; k < cmd->n_opts; k++) {
        const cli_opt *o = &cmd->opts[k];
        if (o->required && !is_positional(o))
            fprintf(f, o->kind == CLI_OPT_FLAG ? " %s" : " %s %s", o->name, meta_of(o));
        optional |= !o->required && !is_positional(o);
    }
    if (optional) fprintf(f, " [options]");
    for (int32_t k = 0; k < cmd->n_opts; k++) {
        const cli_opt *o = &cmd->opts[k];
        if (!is_positional(o)) continue;
        const char *dots = o->kind == CLI_OPT_STRINGS ? "..." : "";
        fprintf(f, o->required ? " %s%s" : " [%s%s]", o->name, dots);
    }
    fprintf(f, "\n");
    if (cmd->about) fprintf(f, "%s\n", cmd->about);
    fprintf(f, "\n");
    for (int32_t k = 0; k < cmd->n_opts; k++) {
        const cli_opt *o = &cmd->opts[k];
        char left[64];
        int n = snprintf(left, sizeof left, "%s%s%s", o->name, o->alias ? ", " : "", o->alias ? o->alias : "");
        if (o->kind != CLI_OPT_FLAG && !is_positional(o) && n > 0 && n < (int)sizeof left)
            snprintf(left + n, sizeof left - (size_t)n, " %s", meta_of(o));
        fprintf(f, "  %-22s %s", left, o->help ? o->help : "");
        double lo, hi, v = 0;
        range_of(o, &lo, &hi);
        int ranged = is_number(o) && (o->min != 0 || o->max != 0);
        if (o->kind == CLI_OPT_INT32) v = *(const int32_t *)o->dst;
        if (o->kind == CLI_OPT_INT64) v = (double)*(const int64_t *)o->dst;
        if (o->kind == CLI_OPT_FLOAT) v = *(const float *)o->dst;
        int show = is_number(o) && !o->required && v >= lo && v <= hi;
        const char *sdef = o->kind == CLI_OPT_STRING ? *(const char *const *)o->dst : NULL;
        if (ranged || show || sdef) {
            fprintf(f, " (");
            if (ranged) fprintf(f, o->kind == CLI_OPT_FLOAT ? "%g..%g" : "%.0f..%.0f", lo, hi);
            if (show) fprintf(f, o->kind == CLI_OPT_FLOAT ? "%sdefault %g" : "%sdefault %.0f", ranged ? "; " : "", v);
            if (sdef) fprintf(f, "default %s", sdef);
            fprintf(f, ")");
        }
        fprintf(f, "\n");
    }
}

void cli_args_free(const cli_cmd *cmd) {
    for (int32_t k = 0; k < cmd->n_opts; k++) {
        const cli_opt *o = &cmd->opts[k];
        if (o->kind != CLI_OPT_STRINGS) continue;
        cli_strings *l = o->dst;
        free(l->v);
        l->v = NULL;
        l->n = 0;
    }
}

int cli_size_parse(const char *s, int64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = 0;
    if (*end == 'K' || *end == 'k') shift = 10, end++;
    else if (*end == 'M' || *end == 'm') shift = 20, end++;
    else if (*end == 'G' || *end == 'g') shift = 30, end++;
    if (end == s || *s < '0' || *s > '9' || *end || errno || v > ((unsigned long long)INT64_MAX >> shift)) return 0;
    *out = (int64_t)(v << shift);
    return 1;
}
