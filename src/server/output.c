/* output.c — the reply split into content, reasoning and tool calls as it
 * streams (output.h).
 *
 * A state machine over the text fed and not yet consumed, buf[at..end):
 * each step takes the longest prefix it can decide, emits it and moves on;
 * text that may still become a marker stays for the next feed. Owns the
 * families' markers, the whitespace rules and the call ids; tool_args.c
 * writes argument values as JSON. Nothing here reads from the engine or
 * the network.
 *
 * Whitespace is trimmed as llama.cpp's parsers do: reasoning is stripped at
 * both ends, content loses the whitespace at its start (after </think>) and
 * next to a tool call, and content that resumes after a call is joined to
 * the earlier content with "\n\n". Trailing whitespace that a coming marker
 * may remove is held back until the next text decides. Markers are ASCII,
 * so a feed that ends inside a UTF-8 character keeps that character back
 * and every text delta is whole characters. */
#define _DEFAULT_SOURCE /* getrandom */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "server/markers.h"
#include "server/output.h"
#include "server/tool_args.h"
#include "tokenizer/tokenizer.h"

/* a function or parameter name longer than this is not one */
#define MAX_NAME 256

/* Qwen3.5 / Qwen3.6 */
static const char THINK_OPEN[] = "<think>", THINK_CLOSE[] = "</think>";
static const char CALL_OPEN[] = "<tool_call>", CALL_CLOSE[] = "</tool_call>";
static const char FUNC_OPEN[] = "<function=", FUNC_CLOSE[] = "</function>";
static const char PARAM_OPEN[] = "<parameter=", PARAM_CLOSE[] = "</parameter>";
/* Qwen3.5 may open a call inside its thinking without closing it first;
 * vLLM's qwen3 reasoning parser ends the thinking there. */
static const char CALL_IN_THINKING[] = "<tool_call>\n<function=";
/* Gemma 4 */
static const char G4_THINK_OPEN[] = "<|channel>", G4_THINK_CLOSE[] = "<channel|>", G4_LABEL[] = "thought\n";
static const char G4_CALL_OPEN[] = "<|tool_call>", G4_CALL_HEAD[] = "call:";
/* what the template writes after a model's calls, where the tool's answer
 * goes: not reply text */
static const char G4_RESPONSE[] = "<|tool_response>";

enum family { FAM_PLAIN, FAM_CHATML, FAM_GEMMA4 };

typedef enum state {
    ST_START,       /* the reply's first text: it may open a thinking block */
    ST_LABEL,       /* gemma4: inside <|channel>, before its "thought\n" label */
    ST_REASONING,
    ST_CONTENT,
    ST_CALL_BODY,   /* chatml: inside <function=...>, between parameters */
    ST_PARAM_VALUE, /* chatml: reading a parameter's value */
    ST_CALL_TAIL,   /* after a call's arguments: its closing tags */
    ST_G4_ARGS,     /* gemma4: inside call:NAME{...}, between key:value pairs */
    ST_G4_VALUE,    /* gemma4: reading a value */
} state;

struct srv_output {
    enum family family;
    json_t *tools;     /* NULL: tool calls are not parsed */
    state st;
    bool final;        /* srv_output_finish: no more text comes */
    bool broken;       /* out of memory: the rest passes through as content */
    fl_tok_text buf;   /* text fed and not consumed: buf.s[at..buf.n) */
    size_t fed;        /* bytes fed in all: buf.s[0] is input byte fed - buf.n */
    size_t given;      /* input bytes [0, given) are the reply's start the client gave */
    size_t at, end;    /* end: where the whole UTF-8 characters end */
    size_t scan;       /* ST_PARAM_VALUE: bytes after at searched already */
    srv_g4_scan g4;    /* ST_G4_VALUE */
    /* the text segment being emitted */
    srv_delta_kind seg;
    bool lead;         /* dropping its leading whitespace */
    bool hold;         /* holding its trailing whitespace back */
    fl_tok_text held;
    size_t held_src;   /* the input offset of held's first byte */
    bool content_seen; /* some content was emitted */
    bool join;         /* a call ended after content: "\n\n" before more */
    /* tool calls */
    const json_t *props; /* the current call's parameter schemas, or NULL */
    fl_tok_text name;    /* the current call's name */
    fl_tok_text key;     /* the parameter being read */
    fl_tok_text piece;   /* a TOOL_ARGS piece being written */
    int32_t n_started, n_done, n_params;
    bool call_open;
    srv_delta_fn emit;
    void *user;
};

