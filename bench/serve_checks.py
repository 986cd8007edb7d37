#!/usr/bin/env python3
"""serve_checks.py — 50 numbered correctness and robustness checks of an
OpenAI-compatible HTTP server (flint serve, llama-server, vLLM, ...).

    bench/serve_checks.py --model M -- build/flint serve -m M --port {port} --parallel 4
    bench/serve_checks.py --model M -- llama-server -m M --port {port} -np 4 -c 4096 -t 2

Everything after `--` is the server's command line (run directly, no
shell).  `{port}` is replaced by a free port at each launch, `{key}` by the
API key.  The script starts the server itself, waits for GET /health to
answer 200 (up to --start-timeout, 120 s), runs the checks in order and
prints one line per check:

    PASS  4  chat completion, non-stream (0.3 s)
    FAIL 22  temperature -1 -> 400 (0.1 s): HTTP 200 b'{"choices":...'
             request: POST /v1/chat/completions {"model": ...}

then `N of 50 passed`.

Launches.  Each check names the launch it needs:
  plain  the command as given;
  det    the command plus --det-args (default: none, so det == plain).
         Checks 44-45 (greedy output independent of caching and of
         concurrent requests) run here, so a server with a
         batch-invariance switch can be given it: --det-args=--deterministic
         (write these options with "=", as their values begin with --);
  key    the command plus --key-args (default: --key-args="--api-key {key}").  The
         auth checks 46-49 run here.  If the command itself contains
         {key}, every launch has the key, every request sends it, and
         the auth checks run on the plain launch;
  any    whatever launch is up (check 50, SIGTERM, which ends it).
The server is relaunched only when the needed launch differs from the one
running, or when the server died.  A check during which the server exits
FAILs (with the exit status and the tail of its log) and the next check
gets a fresh launch.  A check may also ask for a relaunch after it fails
(cancellation: slots that were never freed would poison later checks).
Server logs are kept in a temporary folder printed at the end.

Judgements.  Each check asks only what OpenAI's API, vLLM's request
validation or the HTTP/1.1 spec (RFC 9110/9112) requires; where those allow
two behaviours (n=2: reject or return two choices; 50,000 messages: reject
or answer) either PASSes, as noted at the check.  Error replies must be a
JSON object with an "error" member (OpenAI's error shape).  Generation uses
temperature 0 and small max_tokens so that a run takes a few minutes on two
CPU cores.

Python's standard library only."""
import argparse
import http.client
import io
import json
import os
import select
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
KEY = "sk-serve-checks-7f3a9c"


class Fail(Exception):
    def __init__(self, msg, relaunch=False):
        super().__init__(msg)
        self.relaunch = relaunch


def need(cond, msg, relaunch=False):
    if not cond:
        raise Fail(msg, relaunch)


def short(b, n=300):
    """A bytes or str value, cut to n characters, as repr."""
    return repr(b[:n]) + ("..." if len(b) > n else "")


# ---------------------------------------------------------------- server


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self, argv, logdir, start_timeout):
        self.argv, self.logdir, self.start_timeout = argv, logdir, start_timeout
        self.proc, self.mode, self.port, self.key, self.log, self.launches = None, None, None, None, None, 0

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=600):
        try:
            with open(self.log, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - n))
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def launch(self, mode, extra):
        self.stop()
        self.launches += 1
        self.port = free_port()
        argv = self.argv + extra
        self.key = KEY if any("{key}" in a for a in argv) else None
        argv = [a.replace("{port}", str(self.port)).replace("{key}", KEY) for a in argv]
        self.log = os.path.join(self.logdir, f"launch{self.launches}-{mode}.log")
        lf = open(self.log, "wb")
        lf.write((" ".join(shlex.quote(a) for a in argv) + "\n").encode())
        lf.flush()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        lf.close()
        self.mode = mode
        deadline = time.time() + self.start_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Fail(f"server exited with status {self.proc.returncode} while starting: {self.log_tail()!r}")
            try:
                c = http.client.HTTPConnection(HOST, self.port, timeout=5)
                c.request("GET", "/health")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise Fail(f"/health did not answer 200 within {self.start_timeout} s")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc, self.mode = None, None


# ---------------------------------------------------------------- HTTP


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            self.json = None

    def __str__(self):
        return f"HTTP {self.status} {short(self.body)}"


