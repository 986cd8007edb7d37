/* tool_args.c — argument values as JSON text (tool_args.h). The typing
 * rules are vLLM's (qwen3coder_tool_parser.py's _convert_param_value,
 * gemma4_tool_parser.py's _parse_gemma4_value) so a client sees the same
 * arguments from flint as from vLLM; where vLLM falls back on Python's
 * ast.literal_eval, this reads JSON. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "server/markers.h"
#include "server/tool_args.h"

/* Gemma 4 objects nested deeper than this are kept as their text (a string). */
#define G4_MAX_DEPTH 64

static bool ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
static bool in(char c, const char *set) { return c && strchr(set, c); }

static void trim(const char **s, size_t *n) {
    while (*n && ws(**s)) (*s)++, (*n)--;
    while (*n && ws((*s)[*n - 1])) (*n)--;
}

/* s[0..n) equals lit, ASCII letters compared without case */
static bool eq_nocase(const char *s, size_t n, const char *lit) {
    if (n != strlen(lit)) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
        if (c != lit[i]) return false;
    }
    return true;
}

static flint_status put(fl_tok_text *out, const char *s) { return fl_tok_text_append(out, s, strlen(s)); }

json_t *srv_tool_properties(json_t *tools, const char *name) {
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function");
        const char *fn_name = json_string_value(json_object_get(fn, "name"));
        if (fn_name && !strcmp(fn_name, name)) {
            json_t *props = json_object_get(json_object_get(fn, "parameters"), "properties");
            return json_is_object(props) ? props : NULL;
        }
    }
    return NULL;
}

flint_status srv_json_put_string(fl_tok_text *out, const char *s, size_t n) {
    flint_status st = put(out, "\"");
    size_t run = 0; /* s[run..i) is copied as it is */
    for (size_t i = 0; i < n && !st;) {
        unsigned char c = (unsigned char)s[i];
        char esc[8] = "";
        size_t step = 1;
        switch (c) {
        case '"': strcpy(esc, "\\\""); break;
        case '\\': strcpy(esc, "\\\\"); break;
        case '\n': strcpy(esc, "\\n"); break;
        case '\r': strcpy(esc, "\\r"); break;
        case '\t': strcpy(esc, "\\t"); break;
        case '\b': strcpy(esc, "\\b"); break;
        case '\f': strcpy(esc, "\\f"); break;
        default:
            if (c < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", c);
            } else if (c >= 0x80) {
                utf8proc_int32_t cp;
                utf8proc_ssize_t l = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
                if (l > 0) step = (size_t)l;
                else strcpy(esc, "\xEF\xBF\xBD"); /* U+FFFD for a byte that is not UTF-8 */
            }
        }
        if (*esc) {
            st = fl_tok_text_append(out, s + run, i - run);
            if (!st) st = put(out, esc);
            run = i + 1;
        }
        i += step;
    }
    if (!st) st = fl_tok_text_append(out, s + run, n - run);
    return st ? st : put(out, "\"");
}

/* s[0..n) is a JSON number that jansson (and so the fuzz check, and most
 * clients) reads back: integers within int64, finite reals. */
static bool json_number(const char *s, size_t n) {
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i < n && s[i] == '0') i++;
    else if (i < n && s[i] >= '1' && s[i] <= '9') while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    else return false;
    bool real = false;
    if (i < n && s[i] == '.') {
        size_t d = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == d) return false;
        real = true;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == d) return false;
        real = true;
    }
    char buf[128];
    if (i != n || n >= sizeof buf) return false;
    memcpy(buf, s, n), buf[n] = '\0';
    errno = 0;
    if (real) return isfinite(strtod(buf, NULL));
    (void)strtoll(buf, NULL, 10);
    return errno != ERANGE;
}

/* Python's int(text) for the usual forms: optional sign, decimal digits,
 * whitespace around. */
static bool read_int(const char *s, size_t n, long long *v) {
    trim(&s, &n);
    char buf[32];
    if (!n || n >= sizeof buf) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (i == 0 && (s[i] == '+' || s[i] == '-')))) return false;
    if (n == 1 && (s[0] == '+' || s[0] == '-')) return false;
    memcpy(buf, s, n), buf[n] = '\0';
    errno = 0;
    *v = strtoll(buf, NULL, 10);
    return errno != ERANGE;
}

/* Python's float(text) for finite decimal numbers (no hex, inf or nan). */
static bool read_real(const char *s, size_t n, double *v) {
    trim(&s, &n);
    char buf[128];
    if (!n || n >= sizeof buf || strspn(s, "0123456789+-.eE") < n) return false;
    memcpy(buf, s, n), buf[n] = '\0';
    char *end;
    *v = strtod(buf, &end);
    return end == buf + n && isfinite(*v);
}

/* vLLM writes a number with no fraction as an integer (int(5.0) = 5), any
 * other in Python's repr: the shortest text that reads back. */
