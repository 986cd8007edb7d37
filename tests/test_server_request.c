/* test_server_request.c — the OpenAI request parser (server/request.c):
 * valid bodies checked field by field against what OpenAI's API reference
 * says each field means (absent fields must keep OpenAI's defaults), invalid
 * ones checked for the error and the exact path of the field at fault, and
 * hostile bodies: deep nesting, too many messages, invalid UTF-8, numbers
 * beyond double, a body not NUL-terminated that ends at an unmapped page. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "server/request.h"

static const srv_limits limits = {.max_messages = 8, .max_stop = 4, .max_tokens = 4096, .n_vocab = 32000};

static srv_request req;
static srv_error err;

static flint_status parse_n(srv_endpoint ep, const char *body, size_t len, const srv_limits *lim) {
    srv_request_free(&req);
    return srv_request_parse(body, len, ep, lim, &req, &err);
}

static flint_status parse(srv_endpoint ep, const char *body) {
    return parse_n(ep, body, strlen(body), &limits);
}

/* ---- a request's fields as text, by name ---- */

static const char *str(const char *s) { return s ? s : "(null)"; }

/* Writes the value of `key` ("temperature", "stop[1]", "messages[2].name",
 * "messages[1].tool_calls[0].arguments") into out; false for a key this
 * test does not know or an index out of range. */
static bool field_text(const srv_request *r, const char *key, char *out, size_t cap) {
    static const char *const choices[] = {"auto", "none", "required", "named"};
    const flint_sampling_params *s = &r->sampling;
    int i, j, n = 0;
    char rest[64] = "", leaf[64] = "";
#define INT(name, v) if (strcmp(key, name) == 0) return snprintf(out, cap, "%lld", (long long)(v)), true
#define NUM(name, v) if (strcmp(key, name) == 0) return snprintf(out, cap, "%.9g", (double)(v)), true
#define STR(name, v) if (strcmp(key, name) == 0) return snprintf(out, cap, "%s", str(v)), true
    INT("max_tokens", r->max_tokens);
    NUM("temperature", s->temperature);
    NUM("top_p", s->top_p);
    INT("top_k", s->top_k);
    NUM("min_p", s->min_p);
    NUM("presence_penalty", s->presence_penalty);
    NUM("frequency_penalty", s->frequency_penalty);
    NUM("repetition_penalty", s->repetition_penalty);
    if (strcmp(key, "seed") == 0) return snprintf(out, cap, "%llu", (unsigned long long)s->seed), true;
    INT("seed_given", r->seed_given);
    INT("n_logit_bias", s->n_logit_bias);
    INT("n_stop", r->n_stop);
    INT("stream", r->stream);
    INT("include_usage", r->include_usage);
    INT("logprobs", r->logprobs);
    INT("top_logprobs", r->top_logprobs);
    INT("ignore_eos", r->ignore_eos);
    INT("thinking", r->thinking);
    INT("continue_final", r->continue_final);
    INT("penalty_last_n", s->penalty_last_n);
    INT("penalties_off", r->penalties_off);
    STR("tool_choice", choices[r->tool_choice]);
    STR("tool_choice_name", r->tool_choice_name);
    INT("n_tools", r->n_tools);
    STR("tools", r->tools);
    INT("n_messages", r->n_messages);
    INT("n_prompt_tokens", r->n_prompt_tokens);
    STR("prompt", r->prompt);
    STR("model", r->model);
    STR("user", r->user);
    if (sscanf(key, "stop[%d]%n", &i, &n) == 1 && key[n] == '\0')
        return i >= 0 && i < r->n_stop && snprintf(out, cap, "%s", r->stop[i]) >= 0;
    if (sscanf(key, "prompt_tokens[%d]%n", &i, &n) == 1 && key[n] == '\0')
        return i >= 0 && i < r->n_prompt_tokens && snprintf(out, cap, "%d", r->prompt_tokens[i]) >= 0;
    if (sscanf(key, "logit_bias[%d]%n", &i, &n) == 1 && key[n] == '\0')
        return i >= 0 && i < s->n_logit_bias &&
               snprintf(out, cap, "%d:%g", s->logit_bias[i].token, s->logit_bias[i].bias) >= 0;
    if (sscanf(key, "messages[%d].%63s", &i, rest) == 2) {
        if (i < 0 || i >= r->n_messages) return false;
        const flint_chat_message *m = &r->messages[i];
        key = rest;
        STR("role", m->role);
        STR("content", m->content);
        STR("reasoning_content", m->reasoning_content);
        STR("tool_call_id", m->tool_call_id);
        STR("name", m->name);
        INT("n_tool_calls", m->n_tool_calls);
        if (sscanf(rest, "tool_calls[%d].%63s", &j, leaf) == 2 && j >= 0 && j < m->n_tool_calls) {
            const flint_tool_call *c = &m->tool_calls[j];
            key = leaf;
            STR("id", c->id);
            STR("name", c->name);
            STR("arguments", c->arguments);
        }
    }
#undef INT
#undef NUM
#undef STR
    return false;
}

/* What every field is when the body does not give it: OpenAI's defaults
 * (temperature 1, n 1, no stop, no streaming, no logprobs, tool_choice auto). */
static const char *const defaults[][2] = {
    {"max_tokens", "-1"}, {"temperature", "1"}, {"top_p", "0"}, {"top_k", "0"}, {"min_p", "0"},
    {"presence_penalty", "0"}, {"frequency_penalty", "0"}, {"repetition_penalty", "0"}, {"seed", "0"},
    {"seed_given", "0"}, {"n_logit_bias", "0"}, {"n_stop", "0"}, {"stream", "0"}, {"include_usage", "0"},
    {"logprobs", "0"}, {"top_logprobs", "0"}, {"ignore_eos", "0"}, {"thinking", "0"}, {"continue_final", "0"},
    {"penalty_last_n", "0"}, {"penalties_off", "0"}, {"tool_choice", "auto"},
    {"tool_choice_name", "(null)"}, {"n_tools", "0"}, {"tools", "(null)"}, {"n_prompt_tokens", "0"},
    {"prompt", "(null)"}, {"model", "(null)"}, {"user", "(null)"},
};

/* expect: "key=value" items separated by '|'; keys in `defaults` that it
 * does not name must have their default. */