static bool ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* the input offset of s, a pointer into buf */
static size_t src_of(const srv_output *o, const char *s) { return o->fed - o->buf.n + (size_t)(s - o->buf.s); }

/* Emits s[0..n); text copied from the input passes src, its input offset,
 * so that what the client gave is left out (SYNTHETIC: never). */
#define SYNTHETIC SIZE_MAX
static void send(srv_output *o, srv_delta_kind kind, const char *s, size_t n, size_t src) {
    if ((kind == SRV_DELTA_CONTENT || kind == SRV_DELTA_REASONING) && src < o->given) {
        size_t skip = o->given - src < n ? o->given - src : n;
        s += skip, n -= skip;
    }
    if (!n) return;
    srv_delta d = {.kind = kind, .text = s, .len = n, .index = kind == SRV_DELTA_TOOL_ARGS ? o->n_started - 1 : 0};
    o->emit(&d, o->user);
}

/* Out of memory: close an open call and pass everything after this through
 * as content, unparsed. */
static void fail(srv_output *o) {
    if (o->broken) return;
    o->broken = true;
    if (o->call_open) send(o, SRV_DELTA_TOOL_ARGS, "}", 1, SYNTHETIC);
    o->call_open = false;
    send(o, SRV_DELTA_CONTENT, o->buf.s + o->at, o->buf.n - o->at, src_of(o, o->buf.s + o->at));
    o->at = o->buf.n;
}

static bool ok(srv_output *o, flint_status st) {
    if (st) fail(o);
    return !o->broken;
}

/* ---- text segments ---- */

static void begin_segment(srv_output *o, srv_delta_kind kind) {
    o->seg = kind;
    o->held.n = 0;
    o->lead = o->family != FAM_PLAIN;
    o->hold = kind == SRV_DELTA_REASONING || (kind == SRV_DELTA_CONTENT && o->tools);
}

static void end_segment(srv_output *o, bool keep_held) {
    if (keep_held) send(o, o->seg, o->held.s, o->held.n, o->held_src);
    o->held.n = 0;
}

/* s[0..n): text of the segment, from input offset src on */
static void put_text(srv_output *o, const char *s, size_t n, size_t src) {
    if (o->lead) {
        while (n && ws(*s)) s++, n--, src++;
        if (!n) return;
        o->lead = false;
    }
    size_t keep = n;
    if (o->hold)
        while (keep && ws(s[keep - 1])) keep--;
    if (keep) {
        if (o->seg == SRV_DELTA_CONTENT) {
            /* the join belongs to the text it leads into */
            if (o->join && (o->held.n ? o->held_src : src) >= o->given) send(o, SRV_DELTA_CONTENT, "\n\n", 2, SYNTHETIC);
            o->join = false, o->content_seen = true;
        }
        send(o, o->seg, o->held.s, o->held.n, o->held_src);
        o->held.n = 0;
        send(o, o->seg, s, keep, src);
    }
    if (keep < n) {
        if (!o->held.n) o->held_src = src + keep;
        ok(o, fl_tok_text_append(&o->held, s + keep, n - keep));
    }
}

/* ---- tool calls ---- */

