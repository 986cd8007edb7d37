"""test_chat_page.py — the chat page `flint serve` answers at /, in headless
Chromium driven over the DevTools protocol the way a person uses it: it
clicks and types. Checks: the API key prompt after a 401 and the model name
once the key is given; a reply streamed from the server with its usage
line; hostile model output (an <img onerror>, a <script>, a javascript:
link) shown as text, never as elements, while markdown becomes elements;
the request the settings produce; a stream error and a stream cut short
shown as errors; the stop button ending the request (the browser cancels
it and the server counts it cancelled) and the page ready again; the
conversation and settings surviving a reload; "New chat"; "loading" while
/health answers 503; no sideways scrolling at phone width.

Exact replies (the hostile text, errors, a 503) are injected by
intercepting the browser's requests (Fetch domain), so they do not depend
on what the model says; everything else goes to the server.

By default it starts `flint serve` on the real model (tests/server/py.sh
sets FLINT_REAL_MODEL) with an API key; `--url URL [--api-key KEY]` runs it
against a server already running instead."""
import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import websocket

from harness import Checks, Server, model_path

KEY = "page-test-key"
CHROMIUM = os.environ.get("CHROMIUM") or next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


class Browser:
    """Headless Chromium with one page, and a DevTools protocol connection to it."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="flint-page-")
        self.proc = subprocess.Popen([CHROMIUM, "--headless=new", "--remote-debugging-port=0", "--no-sandbox",
                                      f"--user-data-dir={self.profile}", "--no-first-run", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.stderr, self.events, self.dialogs, self.next_id = [], [], [], 0
        listening = threading.Event()

        def drain():  # read stderr to the end, so a chatty browser never blocks on the pipe
            for line in self.proc.stderr:
                self.stderr.append(line)
                m = re.search(r"DevTools listening on (ws://\S+)", line)
                if m:
                    self.browser_ws = m.group(1)
                    listening.set()

        threading.Thread(target=drain, daemon=True).start()
        if not listening.wait(30):
            self.close()
            raise RuntimeError("chromium did not start: " + "".join(self.stderr[-20:]))
        port = urllib.parse.urlparse(self.browser_ws).port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            page = next(t for t in json.load(r) if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(domain + ".enable")
        # a phone's screen: the layout must fit it
        self.call("Emulation.setDeviceMetricsOverride", width=390, height=844, deviceScaleFactor=2, mobile=True)

    def close(self):
        if getattr(self, "ws", None):
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def send(self, method, params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    def receive(self):
        """Reads one message; events are kept, a dialog (which would block the page) is dismissed and kept."""
        msg = json.loads(self.ws.recv())
        if msg.get("method") == "Page.javascriptDialogOpening":
            self.dialogs.append(msg["params"])
            self.send("Page.handleJavaScriptDialog", {"accept": False})
        elif "method" in msg:
            self.events.append(msg)
        return msg

    def call(self, method, **params):
        want = self.send(method, params)
        while True:
            msg = self.receive()
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait(self, expr, timeout=30):
        """Polls a JavaScript expression until it is truthy; its value, or None on timeout."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = self.eval(expr)
            if v:
                return v
            time.sleep(0.05)
        return None

    def wait_event(self, method, timeout=30, match=lambda params: True):
        """Takes the first event of that method (whose params match) from those kept, waiting for one."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, ev in enumerate(self.events):
                if ev["method"] == method and match(ev["params"]):
                    return self.events.pop(i)["params"]
            self.ws.settimeout(max(0.1, deadline - time.time()))
            try:
                self.receive()
            except websocket.WebSocketTimeoutException:
                break
            finally:
                self.ws.settimeout(60)
        raise TimeoutError(f"no {method} in {timeout} s")

    def open(self, url):
        self.call("Page.navigate", url=url)
        return self.wait("document.readyState === 'complete' && !!document.getElementById('messages')")

    def click(self, selector):
        xy = self.eval(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            if (!e) return null;
            e.scrollIntoView({{block: 'center'}});
            const r = e.getBoundingClientRect();
            return r.width && r.height ? [r.x + r.width / 2, r.y + r.height / 2] : null;
        }})()""")
        if not xy:
            raise RuntimeError(f"{selector} is not on the screen")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=xy[0], y=xy[1], button="left", clickCount=1)

    def type_into(self, selector, text):
        """Clicks a field, empties it and types text."""
        self.click(selector)
        self.eval(f"(e => {{ e.value = ''; e.dispatchEvent(new Event('input')); }})"
                  f"(document.querySelector({json.dumps(selector)}))")
        if text:
            self.call("Input.insertText", text=text)

    def replies(self):
        return self.eval("document.querySelectorAll('#messages .msg.assistant').length")

    def last_reply(self):
        return self.eval("""(() => {
            const m = [...document.querySelectorAll('#messages .msg.assistant')].at(-1);
            const text = (sel) => m.querySelector(sel)?.textContent ?? null;
            return m && {content: text('.content'), meta: text('.meta'), error: text('.error'),
                         thinking: text('details.thinking div')};
        })()""")

    def chat(self, message, timeout=120):
        """Types a message, clicks Send and waits for the reply to end; the reply's texts."""
        n = self.replies()
        self.type_into("#input", message)
        self.click("#send")
        done = self.wait(f"document.querySelectorAll('#messages .msg.assistant').length === {n + 1} && "
                         "document.body.dataset.state === 'ready'", timeout)
        return self.last_reply() if done else None