static void check_fields(const char *body, const char *expect) {
    char buf[2048], got[2048];
    snprintf(buf, sizeof buf, "%s", expect);
    for (char *item = strtok(buf, "|"); item; item = strtok(NULL, "|")) {
        char *eq = strchr(item, '=');
        if (!eq) continue;
        *eq = '\0';
        if (!field_text(&req, item, got, sizeof got)) {
            CHECK_MSG(false, "%s: no field %s", body, item);
            continue;
        }
        CHECK_MSG(strcmp(got, eq + 1) == 0, "%s: %s is \"%s\", wanted \"%s\"", body, item, got, eq + 1);
    }
    for (size_t k = 0; k < sizeof defaults / sizeof *defaults; k++) {
        char named[64];
        snprintf(named, sizeof named, "%s=", defaults[k][0]);
        if (strncmp(expect, named, strlen(named)) == 0) continue;
        snprintf(named, sizeof named, "|%s=", defaults[k][0]);
        if (strstr(expect, named)) continue;
        field_text(&req, defaults[k][0], got, sizeof got);
        CHECK_MSG(strcmp(got, defaults[k][1]) == 0, "%s: %s is \"%s\", not the default \"%s\"", body,
                  defaults[k][0], got, defaults[k][1]);
    }
}

#define USER "{\"role\":\"user\",\"content\":\"hi\"}"
#define CHAT(...) "{\"messages\":[" USER "]," __VA_ARGS__ "}"
#define TOOL_WEATHER                                                                                           \
    "{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}}"