/* n bytes from the kernel's random source */
static void random_bytes(unsigned char *b, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);
        if (r > 0) got += (size_t)r;
        else if (r < 0 && errno == EINTR) continue;
        else break;
    }
    int fd = got < n ? open("/dev/urandom", O_RDONLY | O_CLOEXEC) : -1;
    while (fd >= 0 && got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r > 0) got += (size_t)r;
        else if (!(r < 0 && errno == EINTR)) break;
    }
    if (fd >= 0) close(fd);
    if (got == n) return;
    /* a sandbox with neither: the clock and a counter (splitmix64) keep the
     * ids of one process distinct */
    static atomic_ullong counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ atomic_fetch_add(&counter, 1) << 48; got < n;) {
        uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        b[got++] = (unsigned char)(z ^ (z >> 31));
    }
}

/* "call_" and 24 letters and digits */
static void make_id(char id[30]) {
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    memcpy(id, "call_", 5);
    for (size_t k = 5; k < 29;) {
        unsigned char b[32];
        random_bytes(b, sizeof b);
        for (size_t i = 0; i < sizeof b && k < 29; i++)
            if (b[i] < 248) id[k++] = alnum[b[i] % 62]; /* 248 = 4 * 62: no bias */
    }
    id[29] = '\0';
}

static void start_call(srv_output *o, const char *name, size_t n) {
    o->name.n = 0;
    if (!ok(o, fl_tok_text_append(&o->name, name, n))) return;
    o->props = srv_tool_properties(o->tools, o->name.s);
    char id[30];
    make_id(id);
    o->n_started++, o->n_params = 0, o->call_open = true;
    srv_delta d = {.kind = SRV_DELTA_TOOL_START, .index = o->n_started - 1, .id = id, .name = o->name.s};
    o->emit(&d, o->user);
    send(o, SRV_DELTA_TOOL_ARGS, "{", 1, SYNTHETIC);
}

static void end_call(srv_output *o, bool complete) {
    send(o, SRV_DELTA_TOOL_ARGS, "}", 1, SYNTHETIC);
    o->call_open = false;
    if (complete) o->n_done++, o->join = o->content_seen;
}

/* `"key": value`, after ", " from the second on */
static void put_param(srv_output *o, const char *value, size_t n) {
    fl_tok_text *p = &o->piece;
    p->n = 0;
    flint_status st = fl_tok_text_append(p, ", ", o->n_params ? 2 : 0);
    if (!st) st = srv_json_put_string(p, o->key.s, o->key.n);
    if (!st) st = fl_tok_text_append(p, ": ", 2);
    if (!st)
        st = o->family == FAM_CHATML ? srv_args_put_xml_value(p, o->props, o->key.s, value, n)
                                     : srv_args_put_gemma4_value(p, value, n);
    if (!ok(o, st)) return;
    o->n_params++;
    send(o, SRV_DELTA_TOOL_ARGS, p->s, p->n, SYNTHETIC);
}

static bool set_key(srv_output *o, const char *s, size_t n) {
    o->key.n = 0;
    return ok(o, fl_tok_text_append(&o->key, s, n));
}

/* A call's head at s: chatml "<tool_call>" (with_open), whitespace and
 * "<function=NAME>"; gemma4 "<|tool_call>call:NAME{". FULL: *len covers it,
 * the name is s[*name_at..+*name_len). PARTIAL: it may still become one. */
