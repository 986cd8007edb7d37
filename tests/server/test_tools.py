"""test_tools.py — tool calls end to end: the real Gemma 3 270M served with
the Qwen3.5 (chatml) and Gemma 4 templates (--chat-template), its output
steered token by token with logit_bias into a call written in the family's
syntax, and the reply read back with the official openai client: the call
in `tool_calls` (whole and as stream deltas with one index and id),
finish_reason "tool_calls", a forced (named) tool choice, and the call's
result fed back through the template.

Steering: a piece of the target text is cut into tokens that are all
different; the first gets bias 100, the next a little less, and so on; a
huge repetition_penalty over a window as long as the piece (repeat_last_n)
takes each token out once it is written, so greedy decoding writes them in
order. A call repeats tokens ("\n", "<", "parameter"), so it is written
piece by piece: each request continues the text so far, given as the final
assistant message (continue_final_message), and the last one writes the
rest and the end of the turn. The parser sees the whole call, as if one
reply had written it. What the model wrote is read from the logprobs'
tokens, so the test knows the raw text."""
import json

import openai

from harness import Checks, Server, model_path

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}]
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]
ARGS = {"city": "Paris", "days": 3}
CALLS = {
    "chatml": "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
              "<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>",
    "gemma4": '<|tool_call>call:get_weather{city:<|"|>Paris<|"|>,days:3}<tool_call|>',
}