def sse(*events):
    """An event stream: ": ..." strings are comments, other strings and dicts data."""
    return "".join(f"{e}\n\n" if isinstance(e, str) and e.startswith(":") else
                   f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events)


def chunk(delta, finish=None):
    return {"id": "chatcmpl-canned", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


HOSTILE = ("## A heading\n\nPlain **bold** and *italic* and `x < y`, see https://example.org/a_b.\n\n"
           "<img src=x onerror=\"window.pwned=1\"> <script>window.pwned=1</script>\n\n"
           "- [docs](https://example.com/docs) and [bad](javascript:window.pwned=1)\n"
           "- <iframe src=\"javascript:window.pwned=1\"></iframe>\n\n"
           "```html\n<script>window.pwned=1</script>\n" + "wide_code_line_" * 40 + "\n```\n\n"
           "| name | value |\n|:-----|------:|\n| " + "wide " * 60 + " | 1 |\n")


def canned_reply(b, message, body):
    """Sends a message and answers the request the page makes with body (an
    event stream); returns the request as the server would have seen it."""
    b.call("Fetch.enable", patterns=[{"urlPattern": "*/v1/chat/completions", "requestStage": "Request"}])
    try:
        n = b.replies()
        b.type_into("#input", message)
        b.click("#send")
        paused = b.wait_event("Fetch.requestPaused")
        b.call("Fetch.fulfillRequest", requestId=paused["requestId"], responseCode=200,
               responseHeaders=[{"name": "Content-Type", "value": "text/event-stream"}],
               body=base64.b64encode(body.encode()).decode())
    finally:
        b.call("Fetch.disable")
    b.wait(f"document.querySelectorAll('#messages .msg.assistant').length === {n + 1} && "
           "document.body.dataset.state === 'ready'")
    return paused["request"]


def test_key_and_model(t, b, ctx):
    t.check(b.open(ctx.url + "/"), "the page loads")
    if ctx.key:
        # the page asks for the key the server wants, where it is entered
        t.check(b.wait("!document.getElementById('notice').hidden"), "a 401 shows a notice")
        t.check("API key" in b.eval("document.getElementById('notice').textContent"), "the notice asks for the key")
        t.check(b.eval("!document.getElementById('settings').hidden && document.activeElement.id === 'api_key'"),
                "the settings open at the key field")
        b.call("Input.insertText", text=ctx.key)
        b.click("#settings-toggle")  # closing the settings commits the field
        t.check(b.eval("document.getElementById('notice').hidden"), "the notice goes once the key is entered")
    shown = b.wait(f"document.getElementById('model').textContent === {json.dumps(ctx.model)}", 15)
    t.check(shown, f"the model's name {ctx.model!r} is shown: "
                   f"{b.eval('document.getElementById(`model`).textContent')!r}")
    t.check(b.wait("document.getElementById('health').className === 'ok'", 15), "health shows ready")


def test_reply(t, b, ctx):
    b.click("#settings-toggle")
    b.type_into("#system", "You are terse.")
    b.type_into("#temperature", "0")
    b.type_into("#max_tokens", "48")
    b.click("#settings-toggle")
    r = b.chat("Write one sentence about the sea.")
    t.check(r is not None, "the reply ends and the page is ready again")
    if r:
        t.check(bool(r["content"].strip()) and r["error"] is None, f"a reply streamed in: {r}")
        t.check(re.search(r"\d+ prompt tokens · \d+ generated · [\d.]+ tokens/s", r["meta"] or ""),
                f"the usage line: {r['meta']!r}")
    stored = b.eval("JSON.parse(localStorage.getItem('flint.chat'))")
    t.check(len(stored) == 2 and stored[0] == {"role": "user", "content": "Write one sentence about the sea."} and
            stored[1]["role"] == "assistant" and stored[1]["content"].strip(), f"the exchange is kept: {stored}")


def test_hostile_markdown(t, b, ctx):
    body = sse(chunk({"role": "assistant", "content": ""}), chunk({"reasoning_content": "Weighing "}),
               ": ping", chunk({"reasoning_content": "<b>it</b>."}),
               *[chunk({"content": HOSTILE[i:i + 9]}) for i in range(0, len(HOSTILE), 9)],
               chunk({}, "stop"),
               {"id": "chatcmpl-canned", "object": "chat.completion.chunk", "choices": [],
                "usage": {"prompt_tokens": 31, "completion_tokens": 97, "total_tokens": 128}},
               "[DONE]")
    req = canned_reply(b, "Show me some markdown.", body)
    sent = json.loads(req.get("postData", "{}"))
    t.check(sent.get("stream") is True and sent.get("stream_options") == {"include_usage": True},
            f"a streamed request with usage: {sent}")
    t.check(sent.get("messages", [{}])[0] == {"role": "system", "content": "You are terse."},
            f"the system prompt leads: {sent.get('messages')}")
    t.check(sent.get("messages", [{}])[-1] == {"role": "user", "content": "Show me some markdown."},
            "the message typed is last")
    t.check(len(sent.get("messages", [])) == 4, "the earlier exchange is sent too")
    t.check(sent.get("temperature") == 0 and sent.get("max_tokens") == 48 and "top_p" not in sent,
            f"settings become fields, blank ones are left out: {sent}")
    want_auth = f"Bearer {ctx.key}" if ctx.key else None
    t.check(req["headers"].get("Authorization") == want_auth, f"the key is sent: {req['headers']}")

    r = b.last_reply()
    t.check('<img src=x onerror="window.pwned=1">' in r["content"] and "<script>window.pwned=1</script>" in
            r["content"], f"the markup is shown as text: {r['content'][:200]!r}")
    made = b.eval("[...document.querySelectorAll('#messages *')].map(e => e.tagName.toLowerCase())"
                  ".filter(t => ['img', 'script', 'iframe', 'svg', 'object', 'embed', 'style'].includes(t))")
    t.check(made == [], f"no element made from model text: {made}")
    t.check(b.eval("document.querySelectorAll('#messages [onerror], #messages [onload]').length") == 0,
            "no event handler attributes")
    time.sleep(0.3)  # an onerror would have fired by now
    t.check(b.eval("window.pwned === undefined") and not b.dialogs, f"nothing ran: dialogs {b.dialogs}")
    last = "[...document.querySelectorAll('#messages .msg.assistant .content')].at(-1)"
    t.check(b.eval(f"{last}.querySelector('p strong')?.textContent") == "bold", "**bold** is <strong>")
    t.check(b.eval(f"{last}.querySelector('p em')?.textContent") == "italic", "*italic* is <em>")
    t.check(b.eval(f"{last}.querySelector('p code')?.textContent") == "x < y", "`code` is <code>")
    t.check(b.eval(f"{last}.querySelectorAll('ul > li').length") == 2, "a list of two items")
    t.check(b.eval(f"{last}.querySelector('pre code')?.textContent.startsWith('<script>window.pwned=1</script>')"),
            "a fenced block is <pre><code> text")
    links = b.eval(f"[...{last}.querySelectorAll('a')].map(a => [a.href, a.rel, a.textContent])")
    t.check(links == [["https://example.org/a_b", "noopener noreferrer", "https://example.org/a_b"],
                      ["https://example.com/docs", "noopener noreferrer", "docs"]],
            f"only http(s) URLs are links: {links}")
    t.check(b.eval(f"{last}.querySelector('h2')?.textContent") == "A heading", "## is a heading")
    t.check(b.eval(f"{last}.querySelector('td:last-child')?.style.textAlign") == "right", "a table, aligned")
    t.check(r["thinking"] == "Weighing <b>it</b>.", f"the thinking, apart, as text: {r['thinking']!r}")
    t.check(b.eval("[...document.querySelectorAll('details.thinking')].at(-1).open") is False,
            "the thinking starts folded")
    t.check(r["meta"].startswith("31 prompt tokens · 97 generated"), f"the usage line: {r['meta']!r}")
    t.check(b.eval("document.documentElement.scrollWidth <= window.innerWidth"),
            "wide code and tables scroll inside the page at phone width")


def test_stream_errors(t, b, ctx):
    canned_reply(b, "Fail please.", sse(chunk({"role": "assistant", "content": "Part"}),
                                        {"error": {"message": "canned failure", "type": "server_error"}}))
    r = b.last_reply()
    t.check(r["content"] == "Part" and "canned failure" in (r["error"] or ""), f"an error event is shown: {r}")
    canned_reply(b, "Cut short.", sse(chunk({"content": "Half"})))
    r = b.last_reply()
    t.check("closed before the reply was complete" in (r["error"] or ""), f"a stream without [DONE]: {r}")
    t.check(b.eval("document.body.dataset.state") == "ready", "ready after errors")


def cancelled_count(ctx):
    """The server's count of cancelled requests (flint's /metrics), or None for a server without it."""
    req = urllib.request.Request(ctx.url + "/metrics", headers={"Authorization": f"Bearer {ctx.key}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            m = re.search(r'^flint_requests_total\{finish="cancelled"\} (\d+)', r.read().decode(), re.M)
            return int(m.group(1)) if m else None
    except (urllib.error.URLError, OSError):
        return None


def test_stop(t, b, ctx):
    before = cancelled_count(ctx)
    b.click("#settings-toggle")
    b.type_into("#max_tokens", "2000")  # with the prompt, within the server's context
    b.type_into("#extra", '{"ignore_eos": true}')  # a long reply whatever the model would say
    b.click("#settings-toggle")
    n, seen = b.replies(), len(b.events)
    b.type_into("#input", "Count from 1 to 1000, one number per line.")
    b.click("#send")
    streaming = b.wait(f"document.querySelectorAll('#messages .msg.assistant').length === {n + 1} && "
                       "[...document.querySelectorAll('#messages .msg.assistant .content')].at(-1)"
                       ".textContent.length > 20", 60)
    if not t.check(streaming and b.eval("document.body.dataset.state") == "busy",
                   f"a long reply streams: {b.last_reply()}"):
        return
    b.click("#stop")
    t.check(b.wait("document.body.dataset.state === 'ready'", 5), "ready again at once after Stop")
    sent = [e["params"]["requestId"] for e in b.events[seen:] if e["method"] == "Network.requestWillBeSent" and
            e["params"]["request"]["url"].endswith("/v1/chat/completions")]
    t.check(len(sent) == 1, f"one request: {sent}")
    failed = b.wait_event("Network.loadingFailed", 5, lambda p: p["requestId"] in sent)
    t.check(failed.get("canceled"), f"the browser cancelled the request: {failed}")
    r = b.last_reply()
    t.check(r["content"] and "stopped" in r["meta"] and r["error"] is None, f"the partial reply, marked: {r}")
    if before is not None:
        counted = False
        for _ in range(100):
            counted = (cancelled_count(ctx) or 0) > before
            if counted:
                break
            time.sleep(0.1)
        t.check(counted, "the server cancelled the generation when the client went away")
    b.click("#settings-toggle")
    b.type_into("#max_tokens", "48")
    b.type_into("#extra", "")
    b.click("#settings-toggle")
    r = b.chat("Say hello.", 60)
    t.check(r and r["content"] and not r["error"], f"the next message gets a reply: {r}")


def test_reload_and_new_chat(t, b, ctx):
    view = ("[...document.querySelectorAll('#messages .msg')].map(m => [m.className, "
            "m.querySelector('.text, .content').textContent, m.querySelector('.error')?.textContent ?? ''])")
    before = b.eval(view)
    b.call("Page.reload")
    b.wait("document.readyState === 'complete'")
    after = b.wait(f"(v => v.length === {len(before)} && v)({view})", 10)
    t.check(len(before) >= 8 and after == before, f"the conversation survives a reload: {len(before)} messages")
    t.check(b.eval("document.getElementById('system').value") == "You are terse.", "so do the settings")
    b.click("#new-chat")
    t.check(b.eval("document.querySelectorAll('#messages .msg').length") == 0, "New chat empties the conversation")
    b.call("Page.reload")
    b.wait("document.readyState === 'complete'")
    time.sleep(0.3)
    t.check(b.eval("document.querySelectorAll('#messages .msg').length") == 0, "and it stays empty")


def test_loading(t, b, ctx):
    b.call("Fetch.enable", patterns=[{"urlPattern": "*/health", "requestStage": "Request"}])
    try:
        b.call("Page.reload")
        paused = b.wait_event("Fetch.requestPaused")
        loading = {"error": {"message": "the model is still loading"}, "status": "loading"}
        b.call("Fetch.fulfillRequest", requestId=paused["requestId"], responseCode=503,
               responseHeaders=[{"name": "Content-Type", "value": "application/json"}],
               body=base64.b64encode(json.dumps(loading).encode()).decode())
        t.check(b.wait("document.getElementById('health').className === 'loading'", 5) and
                "loading" in b.eval("document.getElementById('health').textContent"), "503: shows loading")
    finally:
        b.call("Fetch.disable")
    t.check(b.wait("document.getElementById('health').className === 'ok'", 10), "then ready when health is 200")


def run_all(t, url, key):
    ctx = argparse.Namespace(url=url, key=key)
    req = urllib.request.Request(url + "/v1/models", headers={"Authorization": f"Bearer {key}"} if key else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        ctx.model = json.load(r)["data"][0]["id"]
    b = Browser()
    try:
        for fn in (test_key_and_model, test_reply, test_hostile_markdown, test_stream_errors, test_stop,
                   test_reload_and_new_chat, test_loading):
            t.run(fn, b, ctx)
        b.eval("1")  # collects the last events
        thrown = [e["params"]["exceptionDetails"] for e in b.events if e["method"] == "Runtime.exceptionThrown"]
        t.check(not thrown, f"no uncaught exception in the page: {thrown}")
        # the browser's own errors: a policy violation, ...; failed responses (401, 503) are the tests' own
        logged = [e["params"]["entry"] for e in b.events if e["method"] == "Log.entryAdded" and
                  e["params"]["entry"]["level"] == "error" and e["params"]["entry"]["source"] != "network"]
        t.check(not logged, f"no errors in the browser's log: {logged}")
    finally:
        b.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a server already running, e.g. http://127.0.0.1:8080")
    ap.add_argument("--api-key", help="its API key, if it wants one")
    a = ap.parse_args()
    t = Checks("test_server_chat_page")
    if not CHROMIUM:
        print("SKIPPED: no chromium to drive (set CHROMIUM to its path)")
    elif a.url:
        run_all(t, a.url.rstrip("/"), a.api_key)
    else:
        model = model_path()
        if model:
            s = Server(model, "--api-key", KEY)
            try:
                run_all(t, s.url, KEY)
            finally:
                t.check(s.stop() == 0, "flint serve exits 0 on SIGTERM")
    t.finish()


if __name__ == "__main__":
    main()
