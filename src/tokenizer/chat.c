/* chat.c — chat templates of flint's families, written out in C rather
 * than interpreted from Jinja: each renderer follows its real template
 * (../shared/chat-templates/) statement by statement, and the tests hold
 * them to transformers' apply_chat_template output on the same
 * conversations. Families: Gemma 1/2/3 (<start_of_turn>, system text
 * folded into the first user turn as Gemma 3 does), Gemma 4 (<|turn>,
 * <|think|>, tool declarations and calls with <|"|> strings), Qwen3.5/3.6
 * ChatML (<think>, XML tool calls, tool responses in user turns).
 * Tool definitions and call arguments arrive as JSON text (jansson). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "base/error.h"
#include "base/json.h"
#include "tokenizer/tok_internal.h"

typedef struct out {
    fl_tok_text *t;
    flint_status st;
} out;

static void put(out *o, const char *s, size_t n) {
    if (!o->st) o->st = fl_tok_text_append(o->t, s, n);
}
static void puts_(out *o, const char *s) { put(o, s ? s : "", s ? strlen(s) : 0); }

/* Python's str.strip() for the whitespace that matters here */
static bool ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
static void put_trim(out *o, const char *s) {
    if (!s) return;
    size_t a = 0, b = strlen(s);
    while (a < b && ws(s[a])) a++;
    while (b > a && ws(s[b - 1])) b--;
    put(o, s + a, b - a);
}
static bool blank(const char *s) {
    for (; s && *s; s++)
        if (!ws(*s)) return false;
    return true;
}

fl_chat_family fl_chat_detect(const char *tmpl, const char *arch) {
    if (tmpl) {
        if (strstr(tmpl, "<|turn>")) return FL_CHAT_GEMMA4;
        if (strstr(tmpl, "<start_of_turn>")) return FL_CHAT_GEMMA;
        if (strstr(tmpl, "<|im_start|>")) return FL_CHAT_CHATML;
    }
    if (arch) {
        if (!strncmp(arch, "gemma4", 6)) return FL_CHAT_GEMMA4;
        if (!strncmp(arch, "gemma", 5)) return FL_CHAT_GEMMA;
        if (!strncmp(arch, "qwen", 4)) return FL_CHAT_CHATML;
    }
    return FL_CHAT_NONE;
}

fl_chat_family fl_tokenizer_chat_family(const fl_tokenizer *t) {
    return t->chat_override ? (fl_chat_family)t->chat_override : fl_chat_detect(t->chat_template, t->arch);
}

flint_status fl_tokenizer_set_chat_family(fl_tokenizer *t, const char *name) {
    static const struct { const char *name; fl_chat_family fam; } known[] = {
        {"gemma", FL_CHAT_GEMMA}, {"gemma4", FL_CHAT_GEMMA4}, {"chatml", FL_CHAT_CHATML}};
    if (!name) {
        t->chat_override = FL_CHAT_NONE;
        return FLINT_OK;
    }
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(name, known[i].name)) {
            t->chat_override = known[i].fam;
            return FLINT_OK;
        }
    return fl_errorf(FLINT_E_INVALID_ARG, "unknown chat template '%s' (flint knows gemma, gemma4 and chatml)", name);
}

const char *const *fl_chat_stop_strings(fl_chat_family fam) {
    static const char *const gemma[] = {"<end_of_turn>", "<eos>", NULL};
    static const char *const gemma4[] = {"<turn|>", "<eos>", NULL};
    static const char *const chatml[] = {"<|im_end|>", "<|endoftext|>", NULL};
    static const char *const none[] = {NULL};
    switch (fam) {
    case FL_CHAT_GEMMA: return gemma;
    case FL_CHAT_GEMMA4: return gemma4;
    case FL_CHAT_CHATML: return chatml;
    default: return none;
    }
}

static bool role_is(const fl_chat_msg *m, const char *r) { return m->role && !strcmp(m->role, r); }

/* ---- Gemma 1/2/3 ---- */

