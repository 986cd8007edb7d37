/* test_server_output.c — the reply splitter (server/output.h) on replies
 * written in each family's documented format: Qwen3.5's thinking block
 * and XML tool calls as its chat template instructs them
 * (<tool_call>\n<function=NAME>\n<parameter=P>\nVALUE\n</parameter>\n...),
 * Gemma 4's thinking channel and calls as its chat template renders them
 * (<|tool_call>call:NAME{key:<|"|>text<|"|>,n:5}<tool_call|>). The expected
 * arguments are the ones vLLM's qwen3_coder and gemma4 parsers produce
 * from the same text (their typing rules: a string parameter stays a string
 * even when it reads as a number, "2.0" for a number is 2, a value's
 * leading and trailing newline is dropped, an unknown function still is a
 * call with string values), compared as JSON. Every reply is fed whole,
 * one byte at a time, one character at a time and cut in two at every
 * byte: the deltas must add up to the same text each time. Then what
 * streaming holds back, and the call ids. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/utf8.h"
#include "harness.h"
#include "server/output.h"
#include "tokenizer/tokenizer.h"

#define MAX_CALLS 8

typedef struct result {
    fl_tok_text content, reasoning;
    fl_tok_text args[MAX_CALLS];
    char names[MAX_CALLS][64], ids[MAX_CALLS][32];
    int n_calls;
    int bad; /* deltas that break the contract (empty, split UTF-8, out of order) */
} result;

static void result_free(result *r) {
    fl_tok_text_free(&r->content), fl_tok_text_free(&r->reasoning);
    for (int i = 0; i < MAX_CALLS; i++) fl_tok_text_free(&r->args[i]);
}

static bool id_ok(const char *id) {
    if (strlen(id) != 29 || strncmp(id, "call_", 5)) return false;
    for (int i = 5; i < 29; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
    }
    return true;
}

static void collect(const srv_delta *d, void *user) {
    result *r = user;
    switch (d->kind) {
    case SRV_DELTA_CONTENT:
    case SRV_DELTA_REASONING:
        if (!d->len || !fl_utf8_valid(d->text, d->len)) r->bad++;
        fl_tok_text_append(d->kind == SRV_DELTA_CONTENT ? &r->content : &r->reasoning, d->text, d->len);
        break;
    case SRV_DELTA_TOOL_START:
        if (d->index != r->n_calls || r->n_calls == MAX_CALLS || !id_ok(d->id) || strlen(d->name) >= 64) {
            r->bad++;
            break;
        }
        strcpy(r->names[r->n_calls], d->name);
        strcpy(r->ids[r->n_calls], d->id);
        r->n_calls++;
        break;
    case SRV_DELTA_TOOL_ARGS:
        if (d->index != r->n_calls - 1 || !d->len) {
            r->bad++;
            break;
        }
        fl_tok_text_append(&r->args[d->index], d->text, d->len);
        break;
    }
}

/* Feeds text cut before each offset in cuts[0..n_cuts) (ascending), then
 * finishes; returns srv_output_n_tool_calls. */
static int run(const char *tmpl, const char *tools, int in_reasoning, const char *text, const size_t *cuts,
               size_t n_cuts, result *r) {
    memset(r, 0, sizeof *r);
    fl_tok_text_append(&r->content, "", 0), fl_tok_text_append(&r->reasoning, "", 0);
    for (int i = 0; i < MAX_CALLS; i++) fl_tok_text_append(&r->args[i], "", 0);
    srv_output *o = srv_output_new(tmpl, tools, in_reasoning);
    size_t at = 0, len = strlen(text);
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t to = i < n_cuts ? cuts[i] : len;
        srv_output_feed(o, text + at, to - at, collect, r);
        at = to;
    }
    srv_output_finish(o, collect, r);
    int n = srv_output_n_tool_calls(o);
    srv_output_free(o);
    return n;
}

typedef struct call {
    const char *name, *args;
} call;

