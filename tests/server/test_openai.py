"""test_openai.py — `flint serve` through the official `openai` Python
client, on the real Gemma 3 270M (a trained tokenizer and chat template):
chat and completions, streamed and not, stop strings, max_tokens, logprobs,
usage, errors as the client raises them, the API key, a full queue, a
stream closed early, deterministic batching, and SIGTERM mid-stream."""
import concurrent.futures
import http.client
import json
import signal
import time

import openai

from harness import Checks, Server, model_path

PROMPT = [{"role": "user", "content": "Write one sentence about the sea."}]


def client(server, key="none", **kw):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=120, **kw)


def stream_chat(c, **kw):
    chunks = list(c.chat.completions.create(stream=True, **kw))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    return chunks, text


def test_basics(t, s):
    c = client(s)
    models = c.models.list().data
    t.check(len(models) == 1 and models[0].id == "gemma-test", f"models: {models}")
    # the prompt cached first: the whole and the streamed request below then
    # reuse the same prefix, so their steps have the same shapes (without
    # --deterministic, a cold prompt may round differently and flip a near tie)
    c.chat.completions.create(model="gemma-test", messages=PROMPT, temperature=0, max_tokens=1)
    r = c.chat.completions.create(model="gemma-test", messages=PROMPT, temperature=0, max_tokens=24)
    msg = r.choices[0].message
    t.check(r.object == "chat.completion" and r.id.startswith("chatcmpl-"), f"object/id: {r.object} {r.id}")
    t.check(msg.role == "assistant" and len(msg.content) > 10, f"content: {msg.content!r}")
    t.check(r.choices[0].finish_reason in ("stop", "length"), f"finish: {r.choices[0].finish_reason}")
    u = r.usage
    t.check(u.completion_tokens <= 24 and u.total_tokens == u.prompt_tokens + u.completion_tokens, f"usage {u}")
    # the same request streamed: the same text, one id, the finish on the last content chunk, then usage
    chunks, text = stream_chat(c, model="gemma-test", messages=PROMPT, temperature=0, max_tokens=24,
                               stream_options={"include_usage": True})
    t.check(text == msg.content, f"stream {text!r} != whole {msg.content!r}")
    t.check(len({ch.id for ch in chunks}) == 1, "chunks share one id")
    t.check(all(ch.object == "chat.completion.chunk" for ch in chunks), "chunk objects")
    t.check(chunks[0].choices[0].delta.role == "assistant", "first chunk names the role")
    with_choices = [ch for ch in chunks if ch.choices]
    t.check(with_choices[-1].choices[0].finish_reason == r.choices[0].finish_reason, "finish_reason on the last chunk")
    t.check(all(ch.choices[0].finish_reason is None for ch in with_choices[:-1]), "no early finish_reason")
    t.check(not chunks[-1].choices and chunks[-1].usage is not None, "a usage chunk with empty choices ends it")
    t.check(chunks[-1].usage.completion_tokens == u.completion_tokens and
            chunks[-1].usage.prompt_tokens == u.prompt_tokens, f"stream usage {chunks[-1].usage} vs {u}")
    t.check(chunks[-1].usage.prompt_tokens_details.cached_tokens > 0, "the repeated prompt came from the cache")


def test_completions(t, s):
    c = client(s)
    r = c.completions.create(model="x", prompt="The capital of France is", temperature=0, max_tokens=12)
    t.check(r.object == "text_completion" and len(r.choices[0].text) > 0, f"completion: {r}")
    parts = list(c.completions.create(model="x", prompt="The capital of France is", temperature=0, max_tokens=12,
                                      stream=True))
    t.check("".join(p.choices[0].text for p in parts) == r.choices[0].text, "streamed completion equals whole")
    t.check(parts[-1].choices[0].finish_reason == r.choices[0].finish_reason, "completion finish_reason")
    # token ids as the prompt
    status, body, _ = s.post("/tokenize", {"content": "The capital of France is", "add_special": True})
    ids = json.loads(body)["tokens"]
    r2 = c.completions.create(model="x", prompt=ids, temperature=0, max_tokens=12)
    t.check(r2.choices[0].text == r.choices[0].text, "a prompt of token ids = the same text")
    status, body, _ = s.post("/detokenize", {"tokens": ids})
    t.check(json.loads(body)["content"].endswith("The capital of France is"), f"detokenize: {body}")