class Ctx:
    """What a check needs: the server, the model name, and a record of the
    last request sent (printed on failure)."""

    def __init__(self, srv, args):
        self.srv, self.args, self.model = srv, args, args.model
        self.last_req = ""
        self.timeout = args.timeout

    @property
    def port(self):
        return self.srv.port

    def auth_headers(self, auth=True):
        return {"Authorization": "Bearer " + self.srv.key} if (auth is True and self.srv.key) else (
            {"Authorization": "Bearer " + auth} if isinstance(auth, str) else {})

    def auth_line(self):
        return f"Authorization: Bearer {self.srv.key}\r\n".encode() if self.srv.key else b""

    def note(self, method, path, data):
        if data is None:
            self.last_req = f"{method} {path}"
        else:
            self.last_req = f"{method} {path} " + (short(data, 400) if len(data) > 400 else data.decode("utf-8", "replace"))

    def request(self, method, path, body=None, headers=None, auth=True, timeout=None):
        """body: dict/list (sent as JSON), str or bytes (sent as is).  auth: True
        (the server's key if it has one), False (no header) or a key string."""
        data = None
        h = dict(self.auth_headers(auth))
        if body is not None:
            data = body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        self.note(method, path, data)
        c = http.client.HTTPConnection(HOST, self.port, timeout=timeout or self.timeout)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            c.close()

    def chat_body(self, content, **kw):
        b = {"model": self.model, "messages": [{"role": "user", "content": content}], "max_tokens": 8, "temperature": 0}
        b.update(kw)
        return b

    def chat(self, body, **kw):
        return self.request("POST", "/v1/chat/completions", body, **kw)

    def stream(self, path, body, timeout=None):
        """POST with stream; returns (Resp-or-None, list of data payload strings)."""
        data = json.dumps(body).encode()
        self.note("POST", path, data)
        h = {"Content-Type": "application/json", **self.auth_headers()}
        c = http.client.HTTPConnection(HOST, self.port, timeout=timeout or self.timeout)
        try:
            c.request("POST", path, body=data, headers=h)
            r = c.getresponse()
            if r.status != 200:
                return Resp(r.status, dict(r.getheaders()), r.read()), None
            events = []
            while True:
                line = r.readline()
                if not line:
                    break
                line = line.strip()
                if not line.startswith(b"data:"):
                    continue
                d = line[5:].strip().decode("utf-8")
                events.append(d)
                if d == "[DONE]":
                    break
            return None, events
        finally:
            c.close()


def text_of(resp):
    need(resp.status == 200, f"expected 200, got {resp}")
    try:
        t = resp.json["choices"][0]["message"]["content"]
    except (TypeError, KeyError, IndexError):
        raise Fail(f"no choices[0].message.content: {resp}")
    need(isinstance(t, str), f"content is not a string: {resp}")
    return t


def stream_text(events):
    out = []
    for e in events:
        if e == "[DONE]":
            continue
        j = json.loads(e)
        for ch in j.get("choices") or []:
            d = (ch.get("delta") or {}).get("content")
            if d:
                out.append(d)
    return "".join(out)


def is_error_json(resp):
    return isinstance(resp.json, dict) and "error" in resp.json


def expect_status(resp, lo, hi, what):
    need(lo <= resp.status <= hi, f"expected {what}, got {resp}")
    need(is_error_json(resp), f"status {resp.status} but the body is not a JSON error object: {resp}")


def read_http_response(f):
    """One HTTP/1.x response from a binary file object: (status, headers, body)."""
    while True:
        line = f.readline()
        if not line:
            raise Fail("connection closed before a status line")
        parts = line.split(None, 2)
        need(len(parts) >= 2 and parts[0].startswith(b"HTTP/"), f"bad status line {line!r}")
        status = int(parts[1])
        headers = {}
        while True:
            l = f.readline()
            if l in (b"\r\n", b"\n", b""):
                break
            k, _, v = l.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        if not 100 <= status < 200:
            break
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            n = int(f.readline().split(b";")[0].strip() or b"0", 16)
            if n == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            body += f.read(n)
            f.readline()
    elif "content-length" in headers:
        body = f.read(int(headers["content-length"]))
    else:
        body = f.read()
    return Resp(status, headers, body)


def response_complete(buf):
    """Whether buf holds a complete final response (used while still sending)."""
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        return False
    head = buf[:i].decode("latin-1").lower()
    if head.split(None, 2)[1:2] and head.split(None, 2)[1].startswith("1"):
        return response_complete(buf[i + 4:])
    for l in head.split("\r\n"):
        if l.startswith("content-length:"):
            return len(buf) - i - 4 >= int(l.split(":")[1])
    if "chunked" in head:
        return buf.endswith(b"0\r\n\r\n")
    return False