static const struct valid_case {
    srv_endpoint ep;
    const char *body, *expect;
} valid[] = {
    /* messages */
    {SRV_CHAT, "{\"model\":\"m-1\",\"messages\":[" USER "]}",
     "model=m-1|n_messages=1|messages[0].role=user|messages[0].content=hi|messages[0].name=(null)"},
    {SRV_CHAT,
     "{\"messages\":[{\"role\":\"developer\",\"content\":\"be brief\"},{\"role\":\"system\",\"content\":\"s\"}," USER
     "]}",
     "n_messages=3|messages[0].role=system|messages[0].content=be brief|messages[1].role=system|messages[2].role=user"},
    {SRV_CHAT,
     "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\","
     "\"text\":\"b c\"}]}]}",
     "n_messages=1|messages[0].content=a\nb c"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[]}]}", "n_messages=1|messages[0].content="},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"h\\u00e9llo \\ud83d\\ude00 \\\"q\\\"\\n\"}]}",
     "n_messages=1|messages[0].content=h\xc3\xa9llo \xf0\x9f\x98\x80 \"q\"\n"},
    {SRV_CHAT, "{\"messages\":[" USER "," USER "," USER "," USER "," USER "," USER "," USER "," USER "]}",
     "n_messages=8|messages[7].content=hi"},
    /* an assistant turn with calls, answered by tool messages: a name given, a name taken from the call, an id
     * no call has */
    {SRV_CHAT,
     "{\"messages\":[" USER ",{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"think\","
     "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
     "\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}},{\"id\":\"call_2\",\"type\":\"function\","
     "\"function\":{\"name\":\"get_time\",\"arguments\":\"{}\"}}]},"
     "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"12:00\"},"
     "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"name\":\"given\",\"content\":\"sunny\"},"
     "{\"role\":\"tool\",\"tool_call_id\":\"call_9\",\"content\":\"?\"}]}",
     "n_messages=5|messages[1].role=assistant|messages[1].content=(null)|messages[1].reasoning_content=think|"
     "messages[1].n_tool_calls=2|messages[1].tool_calls[0].id=call_1|messages[1].tool_calls[0].name=get_weather|"
     "messages[1].tool_calls[0].arguments={\"city\": \"Paris\"}|messages[1].tool_calls[1].name=get_time|"
     "messages[2].role=tool|messages[2].tool_call_id=call_2|messages[2].name=get_time|messages[2].content=12:00|"
     "messages[3].name=given|messages[4].name=(null)"},
    /* a user turn between the calls and the tool message: the calls are not the ones it answers */
    {SRV_CHAT,
     "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"function\":{\"name\":\"f\","
     "\"arguments\":\"{}\"}}]}," USER ",{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"r\"}]}",
     "n_messages=3|messages[0].content=(null)|messages[0].tool_calls[0].id=c|messages[2].name=(null)"},
    /* reasoning_content of a user message is not a field of it */
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"reasoning_content\":5,\"name\":\"bob\"}]}",
     "n_messages=1|messages[0].reasoning_content=(null)|messages[0].name=(null)"},

    /* sampling */
    {SRV_CHAT, CHAT("\"temperature\":0,\"top_p\":1,\"top_k\":-1,\"min_p\":0"),
     "n_messages=1|temperature=0|top_p=1|top_k=0|min_p=0"},
    {SRV_CHAT, CHAT("\"temperature\":2,\"top_p\":0.5,\"top_k\":40,\"min_p\":1"),
     "n_messages=1|temperature=2|top_p=0.5|top_k=40|min_p=1"},
    {SRV_CHAT, CHAT("\"temperature\":0.7,\"top_k\":0"), "n_messages=1|temperature=0.699999988"},
    {SRV_CHAT, CHAT("\"presence_penalty\":-2,\"frequency_penalty\":2,\"repetition_penalty\":1.1"),
     "n_messages=1|presence_penalty=-2|frequency_penalty=2|repetition_penalty=1.10000002"},
    {SRV_CHAT, CHAT("\"seed\":-1"), "n_messages=1|seed=18446744073709551615|seed_given=1"},
    {SRV_CHAT, CHAT("\"seed\":0"), "n_messages=1|seed=0|seed_given=1"},
    {SRV_CHAT, CHAT("\"seed\":42.0"), "n_messages=1|seed=42|seed_given=1"},
    {SRV_CHAT, CHAT("\"logit_bias\":{\"5\":-100,\"31999\":100,\"0\":0.5,\"007\":1}"),
     "n_messages=1|n_logit_bias=4|logit_bias[0]=5:-100|logit_bias[1]=31999:100|logit_bias[2]=0:0.5|"
     "logit_bias[3]=7:1"},
    {SRV_CHAT, CHAT("\"logit_bias\":{}"), "n_messages=1"},
    /* duplicate keys: the last one counts, as in JavaScript and Python */
    {SRV_CHAT, CHAT("\"temperature\":0.25,\"temperature\":0.5"), "n_messages=1|temperature=0.5"},

    /* output controls */
    {SRV_CHAT, CHAT("\"max_tokens\":16"), "n_messages=1|max_tokens=16"},
    {SRV_CHAT, CHAT("\"max_tokens\":5,\"max_completion_tokens\":7"), "n_messages=1|max_tokens=7"},
    {SRV_CHAT, CHAT("\"max_completion_tokens\":4096"), "n_messages=1|max_tokens=4096"},
    {SRV_CHAT, CHAT("\"max_tokens\":2.0"), "n_messages=1|max_tokens=2"},
    {SRV_CHAT, CHAT("\"stop\":\"END\""), "n_messages=1|n_stop=1|stop[0]=END"},
    {SRV_CHAT, CHAT("\"stop\":[\"a\",\"\",\"b\\n\",\"c\"]"), "n_messages=1|n_stop=3|stop[0]=a|stop[1]=b\n|stop[2]=c"},
    {SRV_CHAT, CHAT("\"stop\":[]"), "n_messages=1"},
    {SRV_CHAT, CHAT("\"stop\":\"\""), "n_messages=1"},
    {SRV_CHAT, CHAT("\"n\":1"), "n_messages=1"},
    {SRV_CHAT, CHAT("\"n\":1.0"), "n_messages=1"},
    {SRV_CHAT, CHAT("\"logprobs\":true,\"top_logprobs\":5"), "n_messages=1|logprobs=1|top_logprobs=5"},
    {SRV_CHAT, CHAT("\"logprobs\":true,\"top_logprobs\":0"), "n_messages=1|logprobs=1|top_logprobs=0"},
    {SRV_CHAT, CHAT("\"logprobs\":true,\"top_logprobs\":20"), "n_messages=1|logprobs=1|top_logprobs=20"},
    {SRV_CHAT, CHAT("\"logprobs\":false"), "n_messages=1"},
    {SRV_CHAT, CHAT("\"stream\":true,\"stream_options\":{\"include_usage\":true}"),
     "n_messages=1|stream=1|include_usage=1"},
    {SRV_CHAT, CHAT("\"stream\":true,\"stream_options\":{}"), "n_messages=1|stream=1"},
    {SRV_CHAT, CHAT("\"stream\":false,\"stream_options\":null"), "n_messages=1"},
    {SRV_CHAT, CHAT("\"ignore_eos\":true,\"user\":\"u-1\""), "n_messages=1|ignore_eos=1|user=u-1"},

    /* tools: kept as compact JSON text */
    {SRV_CHAT, CHAT("\"tools\":[ {\"type\": \"function\", \"function\": {\"name\": \"get_weather\", "
                    "\"parameters\": {\"type\": \"object\"}}} ]"),
     "n_messages=1|n_tools=1|tools=[" TOOL_WEATHER "]"},
    {SRV_CHAT, CHAT("\"tools\":[" TOOL_WEATHER ",{\"type\":\"function\",\"function\":{\"name\":\"a.b-c_9\","
                    "\"description\":\"d\"}}],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
                    "\"a.b-c_9\"}}"),
     "n_messages=1|n_tools=2|tools=[" TOOL_WEATHER ",{\"type\":\"function\",\"function\":{\"name\":\"a.b-c_9\","
     "\"description\":\"d\"}}]|tool_choice=named|tool_choice_name=a.b-c_9"},
    {SRV_CHAT, CHAT("\"tools\":[" TOOL_WEATHER "],\"tool_choice\":\"required\""),
     "n_messages=1|n_tools=1|tools=[" TOOL_WEATHER "]|tool_choice=required"},
    {SRV_CHAT, CHAT("\"tools\":[" TOOL_WEATHER "],\"tool_choice\":\"none\""),
     "n_messages=1|n_tools=1|tools=[" TOOL_WEATHER "]|tool_choice=none"},
    {SRV_CHAT, CHAT("\"tool_choice\":\"auto\""), "n_messages=1"},
    {SRV_CHAT, CHAT("\"tool_choice\":\"none\""), "n_messages=1|tool_choice=none"},
    {SRV_CHAT, CHAT("\"tools\":[]"), "n_messages=1"},
    {SRV_CHAT, CHAT("\"chat_template_kwargs\":{\"enable_thinking\":false}"), "n_messages=1|thinking=-1"},
    {SRV_CHAT, CHAT("\"chat_template_kwargs\":{\"enable_thinking\":true,\"other\":1}"), "n_messages=1|thinking=1"},
    {SRV_CHAT, CHAT("\"chat_template_kwargs\":{}"), "n_messages=1"},
    /* a prefill: the reply continues the last (assistant) message */
    {SRV_CHAT, "{\"messages\":[" USER ",{\"role\":\"assistant\",\"content\":\"Sure:\"}],\"continue_final_message\":true}",
     "n_messages=2|continue_final=1|messages[1].content=Sure:"},
    {SRV_CHAT, CHAT("\"continue_final_message\":false"), "n_messages=1"},
    /* llama.cpp's penalty window: past the context is all of it, 0 turns the penalties off */
    {SRV_CHAT, CHAT("\"repeat_last_n\":8,\"repetition_penalty\":1.5"), "n_messages=1|penalty_last_n=8|repetition_penalty=1.5"},
    {SRV_CHAT, CHAT("\"repeat_last_n\":-1"), "n_messages=1|penalty_last_n=-1"},
    {SRV_CHAT, CHAT("\"repeat_last_n\":100000"), "n_messages=1|penalty_last_n=-1"},
    {SRV_CHAT, CHAT("\"repeat_last_n\":0,\"repetition_penalty\":1.5,\"presence_penalty\":1,\"frequency_penalty\":1"),
     "n_messages=1|penalties_off=1"},

    /* null is absent; unknown fields and the other endpoint's fields are ignored */
    {SRV_CHAT,
     CHAT("\"model\":null,\"temperature\":null,\"top_p\":null,\"stop\":null,\"tools\":null,\"tool_choice\":null,"
          "\"seed\":null,\"max_tokens\":null,\"n\":null,\"logprobs\":null,\"top_logprobs\":null,\"stream\":null,"
          "\"logit_bias\":null,\"user\":null,\"chat_template_kwargs\":null"),
     "n_messages=1"},
    {SRV_CHAT, CHAT("\"response_format\":{\"type\":\"text\"},\"prompt\":5,\"echo\":\"x\",\"frequency\":[[[]]]"),
     "n_messages=1"},
    {SRV_CHAT, " \n\t{\"messages\":[" USER "]} \n", "n_messages=1"},

    /* completions */
    {SRV_COMPLETION, "{\"model\":\"m\",\"prompt\":\"Once upon\"}", "model=m|prompt=Once upon"},
    {SRV_COMPLETION, "{\"prompt\":\"\"}", "prompt="},
    {SRV_COMPLETION, "{\"prompt\":[1,2,31999]}",
     "n_prompt_tokens=3|prompt_tokens[0]=1|prompt_tokens[1]=2|prompt_tokens[2]=31999"},
    {SRV_COMPLETION, "{\"prompt\":[0, 5.0]}", "n_prompt_tokens=2|prompt_tokens[0]=0|prompt_tokens[1]=5"},
    {SRV_COMPLETION, "{\"prompt\":[\"one\"]}", "prompt=one"},
    {SRV_COMPLETION, "{\"prompt\":[[7,8]]}", "n_prompt_tokens=2|prompt_tokens[0]=7|prompt_tokens[1]=8"},
    {SRV_COMPLETION, "{\"prompt\":\"p\",\"logprobs\":0}", "prompt=p|logprobs=1|top_logprobs=0"},
    {SRV_COMPLETION, "{\"prompt\":\"p\",\"logprobs\":5,\"top_logprobs\":\"x\"}", "prompt=p|logprobs=1|top_logprobs=5"},
    {SRV_COMPLETION, "{\"prompt\":\"p\",\"max_tokens\":1,\"max_completion_tokens\":\"x\",\"messages\":5}",
     "prompt=p|max_tokens=1"},
    {SRV_COMPLETION,
     "{\"prompt\":\"p\",\"stream\":true,\"stream_options\":{\"include_usage\":false},\"stop\":[\"\\n\"],"
     "\"temperature\":0,\"seed\":7,\"echo\":true,\"tools\":5,\"tool_choice\":\"required\"}",
     "prompt=p|stream=1|n_stop=1|stop[0]=\n|temperature=0|seed=7|seed_given=1"},
};