static flint_status gemma(const fl_chat_msg *m, size_t n, const fl_chat_params *p, out *o) {
    puts_(o, p->bos);
    const char *prefix = NULL;
    size_t start = 0;
    if (n && role_is(&m[0], "system")) prefix = m[0].content ? m[0].content : "", start = 1;
    for (size_t i = start; i < n; i++) {
        if (role_is(&m[i], "user") != ((i - start) % 2 == 0))
            return fl_errorf(FLINT_E_INVALID_ARG, "Conversation roles must alternate user/assistant/user/assistant/...");
        puts_(o, "<start_of_turn>");
        puts_(o, role_is(&m[i], "assistant") ? "model" : m[i].role);
        puts_(o, "\n");
        if (i == start && prefix) puts_(o, prefix), puts_(o, "\n\n");
        put_trim(o, m[i].content);
        puts_(o, "<end_of_turn>\n");
    }
    if (p->add_generation_prompt) puts_(o, "<start_of_turn>model\n");
    return o->st;
}

/* ---- Qwen3.5 ChatML ---- */

/* Python str() of a JSON scalar, json.dumps-like text of containers */
static void put_py(out *o, json_t *v, bool containers_as_json) {
    char buf[64];
    switch (json_typeof(v)) {
    case JSON_STRING: put(o, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v)), puts_(o, buf); break;
    case JSON_REAL: {
        double d = json_real_value(v);
        for (int prec = 1; prec <= 17; prec++) { /* the shortest text that reads back, as Python's repr */
            snprintf(buf, sizeof buf, "%.*g", prec, d);
            if (strtod(buf, NULL) == d) break;
        }
        if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");
        puts_(o, buf);
        break;
    }
    case JSON_TRUE: puts_(o, containers_as_json ? "true" : "True"); break;
    case JSON_FALSE: puts_(o, containers_as_json ? "false" : "False"); break;
    case JSON_NULL: puts_(o, containers_as_json ? "null" : "None"); break;
    default: {
        /* transformers' tojson: json.dumps with ", " and ": ", non-ASCII kept */
        char *s = json_dumps(v, JSON_INDENT(0) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        if (!s) {
            if (!o->st) o->st = fl_errorf(FLINT_E_NOMEM, "out of memory");
            return;
        }
        puts_(o, s);
        free(s);
    }
    }
}

static flint_status parse_json(const char *s, const char *what, json_t **j) {
    *j = NULL;
    if (!s) return FLINT_OK;
    return fl_json_load(s, strlen(s), "chat", what, j);
}