class Steering:
    """Writes a text through the model, piece by piece."""

    def __init__(self, server, client):
        self.s, self.c = server, client
        self.single = {}  # substring -> token id when it is one token
        _, body, _ = server.post("/tokenize", {"content": "<end_of_turn>", "parse_special": True})
        self.end = json.loads(body)["tokens"][0]

    def token_of(self, piece):
        if piece not in self.single:
            _, body, _ = self.s.post("/tokenize", {"content": piece, "parse_special": False})
            ids = json.loads(body)["tokens"]
            self.single[piece] = ids[0] if len(ids) == 1 else None
        return self.single[piece]

    def plan(self, text, at, most, banned):
        """Up to `most` different tokens spelling text from `at` on, longest
        pieces first: [(end of the piece, token id)]."""
        out, used = [], set()
        while at < len(text) and len(out) < most:
            for j in range(min(len(text), at + 16), at, -1):
                tid = self.token_of(text[at:j])
                if tid is not None and tid not in used and (at, tid) not in banned:
                    break
            else:
                break
            out.append((j, tid))
            used.add(tid)
            at = j
        return out

    def write(self, t, text, messages, **kw):
        """The reply whose raw text ends the assistant turn with `text`, and
        the arguments of its request (to ask again, streaming)."""
        done, most, banned = 0, 12, set()
        for _ in range(300):
            plan = self.plan(text, done, most, banned)
            if not plan:
                break
            last = plan[-1][0] == len(text)
            chain = [tid for _, tid in plan] + ([self.end] if last else [])
            step = min(4.0, 60.0 / len(chain))
            args = dict(kw, model="x", temperature=0, logprobs=True, max_tokens=len(chain) + (4 if last else 0),
                        logit_bias={str(tid): 100 - step * k for k, tid in enumerate(chain)},
                        messages=messages + ([{"role": "assistant", "content": text[:done]}] if done else []),
                        extra_body={"repetition_penalty": 1e6, "repeat_last_n": len(chain),
                                    **({"continue_final_message": True} if done else {})})
            r = self.c.chat.completions.create(**args)
            raw = "".join(e.token for e in r.choices[0].logprobs.content)
            if last and raw.startswith(text[done:]):
                return r, args
            k = 0
            while k < len(plan) and raw.startswith(text[done:plan[k][0]]):
                k += 1
            if k:
                done, most = plan[k - 1][0], 12
            elif most > 1:
                most = max(1, most // 2)  # a shorter window sees less of the prompt's own tokens
            else:
                banned.add((done, plan[0][1]))
        t.check(False, f"could not steer the model into {text!r} (stuck after {text[:done]!r})")
        return None, None


def stream_calls(c, **kw):
    """Content, the calls (index -> {id, name, arguments}) and the finish of a stream."""
    content, calls, finish, ids_seen = "", {}, None, {}
    for ch in c.chat.completions.create(**dict(kw, stream=True)):
        if not ch.choices:
            continue
        ch0 = ch.choices[0]
        content += ch0.delta.content or ""
        for tc in ch0.delta.tool_calls or []:
            call = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
            if tc.id:
                ids_seen.setdefault(tc.index, set()).add(tc.id)
                call["id"] = tc.id
            if tc.function and tc.function.name:
                call["name"] += tc.function.name
            if tc.function and tc.function.arguments:
                call["arguments"] += tc.function.arguments
        if ch0.finish_reason:
            finish = ch0.finish_reason
    return content, calls, finish, ids_seen


def check_call(t, fam, what, r, content_expected):
    msg = r.choices[0].message
    t.check(r.choices[0].finish_reason == "tool_calls", f"{fam} {what}: finish {r.choices[0].finish_reason}")
    calls = msg.tool_calls or []
    if not t.check(len(calls) == 1, f"{fam} {what}: {len(calls)} calls, message {msg}"):
        return
    call = calls[0]
    t.check(call.type == "function" and call.function.name == "get_weather", f"{fam} {what}: {call}")
    t.check(call.id.startswith("call_") and len(call.id) > 8, f"{fam} {what}: id {call.id}")
    t.check(json.loads(call.function.arguments) == ARGS, f"{fam} {what}: arguments {call.function.arguments}")
    t.check((msg.content or "") == content_expected, f"{fam} {what}: content {msg.content!r}")


def test_family(t, model, fam):
    s = Server(model, "--chat-template", fam)
    try:
        c = openai.OpenAI(base_url=s.url + "/v1", api_key="none", max_retries=0, timeout=120)
        st = Steering(s, c)
        call = CALLS[fam]
        # auto: the model chooses to call
        r, args = st.write(t, call, ASK, tools=TOOLS)
        if r:
            check_call(t, fam, "auto", r, "")
            content, calls, finish, ids_seen = stream_calls(c, **args)
            t.check(finish == "tool_calls" and content == "", f"{fam} stream: finish {finish}, content {content!r}")
            t.check(list(calls) == [0] and calls[0]["name"] == "get_weather", f"{fam} stream calls: {calls}")
            t.check(len(ids_seen.get(0, ())) == 1, f"{fam} stream: one id per call: {ids_seen}")
            t.check(calls and json.loads(calls[0]["arguments"]) == ARGS, f"{fam} stream arguments: {calls}")
            # the same tokens with tool_choice none: not parsed, what the model wrote stays text
            r_none = c.chat.completions.create(**dict(args, tool_choice="none"))
            m = r_none.choices[0].message
            raw = "".join(e.token for e in r_none.choices[0].logprobs.content).replace("<end_of_turn>", "")
            text = (m.content or "") + (getattr(m, "reasoning_content", None) or "")
            t.check(not m.tool_calls and raw.strip() and raw.strip() in text, f"{fam} tool_choice none: raw {raw!r}, {m}")
            # the result fed back: the template renders the call and the tool's answer
            follow = ASK + [
                {"role": "assistant", "content": None, "tool_calls": [r.choices[0].message.tool_calls[0].model_dump()]},
                {"role": "tool", "tool_call_id": r.choices[0].message.tool_calls[0].id, "content": "18 C, sunny"},
            ]
            r2 = c.chat.completions.create(model="x", messages=follow, tools=TOOLS, temperature=0, max_tokens=8)
            t.check(r2.usage.prompt_tokens > r.usage.prompt_tokens + 8, f"{fam}: the tool result is in the prompt")
        # a named choice: the prompt already holds the call's start, so whatever
        # the model writes next is get_weather's arguments
        named = {"type": "function", "function": {"name": "get_weather"}}
        r = c.chat.completions.create(model="x", messages=ASK, tools=TOOLS, tool_choice=named, temperature=0,
                                      max_tokens=24)
        calls = r.choices[0].message.tool_calls or []
        t.check(len(calls) == 1 and calls[0].function.name == "get_weather" and calls[0].id.startswith("call_"),
                f"{fam} named: {r.choices[0].message}")
        if calls:
            t.check(isinstance(json.loads(calls[0].function.arguments), dict), f"{fam} named: {calls[0].function}")
        for choice, word in ((named, "tool_choice"), ("auto", None)):
            try:
                c.chat.completions.create(model="x", messages=ASK + [{"role": "user", "content": "x"}], tools=TOOLS,
                                          tool_choice=choice, max_tokens=1,
                                          extra_body={"continue_final_message": True})
                t.check(False, f"continue_final_message after a user message with {choice} was accepted")
            except openai.BadRequestError as e:
                t.check("continue_final_message" in str(e.body), f"continue_final_message refused: {e.body}")
        try:
            c.chat.completions.create(model="x", messages=ASK, tools=TOOLS,
                                      tool_choice={"type": "function", "function": {"name": "nope"}})
            t.check(False, "a tool_choice naming no given tool was accepted")
        except openai.BadRequestError as e:
            t.check("tool_choice" in str(e.body), f"tool_choice naming no tool: {e.body}")
    finally:
        t.check(s.stop() == 0, f"{fam}: exits 0")


def main():
    t = Checks("test_server_tools")
    model = model_path()
    if model:
        for fam in ("chatml", "gemma4"):
            t.run(test_family, model, fam)
    t.finish()


if __name__ == "__main__":
    main()