static srv_match head(const srv_output *o, const char *s, size_t n, bool with_open, size_t *len, size_t *name_at,
                      size_t *name_len) {
    size_t i = 0, a;
    if (o->family == FAM_CHATML) {
        if (with_open)
            for (i = sizeof CALL_OPEN - 1; i < n && ws(s[i]); i++)
                if (i >= MAX_NAME) return SRV_MATCH_NONE; /* held text stays short */
        srv_match m = srv_match_prefix(s + i, n - i, FUNC_OPEN);
        if (m != SRV_MATCH_FULL) return m;
        i += sizeof FUNC_OPEN - 1;
        for (a = i; i < n && s[i] != '>'; i++)
            if (s[i] == '<' || s[i] == '\n' || i - a >= MAX_NAME) return SRV_MATCH_NONE;
        if (i == n) return SRV_MATCH_PARTIAL;
        *len = i + 1;
        while (a < i && ws(s[a])) a++;
        while (i > a && ws(s[i - 1])) i--;
    } else {
        i = sizeof G4_CALL_OPEN - 1;
        srv_match m = srv_match_prefix(s + i, n - i, G4_CALL_HEAD);
        if (m != SRV_MATCH_FULL) return m;
        /* vLLM's [\w\-\.]+, any non-ASCII letter included */
        i += sizeof G4_CALL_HEAD - 1;
        for (a = i; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            bool name = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '-' || c == '.' || c >= 0x80;
            if (!name) break;
            if (i - a >= MAX_NAME) return SRV_MATCH_NONE;
        }
        if (i == n) return SRV_MATCH_PARTIAL;
        if (s[i] != '{') return SRV_MATCH_NONE;
        *len = i + 1;
    }
    if (i == a) return SRV_MATCH_NONE;
    *name_at = a, *name_len = i - a;
    return SRV_MATCH_FULL;
}

/* ---- the steps: each returns true when it moved on, false when it needs
 * more text ---- */

static bool step_start(srv_output *o) {
    const char *s = o->buf.s, *open = o->family == FAM_CHATML ? THINK_OPEN : G4_THINK_OPEN;
    while (o->at < o->end && ws(s[o->at])) o->at++;
    srv_match m = srv_match_prefix(s + o->at, o->end - o->at, open);
    if (m == SRV_MATCH_PARTIAL && !o->final) return false;
    if (m == SRV_MATCH_FULL) {
        o->at += strlen(open);
        begin_segment(o, SRV_DELTA_REASONING);
        o->st = o->family == FAM_GEMMA4 ? ST_LABEL : ST_REASONING;
    } else {
        begin_segment(o, SRV_DELTA_CONTENT);
        o->st = ST_CONTENT;
    }
    return true;
}

static bool step_label(srv_output *o) {
    srv_match m = srv_match_prefix(o->buf.s + o->at, o->end - o->at, G4_LABEL);
    if (m == SRV_MATCH_PARTIAL && !o->final) return false;
    if (m == SRV_MATCH_FULL) o->at += sizeof G4_LABEL - 1;
    o->st = ST_REASONING;
    return true;
}

static bool step_reasoning(srv_output *o) {
    const char *marks[2] = {o->family == FAM_CHATML ? THINK_CLOSE : G4_THINK_CLOSE, CALL_IN_THINKING};
    int n_marks = o->family == FAM_CHATML && o->tools ? 2 : 1, which;
    size_t pos, from = o->at;
    srv_match r = srv_find_marker(o->buf.s, o->end, from, marks, n_marks, o->final, &pos, &which);
    o->at = pos;
    put_text(o, o->buf.s + from, pos - from, src_of(o, o->buf.s + from));
    if (r != SRV_MATCH_FULL || o->broken) return false;
    end_segment(o, false);
    if (which == 0) o->at += strlen(marks[0]); /* an implicit end leaves <tool_call> to the content */
    begin_segment(o, SRV_DELTA_CONTENT);
    o->st = ST_CONTENT;
    return true;
}

static bool step_content(srv_output *o) {
    const char *open = o->family == FAM_CHATML ? CALL_OPEN : G4_CALL_OPEN;
    const char *s = o->buf.s;
    int which;
    size_t pos, from = o->at, len, name_at, name_len;
    srv_match r = srv_find_marker(s, o->end, from, &open, o->tools ? 1 : 0, o->final, &pos, &which);
    o->at = pos;
    put_text(o, s + from, pos - from, src_of(o, s + from));
    if (r != SRV_MATCH_FULL || o->broken) return false;
    srv_match h = head(o, s + pos, o->end - pos, true, &len, &name_at, &name_len);
    if (h == SRV_MATCH_PARTIAL && !o->final) return false;
    if (h == SRV_MATCH_FULL) {
        end_segment(o, false);
        o->at += len;
        start_call(o, s + pos + name_at, name_len);
        o->st = o->family == FAM_CHATML ? ST_CALL_BODY : ST_G4_ARGS;
    } else { /* not a call (or cut off before its name was whole): text as written */
        o->at += strlen(open);
        put_text(o, open, strlen(open), src_of(o, s + pos));
    }
    return true;
}