static void test_valid(void) {
    TEST_GROUP("valid");
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        const struct valid_case *c = &valid[i];
        flint_status st = parse(c->ep, c->body);
        CHECK_MSG(st == FLINT_OK, "%s: %s (%s)", c->body, err.message, err.param);
        if (st != FLINT_OK) continue;
        CHECK_INT_EQ(req.endpoint, c->ep);
        CHECK_MSG(req.sampling.n_logit_bias == 0 || req.sampling.logit_bias != NULL, "%s", c->body);
        check_fields(c->body, c->expect);
    }
}

static const struct invalid_case {
    srv_endpoint ep;
    const char *body, *param;
    const char *needle; /* in the message, when not NULL */
} invalid[] = {
    /* not a JSON object */
    {SRV_CHAT, "", "", "invalid JSON"},
    {SRV_CHAT, "5", "", "must be a JSON object"},
    {SRV_CHAT, "[]", "", "must be a JSON object"},
    {SRV_CHAT, "null", "", "must be a JSON object"},
    {SRV_CHAT, "\"text\"", "", "must be a JSON object"},
    {SRV_CHAT, "{", "", "line 1"},
    {SRV_CHAT, "{\"messages\":[" USER "]", "", "invalid JSON"},
    {SRV_CHAT, "{\"messages\":[" USER "]}x", "", "invalid JSON"},
    {SRV_CHAT, "{'messages':[]}", "", "invalid JSON"},
    {SRV_CHAT, CHAT("\"temperature\":NaN"), "", "invalid JSON"},
    {SRV_CHAT, CHAT("\"temperature\":Infinity"), "", "invalid JSON"},
    {SRV_CHAT, CHAT("\"temperature\":-Infinity"), "", "invalid JSON"},
    {SRV_CHAT, CHAT("\"stop\":\"a\\u0000b\""), "", "invalid JSON"},
    {SRV_CHAT, CHAT("\"stop\":\"\\ud800\""), "", "invalid JSON"},
    /* numbers beyond double or int64: refused by jansson, named by the scan */
    {SRV_CHAT, CHAT("\"temperature\":1e309"), "temperature", "temperature must be a finite number"},
    {SRV_CHAT, CHAT("\"top_p\" : -1e309 , \"x\":1"), "top_p", "top_p must be a finite number"},
    {SRV_CHAT, CHAT("\"seed\":99999999999999999999"), "seed", "seed must be an integer"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"x\":[1e999]}]}", "messages", "out of range"},

    /* messages */
    {SRV_CHAT, "{}", "messages", "messages is required"},
    {SRV_CHAT, "{\"messages\":null}", "messages", "messages is required"},
    {SRV_CHAT, "{\"messages\":{}}", "messages", "messages must be an array"},
    {SRV_CHAT, "{\"messages\":[]}", "messages", NULL},
    {SRV_CHAT, "{\"messages\":[" USER "," USER "," USER "," USER "," USER "," USER "," USER "," USER "," USER "]}",
     "messages", "at most 8"},
    {SRV_CHAT, "{\"messages\":[\"hi\"]}", "messages[0]", "messages[0] must be an object"},
    {SRV_CHAT, "{\"messages\":[{\"content\":\"hi\"}]}", "messages[0].role", NULL},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"function\",\"content\":\"hi\"}]}", "messages[0].role", NULL},
    {SRV_CHAT, "{\"messages\":[{\"role\":5,\"content\":\"hi\"}]}", "messages[0].role", NULL},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"User\",\"content\":\"hi\"}]}", "messages[0].role", NULL},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\"}]}", "messages[0].content", "is required"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":null}]}", "messages[0].content", NULL},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}", "messages[0].content",
     "messages[0].content must be a string or an array of text parts"},
    {SRV_CHAT, "{\"messages\":[" USER ",{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
               "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x/y.png\"}}]}]}",
     "messages[1].content[1].type", "image_url"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}", "messages[0].content[0].text",
     NULL},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":5}]}]}",
     "messages[0].content[0].text", NULL},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[\"a\"]}]}", "messages[0].content[0]", NULL},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"a\"}]}]}", "messages[0].content[0].type",
     NULL},
    {SRV_CHAT, "{\"messages\":[" USER ",{\"role\":\"assistant\"}]}", "messages[1].content", NULL},
    {SRV_CHAT, "{\"messages\":[" USER ",{\"role\":\"assistant\",\"tool_calls\":[]}]}", "messages[1].content", NULL},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"assistant\",\"content\":\"a\",\"tool_calls\":{}}]}",
     "messages[0].tool_calls", "must be an array"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[5]}]}", "messages[0].tool_calls[0]", NULL},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\"}]}]}",
     "messages[0].tool_calls[0].function", NULL},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"arguments\":\"{}\"}}]}]}",
     "messages[0].tool_calls[0].function.name", "is required"},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\"}}]}]}",
     "messages[0].tool_calls[0].function.arguments", NULL},
    {SRV_CHAT,
     "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":{}}}]}]}",
     "messages[0].tool_calls[0].function.arguments", "must be a string"},
    {SRV_CHAT,
     "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"{x\"}}]}]}",
     "messages[0].tool_calls[0].function.arguments", "JSON object"},
    {SRV_CHAT,
     "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"[1]\"}}]}]}",
     "messages[0].tool_calls[0].function.arguments", "JSON object"},
    {SRV_CHAT,
     "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"type\":\"x\",\"function\":{\"name\":\"f\","
     "\"arguments\":\"{}\"}}]}]}",
     "messages[0].tool_calls[0].type", NULL},
    {SRV_CHAT,
     "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":5,\"function\":{\"name\":\"f\","
     "\"arguments\":\"{}\"}}]}]}",
     "messages[0].tool_calls[0].id", NULL},
    {SRV_CHAT, "{\"messages\":[{\"role\":\"assistant\",\"content\":\"a\",\"reasoning_content\":[]}]}",
     "messages[0].reasoning_content", NULL},
    {SRV_CHAT, "{\"messages\":[" USER ",{\"role\":\"tool\",\"content\":\"r\"}]}", "messages[1].tool_call_id",
     "messages[1].tool_call_id is required"},
    {SRV_CHAT, "{\"messages\":[" USER ",{\"role\":\"tool\",\"content\":\"r\",\"tool_call_id\":\"c\",\"name\":5}]}",
     "messages[1].name", NULL},
    {SRV_CHAT, "{\"messages\":[" USER ",{\"role\":\"tool\",\"tool_call_id\":\"c\"}]}", "messages[1].content", NULL},

    /* strings and sampling */
    {SRV_CHAT, CHAT("\"model\":5"), "model", "model must be a string"},
    {SRV_CHAT, CHAT("\"user\":{}"), "user", "user must be a string"},
    {SRV_CHAT, CHAT("\"temperature\":\"1\""), "temperature", "temperature must be a number"},
    {SRV_CHAT, CHAT("\"temperature\":-0.1"), "temperature", "temperature must be a number >= 0"},
    {SRV_CHAT, CHAT("\"temperature\":1e39"), "temperature", "3.4e38"},
    {SRV_CHAT, CHAT("\"top_p\":0"), "top_p", NULL},
    {SRV_CHAT, CHAT("\"top_p\":1.01"), "top_p", NULL},
    {SRV_CHAT, CHAT("\"top_p\":true"), "top_p", "top_p must be a number"},
    {SRV_CHAT, CHAT("\"min_p\":-0.1"), "min_p", NULL},
    {SRV_CHAT, CHAT("\"min_p\":1.5"), "min_p", NULL},
    {SRV_CHAT, CHAT("\"presence_penalty\":2.5"), "presence_penalty", NULL},
    {SRV_CHAT, CHAT("\"frequency_penalty\":-3"), "frequency_penalty", NULL},
    {SRV_CHAT, CHAT("\"repetition_penalty\":0"), "repetition_penalty", NULL},
    {SRV_CHAT, CHAT("\"repetition_penalty\":-1"), "repetition_penalty", NULL},
    {SRV_CHAT, CHAT("\"top_k\":-2"), "top_k", NULL},
    {SRV_CHAT, CHAT("\"top_k\":1.5"), "top_k", "top_k must be an integer"},
    {SRV_CHAT, CHAT("\"top_k\":3000000000"), "top_k", NULL},
    {SRV_CHAT, CHAT("\"top_k\":\"5\""), "top_k", "top_k must be an integer"},
    {SRV_CHAT, CHAT("\"seed\":1.5"), "seed", "seed must be an integer"},
    {SRV_CHAT, CHAT("\"seed\":1e19"), "seed", "seed must be an integer"},
    {SRV_CHAT, CHAT("\"seed\":true"), "seed", "seed must be an integer"},
    {SRV_CHAT, CHAT("\"logit_bias\":[]"), "logit_bias", "logit_bias must be an object"},
    {SRV_CHAT, CHAT("\"logit_bias\":{\"abc\":1}"), "logit_bias", "abc"},
    {SRV_CHAT, CHAT("\"logit_bias\":{\"-1\":1}"), "logit_bias", "-1"},
    {SRV_CHAT, CHAT("\"logit_bias\":{\"99999999999\":1}"), "logit_bias", "99999999999"},
    {SRV_CHAT, CHAT("\"logit_bias\":{\"32000\":1}"), "logit_bias", "32000"},
    {SRV_CHAT, CHAT("\"logit_bias\":{\"\":1}"), "logit_bias", NULL},
    {SRV_CHAT, CHAT("\"logit_bias\":{\" 5\":1}"), "logit_bias", NULL},
    {SRV_CHAT, CHAT("\"logit_bias\":{\"1.5\":1}"), "logit_bias", NULL},
    {SRV_CHAT, CHAT("\"logit_bias\":{\"5\":100.5}"), "logit_bias", "[-100, 100]"},
    {SRV_CHAT, CHAT("\"logit_bias\":{\"5\":-101}"), "logit_bias", "[-100, 100]"},
    {SRV_CHAT, CHAT("\"logit_bias\":{\"5\":\"1\"}"), "logit_bias", "must be a number"},

    /* output controls */
    {SRV_CHAT, CHAT("\"max_tokens\":0"), "max_tokens", NULL},
    {SRV_CHAT, CHAT("\"max_tokens\":-5"), "max_tokens", NULL},
    {SRV_CHAT, CHAT("\"max_tokens\":4097"), "max_tokens", "4096"},
    {SRV_CHAT, CHAT("\"max_tokens\":2.5"), "max_tokens", "max_tokens must be an integer"},
    {SRV_CHAT, CHAT("\"max_tokens\":\"10\""), "max_tokens", "max_tokens must be an integer"},
    {SRV_CHAT, CHAT("\"max_completion_tokens\":0"), "max_completion_tokens", NULL},
    {SRV_CHAT, CHAT("\"max_tokens\":5,\"max_completion_tokens\":5000"), "max_completion_tokens", "5000"},
    {SRV_CHAT, CHAT("\"stop\":5"), "stop", NULL},
    {SRV_CHAT, CHAT("\"stop\":[\"a\",1]"), "stop[1]", "stop[1] must be a string"},
    {SRV_CHAT, CHAT("\"stop\":[[\"a\"]]"), "stop[0]", NULL},
    {SRV_CHAT, CHAT("\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]"), "stop", "at most 4"},
    {SRV_CHAT, CHAT("\"n\":2"), "n", "n: only n=1 is supported"},
    {SRV_CHAT, CHAT("\"n\":0"), "n", "n: only n=1 is supported"},
    {SRV_CHAT, CHAT("\"n\":\"1\""), "n", "n must be an integer"},
    {SRV_CHAT, CHAT("\"n\":1.5"), "n", "n must be an integer"},
    {SRV_CHAT, CHAT("\"logprobs\":1"), "logprobs", "logprobs must be a boolean"},
    {SRV_CHAT, CHAT("\"top_logprobs\":5"), "top_logprobs", "logprobs"},
    {SRV_CHAT, CHAT("\"logprobs\":false,\"top_logprobs\":0"), "top_logprobs", NULL},
    {SRV_CHAT, CHAT("\"logprobs\":true,\"top_logprobs\":21"), "top_logprobs", NULL},
    {SRV_CHAT, CHAT("\"logprobs\":true,\"top_logprobs\":-1"), "top_logprobs", NULL},
    {SRV_CHAT, CHAT("\"stream\":\"yes\""), "stream", "stream must be a boolean"},
    {SRV_CHAT, CHAT("\"stream_options\":{\"include_usage\":true}"), "stream_options", NULL},
    {SRV_CHAT, CHAT("\"stream\":false,\"stream_options\":{}"), "stream_options", NULL},
    {SRV_CHAT, CHAT("\"stream\":true,\"stream_options\":5"), "stream_options", NULL},
    {SRV_CHAT, CHAT("\"stream\":true,\"stream_options\":{\"include_usage\":\"y\"}"), "stream_options.include_usage",
     NULL},
    {SRV_CHAT, CHAT("\"ignore_eos\":1"), "ignore_eos", NULL},

    /* tools */
    {SRV_CHAT, CHAT("\"tools\":{}"), "tools", "tools must be an array"},
    {SRV_CHAT, CHAT("\"tools\":[5]"), "tools[0]", NULL},
    {SRV_CHAT, CHAT("\"tools\":[" TOOL_WEATHER ",{\"function\":{\"name\":\"f\"}}]"), "tools[1].type", "is required"},
    {SRV_CHAT, CHAT("\"tools\":[{\"type\":\"retrieval\",\"function\":{\"name\":\"f\"}}]"), "tools[0].type", NULL},
    {SRV_CHAT, CHAT("\"tools\":[{\"type\":\"function\"}]"), "tools[0].function", NULL},
    {SRV_CHAT, CHAT("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"bad name\"}}]"),
     "tools[0].function.name", NULL},
    {SRV_CHAT, CHAT("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"\"}}]"), "tools[0].function.name",
     NULL},
    {SRV_CHAT, CHAT("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
                    "\"a123456789b123456789c123456789d123456789e123456789f123456789g1234\"}}]"),
     "tools[0].function.name", NULL},
    {SRV_CHAT, CHAT("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":5}}]"), "tools[0].function.name", NULL},
    {SRV_CHAT, CHAT("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"description\":5}}]"),
     "tools[0].function.description", NULL},
    {SRV_CHAT, CHAT("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":\"x\"}}]"),
     "tools[0].function.parameters", NULL},
    {SRV_CHAT, CHAT("\"tools\":[" TOOL_WEATHER "],\"tool_choice\":\"any\""), "tool_choice", NULL},
    {SRV_CHAT, CHAT("\"tools\":[" TOOL_WEATHER "],\"tool_choice\":5"), "tool_choice", NULL},
    {SRV_CHAT, CHAT("\"tool_choice\":\"required\""), "tool_choice", "needs tools"},
    {SRV_CHAT, CHAT("\"tools\":[],\"tool_choice\":\"required\""), "tool_choice", "needs tools"},
    {SRV_CHAT, CHAT("\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}}"), "tool_choice",
     "needs tools"},
    {SRV_CHAT,
     CHAT("\"tools\":[" TOOL_WEATHER "],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}"),
     "tool_choice", "get_time"},
    {SRV_CHAT, CHAT("\"tools\":[" TOOL_WEATHER "],\"tool_choice\":{\"type\":\"function\"}"), "tool_choice.function",
     NULL},
    {SRV_CHAT, CHAT("\"tools\":[" TOOL_WEATHER "],\"tool_choice\":{\"type\":\"x\",\"function\":{\"name\":\"f\"}}"),
     "tool_choice.type", NULL},
    {SRV_CHAT, CHAT("\"tools\":[" TOOL_WEATHER "],\"tool_choice\":{\"type\":\"function\",\"function\":{}}"),
     "tool_choice.function.name", NULL},
    {SRV_CHAT, CHAT("\"chat_template_kwargs\":5"), "chat_template_kwargs", NULL},
    {SRV_CHAT, CHAT("\"continue_final_message\":true"), "continue_final_message", "assistant message"},
    {SRV_CHAT, CHAT("\"continue_final_message\":1"), "continue_final_message", "boolean"},
    {SRV_CHAT,
     "{\"messages\":[" USER ",{\"role\":\"assistant\",\"content\":\"x\"}],\"continue_final_message\":true,"
     "\"tools\":[" TOOL_WEATHER "],\"tool_choice\":\"required\"}",
     "continue_final_message", "tool_choice"},
    {SRV_CHAT, "{\"messages\":[" USER ",{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\","
               "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}],"
               "\"continue_final_message\":true}",
     "continue_final_message", "no tool calls"},
    {SRV_CHAT, CHAT("\"repeat_last_n\":-2"), "repeat_last_n", NULL},
    {SRV_CHAT, CHAT("\"repeat_last_n\":\"all\""), "repeat_last_n", NULL},
    {SRV_CHAT, CHAT("\"chat_template_kwargs\":{\"enable_thinking\":\"no\"}"), "chat_template_kwargs.enable_thinking",
     NULL},

    /* completions */
    {SRV_COMPLETION, "{}", "prompt", "prompt is required"},
    {SRV_COMPLETION, "{\"messages\":[" USER "]}", "prompt", "prompt is required"},
    {SRV_COMPLETION, "{\"prompt\":5}", "prompt", NULL},
    {SRV_COMPLETION, "{\"prompt\":true}", "prompt", NULL},
    {SRV_COMPLETION, "{\"prompt\":[]}", "prompt", "only one prompt per request is supported"},
    {SRV_COMPLETION, "{\"prompt\":[\"a\",\"b\"]}", "prompt", "only one prompt per request is supported"},
    {SRV_COMPLETION, "{\"prompt\":[[1],[2]]}", "prompt", "only one prompt per request is supported"},
    {SRV_COMPLETION, "{\"prompt\":[1,\"a\"]}", "prompt[1]", "prompt[1] must be an integer"},
    {SRV_COMPLETION, "{\"prompt\":[-1]}", "prompt[0]", NULL},
    {SRV_COMPLETION, "{\"prompt\":[1,32000]}", "prompt[1]", "32000"},
    {SRV_COMPLETION, "{\"prompt\":[1.5]}", "prompt[0]", NULL},
    {SRV_COMPLETION, "{\"prompt\":[[]]}", "prompt[0]", NULL},
    {SRV_COMPLETION, "{\"prompt\":[[\"a\"]]}", "prompt[0][0]", NULL},
    {SRV_COMPLETION, "{\"prompt\":[{}]}", "prompt[0]", NULL},
    {SRV_COMPLETION, "{\"prompt\":\"p\",\"logprobs\":true}", "logprobs", "logprobs must be an integer"},
    {SRV_COMPLETION, "{\"prompt\":\"p\",\"logprobs\":21}", "logprobs", NULL},
    {SRV_COMPLETION, "{\"prompt\":\"p\",\"logprobs\":-1}", "logprobs", NULL},
    {SRV_COMPLETION, "{\"prompt\":\"p\",\"max_tokens\":0}", "max_tokens", NULL},
    {SRV_COMPLETION, "{\"prompt\":\"p\",\"n\":3}", "n", NULL},
};