def send_all_and_read(port, data, timeout):
    """Send data on a fresh socket while reading whatever comes back, so an
    early reply (413) is received even if the server stops reading.  Returns
    (Resp or None, bytes sent, note)."""
    s = socket.create_connection((HOST, port), timeout=10)
    s.setblocking(False)
    sent, buf, note = 0, b"", ""
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            r, w, _ = select.select([s], [s] if sent < len(data) else [], [], 1.0)
            if r:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    note = "connection reset while reading"
                    break
                if not chunk:
                    break
                buf += chunk
                if response_complete(buf):
                    break
            if w:
                try:
                    sent += s.send(data[sent:sent + 262144])
                except (BrokenPipeError, ConnectionResetError) as e:
                    note = f"{type(e).__name__} after {sent} bytes sent"
                    data = data[:sent]  # stop sending, go on reading
        else:
            note = note or f"no complete reply within {timeout} s"
    finally:
        s.close()
    if not buf:
        return None, sent, note or "no reply"
    try:
        return read_http_response(io.BytesIO(buf)), sent, note
    except (Fail, ValueError) as e:
        return None, sent, f"unparsable reply {short(buf)} ({e})"


def small_completion_ok(ctx, limit, what="completion"):
    t0 = time.time()
    try:
        r = ctx.chat(ctx.chat_body("Name a colour.", max_tokens=4), timeout=limit)
    except OSError as e:
        raise Fail(f"{what}: {type(e).__name__} {e} after {time.time() - t0:.1f} s")
    need(r.status == 200, f"{what}: {r}")
    text_of(r)
    return time.time() - t0


def health_ok(ctx, limit=10):
    try:
        r = ctx.request("GET", "/health", auth=False, timeout=limit)
    except OSError as e:
        raise Fail(f"/health: {type(e).__name__} {e}")
    need(r.status == 200, f"/health: {r}")


# ---------------------------------------------------------------- checks
# Each check: (name, launch, function).  A function raises Fail to fail.

CHECKS = []


def check(name, launch="plain", kills=False):
    def deco(fn):
        CHECKS.append((name, launch, kills, fn))
        return fn
    return deco


@check("GET /health -> 200")
def c_health(ctx):
    health_ok(ctx)


@check("GET /v1/models lists a model")
def c_models(ctx):
    r = ctx.request("GET", "/v1/models")
    need(r.status == 200, str(r))
    d = (r.json or {}).get("data") if isinstance(r.json, dict) else None
    need(isinstance(d, list) and d and isinstance(d[0].get("id"), str), f"no data[0].id: {r}")
    if ctx.model is None:
        ctx.model = d[0]["id"]


@check("unknown path -> 404 JSON")
def c_404(ctx):
    r = ctx.request("GET", "/v1/no-such-endpoint")
    expect_status(r, 404, 404, "404")


@check("chat completion, non-stream: content string and usage")
def c_chat(ctx):
    r = ctx.chat(ctx.chat_body("Write one word.", max_tokens=6))
    text_of(r)
    need(r.json.get("object") == "chat.completion", f"object is not chat.completion: {r}")
    u = r.json.get("usage") or {}
    need(all(isinstance(u.get(k), int) for k in ("prompt_tokens", "completion_tokens", "total_tokens")),
         f"usage incomplete: {r}")


@check("stream: chunk objects, one id, ends with [DONE]")
def c_stream(ctx):
    r, ev = ctx.stream("/v1/chat/completions", ctx.chat_body("Tell me about the sea.", max_tokens=6, stream=True))
    need(r is None, f"stream refused: {r}")
    need(ev and ev[-1] == "[DONE]", f"last data line is not [DONE]: {ev[-3:]}")
    ids = set()
    for e in ev[:-1]:
        try:
            j = json.loads(e)
        except ValueError:
            raise Fail(f"data line is not JSON: {e[:200]!r}")
        need(j.get("object") == "chat.completion.chunk", f"object is not chat.completion.chunk: {e[:200]}")
        ids.add(j.get("id"))
    need(len(ids) == 1 and None not in ids, f"ids {ids}")
    need(stream_text(ev), f"no content in the chunks: {ev[:3]}")


@check("stream include_usage: final chunk, empty choices + usage")
def c_stream_usage(ctx):
    r, ev = ctx.stream("/v1/chat/completions", ctx.chat_body(
        "Tell me about the sea.", max_tokens=6, stream=True, stream_options={"include_usage": True}))
    need(r is None, f"stream refused: {r}")
    need(len(ev) >= 2 and ev[-1] == "[DONE]", f"no [DONE]: {ev[-3:]}")
    last = json.loads(ev[-2])
    need(last.get("choices") == [], f"last chunk's choices are not empty: {ev[-2][:300]}")
    u = last.get("usage") or {}
    need(isinstance(u.get("completion_tokens"), int) and isinstance(u.get("prompt_tokens"), int),
         f"last chunk has no usage: {ev[-2][:300]}")