static bool step_call_body(srv_output *o) {
    static const char *const marks[] = {PARAM_OPEN, FUNC_CLOSE, CALL_CLOSE};
    const char *s = o->buf.s;
    int which;
    size_t pos;
    srv_match r = srv_find_marker(s, o->end, o->at, marks, 3, o->final, &pos, &which);
    o->at = pos; /* what lies between parameters is no parameter's: dropped */
    if (r != SRV_MATCH_FULL) return false;
    if (which == 0) {
        size_t a = pos + sizeof PARAM_OPEN - 1, i = a;
        while (i < o->end && s[i] != '>' && i - a < MAX_NAME) i++;
        if (i == o->end) return false;
        if (s[i] != '>') { /* no name: skip the opener */
            o->at = a;
            return true;
        }
        if (!set_key(o, s + a, i - a)) return false;
        o->at = i + 1, o->scan = 0;
        o->st = ST_PARAM_VALUE;
        return true;
    }
    end_call(o, true);
    o->at += strlen(marks[which]);
    if (which == 1) {
        o->st = ST_CALL_TAIL;
    } else { /* </tool_call> without </function> */
        begin_segment(o, SRV_DELTA_CONTENT);
        o->st = ST_CONTENT;
    }
    return true;
}

static bool step_param_value(srv_output *o) {
    /* vLLM ends a value at </parameter>, or where the next parameter or the
     * function begins when the model left it open */
    static const char *const marks[] = {PARAM_CLOSE, PARAM_OPEN, FUNC_CLOSE, CALL_CLOSE};
    int which;
    size_t pos;
    srv_match r = srv_find_marker(o->buf.s, o->end, o->at + o->scan, marks, 4, o->final, &pos, &which);
    if (r != SRV_MATCH_FULL) {
        o->scan = pos - o->at;
        return false;
    }
    const char *v = o->buf.s + o->at;
    size_t n = pos - o->at;
    if (n && v[0] == '\n') v++, n--; /* the template's newline after <parameter=K> and before </parameter> */
    if (n && v[n - 1] == '\n') n--;
    put_param(o, v, n);
    if (o->broken) return false;
    o->at = which == 0 ? pos + sizeof PARAM_CLOSE - 1 : pos;
    o->st = ST_CALL_BODY;
    return true;
}

/* after </function> (chatml) or the closing } (gemma4) */
static bool step_call_tail(srv_output *o) {
    const char *s = o->buf.s;
    while (o->at < o->end && ws(s[o->at])) o->at++;
    const char *p = s + o->at;
    size_t n = o->end - o->at, len, name_at, name_len;
    srv_match m1, m2;
    if (o->family == FAM_CHATML) {
        m1 = srv_match_prefix(p, n, CALL_CLOSE), m2 = srv_match_prefix(p, n, FUNC_OPEN);
        if (m1 == SRV_MATCH_FULL) {
            o->at += sizeof CALL_CLOSE - 1;
            begin_segment(o, SRV_DELTA_CONTENT);
            o->st = ST_CONTENT;
            return true;
        }
        if (m2 == SRV_MATCH_FULL) { /* vLLM reads several functions in one <tool_call> */
            srv_match h = head(o, p, n, false, &len, &name_at, &name_len);
            if (h == SRV_MATCH_PARTIAL && !o->final) return false;
            if (h == SRV_MATCH_FULL) {
                o->at += len;
                start_call(o, p + name_at, name_len);
                o->st = ST_CALL_BODY;
                return true;
            }
            m2 = SRV_MATCH_NONE;
        }
    } else {
        m1 = srv_match_prefix(p, n, SRV_G4_CALL_END), m2 = srv_match_prefix(p, n, G4_RESPONSE);
        if (m1 == SRV_MATCH_FULL || m2 == SRV_MATCH_FULL) {
            o->at += strlen(m1 == SRV_MATCH_FULL ? SRV_G4_CALL_END : G4_RESPONSE);
            return true;
        }
    }
    if (m1 == SRV_MATCH_PARTIAL || m2 == SRV_MATCH_PARTIAL) {
        if (!o->final) return false;
        o->at = o->end; /* a closing tag cut off */
    }
    begin_segment(o, SRV_DELTA_CONTENT);
    o->st = ST_CONTENT;
    return true;
}