static flint_status chatml(const fl_chat_msg *m, size_t n, const fl_chat_params *p, json_t *tools, out *o) {
    static const char tools_head[] = "<|im_start|>system\n# Tools\n\nYou have access to the following functions:\n\n<tools>";
    static const char tools_tail[] =
        "\n</tools>\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n"
        "<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n"
        "<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n"
        "</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n- Function calls MUST follow the specified "
        "format: an inner <function=...></function> block must be nested within <tool_call></tool_call> XML tags\n"
        "- Required parameters MUST be specified\n- You may provide optional reasoning for your function call in "
        "natural language BEFORE the function call, but NOT after\n- If there is no function call available, answer "
        "the question like normal with your current knowledge and do not tell the user about function calls\n"
        "</IMPORTANT>";
    if (!n) return fl_errorf(FLINT_E_INVALID_ARG, "No messages provided.");
    if (json_array_size(tools)) {
        puts_(o, tools_head);
        size_t i;
        json_t *t;
        json_array_foreach(tools, i, t) puts_(o, "\n"), put_py(o, t, true);
        puts_(o, tools_tail);
        if (role_is(&m[0], "system") && !blank(m[0].content)) puts_(o, "\n\n"), put_trim(o, m[0].content);
        puts_(o, "<|im_end|>\n");
    } else if (role_is(&m[0], "system")) {
        puts_(o, "<|im_start|>system\n");
        put_trim(o, m[0].content);
        puts_(o, "<|im_end|>\n");
    }
    /* the last user message that is not only a tool response */
    long last_query = -1;
    for (size_t k = n; k-- > 0;) {
        if (!role_is(&m[k], "user")) continue;
        fl_tok_text tmp = {0};
        out to = {&tmp, FLINT_OK};
        put_trim(&to, m[k].content);
        const char *c = tmp.s ? tmp.s : "";
        size_t cl = tmp.n;
        bool tr = cl >= 15 + 16 && !strncmp(c, "<tool_response>", 15) && !strcmp(c + cl - 16, "</tool_response>");
        fl_tok_text_free(&tmp);
        if (!tr) {
            last_query = (long)k;
            break;
        }
    }
    if (last_query < 0) return fl_errorf(FLINT_E_INVALID_ARG, "No user query found in messages.");
    for (size_t i = 0; i < n && !o->st; i++) {
        const fl_chat_msg *msg = &m[i];
        const char *content = msg->content ? msg->content : "";
        if (role_is(msg, "system")) {
            if (i) return fl_errorf(FLINT_E_INVALID_ARG, "System message must be at the beginning.");
        } else if (role_is(msg, "user")) {
            puts_(o, "<|im_start|>user\n");
            put_trim(o, content);
            puts_(o, "<|im_end|>\n");
        } else if (role_is(msg, "assistant")) {
            /* reasoning: reasoning_content, else a <think>...</think> inside the trimmed content */
            fl_tok_text ct = {0};
            out co = {&ct, FLINT_OK};
            put_trim(&co, content);
            puts_(&co, "");
            if (co.st) return co.st;
            char *rbuf = NULL;
            const char *c = ct.s, *reasoning = msg->reasoning_content ? msg->reasoning_content : "";
            const char *end_think = strstr(c, "</think>");
            if (!msg->reasoning_content && end_think) {
                const char *last_end = end_think;
                for (const char *q; (q = strstr(last_end + 8, "</think>"));) last_end = q;
                size_t rl = (size_t)(end_think - c);
                while (rl && c[rl - 1] == '\n') rl--;
                const char *rs = c;
                for (const char *q = c; (q = strstr(q, "<think>")) && q + 7 <= c + rl; q += 7) rs = q + 7;
                while (rs < c + rl && *rs == '\n') rs++;
                if (!(rbuf = strndup(rs, (size_t)(c + rl - rs)))) {
                    fl_tok_text_free(&ct);
                    return fl_errorf(FLINT_E_NOMEM, "out of memory");
                }
                reasoning = rbuf;
                c = last_end + 8;
                while (*c == '\n') c++;
            }
            puts_(o, "<|im_start|>assistant\n");
            if ((long)i > last_query) {
                puts_(o, "<think>\n");
                put_trim(o, reasoning);
                puts_(o, "\n</think>\n\n");
            }
            puts_(o, c);
            for (int32_t k = 0; k < msg->n_tool_calls; k++) {
                const fl_chat_tool_call *tc = &msg->tool_calls[k];
                puts_(o, k ? "\n<tool_call>\n<function=" : blank(c) ? "<tool_call>\n<function=" : "\n\n<tool_call>\n<function=");
                puts_(o, tc->name);
                puts_(o, ">\n");
                json_t *args;
                flint_status st = parse_json(tc->arguments, "tool call arguments", &args);
                if (st) {
                    free(rbuf), fl_tok_text_free(&ct);
                    return st;
                }
                const char *key;
                json_t *v;
                json_object_foreach(args, key, v) {
                    puts_(o, "<parameter=");
                    puts_(o, key);
                    puts_(o, ">\n");
                    put_py(o, v, json_is_object(v) || json_is_array(v));
                    puts_(o, "\n</parameter>\n");
                }
                json_decref(args);
                puts_(o, "</function>\n</tool_call>");
            }
            puts_(o, "<|im_end|>\n");
            free(rbuf), fl_tok_text_free(&ct);
        } else if (role_is(msg, "tool")) {
            if (i > 0 && !role_is(&m[i - 1], "tool")) puts_(o, "<|im_start|>user");
            puts_(o, "\n<tool_response>\n");
            put_trim(o, content);
            puts_(o, "\n</tool_response>");
            if (i + 1 == n || !role_is(&m[i + 1], "tool")) puts_(o, "<|im_end|>\n");
        } else {
            return fl_errorf(FLINT_E_INVALID_ARG, "Unexpected message role.");
        }
    }
    if (p->add_generation_prompt) {
        puts_(o, "<|im_start|>assistant\n");
        puts_(o, p->enable_thinking == 0 ? "<think>\n\n</think>\n\n" : "<think>\n");
    }
    return o->st;
}

/* ---- Gemma 4 ---- */

#define Q "<|\"|>"

/* jinja's dictsort: keys compared case-insensitively */
static int cmp_key(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int c = strcasecmp(x, y);
    return c ? c : strcmp(x, y);
}

static const char **sorted_keys(json_t *obj, size_t *n) {
    *n = json_object_size(obj);
    const char **k = malloc((*n + 1) * sizeof *k);
    if (!k) return NULL;
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) k[i++] = key;
    qsort(k, *n, sizeof *k, cmp_key);
    return k;
}