@check("stream text == non-stream text at temperature 0")
def c_stream_eq(ctx):
    b = ctx.chat_body("Tell me about the moon.", max_tokens=12)
    t1 = text_of(ctx.chat(b))
    r, ev = ctx.stream("/v1/chat/completions", dict(b, stream=True))
    need(r is None, f"stream refused: {r}")
    t2 = stream_text(ev)
    need(t1 == t2, f"non-stream {t1!r} != stream {t2!r}")


@check("max_tokens 5 -> finish_reason length, 5 tokens")
def c_length(ctx):
    r = ctx.chat(ctx.chat_body("Count from one to twenty: one, two, three,", max_tokens=5))
    text_of(r)
    fr = r.json["choices"][0].get("finish_reason")
    ct = (r.json.get("usage") or {}).get("completion_tokens")
    need(fr == "length" and ct == 5, f"finish_reason {fr!r}, completion_tokens {ct!r}: {r}")


@check("stop string: not in text, finish_reason stop")
def c_stop(ctx):
    b = ctx.chat_body("List some fruits.", max_tokens=16)
    t = text_of(ctx.chat(b))
    stop = None
    for k in range(2, len(t) - 3):
        s = t[k:k + 3]
        if s.strip() and t.find(s) == k:
            stop = s
            break
    need(stop is not None, f"no usable stop string in the unstopped text {t!r}")
    r = ctx.chat(dict(b, stop=[stop]))
    t2 = text_of(r)
    fr = r.json["choices"][0].get("finish_reason")
    need(stop not in t2 and fr == "stop" and t.startswith(t2),
         f"stop {stop!r} in unstopped {t!r}: got {t2!r}, finish_reason {fr!r}")


@check("logprobs + top_logprobs 3")
def c_logprobs(ctx):
    r = ctx.chat(ctx.chat_body("Say something.", max_tokens=4, logprobs=True, top_logprobs=3))
    text_of(r)
    lp = r.json["choices"][0].get("logprobs") or {}
    content = lp.get("content") if isinstance(lp, dict) else None
    need(isinstance(content, list) and content, f"no logprobs.content: {r}")
    for e in content:
        need(isinstance(e.get("token"), str) and isinstance(e.get("logprob"), (int, float)), f"bad entry {e}")
        tl = e.get("top_logprobs")
        need(isinstance(tl, list) and len(tl) == 3 and all(isinstance(x.get("logprob"), (int, float)) for x in tl),
             f"entry without 3 top_logprobs: {json.dumps(e)[:300]}")


@check("/v1/completions with a string prompt")
def c_completions(ctx):
    r = ctx.request("POST", "/v1/completions",
                    {"model": ctx.model, "prompt": "The capital of France is", "max_tokens": 5, "temperature": 0})
    need(r.status == 200, str(r))
    try:
        t = r.json["choices"][0]["text"]
    except (TypeError, KeyError, IndexError):
        raise Fail(f"no choices[0].text: {r}")
    need(isinstance(t, str) and r.json.get("object") == "text_completion", str(r))


@check("/tokenize then /detokenize round-trips 'Hello world'")
def c_tokenize(ctx):
    r = ctx.request("POST", "/tokenize", {"content": "Hello world"})
    need(r.status == 200 and isinstance((r.json or {}).get("tokens"), list), f"/tokenize: {r}")
    toks = [t["id"] if isinstance(t, dict) else t for t in r.json["tokens"]]
    need(toks and all(isinstance(t, int) for t in toks), f"/tokenize: {r}")
    r2 = ctx.request("POST", "/detokenize", {"tokens": toks})
    need(r2.status == 200 and (r2.json or {}).get("content") == "Hello world", f"/detokenize {toks}: {r2}")


@check("keep-alive: two pipelined requests, two responses in order")
def c_pipeline(ctx):
    # RFC 9112 9.3.2: a server MUST send the responses to pipelined requests
    # in the order received.  A server may decline persistence, but then its
    # first response says "Connection: close" (RFC 9112 9.6); answering the
    # first and silently dropping the second fails.
    a = ctx.auth_line()
    req = (b"GET /health HTTP/1.1\r\nHost: x\r\n" + a + b"\r\n"
           b"GET /v1/models HTTP/1.1\r\nHost: x\r\n" + a + b"Connection: close\r\n\r\n")
    ctx.last_req = repr(req)
    s = socket.create_connection((HOST, ctx.port), timeout=20)
    try:
        s.sendall(req)
        f = s.makefile("rb")
        r1 = read_http_response(f)
        need(r1.status == 200, f"first response {r1}")
        if "close" in r1.headers.get("connection", "").lower():
            return
        try:
            r2 = read_http_response(f)
        except (Fail, OSError) as e:
            raise Fail(f"second response missing ({e}); first was {r1} with headers {r1.headers}")
        need(r2.status == 200 and isinstance(r2.json, dict) and "data" in r2.json, f"second response {r2}")
    finally:
        s.close()