static bool step_g4_args(srv_output *o) {
    static const char *const quote[] = {SRV_G4_QUOTE};
    const size_t ql = sizeof SRV_G4_QUOTE - 1;
    const char *s = o->buf.s;
    while (o->at < o->end && (ws(s[o->at]) || s[o->at] == ',')) o->at++;
    if (o->at == o->end) return false;
    const char *p = s + o->at;
    size_t n = o->end - o->at, i, k0, k1;
    srv_match end = srv_match_prefix(p, n, SRV_G4_CALL_END), q = srv_match_prefix(p, n, SRV_G4_QUOTE);
    if (p[0] == '}' || end == SRV_MATCH_FULL) { /* a call without its } ends at <tool_call|> all the same */
        o->at += p[0] == '}';
        end_call(o, true);
        o->st = ST_CALL_TAIL;
        return true;
    }
    if ((end == SRV_MATCH_PARTIAL || q == SRV_MATCH_PARTIAL) && !o->final) return false;
    if (q == SRV_MATCH_FULL) { /* <|"|>key<|"|>: */
        int which;
        srv_match r = srv_find_marker(p, n, ql, quote, 1, o->final, &k1, &which);
        if (k1 - ql >= MAX_NAME) { /* too long for a key: skipped */
            o->at += ql;
            return true;
        }
        if (r != SRV_MATCH_FULL) return false;
        k0 = ql;
        for (i = k1 + ql; i < n && ws(p[i]);) i++;
        if (i == n) return false;
        if (p[i] != ':') { /* not a key: skipped */
            o->at += i;
            return true;
        }
    } else {
        for (i = 0; i < n && !strchr(":,{}[]<", p[i]) && i < MAX_NAME;) i++;
        if (i == n) return false;
        if (p[i] != ':') { /* not a key: skipped */
            o->at += i ? i : 1;
            return true;
        }
        for (k0 = 0, k1 = i; k0 < k1 && ws(p[k0]);) k0++;
        while (k1 > k0 && ws(p[k1 - 1])) k1--;
    }
    if (!set_key(o, p + k0, k1 - k0)) return false;
    o->at += i + 1;
    o->g4 = (srv_g4_scan){0};
    o->st = ST_G4_VALUE;
    return true;
}

static bool step_g4_value(srv_output *o) {
    size_t len;
    if (!o->g4.pos)
        while (o->at < o->end && ws(o->buf.s[o->at])) o->at++;
    if (!srv_gemma4_value_end(o->buf.s + o->at, o->end - o->at, &o->g4, &len)) return false;
    put_param(o, o->buf.s + o->at, len);
    if (o->broken) return false;
    o->at += len;
    o->st = ST_G4_ARGS;
    return true;
}

static bool step(srv_output *o) {
    switch (o->st) {
    case ST_START: return step_start(o);
    case ST_LABEL: return step_label(o);
    case ST_REASONING: return step_reasoning(o);
    case ST_CONTENT: return step_content(o);
    case ST_CALL_BODY: return step_call_body(o);
    case ST_PARAM_VALUE: return step_param_value(o);
    case ST_CALL_TAIL: return step_call_tail(o);
    case ST_G4_ARGS: return step_g4_args(o);
    case ST_G4_VALUE: return step_g4_value(o);
    }
    return false;
}