static void g4_arg(out *o, json_t *v, bool escape_keys) {
    if (json_is_string(v)) {
        puts_(o, Q), put(o, json_string_value(v), json_string_length(v)), puts_(o, Q);
    } else if (json_is_boolean(v)) {
        puts_(o, json_is_true(v) ? "true" : "false");
    } else if (json_is_object(v)) {
        size_t n;
        const char **k = sorted_keys(v, &n);
        if (!k) { if (!o->st) o->st = fl_errorf(FLINT_E_NOMEM, "out of memory"); return; }
        puts_(o, "{");
        for (size_t i = 0; i < n; i++) {
            if (i) puts_(o, ",");
            if (escape_keys) puts_(o, Q), puts_(o, k[i]), puts_(o, Q);
            else puts_(o, k[i]);
            puts_(o, ":");
            g4_arg(o, json_object_get(v, k[i]), escape_keys);
        }
        puts_(o, "}");
        free(k);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *it;
        puts_(o, "[");
        json_array_foreach(v, i, it) {
            if (i) puts_(o, ",");
            g4_arg(o, it, escape_keys);
        }
        puts_(o, "]");
    } else {
        put_py(o, v, false);
    }
}

static void put_upper(out *o, const char *s) {
    for (; s && *s; s++) {
        char c = (char)toupper((unsigned char)*s);
        put(o, &c, 1);
    }
}

static bool upper_is(json_t *v, const char *want) {
    const char *s = json_string_value(v);
    return s && !strcasecmp(s, want);
}

static bool truthy(json_t *v) {
    if (!v || json_is_null(v) || json_is_false(v)) return false;
    if (json_is_string(v)) return json_string_length(v) > 0;
    if (json_is_array(v)) return json_array_size(v) > 0;
    if (json_is_object(v)) return json_object_size(v) > 0;
    if (json_is_integer(v)) return json_integer_value(v) != 0;
    if (json_is_real(v)) return json_real_value(v) != 0;
    return true;
}

static void g4_required(out *o, json_t *req) {
    size_t i;
    json_t *it;
    puts_(o, "required:[");
    json_array_foreach(req, i, it) {
        if (i) puts_(o, ",");
        puts_(o, Q), puts_(o, json_string_value(it)), puts_(o, Q);
    }
    puts_(o, "]");
}

static void g4_params(out *o, json_t *props, int depth);

static void comma(out *o, bool *add) {
    if (*add) puts_(o, ",");
    else *add = true;
}

static void g4_params(out *o, json_t *props, int depth) {
    static const char *std_keys[] = {"description", "type", "properties", "required", "nullable"};
    if (depth > 16 || !json_is_object(props)) return;
    size_t n;
    const char **k = sorted_keys(props, &n);
    if (!k) { if (!o->st) o->st = fl_errorf(FLINT_E_NOMEM, "out of memory"); return; }
    bool first_done = false;
    for (size_t i = 0; i < n; i++) {
        bool std = false;
        for (size_t s = 0; s < 5; s++) std |= !strcmp(k[i], std_keys[s]);
        if (std) continue;
        json_t *v = json_object_get(props, k[i]), *type = json_object_get(v, "type");
        bool add = false;
        if (first_done) puts_(o, ",");
        first_done = true;
        puts_(o, k[i]), puts_(o, ":{");
        if (truthy(json_object_get(v, "description"))) {
            puts_(o, "description:" Q), puts_(o, json_string_value(json_object_get(v, "description"))), puts_(o, Q);
            add = true;
        }
        if (upper_is(type, "STRING")) {
            if (truthy(json_object_get(v, "enum"))) {
                comma(o, &add);
                puts_(o, "enum:");
                g4_arg(o, json_object_get(v, "enum"), true);
            }
        } else if (upper_is(type, "ARRAY")) {
            json_t *items = json_object_get(v, "items");
            if (json_is_object(items) && json_object_size(items)) {
                comma(o, &add);
                puts_(o, "items:{");
                size_t ni;
                const char **ik = sorted_keys(items, &ni);
                bool f = false;
                for (size_t j = 0; ik && j < ni; j++) {
                    json_t *iv = json_object_get(items, ik[j]);
                    if (json_is_null(iv)) continue;
                    if (f) puts_(o, ",");
                    f = true;
                    if (!strcmp(ik[j], "properties")) {
                        puts_(o, "properties:{");
                        g4_params(o, iv, depth + 1);
                        puts_(o, "}");
                    } else if (!strcmp(ik[j], "required")) {
                        g4_required(o, iv);
                    } else if (!strcmp(ik[j], "type") && json_is_string(iv)) {
                        puts_(o, "type:" Q), put_upper(o, json_string_value(iv)), puts_(o, Q);
                    } else {
                        puts_(o, ik[j]), puts_(o, ":");
                        g4_arg(o, iv, true);
                    }
                }
                free(ik);
                puts_(o, "}");
            }
        }
        if (truthy(json_object_get(v, "nullable"))) comma(o, &add), puts_(o, "nullable:true");
        if (upper_is(type, "OBJECT")) {
            json_t *pp = json_object_get(v, "properties");
            comma(o, &add);
            puts_(o, "properties:{");
            g4_params(o, json_is_object(pp) ? pp : v, depth + 1);
            puts_(o, "}");
            if (truthy(json_object_get(v, "required"))) comma(o, &add), g4_required(o, json_object_get(v, "required"));
        }
        comma(o, &add);
        puts_(o, "type:" Q), put_upper(o, json_string_value(type)), puts_(o, Q "}");
    }
    free(k);
}