typedef struct expect {
    const char *content, *reasoning;
    int n_complete;
    call calls[4];
} expect;

static bool json_text_equal(const char *got, const char *want) {
    json_t *g = json_loads(got, 0, NULL), *w = json_loads(want, 0, NULL);
    bool eq = g && w && json_equal(g, w);
    if (!w) fprintf(stderr, "bad expected JSON: %s\n", want);
    json_decref(g), json_decref(w);
    return eq;
}

static void check_result(const char *what, const char *mode, const result *r, int n_complete, const expect *e,
                         const result *whole) {
    CHECK_MSG(!r->bad, "%s (%s): %d deltas break the contract", what, mode, r->bad);
    CHECK_MSG(!strcmp(r->content.s, e->content), "%s (%s): content \"%s\", wanted \"%s\"", what, mode, r->content.s,
              e->content);
    CHECK_MSG(!strcmp(r->reasoning.s, e->reasoning), "%s (%s): reasoning \"%s\", wanted \"%s\"", what, mode,
              r->reasoning.s, e->reasoning);
    CHECK_MSG(n_complete == e->n_complete, "%s (%s): %d complete calls, wanted %d", what, mode, n_complete,
              e->n_complete);
    int n_want = 0;
    while (n_want < 4 && e->calls[n_want].name) n_want++;
    CHECK_MSG(r->n_calls == n_want, "%s (%s): %d calls, wanted %d", what, mode, r->n_calls, n_want);
    for (int i = 0; i < r->n_calls && i < n_want; i++) {
        CHECK_MSG(!strcmp(r->names[i], e->calls[i].name), "%s (%s): call %d is %s, wanted %s", what, mode, i,
                  r->names[i], e->calls[i].name);
        CHECK_MSG(json_text_equal(r->args[i].s, e->calls[i].args), "%s (%s): call %d arguments %s, wanted %s", what,
                  mode, i, r->args[i].s, e->calls[i].args);
        if (whole)
            CHECK_MSG(!strcmp(r->args[i].s, whole->args[i].s), "%s (%s): call %d arguments %s, whole %s", what, mode,
                      i, r->args[i].s, whole->args[i].s);
    }
}

static bool same_result(const result *a, int n_a, const result *b, int n_b) {
    if (n_a != n_b || a->bad || b->bad || a->n_calls != b->n_calls || strcmp(a->content.s, b->content.s) ||
        strcmp(a->reasoning.s, b->reasoning.s))
        return false;
    for (int i = 0; i < a->n_calls; i++)
        if (strcmp(a->names[i], b->names[i]) || strcmp(a->args[i].s, b->args[i].s)) return false;
    return true;
}

static int n_feeds;

static void check_case(const char *what, const char *tmpl, const char *tools, int in_reasoning, const char *text,
                       expect e) {
    size_t len = strlen(text);
    size_t *cuts = calloc(len + 1, sizeof *cuts);
    if (!cuts) abort();
    result whole, r;
    int n_whole = run(tmpl, tools, in_reasoning, text, NULL, 0, &whole), n;
    check_result(what, "whole", &whole, n_whole, &e, NULL);
    size_t n_cuts = 0;
    for (size_t k = 1; k < len; k++) cuts[n_cuts++] = k;
    n = run(tmpl, tools, in_reasoning, text, cuts, n_cuts, &r);
    check_result(what, "byte by byte", &r, n, &e, &whole);
    result_free(&r);
    n_cuts = 0;
    for (size_t k = 1; k < len; k++)
        if (((unsigned char)text[k] & 0xC0) != 0x80) cuts[n_cuts++] = k;
    n = run(tmpl, tools, in_reasoning, text, cuts, n_cuts, &r);
    check_result(what, "character by character", &r, n, &e, &whole);
    result_free(&r);
    size_t bad_cut = 0;
    for (size_t k = 1; k < len && !bad_cut; k++) {
        n = run(tmpl, tools, in_reasoning, text, &k, 1, &r);
        if (!same_result(&r, n, &whole, n_whole)) bad_cut = k;
        result_free(&r);
    }
    CHECK_MSG(!bad_cut, "%s: cut in two at byte %zu, the deltas differ from the whole feed's", what, bad_cut);
    n_feeds += 3 + (int)len - 1;
    result_free(&whole);
    free(cuts);
}