static bool is_zero(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return false;
    return true;
}

/* The error's param is `param`; the message names it first (or, with no one
 * field at fault, says what is wrong) and contains needle; *out is empty. */
static void check_error(flint_status st, const char *what, const char *param, const char *needle) {
    CHECK_MSG(st == FLINT_E_INVALID_ARG, "%s: status %d", what, st);
    CHECK_MSG(strcmp(err.param, param) == 0, "%s: param \"%s\", wanted \"%s\" (%s)", what, err.param, param,
              err.message);
    CHECK_MSG(err.message[0] && strncmp(err.message, param, strlen(param)) == 0, "%s: message \"%s\"", what,
              err.message);
    if (needle) CHECK_MSG(strstr(err.message, needle) != NULL, "%s: \"%s\" lacks \"%s\"", what, err.message, needle);
    CHECK_MSG(is_zero(&req, sizeof req), "%s: the request is not left empty", what);
}

static void test_invalid(void) {
    TEST_GROUP("invalid");
    for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
        const struct invalid_case *c = &invalid[i];
        check_error(parse(c->ep, c->body), c->body, c->param, c->needle);
    }
}

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Bodies built to break a naive parser. */
static void test_hostile(void) {
    TEST_GROUP("hostile");
    enum { DEEP = 100000 };
    char *b = malloc(2 * DEEP + 64);
    /* 100,000 nested arrays: refused by the scan before jansson recurses */
    memset(b, '[', DEEP);
    memset(b + DEEP, ']', DEEP);
    double t0 = seconds();
    check_error(parse_n(SRV_CHAT, b, 2 * DEEP, &limits), "deep arrays", "", "deep");
    CHECK_MSG(seconds() - t0 < 1.0, "%.3f s", seconds() - t0);
    /* the same inside a field, unclosed, and with brackets inside strings that do not count */
    int n = sprintf(b, "{\"messages\":[" USER "],\"x\":");
    memset(b + n, '{', DEEP);
    check_error(parse_n(SRV_CHAT, b, (size_t)n + DEEP, &limits), "deep objects", "", "deep");
    n = sprintf(b, "{\"messages\":[" USER "],\"x\":\"");
    memset(b + n, '[', DEEP);
    strcpy(b + n + DEEP, "\"}");
    CHECK_MSG(parse(SRV_CHAT, b) == FLINT_OK, "brackets in a string: %s", err.message);
    /* 64 levels pass, 65 do not */
    n = sprintf(b, "{\"messages\":[" USER "],\"x\":");
    memset(b + n, '[', 63);
    memset(b + n + 63, ']', 63);
    strcpy(b + n + 126, "}");
    CHECK_MSG(parse(SRV_CHAT, b) == FLINT_OK, "64 deep: %s", err.message);
    memset(b + n, '[', 64);
    memset(b + n + 64, ']', 64);
    strcpy(b + n + 128, "}");
    check_error(parse(SRV_CHAT, b), "65 deep", "", "deep");
    free(b);

    /* 50,000 messages against a limit of 8 */
    enum { MANY = 50000 };
    b = malloc(MANY * sizeof USER + 64);
    char *e = b + sprintf(b, "{\"messages\":[");
    for (int i = 0; i < MANY; i++) e += sprintf(e, "%s" USER, i ? "," : "");
    strcpy(e, "]}");
    t0 = seconds();
    check_error(parse(SRV_CHAT, b), "50000 messages", "messages", "50000");
    CHECK_MSG(seconds() - t0 < 2.0, "%.3f s", seconds() - t0);
    free(b);

    /* invalid UTF-8 in strings: a stray continuation byte, a truncated sequence, an overlong '/', a surrogate */
    static const char *const bad_utf8[] = {
        "{\"messages\":[{\"role\":\"user\",\"content\":\"a\x80z\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"\xe2\x82\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"\xc0\xaf\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}",
        "{\"model\":\"\xff\",\"messages\":[" USER "]}",
        "{\"\xfe\":1,\"messages\":[" USER "]}",
    };
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof *bad_utf8; i++) {
        check_error(parse(SRV_CHAT, bad_utf8[i]), "invalid UTF-8", "", "invalid UTF-8");
        for (const char *c = err.message; *c; c++) CHECK_MSG((unsigned char)*c < 0x80, "%s", err.message);
    }
    /* the user's bytes quoted in a message stay valid UTF-8 when they are cut */
    check_error(parse(SRV_CHAT, CHAT("\"logit_bias\":{\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\":1}")),
                "cut key", "logit_bias", NULL);
    for (const unsigned char *c = (const unsigned char *)err.message; *c; c++)
        if (*c >= 0x80) {
            int len = *c >= 0xf0 ? 4 : *c >= 0xe0 ? 3 : 2, ok = *c >= 0xc2 && *c < 0xf5;
            for (int k = 1; k < len && ok; k++) ok = (c[k] & 0xc0) == 0x80;
            CHECK_MSG(ok, "invalid UTF-8 at %td of \"%s\"", (const char *)c - err.message, err.message);
            c += len - 1;
        }
}