def test_stop_and_length(t, s):
    c = client(s)
    base = c.chat.completions.create(model="x", messages=PROMPT, temperature=0, max_tokens=32).choices[0].message.content
    words = base.split(" ")
    if t.check(len(words) > 4, f"a reply long enough to cut: {base!r}"):
        stop = " " + words[3]
        r = c.chat.completions.create(model="x", messages=PROMPT, temperature=0, max_tokens=32, stop=[stop, "zzzz"])
        t.check(r.choices[0].message.content == base[:base.index(stop)], f"stop: {r.choices[0].message.content!r}")
        t.check(r.choices[0].finish_reason == "stop", "stop string -> finish_reason stop")
        _, text = stream_chat(c, model="x", messages=PROMPT, temperature=0, max_tokens=32, stop=stop)
        t.check(text == base[:base.index(stop)], f"streamed stop: {text!r}")
    r = c.chat.completions.create(model="x", messages=PROMPT, temperature=0, max_tokens=3)
    t.check(r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 3, "max_tokens -> length")
    r = c.chat.completions.create(model="x", messages=PROMPT, temperature=0, max_completion_tokens=2)
    t.check(r.usage.completion_tokens == 2, "max_completion_tokens")


def test_logprobs(t, s):
    c = client(s)
    r = c.chat.completions.create(model="x", messages=PROMPT, temperature=0, max_tokens=8, logprobs=True,
                                  top_logprobs=3)
    lp = r.choices[0].logprobs.content
    t.check(len(lp) == r.usage.completion_tokens, f"{len(lp)} logprobs for {r.usage.completion_tokens} tokens")
    for e in lp:
        tops = [a.logprob for a in e.top_logprobs]
        t.check(len(tops) == 3 and tops == sorted(tops, reverse=True), f"top_logprobs sorted: {tops}")
        # greedy: the chosen token is the most likely one
        t.check(abs(e.logprob - tops[0]) < 1e-5 and e.logprob <= 0, f"greedy token is the top: {e.logprob} {tops}")
        t.check(bytes(e.bytes).decode("utf-8", "replace") == e.token or "\ufffd" in e.token, "bytes match the token")
    chunks = list(c.chat.completions.create(model="x", messages=PROMPT, temperature=0, max_tokens=8, logprobs=True,
                                            top_logprobs=3, stream=True))
    streamed = [e.logprob for ch in chunks if ch.choices and ch.choices[0].logprobs
                for e in ch.choices[0].logprobs.content]
    t.check(len(streamed) == len(lp) and all(abs(a - b.logprob) < 1e-6 for a, b in zip(streamed, lp)),
            "streamed logprobs equal the whole reply's")
    r = c.completions.create(model="x", prompt="Once upon a time", temperature=0, max_tokens=5, logprobs=2)
    lpc = r.choices[0].logprobs
    t.check(len(lpc.tokens) == 5 and len(lpc.top_logprobs) == 5 and lpc.text_offset[0] == 0, f"completion lp {lpc}")
    t.check("".join(lpc.tokens) == r.choices[0].text, "completion logprob tokens spell the text")


def test_client_errors(t, s):
    c = client(s)
    cases = [
        (dict(n=2), "n"),
        (dict(temperature=-1), "temperature"),
        (dict(top_p=7), "top_p"),
        (dict(max_tokens=-5), "max_tokens"),
        (dict(top_logprobs=3), "top_logprobs"),
        (dict(stream_options={"include_usage": True}), "stream_options"),
        (dict(max_tokens=10 ** 7), "max_tokens"),
    ]
    for kw, param in cases:
        try:
            c.chat.completions.create(model="x", messages=PROMPT, **kw)
            t.check(False, f"{kw} was accepted")
        except openai.BadRequestError as e:
            t.check(e.status_code == 400 and param in str(e.body), f"{kw}: {e.body}")
    try:
        c.chat.completions.create(model="x", messages=[{"role": "user", "content": "word " * 40000}], max_tokens=4)
        t.check(False, "a prompt over the context was accepted")
    except openai.BadRequestError as e:
        t.check("maximum context length" in str(e.body), f"over the context: {e.body}")
    try:
        c.chat.completions.create(model="x", messages=PROMPT, tools=[{"type": "function", "function": {"name": "f"}}])
        t.check(False, "tools on a template without tool syntax were accepted")
    except openai.BadRequestError as e:
        t.check("tool" in str(e.body), f"tools: {e.body}")


def test_stream_closed_early(t, s):
    c = client(s)
    before = s.metric('flint_requests_total{finish="cancelled"}') or 0
    stream = c.chat.completions.create(model="x", messages=PROMPT, max_tokens=2000, stream=True, temperature=1.0,
                                       extra_body={"ignore_eos": True})
    for i, _ in enumerate(stream):
        if i == 3:
            break
    stream.close()
    deadline, busy = time.time() + 10, None
    while time.time() < deadline:
        busy = s.metric("flint_slots_busy")
        if busy == 0:
            break
        time.sleep(0.1)
    t.check(busy == 0, f"the slot is free after the client left (busy {busy})")
    t.check((s.metric('flint_requests_total{finish="cancelled"}') or 0) == before + 1, "counted as cancelled")