static void g4_declaration(out *o, json_t *tool) {
    json_t *fn = json_object_get(tool, "function"), *params = json_object_get(fn, "parameters");
    fl_tok_text tmp = {0};
    out d = {&tmp, FLINT_OK};
    puts_(&d, "declaration:"), puts_(&d, json_string_value(json_object_get(fn, "name")));
    puts_(&d, "{description:" Q), puts_(&d, json_string_value(json_object_get(fn, "description"))), puts_(&d, Q);
    if (truthy(params)) {
        puts_(&d, ",parameters:{");
        if (truthy(json_object_get(params, "properties"))) {
            puts_(&d, "properties:{");
            g4_params(&d, json_object_get(params, "properties"), 0);
            puts_(&d, "},");
        }
        if (truthy(json_object_get(params, "required"))) g4_required(&d, json_object_get(params, "required")), puts_(&d, ",");
        if (truthy(json_object_get(params, "type")))
            puts_(&d, "type:" Q), put_upper(&d, json_string_value(json_object_get(params, "type"))), puts_(&d, Q "}");
    }
    puts_(&d, "}");
    if (d.st && !o->st) o->st = d.st;
    put_trim(o, tmp.s);
    fl_tok_text_free(&tmp);
}

/* the template's strip_thinking: drop <|channel>...<channel|> spans, trim */
static void g4_strip_thinking(out *o, const char *s) {
    fl_tok_text tmp = {0};
    out r = {&tmp, FLINT_OK};
    puts_(&r, "");
    for (const char *part = s;;) {
        const char *end = strstr(part, "<channel|>");
        size_t pl = end ? (size_t)(end - part) : strlen(part);
        const char *open = NULL;
        for (const char *q = part; (q = strstr(q, "<|channel>")) && q + 10 <= part + pl; q++) { open = q; break; }
        put(&r, part, open ? (size_t)(open - part) : pl);
        if (!end) break;
        part = end + 10;
    }
    if (r.st && !o->st) o->st = r.st;
    put_trim(o, tmp.s);
    fl_tok_text_free(&tmp);
}

static void g4_response(out *o, const char *name, const char *body) {
    puts_(o, "<|tool_response>response:");
    puts_(o, name);
    puts_(o, "{value:" Q);
    puts_(o, body);
    puts_(o, Q "}<tool_response|>");
}