#define CASE(what, tmpl, tools, in_r, text, ...) check_case(what, tmpl, tools, in_r, text, (expect){__VA_ARGS__})

static const char QWEN_TOOLS[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Current weather\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":"
    "\"integer\"},\"unit\":{\"type\":\"string\",\"enum\":[\"celsius\",\"fahrenheit\"]}},\"required\":[\"city\"]}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"set_config\",\"parameters\":{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\"},\"zip\":{\"type\":\"string\"},\"count\":{\"type\":\"integer\"},"
    "\"ratio\":{\"type\":\"number\"},\"whole\":{\"type\":\"number\"},\"enabled\":{\"type\":\"boolean\"},"
    "\"options\":{\"type\":\"object\"},\"tags\":{\"type\":\"array\"},\"broken\":{\"type\":\"object\"},"
    "\"maybe\":{\"type\":[\"integer\",\"null\"]},\"nothing\":{\"type\":\"string\"},\"bad_count\":{\"type\":"
    "\"integer\"}}}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"write_file\",\"parameters\":{\"type\":\"object\",\"properties\":{"
    "\"path\":{\"type\":\"string\"},\"content\":{\"type\":\"string\"}}}}}]";

#define WEATHER(city) "<tool_call>\n<function=get_weather>\n<parameter=city>\n" city "\n</parameter>\n</function>\n</tool_call>"

static void chatml_cases(void) {
    TEST_GROUP("chatml");
    const char *T = QWEN_TOOLS;
    CASE("thinking and content", "chatml", T, 1,
         "The user says hello.\nI should greet back.\n</think>\n\nHello! How can I help you today?",
         .content = "Hello! How can I help you today?", .reasoning = "The user says hello.\nI should greet back.");
    CASE("thinking opened by the reply", "chatml", T, 0, "<think>\nShort thought.\n</think>\n\nAnswer.",
         .content = "Answer.", .reasoning = "Short thought.");
    CASE("content only", "chatml", T, 0, "The capital of France is Paris.",
         .content = "The capital of France is Paris.", .reasoning = "");
    CASE("empty thinking", "chatml", T, 1, "\n</think>\n\nNo thoughts needed.", .content = "No thoughts needed.",
         .reasoning = "");
    CASE("one call", "chatml", T, 1,
         "I need the weather tool.\n</think>\n\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n"
         "</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>",
         .content = "", .reasoning = "I need the weather tool.", .n_complete = 1,
         .calls = {{"get_weather", "{\"city\": \"Paris\", \"days\": 3}"}});
    CASE("two calls in a row", "chatml", T, 0,
         WEATHER("Paris") "\n<tool_call>\n<function=get_weather>\n<parameter=city>\nLondon\n</parameter>\n"
                          "<parameter=unit>\ncelsius\n</parameter>\n</function>\n</tool_call>",
         .content = "", .reasoning = "", .n_complete = 2,
         .calls = {{"get_weather", "{\"city\": \"Paris\"}"}, {"get_weather", "{\"city\": \"London\", \"unit\": \"celsius\"}"}});
    CASE("typed parameters", "chatml", T, 0,
         "<tool_call>\n<function=set_config>\n"
         "<parameter=name>\nflint\n</parameter>\n"
         "<parameter=zip>\n01234\n</parameter>\n"
         "<parameter=count>\n42\n</parameter>\n"
         "<parameter=ratio>\n0.25\n</parameter>\n"
         "<parameter=whole>\n2.0\n</parameter>\n"
         "<parameter=enabled>\nTrue\n</parameter>\n"
         "<parameter=options>\n{\"depth\": 2, \"mode\": \"fast\"}\n</parameter>\n"
         "<parameter=tags>\n[\"a\", \"b\"]\n</parameter>\n"
         "<parameter=broken>\n{not json\n</parameter>\n"
         "<parameter=maybe>\n7\n</parameter>\n"
         "<parameter=nothing>\nnull\n</parameter>\n"
         "<parameter=bad_count>\nmany\n</parameter>\n"
         "<parameter=extra>\n5\n</parameter>\n"
         "</function>\n</tool_call>",
         .content = "", .reasoning = "", .n_complete = 1,
         .calls = {{"set_config",
                    "{\"name\": \"flint\", \"zip\": \"01234\", \"count\": 42, \"ratio\": 0.25, \"whole\": 2, "
                    "\"enabled\": true, \"options\": {\"depth\": 2, \"mode\": \"fast\"}, \"tags\": [\"a\", \"b\"], "
                    "\"broken\": \"{not json\", \"maybe\": 7, \"nothing\": null, \"bad_count\": \"many\", "
                    "\"extra\": \"5\"}"}});
    CASE("a value with newlines and markup", "chatml", T, 0,
         "<tool_call>\n<function=write_file>\n<parameter=path>\nsrc/main.c\n</parameter>\n<parameter=content>\n"
         "#include <stdio.h>\nint main(void) {\n    if (1 < 2) puts(\"</parameter\");\n    return 0; /* </parameterless> */\n}\n\n"
         "</parameter>\n</function>\n</tool_call>",
         .content = "", .reasoning = "", .n_complete = 1,
         .calls = {{"write_file",
                    "{\"path\": \"src/main.c\", \"content\": \"#include <stdio.h>\\nint main(void) {\\n    if (1 < 2) "
                    "puts(\\\"</parameter\\\");\\n    return 0; /* </parameterless> */\\n}\\n\"}"}});
    CASE("text before a call", "chatml", T, 0, "I'll look up the weather in Paris.\n\n" WEATHER("Paris"),
         .content = "I'll look up the weather in Paris.", .reasoning = "", .n_complete = 1,
         .calls = {{"get_weather", "{\"city\": \"Paris\"}"}});
    CASE("text around a call", "chatml", T, 0, "Sure.\n" WEATHER("Rome") "\nDone.", .content = "Sure.\n\nDone.",
         .reasoning = "", .n_complete = 1, .calls = {{"get_weather", "{\"city\": \"Rome\"}"}});
    CASE("a call inside the thinking", "chatml", T, 1, "Let me call the tool.\n" WEATHER("Oslo"), .content = "",
         .reasoning = "Let me call the tool.", .n_complete = 1, .calls = {{"get_weather", "{\"city\": \"Oslo\"}"}});
    CASE("UTF-8", "chatml", T, 1,
         "Größe prüfen… 東京\n</think>\n\n東京の天気は晴れ 🌸\n" WEATHER("東京"), .content = "東京の天気は晴れ 🌸",
         .reasoning = "Größe prüfen… 東京", .n_complete = 1, .calls = {{"get_weather", "{\"city\": \"東京\"}"}});

    TEST_GROUP("chatml malformed");
    CASE("no function", "chatml", T, 0, "<tool_call>\nnot a function call\n</tool_call>",
         .content = "<tool_call>\nnot a function call\n</tool_call>", .reasoning = "");
    CASE("unknown function: a call with string values (vLLM)", "chatml", T, 0,
         "<tool_call>\n<function=launch_rocket>\n<parameter=count>\n3\n</parameter>\n</function>\n</tool_call>",
         .content = "", .reasoning = "", .n_complete = 1, .calls = {{"launch_rocket", "{\"count\": \"3\"}"}});
    CASE("cut off in a value", "chatml", T, 0, "<tool_call>\n<function=get_weather>\n<parameter=days>\n2\n</parameter>\n<parameter=city>\nPar",
         .content = "", .reasoning = "", .n_complete = 0, .calls = {{"get_weather", "{\"days\": 2}"}});
    CASE("cut off in the name", "chatml", T, 0, "Checking.\n<tool_call>\n<function=get_wea",
         .content = "Checking.\n<tool_call>\n<function=get_wea", .reasoning = "");
    CASE("parameters left open", "chatml", T, 0,
         "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n<parameter=days>\n2\n</function>\n</tool_call>",
         .content = "", .reasoning = "", .n_complete = 1, .calls = {{"get_weather", "{\"city\": \"Paris\", \"days\": 2}"}});
    CASE("no </function>", "chatml", T, 0,
         "<tool_call>\n<function=get_weather>\n<parameter=city>\nRome\n</parameter>\n</tool_call>", .content = "",
         .reasoning = "", .n_complete = 1, .calls = {{"get_weather", "{\"city\": \"Rome\"}"}});
    CASE("thinking cut off", "chatml", T, 1, "Still thinking about </thi", .content = "",
         .reasoning = "Still thinking about </thi");

    TEST_GROUP("chatml without tools");
    CASE("call syntax is content", "chatml", NULL, 0, WEATHER("Paris"), .content = WEATHER("Paris"), .reasoning = "");
    CASE("thinking still split", "chatml", NULL, 1, "Thinking.\n</think>\n\n" WEATHER("Paris") "\n",
         .content = WEATHER("Paris") "\n", .reasoning = "Thinking.");
}

static const char GEMMA_TOOLS[] =
    "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"location\":{\"type\":\"string\"}}}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"timezone\":{\"type\":\"string\"}}}}}]";

#define Q "<|\"|>"
#define G4_WEATHER(loc) "<|tool_call>call:get_weather{location:" Q loc Q "}<tool_call|>"

static void gemma4_cases(void) {
    TEST_GROUP("gemma4");
    const char *T = GEMMA_TOOLS;
    CASE("thinking and content", "gemma4", T, 0,
         "<|channel>thought\nThe user wants a greeting.\n<channel|>Hello there! How can I help?",
         .content = "Hello there! How can I help?", .reasoning = "The user wants a greeting.");
    CASE("content only", "gemma4", T, 0, "Paris is the capital of France.",
         .content = "Paris is the capital of France.", .reasoning = "");
    CASE("one call", "gemma4", T, 0, G4_WEATHER("Tokyo"), .content = "", .reasoning = "", .n_complete = 1,
         .calls = {{"get_weather", "{\"location\": \"Tokyo\"}"}});
    CASE("two calls in a row", "gemma4", T, 0,
         G4_WEATHER("Tokyo") "<|tool_call>call:get_time{timezone:" Q "Asia/Tokyo" Q "}<tool_call|>", .content = "",
         .reasoning = "", .n_complete = 2,
         .calls = {{"get_weather", "{\"location\": \"Tokyo\"}"}, {"get_time", "{\"timezone\": \"Asia/Tokyo\"}"}});
    CASE("typed values", "gemma4", T, 0,
         "<|tool_call>call:configure{count:42,ratio:0.5,big:-1.5e3,enabled:true,verbose:false,missing:null,"
         "name:" Q "flint" Q ",nested:{inner_key:" Q "val" Q ",level:2},items:[" Q "a" Q "," Q "b" Q "],"
         "matrix:[[1,2],[3,4]],objs:[{id:1},{label:" Q "c, d" Q "}],word:fast}<tool_call|>",
         .content = "", .reasoning = "", .n_complete = 1,
         .calls = {{"configure",
                    "{\"count\": 42, \"ratio\": 0.5, \"big\": -1.5e3, \"enabled\": true, \"verbose\": false, "
                    "\"missing\": null, \"name\": \"flint\", \"nested\": {\"inner_key\": \"val\", \"level\": 2}, "
                    "\"items\": [\"a\", \"b\"], \"matrix\": [[1, 2], [3, 4]], \"objs\": [{\"id\": 1}, "
                    "{\"label\": \"c, d\"}], \"word\": \"fast\"}"}});
    CASE("strings that read as numbers", "gemma4", T, 0,
         "<|tool_call>call:set_zip{zip:" Q "01234" Q ",code:" Q "42" Q "}<tool_call|>", .content = "", .reasoning = "",
         .n_complete = 1, .calls = {{"set_zip", "{\"zip\": \"01234\", \"code\": \"42\"}"}});
    CASE("a string with newlines and markup", "gemma4", T, 0,
         "<|tool_call>call:write_file{content:" Q "if (a < b) {\n  return [1];\n}\n<tag attr=\"x\">" Q
         ",path:" Q "a.c" Q "}<tool_call|>",
         .content = "", .reasoning = "", .n_complete = 1,
         .calls = {{"write_file", "{\"content\": \"if (a < b) {\\n  return [1];\\n}\\n<tag attr=\\\"x\\\">\", "
                                  "\"path\": \"a.c\"}"}});
    CASE("text before a call", "gemma4", T, 0, "Let me check the weather.\n" G4_WEATHER("Paris"),
         .content = "Let me check the weather.", .reasoning = "", .n_complete = 1,
         .calls = {{"get_weather", "{\"location\": \"Paris\"}"}});
    CASE("thinking, then a call", "gemma4", T, 0,
         "<|channel>thought\nNeed the weather.\n<channel|>" G4_WEATHER("Paris") "<|tool_response>", .content = "",
         .reasoning = "Need the weather.", .n_complete = 1, .calls = {{"get_weather", "{\"location\": \"Paris\"}"}});
    CASE("quoted keys", "gemma4", T, 0, "<|tool_call>call:f{" Q "my key" Q ":1}<tool_call|>", .content = "",
         .reasoning = "", .n_complete = 1, .calls = {{"f", "{\"my key\": 1}"}});
    CASE("UTF-8", "gemma4", T, 0, "<|channel>thought\n天気…\n<channel|>Größe 🌸\n" G4_WEATHER("東京"),
         .content = "Größe 🌸", .reasoning = "天気…", .n_complete = 1,
         .calls = {{"get_weather", "{\"location\": \"東京\"}"}});
    CASE("started in the thinking channel", "gemma4", T, 1, "thought\nPlanning.\n<channel|>Done.",
         .content = "Done.", .reasoning = "Planning.");

    TEST_GROUP("gemma4 malformed");
    CASE("no name", "gemma4", T, 0, "<|tool_call>call:{}<tool_call|>", .content = "<|tool_call>call:{}<tool_call|>",
         .reasoning = "");
    CASE("no call:", "gemma4", T, 0, "<|tool_call>hello<tool_call|>", .content = "<|tool_call>hello<tool_call|>",
         .reasoning = "");
    CASE("unknown function: still a call (vLLM)", "gemma4", T, 0,
         "<|tool_call>call:launch_rocket{count:3}<tool_call|>", .content = "", .reasoning = "", .n_complete = 1,
         .calls = {{"launch_rocket", "{\"count\": 3}"}});
    CASE("cut off in a string", "gemma4", T, 0, "<|tool_call>call:get_weather{days:2,location:" Q "Tok",
         .content = "", .reasoning = "", .n_complete = 0, .calls = {{"get_weather", "{\"days\": 2}"}});
    CASE("cut off in the name", "gemma4", T, 0, "<|tool_call>call:get_wea", .content = "<|tool_call>call:get_wea",
         .reasoning = "");
    CASE("an object left open", "gemma4", T, 0, "<|tool_call>call:f{a:{b:1,c:[2}<tool_call|>", .content = "",
         .reasoning = "", .n_complete = 1, .calls = {{"f", "{\"a\": {\"b\": 1, \"c\": [2]}}"}});

    TEST_GROUP("gemma4 without tools");
    CASE("call syntax is content", "gemma4", NULL, 0, "<|channel>thought\nHm.\n<channel|>" G4_WEATHER("Paris"),
         .content = G4_WEATHER("Paris"), .reasoning = "Hm.");
}

static void plain_cases(void) {
    TEST_GROUP("gemma and no template");
    const char *text = "  Hello <tool_call>\n<function=x>\n</function>\n</tool_call> <think>hi</think>\n";
    CASE("gemma: all content, as written", "gemma", QWEN_TOOLS, 1, text, .content = text, .reasoning = "");
    CASE("no template: all content, as written", NULL, QWEN_TOOLS, 0, text, .content = text, .reasoning = "");
}

/* ---- what streaming holds back ---- */

static void feed(srv_output *o, const char *s, result *r) { srv_output_feed(o, s, strlen(s), collect, r); }

static srv_output *fresh(const char *tmpl, const char *tools, int in_reasoning, result *r) {
    memset(r, 0, sizeof *r);
    fl_tok_text_append(&r->content, "", 0), fl_tok_text_append(&r->reasoning, "", 0);
    for (int i = 0; i < MAX_CALLS; i++) fl_tok_text_append(&r->args[i], "", 0);
    return srv_output_new(tmpl, tools, in_reasoning);
}

static void test_streaming(void) {
    TEST_GROUP("streaming");
    result r;
    srv_output *o = fresh("chatml", QWEN_TOOLS, 0, &r);
    feed(o, "Hello wor", &r);
    CHECK_STR_EQ(r.content.s, "Hello wor");
    feed(o, "ld <", &r);
    CHECK_MSG(!strcmp(r.content.s, "Hello world") || !strcmp(r.content.s, "Hello world "), "\"%s\"", r.content.s);
    feed(o, "b>", &r);
    CHECK_STR_EQ(r.content.s, "Hello world <b>");
    feed(o, "\n<tool_call>\n<function=get_weather>", &r);
    CHECK_INT_EQ(r.n_calls, 1);
    CHECK_STR_EQ(r.args[0].s, "{");
    feed(o, "\n<parameter=city>\nParis\n</parameter>", &r);
    CHECK_STR_EQ(r.args[0].s, "{\"city\": \"Paris\""); /* before </function> */
    CHECK_INT_EQ(srv_output_n_tool_calls(o), 0);
    feed(o, "\n</function>", &r);
    CHECK(json_text_equal(r.args[0].s, "{\"city\": \"Paris\"}"));
    CHECK_INT_EQ(srv_output_n_tool_calls(o), 1);
    srv_output_finish(o, collect, &r);
    CHECK_STR_EQ(r.content.s, "Hello world <b>");
    srv_output_free(o);
    result_free(&r);

    o = fresh("chatml", QWEN_TOOLS, 1, &r);
    feed(o, "Thinking abo", &r);
    CHECK_STR_EQ(r.reasoning.s, "Thinking abo");
    feed(o, "ut it\n</thi", &r);
    CHECK_STR_EQ(r.reasoning.s, "Thinking about it");
    feed(o, "nk>\n\nYes", &r);
    CHECK_STR_EQ(r.content.s, "Yes");
    srv_output_free(o);
    result_free(&r);

    o = fresh("gemma4", GEMMA_TOOLS, 0, &r);
    feed(o, "<|tool_call>call:get_weather{", &r);
    CHECK_INT_EQ(r.n_calls, 1);
    CHECK_STR_EQ(r.names[0], "get_weather");
    feed(o, "location:" Q "Tokyo" Q, &r);
    CHECK_STR_EQ(r.args[0].s, "{\"location\": \"Tokyo\"");
    feed(o, ",days:3", &r); /* a bare word may go on */
    CHECK_STR_EQ(r.args[0].s, "{\"location\": \"Tokyo\"");
    feed(o, "}", &r);
    CHECK(json_text_equal(r.args[0].s, "{\"location\": \"Tokyo\", \"days\": 3}"));
    CHECK_INT_EQ(srv_output_n_tool_calls(o), 1);
    srv_output_free(o);
    result_free(&r);

    o = fresh(NULL, NULL, 0, &r);
    feed(o, "Hello <", &r);
    CHECK_STR_EQ(r.content.s, "Hello <");
    feed(o, "\xE6\x9D", &r); /* half of 東: kept back */
    CHECK_STR_EQ(r.content.s, "Hello <");
    feed(o, "\xB1", &r);
    CHECK_STR_EQ(r.content.s, "Hello <東");
    CHECK(!r.bad);
    srv_output_free(o);
    result_free(&r);
}

/* A reply started by the client (a prefill): the continuation's text only,
 * whether the given part ends in held-back whitespace or a marker's start
 * and however the continuation is cut. */
static void given_case(const char *what, const char *tmpl, int in_reasoning, const char *given, const char *rest,
                       expect e) {
    for (size_t cut = 0; cut <= strlen(rest); cut++) {
        result r;
        srv_output *o = fresh(tmpl, tmpl && strcmp(tmpl, "gemma4") ? QWEN_TOOLS : GEMMA_TOOLS, in_reasoning, &r);
        srv_output_give(o, given, strlen(given), collect, &r);
        srv_output_feed(o, rest, cut, collect, &r);
        srv_output_feed(o, rest + cut, strlen(rest) - cut, collect, &r);
        srv_output_finish(o, collect, &r);
        char mode[32];
        snprintf(mode, sizeof mode, "cut at %zu", cut);
        check_result(what, mode, &r, srv_output_n_tool_calls(o), &e, NULL);
        srv_output_free(o);
        result_free(&r);
    }
}

#define GIVEN(what, tmpl, in_r, given, rest, ...) given_case(what, tmpl, in_r, given, rest, (expect){__VA_ARGS__})

static void test_given(void) {
    TEST_GROUP("a reply the client started");
    GIVEN("held newline stays the client's", "chatml", 0, "Sure.\n", "Here it is.", .content = "Here it is.",
               .reasoning = "");
    GIVEN("a marker's start that is not one", "chatml", 0, "Sure. <tool_", "box is here",
               .content = "box is here", .reasoning = "");
    GIVEN("a marker's start that becomes a call", "chatml", 0, "Sure. <tool_",
               "call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>",
               .content = "", .reasoning = "", .n_complete = 1, .calls = {{"get_weather", "{\"city\": \"Paris\"}"}});
    GIVEN("given thinking", "chatml", 1, "Let me see\n", "and so</think>\n\nYes", .content = "Yes",
               .reasoning = "and so");
    GIVEN("gemma4 thought", "gemma4", 0, "<|channel>thought\nplan", "ning<channel|>Done", .content = "Done",
               .reasoning = "ning");
    GIVEN("content after a given call", "chatml", 0, WEATHER("A"), " Done.", .content = "Done.", .reasoning = "",
               .n_complete = 1, .calls = {{"get_weather", "{\"city\": \"A\"}"}});
    GIVEN("plain text", "gemma", 0, "Once upon", " a time", .content = " a time", .reasoning = "");
}

static void test_ids(void) {
    TEST_GROUP("call ids");
    result a, b;
    run("chatml", QWEN_TOOLS, 0, WEATHER("A") WEATHER("B"), NULL, 0, &a);
    run("chatml", QWEN_TOOLS, 0, WEATHER("A"), NULL, 0, &b);
    CHECK_INT_EQ(a.n_calls, 2);
    CHECK(id_ok(a.ids[0]) && id_ok(a.ids[1]) && id_ok(b.ids[0]));
    CHECK(strcmp(a.ids[0], a.ids[1]) && strcmp(a.ids[0], b.ids[0]) && strcmp(a.ids[1], b.ids[0]));
    result_free(&a), result_free(&b);
}

int main(void) {
    chatml_cases();
    gemma4_cases();
    plain_cases();
    test_streaming();
    test_given();
    test_ids();
    printf("(%d feeds of the recorded replies)\n", n_feeds);
    return test_finish("test_server_output");
}
