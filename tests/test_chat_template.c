/* test_chat_template.c — flint's chat renderers against prompts that
 * transformers' apply_chat_template produced from the real templates
 * (tests/fixtures/tok/chat.json, tools/gen_tokenizer_fixtures.py): system,
 * multi-turn, thinking on/off, tool definitions, calls and results. A
 * conversation the template rejects must be rejected here too. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"
#include "tokenizer/tokenizer.h"

static const char *s_or_null(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void fixtures(void) {
    TEST_GROUP("apply_chat_template");
    json_error_t je;
    json_t *all = json_load_file(FIXTURE("tok/chat.json"), 0, &je);
    CHECK_MSG(all != NULL, "chat.json: %s", je.text);
    size_t i, n_ok = 0;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *fam_s = s_or_null(c, "family");
        fl_chat_family fam = !strcmp(fam_s, "gemma") ? FL_CHAT_GEMMA : !strcmp(fam_s, "gemma4") ? FL_CHAT_GEMMA4 : FL_CHAT_CHATML;
        json_t *msgs = json_object_get(c, "messages");
        size_t n = json_array_size(msgs);
        fl_chat_msg *m = calloc(n, sizeof *m);
        fl_chat_tool_call *calls = calloc(16 * n + 1, sizeof *calls);
        char **owned = calloc(16 * n + 1, sizeof *owned);
        size_t n_calls = 0;
        for (size_t k = 0; k < n; k++) {
            json_t *j = json_array_get(msgs, k);
            m[k].role = s_or_null(j, "role");
            m[k].content = s_or_null(j, "content");
            m[k].reasoning_content = s_or_null(j, "reasoning_content");
            m[k].tool_call_id = s_or_null(j, "tool_call_id");
            m[k].name = s_or_null(j, "name");
            json_t *tcs = json_object_get(j, "tool_calls"), *tc;
            size_t t;
            m[k].tool_calls = calls + n_calls;
            json_array_foreach(tcs, t, tc) {
                json_t *fn = json_object_get(tc, "function");
                calls[n_calls].id = s_or_null(tc, "id");
                calls[n_calls].name = s_or_null(fn, "name");
                owned[n_calls] = json_dumps(json_object_get(fn, "arguments"), JSON_ENCODE_ANY);
                calls[n_calls].arguments = owned[n_calls];
                n_calls++;
                m[k].n_tool_calls++;
            }
        }
        json_t *tools = json_object_get(c, "tools"), *think = json_object_get(c, "enable_thinking");
        char *tools_s = json_is_array(tools) ? json_dumps(tools, 0) : NULL;
        fl_chat_params p = {
            .add_generation_prompt = json_is_true(json_object_get(c, "add_generation_prompt")),
            .enable_thinking = json_is_null(think) || !think ? -1 : json_is_true(think) ? 1 : 0,
            .tools = tools_s,
            .bos = "<bos>",
        };
        fl_tok_text out = {0};
        flint_status st = fl_chat_render(fam, m, n, &p, &out);
        const char *want = s_or_null(c, "expected");
        if (want) {
            bool eq = st == FLINT_OK && out.s && !strcmp(out.s, want);
            CHECK_MSG(eq, "%s/%s tools=%d think=%d agp=%d: %s\n--- got\n%s\n--- want\n%s", fam_s, s_or_null(c, "name"),
                      tools_s != NULL, p.enable_thinking, p.add_generation_prompt, st ? flint_errmsg() : "",
                      out.s ? out.s : "", want);
            n_ok += eq;
        } else {
            CHECK_MSG(st == FLINT_E_INVALID_ARG, "%s/%s should be rejected", fam_s, s_or_null(c, "name"));
        }
        fl_tok_text_free(&out);
        for (size_t k = 0; k < n_calls; k++) free(owned[k]);
        free(owned), free(calls), free(m), free(tools_s);
    }
    CHECK_MSG(n_ok >= 100, "only %zu prompts matched", n_ok);
    json_decref(all);
}

static void render(fl_chat_family fam, const fl_chat_msg *m, size_t n, const fl_chat_params *p, const char *want) {
    fl_tok_text out = {0};
    flint_status st = fl_chat_render(fam, m, n, p, &out);
    CHECK_MSG(st == FLINT_OK && !strcmp(out.s, want), "%s\n--- got\n%s\n--- want\n%s", flint_errmsg(), out.s ? out.s : "", want);
    fl_tok_text_free(&out);
}

static void by_hand(void) {
    TEST_GROUP("gemma3 system fold, detection");
    /* Gemma 3's template: the system text and a blank line open the first user turn */
    fl_chat_msg m[] = {{.role = "system", .content = "Be brief."}, {.role = "user", .content = " Hi "}};
    fl_chat_params p = {.add_generation_prompt = true, .enable_thinking = -1, .bos = "<bos>"};
    render(FL_CHAT_GEMMA, m, 2, &p,
           "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
    fl_chat_msg bad[] = {{.role = "user", .content = "a"}, {.role = "user", .content = "b"}};
    fl_tok_text out = {0};
    CHECK_FAILS(fl_chat_render(FL_CHAT_GEMMA, bad, 2, &p, &out), FLINT_E_INVALID_ARG, "alternate");
    fl_chat_params pt = {.tools = "{\"not\": \"an array\"}", .enable_thinking = -1};
    CHECK_FAILS(fl_chat_render(FL_CHAT_CHATML, m + 1, 1, &pt, &out), FLINT_E_INVALID_ARG, "tools");
    fl_chat_tool_call tc = {.name = "f", .arguments = "{bad json"};
    fl_chat_msg withcall[] = {{.role = "user", .content = "x"}, {.role = "assistant", .tool_calls = &tc, .n_tool_calls = 1}};
    CHECK(fl_chat_render(FL_CHAT_CHATML, withcall, 2, &p, &out) != FLINT_OK);
    fl_tok_text_free(&out);
    CHECK_INT_EQ(fl_chat_detect("{{ '<start_of_turn>' }}", NULL), FL_CHAT_GEMMA);
    CHECK_INT_EQ(fl_chat_detect("{{ '<|turn>' }}", NULL), FL_CHAT_GEMMA4);
    CHECK_INT_EQ(fl_chat_detect("<|im_start|>", "gemma3"), FL_CHAT_CHATML);
    CHECK_INT_EQ(fl_chat_detect(NULL, "qwen35moe"), FL_CHAT_CHATML);
    CHECK_INT_EQ(fl_chat_detect(NULL, "gemma4"), FL_CHAT_GEMMA4);
    CHECK_INT_EQ(fl_chat_detect(NULL, "gemma2"), FL_CHAT_GEMMA);
    CHECK_INT_EQ(fl_chat_detect(NULL, "llama"), FL_CHAT_NONE);
    CHECK_STR_EQ(fl_chat_stop_strings(FL_CHAT_GEMMA4)[0], "<turn|>");
    CHECK_STR_EQ(fl_chat_stop_strings(FL_CHAT_CHATML)[0], "<|im_end|>");
}

int main(void) {
    fixtures();
    by_hand();
    return test_finish("test_chat_template");
}