@check("chunked request body (Transfer-Encoding: chunked)")
def c_chunked(ctx):
    # RFC 9112 6.1: a recipient MUST be able to parse the chunked transfer coding.
    body = json.dumps(ctx.chat_body("Say one word.", max_tokens=4)).encode()
    parts = [body[:10], body[10:30], body[30:]]
    ctx.last_req = f"POST /v1/chat/completions (chunked in 3 parts) {body.decode()}"
    c = http.client.HTTPConnection(HOST, ctx.port, timeout=ctx.timeout)
    try:
        c.request("POST", "/v1/chat/completions", body=iter(parts), encode_chunked=True,
                  headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked", **ctx.auth_headers()})
        r = c.getresponse()
        resp = Resp(r.status, dict(r.getheaders()), r.read())
    finally:
        c.close()
    text_of(resp)


@check("malformed JSON -> 4xx JSON error")
def c_malformed(ctx):
    expect_status(ctx.chat(b'{"model": "m", "messages": [{"role": "user", "content": "hi"'), 400, 499, "4xx")


@check("JSON array body -> 4xx")
def c_array(ctx):
    expect_status(ctx.chat([{"role": "user", "content": "hi"}]), 400, 499, "4xx")


@check("messages of wrong type -> 400")
def c_msgs_type(ctx):
    expect_status(ctx.chat({"model": ctx.model, "messages": "hello", "max_tokens": 4}), 400, 400, "400")


@check("missing messages -> 400")
def c_msgs_missing(ctx):
    expect_status(ctx.chat({"model": ctx.model, "max_tokens": 4}), 400, 400, "400")


@check("role 'wizard' -> 400")
def c_role(ctx):
    expect_status(ctx.chat({"model": ctx.model, "max_tokens": 4, "messages": [{"role": "wizard", "content": "hi"}]}),
                  400, 400, "400")


def bad_param(ctx, raw_value, key="temperature"):
    """A chat request whose `key` is raw_value, spliced into the JSON text
    (so that NaN and 1e309 reach the server as written)."""
    b = ctx.chat_body("hi", max_tokens=4)
    b.pop(key, None)
    expect_status(ctx.chat(json.dumps(b)[:-1] + f', "{key}": {raw_value}}}'), 400, 400, "400")


@check("temperature NaN -> 400")
def c_t_nan(ctx):
    bad_param(ctx, "NaN")


@check("temperature 1e309 -> 400")
def c_t_inf(ctx):
    bad_param(ctx, "1e309")


@check("temperature -1 -> 400")
def c_t_neg(ctx):
    bad_param(ctx, "-1")


@check("temperature \"hot\" -> 400")
def c_t_str(ctx):
    bad_param(ctx, '"hot"')


@check("top_p 7 -> 400")
def c_topp_big(ctx):
    bad_param(ctx, "7", "top_p")


@check("top_p -0.5 -> 400")
def c_topp_neg(ctx):
    bad_param(ctx, "-0.5", "top_p")


@check("max_tokens -1 -> 400")
def c_maxtok_neg(ctx):
    bad_param(ctx, "-1", "max_tokens")


@check("max_tokens \"ten\" -> 400")
def c_maxtok_str(ctx):
    bad_param(ctx, '"ten"', "max_tokens")


@check("n 2 -> 400 or two choices")
def c_n2(ctx):
    # OpenAI and vLLM honour n; a server that cannot must refuse it, not drop it.
    r = ctx.chat(ctx.chat_body("Say one word.", max_tokens=4, n=2))
    if r.status == 400:
        need(is_error_json(r), f"400 without a JSON error: {r}")
        return
    need(r.status == 200, f"expected 400 or 200: {r}")
    ch = r.json.get("choices") or []
    need(len(ch) == 2 and all(isinstance((c.get("message") or {}).get("content"), str) for c in ch),
         f"200 but not 2 choices: {r}")


@check("presence_penalty 5 -> 400")
def c_presence(ctx):
    bad_param(ctx, "5", "presence_penalty")


@check("logit_bias with a non-numeric key -> 400")
def c_logit_bias(ctx):
    bad_param(ctx, '{"hello": 5}', "logit_bias")


@check("top_logprobs without logprobs -> 400")
def c_toplp(ctx):
    bad_param(ctx, "3", "top_logprobs")


@check("stream_options without stream -> 400")
def c_stream_opts(ctx):
    bad_param(ctx, '{"include_usage": true}', "stream_options")


@check("tool_choice naming a tool not in tools -> 400")
def c_tool_choice(ctx):
    b = ctx.chat_body("What is the weather?", max_tokens=4,
                      tools=[{"type": "function", "function": {"name": "get_weather", "description": "weather",
                                                               "parameters": {"type": "object", "properties": {}}}}],
                      tool_choice={"type": "function", "function": {"name": "launch_rocket"}})
    expect_status(ctx.chat(b), 400, 400, "400")


@check("stop of wrong type (42) -> 400")
def c_stop_type(ctx):
    # OpenAI: stop is a string, an array of strings or null.
    bad_param(ctx, "42", "stop")


@check("invalid UTF-8 inside a JSON string -> 4xx JSON error")
def c_utf8(ctx):
    body = json.dumps(ctx.chat_body("PLACEHOLDER", max_tokens=4)).encode().replace(b"PLACEHOLDER", b"abc\xff\xfe\xc3def")
    expect_status(ctx.chat(body), 400, 499, "4xx")


@check("20 MB body -> 413, reply received")
def c_20mb(ctx):
    content = b"lorem ipsum " * (20 * 1024 * 1024 // 12)
    body = b'{"model": ' + json.dumps(ctx.model).encode() + b', "max_tokens": 1, "messages": [{"role": "user", "content": "' + content + b'"}]}'
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n").encode() + ctx.auth_line() + b"\r\n"
    ctx.last_req = f"POST /v1/chat/completions, Content-Length {len(body)}, body {short(body, 120)}"
    r, sent, note = send_all_and_read(ctx.port, head + body, timeout=90)
    need(r is not None, f"no reply received ({note}; {sent} of {len(head) + len(body)} bytes sent)")
    need(r.status == 413, f"expected 413, got {r} ({sent} bytes sent{'; ' + note if note else ''})")


@check("50,000 messages -> 4xx or a valid reply, no crash")
def c_50k(ctx):
    # 50,000 alternating turns are a well-formed chat far over any context here,
    # so refusing it (400: too many messages / over the context) is the expected
    # answer; a server that could fit it may answer it.  5xx, a hang or a crash fail.
    msgs = [{"role": "system", "content": "Be brief."}]
    msgs += [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(49999)]
    r = ctx.chat({"model": ctx.model, "max_tokens": 2, "temperature": 0, "messages": msgs}, timeout=150)
    if 400 <= r.status <= 499:
        need(is_error_json(r), f"{r.status} without a JSON error: {r}")
    else:
        text_of(r)


@check("JSON nested 100,000 deep -> 4xx")
def c_nesting(ctx):
    body = '{"model": ' + json.dumps(ctx.model) + ', "max_tokens": 2, "messages": ' + "[" * 100000 + "]" * 100000 + "}"
    expect_status(ctx.chat(body), 400, 499, "4xx")


@check("prompt far over the context -> 400 mentioning context")
def c_over_ctx(ctx):
    r = ctx.chat(ctx.chat_body("hello " * 40000, max_tokens=4), timeout=150)
    expect_status(r, 400, 400, "400")
    need("context" in r.body.decode("utf-8", "replace").lower(), f"400 without the word context: {r}")


@check("Content-Length larger than sent: others not blocked")
def c_short_body(ctx):
    s = socket.create_connection((HOST, ctx.port), timeout=10)
    try:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + ctx.auth_line() +
                  b"Content-Length: 1000\r\n\r\n" + b'{"model": "m", "messages": [')
        time.sleep(0.5)
        health_ok(ctx, 10)
        t = small_completion_ok(ctx, 60, "completion while a body is outstanding")
        need(t < 60, f"completion took {t:.1f} s")
    finally:
        s.close()


@check("slowloris: 8 trickling sockets, a request completes")
def c_slowloris(ctx):
    stop = threading.Event()
    head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 4000

    def trickle():
        while not stop.is_set():
            try:
                s = socket.create_connection((HOST, ctx.port), timeout=5)
            except OSError:
                stop.wait(0.5)
                continue
            try:
                for i in range(len(head)):
                    if stop.is_set():
                        break
                    s.send(head[i:i + 1])
                    stop.wait(0.5)
            except OSError:
                pass
            finally:
                s.close()

    ts = [threading.Thread(target=trickle, daemon=True) for _ in range(8)]
    for t in ts:
        t.start()
    try:
        time.sleep(2)
        health_ok(ctx, 20)
        small_completion_ok(ctx, 60, "completion during slowloris")
    finally:
        stop.set()
        for t in ts:
            t.join(10)


@check("1,000 connections opened and dropped, then health + completion")
def c_1000(ctx):
    socks, ok = [], 0
    for _ in range(1000):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex((HOST, ctx.port))
        socks.append(s)
    poller = select.poll()
    for s in socks:
        poller.register(s, select.POLLOUT)
    fds = {s.fileno() for s in socks}
    deadline = time.time() + 10
    while fds and time.time() < deadline:
        for fd, ev in poller.poll(1000):
            if fd in fds:
                fds.discard(fd)
                poller.unregister(fd)
                ok += not (ev & (select.POLLERR | select.POLLHUP))
    for s in socks:
        s.close()
    time.sleep(0.5)
    try:
        health_ok(ctx, 30)
        small_completion_ok(ctx, 60, "completion after 1,000 dropped connections")
    except Fail as e:
        raise Fail(f"{e} ({ok} of 1000 connects completed)")


def parallel_of(argv):
    for i, a in enumerate(argv):
        for flag in ("--parallel", "-np"):
            if a == flag and i + 1 < len(argv):
                return int(argv[i + 1])
            if a.startswith(flag + "="):
                return int(a.split("=", 1)[1])
    return 4


@check("cancellation: dropped streams free their slots")
def c_cancel(ctx):
    # Open as many 2000-token streams as the server has slots (--parallel/-np,
    # default 4), read 3 chunks of each and close the sockets.  If the slots
    # kept generating, a new request would wait minutes for one.
    n = ctx.args.parallel or parallel_of(ctx.srv.argv)
    errs, got = [], []
    body = json.dumps(ctx.chat_body("Write a very long story about a dragon.", max_tokens=2000,
                                    ignore_eos=True, stream=True)).encode()
    ctx.note("POST", "/v1/chat/completions", body)

    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n").encode() + ctx.auth_line() + b"\r\n"

    def one():
        # a raw socket, so that closing it surely closes the connection
        s = socket.create_connection((HOST, ctx.port), timeout=ctx.timeout)
        buf = b""
        try:
            s.sendall(head + body)
            while buf.count(b"data:") < 3:
                chunk = s.recv(4096)
                if not chunk:
                    errs.append(f"stream ended early: {short(buf)}")
                    return
                buf += chunk
                if not buf.startswith(b"HTTP/1.1 200") and len(buf) >= 12:
                    errs.append(f"not a 200 stream: {short(buf)}")
                    return
            got.append(1)
            s.shutdown(socket.SHUT_RDWR)
        except OSError as e:
            errs.append(f"{type(e).__name__} {e}")
        finally:
            s.close()

    ts = [threading.Thread(target=one, daemon=True) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(ctx.timeout + 5)
    need(not errs and len(got) == n, f"streams: {errs}")
    time.sleep(1)
    try:
        small_completion_ok(ctx, 15, "completion after dropping streams")
    except Fail as e:
        raise Fail(str(e), relaunch=True)


@check("greedy repeated 3x (cached or not) gives the same text", launch="det")
def c_det3(ctx):
    b = ctx.chat_body("Describe a quiet harbour at dawn.", max_tokens=16)
    ts = [text_of(ctx.chat(b)) for _ in range(3)]
    need(ts[0] == ts[1] == ts[2], f"texts differ: {ts}")


@check("8 concurrent greedy requests == each sent alone", launch="det")
def c_det_conc(ctx):
    prompts = ["Tell me about cats.", "What is rain?", "Describe a forest.", "Why is the sky blue?",
               "Name three rivers.", "Explain a clock.", "What do bees do?", "Write about snow."]
    solo = [text_of(ctx.chat(ctx.chat_body(p, max_tokens=12))) for p in prompts]
    conc = [None] * 8

    def one(i):
        try:
            conc[i] = text_of(ctx.chat(ctx.chat_body(prompts[i], max_tokens=12)))
        except Exception as e:  # noqa: BLE001 — recorded and judged below
            conc[i] = e

    ts = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(ctx.timeout + 5)
    bad = [f"#{i} {prompts[i]!r}: solo {solo[i]!r} vs concurrent {conc[i]!r}" for i in range(8) if solo[i] != conc[i]]
    ctx.last_req = "8 chats (max_tokens 12, temperature 0), alone then concurrently"
    need(not bad, "; ".join(bad))


@check("auth: no Authorization -> 401", launch="key")
def c_auth_none(ctx):
    expect_status(ctx.chat(ctx.chat_body("hi", max_tokens=2), auth=False), 401, 401, "401")


@check("auth: wrong key -> 401", launch="key")
def c_auth_wrong(ctx):
    expect_status(ctx.chat(ctx.chat_body("hi", max_tokens=2), auth="sk-wrong-key"), 401, 401, "401")


@check("auth: right key -> 200", launch="key")
def c_auth_right(ctx):
    text_of(ctx.chat(ctx.chat_body("hi", max_tokens=2), auth=True))


@check("auth: /health without a key -> 200", launch="key")
def c_auth_health(ctx):
    health_ok(ctx)


@check("SIGTERM during a stream: exits within 30 s, status 0", launch="any", kills=True)
def c_sigterm(ctx):
    started = threading.Event()
    body = json.dumps(ctx.chat_body("Write a very long story about a ship.", max_tokens=2000,
                                    ignore_eos=True, stream=True)).encode()
    ctx.note("POST", "/v1/chat/completions", body)

    def reader():
        c = http.client.HTTPConnection(HOST, ctx.port, timeout=60)
        try:
            c.request("POST", "/v1/chat/completions", body=body,
                      headers={"Content-Type": "application/json", **ctx.auth_headers()})
            r = c.getresponse()
            k = 0
            while True:
                line = r.readline()
                if not line:
                    break
                if line.startswith(b"data:"):
                    k += 1
                    if k == 2:
                        started.set()
        except (OSError, http.client.HTTPException):
            pass
        finally:
            c.close()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    deadline = time.time() + ctx.timeout
    while not started.is_set() and t.is_alive() and time.time() < deadline:
        started.wait(0.2)
    proc = ctx.srv.proc
    need(proc.poll() is None, f"the server exited (status {proc.returncode}) before SIGTERM was sent")
    need(started.is_set(), "the stream did not start")
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise Fail("still running 30 s after SIGTERM (killed)")
    need(rc == 0, f"exit status {rc} after {time.time() - t0:.1f} s: {ctx.srv.log_tail(300)!r}")


# ---------------------------------------------------------------- runner


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 usage="%(prog)s [options] -- SERVER COMMAND with {port} [{key}]")
    ap.add_argument("--model", help="the request's model field (default: /v1/models' first id)")
    ap.add_argument("--key-args", default="--api-key {key}", help="extra server args for the auth checks 46-49; write --key-args='...' (default: %(default)s)")
    ap.add_argument("--det-args", default="", help="extra server args for the determinism checks 44-45, e.g. --det-args=--deterministic (default: none)")
    ap.add_argument("--parallel", type=int, help="the server's slots, for the cancellation check (default: from -np/--parallel, else 4)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per HTTP request (default: %(default)s)")
    ap.add_argument("--start-timeout", type=float, default=120, help="seconds to wait for /health 200 (default: %(default)s)")
    ap.add_argument("--only", help="comma-separated check numbers to run (debugging)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    if not cmd or not any("{port}" in a for a in cmd):
        ap.error("give the server command after --, with {port} in it")
    assert len(CHECKS) == 50, len(CHECKS)
    only = {int(x) for x in args.only.split(",")} if args.only else None

    logdir = tempfile.mkdtemp(prefix="serve_checks.")
    srv = Server(cmd, logdir, args.start_timeout)
    ctx = Ctx(srv, args)
    key_in_cmd = any("{key}" in a for a in cmd)
    extra = {"plain": [], "det": shlex.split(args.det_args),
             "key": [] if key_in_cmd else shlex.split(args.key_args)}
    # launches with identical arguments are one launch
    canon = {m: ("plain" if extra[m] == [] else m) for m in extra}

    passed = ran = 0
    t_start = time.time()
    try:
        for num, (name, launch, kills, fn) in enumerate(CHECKS, 1):
            if only and num not in only:
                continue
            ran += 1
            t0 = time.time()
            ctx.last_req = ""
            msg, relaunch = None, False
            try:
                want = canon.get(launch) if launch != "any" else (srv.mode if srv.alive() else "plain")
                if not srv.alive() or srv.mode != want:
                    srv.launch(want, extra[want])
                    if ctx.model is None:
                        c_models(ctx)
                fn(ctx)
            except Fail as e:
                msg, relaunch = str(e), e.relaunch
            except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError, IndexError,
                    AttributeError) as e:
                msg = f"{type(e).__name__}: {e}"
            if msg is not None and not kills and srv.proc is not None:
                try:  # a crash may lag the refused connection that revealed it
                    srv.proc.wait(0.5)
                except subprocess.TimeoutExpired:
                    pass
            if not kills and srv.proc is not None and srv.proc.poll() is not None:
                msg = (f"server died (exit status {srv.proc.returncode})" + (f"; {msg}" if msg else "") +
                       f"; log tail: {srv.log_tail(400)!r}")
            dt = time.time() - t0
            if msg is None:
                passed += 1
                print(f"PASS {num:2d}  {name} ({dt:.1f} s)", flush=True)
            else:
                print(f"FAIL {num:2d}  {name} ({dt:.1f} s): {msg}", flush=True)
                if ctx.last_req:
                    print(f"         request: {ctx.last_req[:700]}", flush=True)
                if relaunch:
                    srv.stop()
    finally:
        srv.stop()
    print(f"{passed} of {ran} passed ({time.time() - t_start:.0f} s; server logs in {logdir})")
    return 0 if passed == ran else 1


if __name__ == "__main__":
    sys.exit(main())