/* the length of s[0..n) without a UTF-8 character that the end cuts */
static size_t whole_chars(const char *s, size_t n) {
    for (size_t k = 1; k <= 3 && k <= n; k++) {
        unsigned char c = (unsigned char)s[n - k];
        if ((c & 0xC0) == 0x80) continue;
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > k ? n - k : n;
    }
    return n;
}

/* ---- the API ---- */

srv_output *srv_output_new(const char *template_name, const char *tools, int in_reasoning) {
    srv_output *o = calloc(1, sizeof *o);
    if (!o || fl_tok_text_append(&o->buf, "", 0)) { /* buf.s is never NULL */
        free(o);
        return NULL;
    }
    o->family = !template_name                     ? FAM_PLAIN
                : !strcmp(template_name, "chatml") ? FAM_CHATML
                : !strcmp(template_name, "gemma4") ? FAM_GEMMA4
                                                   : FAM_PLAIN;
    if (tools && o->family != FAM_PLAIN) {
        o->tools = json_loads(tools, 0, NULL);
        if (!json_is_array(o->tools)) { /* the request parser checked it; if not, calls are parsed untyped */
            json_decref(o->tools);
            o->tools = json_array();
        }
        if (!o->tools) {
            srv_output_free(o);
            return NULL;
        }
    }
    if (o->family == FAM_PLAIN) {
        begin_segment(o, SRV_DELTA_CONTENT);
        o->st = ST_CONTENT;
    } else if (in_reasoning) {
        begin_segment(o, SRV_DELTA_REASONING);
        o->st = o->family == FAM_GEMMA4 ? ST_LABEL : ST_REASONING;
    } else {
        o->st = ST_START;
    }
    return o;
}

void srv_output_free(srv_output *o) {
    if (!o) return;
    json_decref(o->tools);
    fl_tok_text_free(&o->buf);
    fl_tok_text_free(&o->held);
    fl_tok_text_free(&o->name);
    fl_tok_text_free(&o->key);
    fl_tok_text_free(&o->piece);
    free(o);
}

void srv_output_feed(srv_output *o, const char *text, size_t len, srv_delta_fn emit, void *user) {
    o->emit = emit, o->user = user;
    if (o->broken || o->final || !ok(o, fl_tok_text_append(&o->buf, text, len))) {
        if (!o->final) send(o, SRV_DELTA_CONTENT, text, len, o->fed);
        o->fed += len;
        return;
    }
    o->fed += len;
    o->end = whole_chars(o->buf.s, o->buf.n);
    while (!o->broken && step(o)) {}
    if (o->broken || !o->at) return;
    memmove(o->buf.s, o->buf.s + o->at, o->buf.n - o->at);
    o->buf.n -= o->at, o->at = 0;
    o->buf.s[o->buf.n] = '\0';
}

void srv_output_give(srv_output *o, const char *text, size_t len, srv_delta_fn emit, void *user) {
    o->given = o->fed + len;
    srv_output_feed(o, text, len, emit, user);
}

void srv_output_finish(srv_output *o, srv_delta_fn emit, void *user) {
    o->emit = emit, o->user = user;
    if (o->broken || o->final) return;
    o->final = true;
    o->end = o->buf.n;
    while (!o->broken && step(o)) {}
    if (o->broken) return;
    switch (o->st) {
    case ST_LABEL:
    case ST_REASONING: end_segment(o, false); break;
    case ST_CONTENT: end_segment(o, true); break;
    default:
        /* A call cut off after its name: its arguments JSON is closed so the
         * pieces still concatenate to an object; the parameter being read
         * is left out (its value may be cut short) and the call is not
         * counted as complete. */
        if (o->call_open) end_call(o, false);
    }
    o->at = o->buf.n;
}

int32_t srv_output_n_tool_calls(const srv_output *o) { return o->n_done; }