/* The body ends at the last byte of a page whose next page is unmapped: a
 * read past len faults, with or without a sanitizer. */
static void test_unterminated(void) {
    TEST_GROUP("unterminated");
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(map != MAP_FAILED);
    if (map == MAP_FAILED) return;
    CHECK(mprotect(map + page, (size_t)page, PROT_NONE) == 0);
    static const struct {
        srv_endpoint ep;
        const char *body, *param; /* param NULL: valid */
    } cases[] = {
        {SRV_CHAT, "{\"messages\":[" USER "],\"stop\":[\"a\",\"b\"],\"temperature\":0.5}", NULL},
        {SRV_COMPLETION, "{\"prompt\":[1,2,3],\"max_tokens\":12}", NULL},
        {SRV_CHAT, "{\"messages\":[" USER "],\"temperature\":1", ""},
        {SRV_CHAT, "{\"messages\":[" USER "],\"temperature\":1e309", "temperature"},
        {SRV_CHAT, "{\"messages\":[" USER "],\"temperature\":1e309}", "temperature"},
        {SRV_CHAT, "{\"messages\":[" USER "],\"model\":\"abc", ""},
        {SRV_CHAT, "{\"messages\":[" USER "],\"model\":\"abc\\", ""},
        {SRV_CHAT, "{\"messages\":[[[[[", ""},
        {SRV_CHAT, "{\"messages\":[" USER "],\"x\":tru", ""},
        {SRV_CHAT, "{\"messages\":[" USER "],\"n\":12", ""},
        {SRV_CHAT, "{", ""},
        {SRV_CHAT, "", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t len = strlen(cases[i].body);
        char *at = map + page - len;
        memcpy(at, cases[i].body, len);
        flint_status st = parse_n(cases[i].ep, at, len, &limits);
        if (cases[i].param) {
            check_error(st, cases[i].body, cases[i].param, NULL);
        } else {
            CHECK_MSG(st == FLINT_OK, "%s: %s", cases[i].body, err.message);
        }
    }
    munmap(map, (size_t)page * 2);
}

/* Odd limits: no stop strings, a cap of none, a vocabulary of one token. */
static void test_limits(void) {
    TEST_GROUP("limits");
    const srv_limits tight = {.max_messages = 1, .max_stop = 0, .max_tokens = 0, .n_vocab = 1};
    const char *body = "{\"prompt\":[0],\"max_tokens\":2147483647,\"logit_bias\":{\"0\":-100},\"stop\":[]}";
    CHECK_MSG(parse_n(SRV_COMPLETION, body, strlen(body), &tight) == FLINT_OK, "%s", err.message);
    CHECK_INT_EQ(req.max_tokens, 2147483647);
    CHECK_INT_EQ(req.sampling.n_logit_bias, 1);
    body = "{\"prompt\":[0],\"max_tokens\":2147483648}";
    check_error(parse_n(SRV_COMPLETION, body, strlen(body), &tight), body, "max_tokens", "2147483648");
    body = "{\"prompt\":[1]}";
    check_error(parse_n(SRV_COMPLETION, body, strlen(body), &tight), body, "prompt[0]", NULL);
    body = "{\"prompt\":\"p\",\"stop\":\"x\"}";
    check_error(parse_n(SRV_COMPLETION, body, strlen(body), &tight), body, "stop", NULL);
    body = "{\"messages\":[" USER "," USER "]}";
    check_error(parse_n(SRV_CHAT, body, strlen(body), &tight), body, "messages", NULL);
}

/* srv_request_free on a zeroed request, twice on a full one. */
static void test_free(void) {
    TEST_GROUP("free");
    srv_request r;
    memset(&r, 0, sizeof r);
    srv_request_free(&r);
    srv_request_free(NULL);
    const char *body = valid[6].body;
    CHECK(srv_request_parse(body, strlen(body), SRV_CHAT, &limits, &r, &err) == FLINT_OK);
    srv_request_free(&r);
    CHECK(is_zero(&r, sizeof r));
    srv_request_free(&r);
}

int main(void) {
    test_valid();
    test_invalid();
    test_hostile();
    test_unterminated();
    test_limits();
    test_free();
    srv_request_free(&req);
    return test_finish("server_request");
}