static flint_status gemma4(const fl_chat_msg *m, size_t n, const fl_chat_params *p, json_t *tools, out *o) {
    enum { NONE, THINK, TOOL, TOOL_CALL, TOOL_RESPONSE } prev = NONE;
    bool thinking = p->enable_thinking == 1;
    puts_(o, p->bos);
    size_t start = 0;
    bool sys = n && (role_is(&m[0], "system") || role_is(&m[0], "developer"));
    if (thinking || truthy(tools) || sys) {
        puts_(o, "<|turn>system\n");
        if (thinking) puts_(o, "<|think|>\n"), prev = THINK;
        if (sys) put_trim(o, m[0].content), start = 1;
        if (truthy(tools)) {
            size_t i;
            json_t *t;
            json_array_foreach(tools, i, t) puts_(o, "<|tool>"), g4_declaration(o, t), puts_(o, "<tool|>");
            prev = TOOL;
        }
        puts_(o, "<turn|>\n");
    }
    long last_user = -1;
    for (size_t i = start; i < n; i++)
        if (role_is(&m[i], "user")) last_user = (long)(i - start);
    for (size_t i = start; i < n && !o->st; i++) {
        const fl_chat_msg *msg = &m[i];
        if (role_is(msg, "tool")) continue;
        prev = NONE;
        bool model = role_is(msg, "assistant");
        const fl_chat_msg *prev_nt = NULL;
        for (size_t j = i; j-- > start;)
            if (!role_is(&m[j], "tool")) { prev_nt = &m[j]; break; }
        if (!(model && prev_nt && role_is(prev_nt, "assistant"))) {
            puts_(o, "<|turn>");
            puts_(o, model ? "model" : msg->role);
            puts_(o, "\n");
        }
        const char *thought = msg->reasoning_content;
        if (thought && *thought && (long)(i - start) > last_user && msg->n_tool_calls)
            puts_(o, "<|channel>thought\n"), puts_(o, thought), puts_(o, "\n<channel|>");
        for (int32_t k = 0; k < msg->n_tool_calls; k++) {
            const fl_chat_tool_call *tc = &msg->tool_calls[k];
            puts_(o, "<|tool_call>call:"), puts_(o, tc->name), puts_(o, "{");
            json_t *args;
            flint_status st = parse_json(tc->arguments, "tool call arguments", &args);
            if (st) return st;
            if (json_is_object(args)) {
                size_t na;
                const char **keys = sorted_keys(args, &na);
                for (size_t a = 0; keys && a < na; a++) {
                    if (a) puts_(o, ",");
                    puts_(o, keys[a]), puts_(o, ":");
                    g4_arg(o, json_object_get(args, keys[a]), false);
                }
                free(keys);
            } else if (json_is_string(args)) {
                puts_(o, json_string_value(args));
            }
            json_decref(args);
            puts_(o, "}<tool_call|>");
            prev = TOOL_CALL;
        }
        bool responded = false;
        if (msg->n_tool_calls) {
            for (size_t k = i + 1; k < n && role_is(&m[k], "tool"); k++) {
                const char *name = m[k].name ? m[k].name : "unknown";
                for (int32_t c = 0; c < msg->n_tool_calls; c++) {
                    const char *id = msg->tool_calls[c].id, *want = m[k].tool_call_id;
                    if ((!id && !want) || (id && want && !strcmp(id, want))) name = msg->tool_calls[c].name;
                }
                g4_response(o, name, m[k].content ? m[k].content : "None");
                responded = true;
                prev = TOOL_RESPONSE;
            }
        }
        if (msg->content) {
            if (model) g4_strip_thinking(o, msg->content);
            else put_trim(o, msg->content);
        }
        if (prev == TOOL_CALL && !responded) puts_(o, "<|tool_response>");
        else if (!(responded && (!msg->content || !*msg->content))) puts_(o, "<turn|>\n");
    }
    if (p->add_generation_prompt && prev != TOOL_RESPONSE && prev != TOOL_CALL) {
        puts_(o, "<|turn>model\n");
        if (!thinking && !p->gemma4_no_empty_thought) puts_(o, "<|channel>thought\n<channel|>");
    }
    return o->st;
}

flint_status fl_chat_render(fl_chat_family fam, const fl_chat_msg *msgs, size_t n, const fl_chat_params *p,
                            fl_tok_text *text) {
    static const fl_chat_params defaults = {.enable_thinking = -1};
    if (!p) p = &defaults;
    if ((!msgs && n) || !text) return fl_errorf(FLINT_E_INVALID_ARG, "fl_chat_render: NULL argument");
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].role) return fl_errorf(FLINT_E_INVALID_ARG, "message %zu has no role", i);
    json_t *tools = NULL;
    flint_status st = parse_json(p->tools, "tools", &tools);
    if (st) return st;
    if (tools && !json_is_array(tools)) {
        json_decref(tools);
        return fl_errorf(FLINT_E_INVALID_ARG, "chat: tools must be a JSON array");
    }
    size_t n0 = text->n;
    out o = {text, fl_tok_text_append(text, "", 0)};
    switch (fam) {
    case FL_CHAT_GEMMA: st = o.st ? o.st : gemma(msgs, n, p, &o); break;
    case FL_CHAT_GEMMA4: st = o.st ? o.st : gemma4(msgs, n, p, tools, &o); break;
    case FL_CHAT_CHATML: st = o.st ? o.st : chatml(msgs, n, p, tools, &o); break;
    default: st = fl_errorf(FLINT_E_UNSUPPORTED, "no chat template for this model"); break;
    }
    if (!st) st = o.st;
    json_decref(tools);
    if (st && text->s) text->n = n0, text->s[n0] = '\0';
    return st;
}