static flint_status put_real(fl_tok_text *out, double v) {
    char buf[40];
    if (v == trunc(v) && fabs(v) < 9.2e18) {
        snprintf(buf, sizeof buf, "%lld", (long long)v);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v);
            if (strtod(buf, NULL) == v) break;
        }
    }
    return put(out, buf);
}

/* The schema's type name, lower case and trimmed as vLLM's
 * str(type).strip().lower(); "string" when none is given, "" for a type
 * that is not a string (a list of types), which then reads as JSON. */
static void type_name(const json_t *schema, char *t, size_t cap) {
    const json_t *type = json_object_get(schema, "type");
    const char *s = type ? json_string_value(type) : "string";
    size_t n = s ? strlen(s) : 0;
    trim(&s, &n);
    if (n >= cap) n = cap - 1;
    for (size_t i = 0; i < n; i++) t[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
    t[n] = '\0';
}

static bool starts(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

static bool is_one_of(const char *t, const char *const *names) {
    for (; *names; names++)
        if (!strcmp(t, *names)) return true;
    return false;
}

flint_status srv_args_put_xml_value(fl_tok_text *out, const json_t *props, const char *key, const char *value,
                                    size_t n) {
    static const char *const strings[] = {"string", "str", "text", "varchar", "char", "enum", NULL};
    static const char *const ints[] = {"int", "uint", "long", "short", "unsigned", NULL};
    static const char *const bools[] = {"boolean", "bool", "binary", NULL};
    if (eq_nocase(value, n, "null")) return put(out, "null");
    const json_t *schema = props ? json_object_get(props, key) : NULL;
    if (!schema) return srv_json_put_string(out, value, n);
    char t[64];
    type_name(schema, t, sizeof t);
    if (is_one_of(t, strings)) return srv_json_put_string(out, value, n);
    for (const char *const *p = ints; *p; p++) {
        long long v;
        if (!starts(t, *p)) continue;
        if (!read_int(value, n, &v)) return srv_json_put_string(out, value, n);
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", v);
        return put(out, buf);
    }
    if (starts(t, "num") || starts(t, "float")) {
        double v;
        return read_real(value, n, &v) ? put_real(out, v) : srv_json_put_string(out, value, n);
    }
    /* vLLM: anything but "true" (any case) is false */
    if (is_one_of(t, bools)) return put(out, eq_nocase(value, n, "true") ? "true" : "false");
    /* object, array and every other type: the text as JSON, kept as written
     * (jansson has checked it), else the text as a string */
    json_t *j = json_loadb(value, n, JSON_DECODE_ANY, NULL);
    if (!j) return srv_json_put_string(out, value, n);
    json_decref(j);
    return fl_tok_text_append(out, value, n);
}

bool srv_gemma4_value_end(const char *s, size_t n, srv_g4_scan *scan, size_t *len) {
    static const char *const quote[] = {SRV_G4_QUOTE};
    const size_t ql = sizeof SRV_G4_QUOTE - 1;
    size_t q;
    int which;
    if (!n) return false;
    if (s[0] != '{' && s[0] != '[') {
        srv_match m = srv_match_prefix(s, n, SRV_G4_QUOTE);
        if (m == SRV_MATCH_PARTIAL) return false;
        if (m == SRV_MATCH_FULL) { /* a string: through the next quote */
            if (srv_find_marker(s, n, scan->pos > ql ? scan->pos : ql, quote, 1, false, &q, &which) == SRV_MATCH_FULL) {
                *len = q + ql;
                return true;
            }
            scan->pos = q;
            return false;
        }
        for (size_t i = scan->pos; i < n; i++) { /* a bare word */
            if (in(s[i], ",}]")) {
                *len = i;
                return true;
            }
            if (s[i] == '<') {
                m = srv_match_prefix(s + i, n - i, SRV_G4_CALL_END);
                if (m == SRV_MATCH_FULL) {
                    *len = i;
                    return true;
                }
                if (m == SRV_MATCH_PARTIAL) {
                    scan->pos = i;
                    return false;
                }
            }
        }
        scan->pos = n;
        return false;
    }
    size_t i = scan->pos;
    if (!i) i = 1, scan->depth = 1;
    while (i < n) {
        if (scan->in_string) {
            if (srv_find_marker(s, n, i, quote, 1, false, &q, &which) != SRV_MATCH_FULL) {
                scan->pos = q;
                return false;
            }
            i = q + ql, scan->in_string = false;
            continue;
        }
        char c = s[i];
        if (c == '{' || c == '[') {
            scan->depth++;
        } else if (c == '}' || c == ']') {
            if (--scan->depth == 0) {
                *len = i + 1;
                return true;
            }
        } else if (c == '<') {
            srv_match mq = srv_match_prefix(s + i, n - i, SRV_G4_QUOTE);
            srv_match me = srv_match_prefix(s + i, n - i, SRV_G4_CALL_END);
            if (mq == SRV_MATCH_FULL) {
                i += ql, scan->in_string = true;
                continue;
            }
            if (me == SRV_MATCH_FULL) { /* left open by the model */
                *len = i;
                return true;
            }
            if (mq == SRV_MATCH_PARTIAL || me == SRV_MATCH_PARTIAL) {
                scan->pos = i;
                return false;
            }
        }
        i++;
    }
    scan->pos = n;
    return false;
}

/* ---- Gemma 4 values to JSON ---- */

typedef struct reader {
    const char *s;
    size_t n, i;
    fl_tok_text *out;
    flint_status st;
} reader;

static void emit(reader *r, const char *s, size_t n) {
    if (!r->st) r->st = fl_tok_text_append(r->out, s, n);
}
static void emit_string(reader *r, const char *s, size_t n) {
    if (!r->st) r->st = srv_json_put_string(r->out, s, n);
}
static bool at_quote(const reader *r) { return srv_match_prefix(r->s + r->i, r->n - r->i, SRV_G4_QUOTE) == SRV_MATCH_FULL; }

/* a <|"|>string<|"|> at r->i: its text (to the end when unclosed) */
static void quoted(reader *r, size_t *a, size_t *b) {
    static const char *const quote[] = {SRV_G4_QUOTE};
    size_t q;
    int which;
    *a = r->i + sizeof SRV_G4_QUOTE - 1;
    bool closed = srv_find_marker(r->s, r->n, *a, quote, 1, true, &q, &which) == SRV_MATCH_FULL;
    *b = q;
    r->i = closed ? q + sizeof SRV_G4_QUOTE - 1 : q;
}

static void bare(reader *r, const char *s, size_t n) {
    trim(&s, &n);
    if ((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5))) emit(r, s, n);
    else if (eq_nocase(s, n, "null") || eq_nocase(s, n, "none") || eq_nocase(s, n, "nil")) emit(r, "null", 4);
    else if (json_number(s, n)) emit(r, s, n);
    else emit_string(r, s, n);
}

static void value(reader *r, int depth);

/* { key:value, ... } or [ value, ... ] at r->i */
static void container(reader *r, int depth) {
    char close = r->s[r->i] == '{' ? '}' : ']';
    emit(r, r->s + r->i++, 1);
    for (bool first = true;;) {
        while (r->i < r->n && (ws(r->s[r->i]) || r->s[r->i] == ',')) r->i++;
        if (r->i >= r->n) break;
        if (r->s[r->i] == close) {
            r->i++;
            break;
        }
        if (close == ']') {
            if (r->s[r->i] == '}') { /* a stray brace would read as an empty word forever */
                r->i++;
                continue;
            }
        } else {
            size_t a, b;
            if (at_quote(r)) {
                quoted(r, &a, &b);
                while (r->i < r->n && ws(r->s[r->i])) r->i++;
                if (r->i >= r->n || r->s[r->i] != ':') continue; /* not a key: dropped */
            } else {
                a = r->i;
                while (r->i < r->n && !in(r->s[r->i], ":,{}[]")) r->i++;
                if (r->i >= r->n) break;
                if (r->s[r->i] != ':') { /* not a key: dropped */
                    if (r->i == a) r->i++;
                    continue;
                }
                b = r->i;
                const char *k = r->s + a;
                size_t kn = b - a;
                trim(&k, &kn);
                a = (size_t)(k - r->s), b = a + kn;
            }
            r->i++; /* ':' */
            emit(r, first ? "" : ", ", first ? 0 : 2);
            emit_string(r, r->s + a, b - a);
            emit(r, ": ", 2);
            value(r, depth + 1);
            first = false;
            continue;
        }
        emit(r, first ? "" : ", ", first ? 0 : 2);
        value(r, depth + 1);
        first = false;
    }
    emit(r, &close, 1);
}

static void value(reader *r, int depth) {
    while (r->i < r->n && ws(r->s[r->i])) r->i++;
    if (r->i >= r->n) {
        emit(r, "\"\"", 2); /* vLLM: an empty value is "" */
        return;
    }
    if (at_quote(r)) {
        size_t a, b;
        quoted(r, &a, &b);
        emit_string(r, r->s + a, b - a);
    } else if (r->s[r->i] == '{' || r->s[r->i] == '[') {
        if (depth < G4_MAX_DEPTH) {
            container(r, depth);
            return;
        }
        srv_g4_scan scan = {0};
        size_t len;
        if (!srv_gemma4_value_end(r->s + r->i, r->n - r->i, &scan, &len)) len = r->n - r->i;
        emit_string(r, r->s + r->i, len);
        r->i += len;
    } else {
        size_t a = r->i;
        while (r->i < r->n && !in(r->s[r->i], ",}]")) r->i++;
        bare(r, r->s + a, r->i - a);
    }
}

flint_status srv_args_put_gemma4_value(fl_tok_text *out, const char *s, size_t n) {
    reader r = {s, n, 0, out, FLINT_OK};
    value(&r, 0);
    return r.st;
}