def test_api_key(t, model):
    s = Server(model, "--api-key", "sekrit", "--alias", "k")
    try:
        try:
            client(s, key="wrong").models.list()
            t.check(False, "a wrong key was accepted")
        except openai.AuthenticationError as e:
            t.check(e.status_code == 401, "401 for a wrong key")
        t.check(s.get("/v1/models")[0] == 401, "401 without a key")
        t.check(s.get("/health")[0] == 200, "/health needs no key")
        t.check(client(s, key="sekrit").models.list().data[0].id == "k", "the right key works")
    finally:
        s.stop()


def test_queue_full(t, model):
    s = Server(model, "--parallel", "1", "--max-queue", "1")
    try:
        def one(_):
            conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
            conn.request("POST", "/v1/completions", json.dumps({"prompt": "Hello", "max_tokens": 64,
                                                                 "ignore_eos": True}),
                         {"Content-Type": "application/json"})
            r = conn.getresponse()
            return r.status, r.getheader("Retry-After"), r.read()
        with concurrent.futures.ThreadPoolExecutor(6) as ex:
            res = list(ex.map(one, range(6)))
        statuses = sorted(r[0] for r in res)
        t.check(statuses.count(200) >= 2 and 429 in statuses, f"statuses with a queue of 1: {statuses}")
        t.check(all(r[1] == "1" for r in res if r[0] == 429), "429 carries Retry-After")
        try:
            # the official client raises RateLimitError on 429
            client(s).completions.create(model="x", prompt="Hi", max_tokens=1)
        except openai.RateLimitError:
            pass
    finally:
        s.stop()


def test_deterministic(t, model):
    s = Server(model, "--deterministic", "--parallel", "16")
    try:
        c = client(s)
        prompts = [f"Tell me a fact about the number {i}." for i in range(16)]

        def ask(p):
            return c.chat.completions.create(model="x", messages=[{"role": "user", "content": p}], temperature=0,
                                             max_tokens=20).choices[0].message.content
        alone = [ask(p) for p in prompts]
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            together = list(ex.map(ask, prompts))
        t.check(alone == together, "16 concurrent greedy requests equal each alone")
        again = ask(prompts[0])  # its prompt is cached now
        t.check(again == alone[0], "a repeated request equals the first, cached or not")
    finally:
        s.stop()


def test_sigterm_mid_stream(t, model):
    s = Server(model)
    stream = client(s).chat.completions.create(model="x", messages=PROMPT, max_tokens=4000, stream=True,
                                               extra_body={"ignore_eos": True})
    ended = "no"
    t0 = time.time()
    try:
        for i, _ in enumerate(stream):
            if i == 2:
                s.proc.send_signal(signal.SIGTERM)
        ended = "end of stream"
    except openai.APIError as e:  # the error event the server sends as it cancels
        ended = f"error event: {e}"
    except Exception as e:  # or the connection closing under the client
        ended = f"closed: {type(e).__name__}"
    t.check(ended != "no" and time.time() - t0 < 30, f"the stream ended ({ended})")
    rc = s.stop(timeout=30)
    t.check(rc == 0, f"SIGTERM while streaming: exit status {rc}; log: {s.log_text()[-400:]}")


def test_timeout(t, model):
    s = Server(model, "--timeout", "1", "--parallel", "1")
    try:
        status, body, _ = s.post("/v1/completions", {"prompt": "Hello", "max_tokens": 100000 // 100,
                                                      "ignore_eos": True})
        t.check(status == 504 and b"timeout" in body, f"--timeout: {status} {body[:200]}")
        t.check(s.healthy(), "healthy after a timeout")
    finally:
        s.stop()


def main():
    t = Checks("test_server_openai")
    model = model_path()
    if model:
        s = Server(model, "--alias", "gemma-test", "--parallel", "4")
        try:
            for fn in (test_basics, test_completions, test_stop_and_length, test_logprobs, test_client_errors,
                       test_stream_closed_early):
                t.run(fn, s)
        finally:
            t.check(s.stop() == 0, "SIGTERM when idle exits 0")
        for fn in (test_api_key, test_queue_full, test_deterministic, test_sigterm_mid_stream, test_timeout):
            t.run(fn, model)
    t.finish()


if __name__ == "__main__":
    main()
