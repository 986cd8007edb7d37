"""test_hostile.py — malformed and abusive requests against `flint serve`,
over raw sockets: each gets a 4xx JSON error naming the problem (or a
closed connection where HTTP allows nothing else) while /health keeps
answering and other requests complete."""
import json
import socket
import threading
import time

from harness import Checks, Server, model_path


def raw(server, data, read_timeout=30):
    """Sends bytes, half-closes nothing, returns (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=read_timeout) as s:
        s.sendall(data)
        resp = b""
        while True:
            try:
                part = s.recv(65536)
            except socket.timeout:
                break
            if not part:
                break
            resp += part
            if b"\r\n\r\n" in resp:
                head, _, body = resp.partition(b"\r\n\r\n")
                m = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length:")]
                if m and len(body) >= int(m[0].split(b":")[1]):
                    break
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith(b"HTTP/") else None
    return status, lines[1:], body


def post_bytes(path, body, extra=b""):
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + extra +
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)


def expect_error(t, s, body, status, words, path="/v1/chat/completions", what=None):
    st, _, resp = raw(s, post_bytes(path, body))
    what = what or body[:60]
    ok = st == status
    try:
        err = json.loads(resp)["error"]
        ok = ok and all(w in err["message"] for w in words)
    except (ValueError, KeyError, TypeError):
        ok = False
    t.check(ok, f"{what!r}: wanted {status} naming {words}, got {st} {resp[:300]!r}")
    t.check(s.healthy(), f"healthy after {what!r}")


READ_TIMEOUT = 4
MSG = b'"messages":[{"role":"user","content":"hi"}]'


def test_bodies(t, s):
    expect_error(t, s, b'{"model":', 400, ["invalid JSON"])
    expect_error(t, s, b'[1,2]', 400, ["JSON object"])
    expect_error(t, s, b'{"messages":"hi"}', 400, ["messages"])
    expect_error(t, s, b'{' + MSG + b',"temperature":NaN}', 400, ["invalid JSON"])
    expect_error(t, s, b'{' + MSG + b',"temperature":1e309}', 400, ["temperature"])
    expect_error(t, s, b'{' + MSG + b',"temperature":-0.5}', 400, ["temperature"])
    expect_error(t, s, b'{' + MSG + b',"temperature":"hot"}', 400, ["temperature"])
    expect_error(t, s, b'{' + MSG + b',"max_tokens":-1}', 400, ["max_tokens"])
    expect_error(t, s, b'{' + MSG + b',"top_p":7}', 400, ["top_p"])
    expect_error(t, s, b'{"messages":[{"role":"user","content":"caf\xe9 \xff"}]}', 400, [])
    expect_error(t, s, b'{"messages":[{"role":"wizard","content":"hi"}]}', 400, ["role"])
    deep = b'{"messages":' + b"[" * 100000 + b"]" * 100000 + b"}"
    expect_error(t, s, deep, 400, [], what="nesting 100,000 deep")
    many = b'{"messages":[' + b",".join([b'{"role":"user","content":"hi"}'] * 50000) + b"]}"
    expect_error(t, s, many, 400, ["messages"], what="50,000 messages")
    long_prompt = json.dumps({"prompt": "word " * 50000, "max_tokens": 4}).encode()
    expect_error(t, s, long_prompt, 400, ["maximum context length"], path="/v1/completions", what="a prompt far over the context")
    expect_error(t, s, b'{"prompt":[1,2,99999999]}', 400, ["prompt"], path="/v1/completions")
    expect_error(t, s, b'{"tokens":[-1]}', 400, ["tokens"], path="/detokenize")
    expect_error(t, s, b'{"content":5}', 400, ["content"], path="/tokenize")


def test_http_level(t, s):
    big = b'{"prompt":"' + b"a" * (20 << 20) + b'"}'
    st, _, body = raw(s, post_bytes("/v1/completions", big))
    t.check(st == 413 and b"larger than" in body, f"a 20 MB body: {st} {body[:200]!r}")
    t.check(s.healthy(), "healthy after a 20 MB body")
    st, _, body = raw(s, b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.check(st == 404 and b"error" in body, f"404: {st}")
    st, head, body = raw(s, b"DELETE /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.check(st == 405 and any(h.lower().startswith(b"allow:") for h in head), f"405: {st} {head}")
    st, _, _ = raw(s, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 200000 + b"\r\nConnection: close\r\n\r\n")
    t.check(st in (413, 431, None), f"a 200 KB header: {st}")
    t.check(s.healthy(), "healthy after a 200 KB header")
    st, _, _ = raw(s, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
    t.check(st in (400, None), f"TLS/garbage bytes: {st}")
    # a Content-Length larger than what is sent: the connection is dropped after the idle timeout
    t0 = time.time()
    with socket.create_connection(("127.0.0.1", s.port), timeout=20) as c:
        c.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"prompt\":")
        t.check(s.healthy(), "healthy while a body is missing")
        try:
            gone = c.recv(100) == b""
        except (ConnectionResetError, socket.timeout):
            gone = True
    t.check(gone and time.time() - t0 < 15, f"a short body is dropped after the idle timeout ({time.time() - t0:.1f} s)")


def chat_ok(s):
    st, body, _ = s.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4})
    return st == 200 and json.loads(body)["choices"][0]["message"]["content"] is not None


def test_slowloris(t, s):
    """8 clients sending a header a byte every 0.5 s (never silent for the
    idle timeout): the others are served meanwhile, and --read-timeout
    closes the slow ones."""
    stop = threading.Event()
    closed_after = []

    def slow():
        t0 = time.time()
        with socket.create_connection(("127.0.0.1", s.port), timeout=30) as c:
            for b in b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 1000:
                if stop.is_set():
                    return
                try:
                    c.sendall(bytes([b]))
                except OSError:
                    break
                time.sleep(0.5)
            closed_after.append(time.time() - t0)
    threads = [threading.Thread(target=slow) for _ in range(8)]
    for th in threads:
        th.start()
    time.sleep(1)
    t0 = time.time()
    results = [chat_ok(s) for _ in range(3)]
    t.check(all(results) and time.time() - t0 < 60, f"requests complete beside 8 slowloris clients: {results}")
    for th in threads:
        th.join(timeout=READ_TIMEOUT + 10)
    stop.set()
    t.check(len(closed_after) == 8 and max(closed_after) < READ_TIMEOUT + 5,
            f"--read-timeout {READ_TIMEOUT} closed the slowloris connections after {closed_after} s")


def test_connection_flood(t, s):
    socks = []
    for _ in range(1000):
        try:
            socks.append(socket.create_connection(("127.0.0.1", s.port), timeout=5))
        except OSError:
            pass
    for c in socks:
        c.close()
    time.sleep(0.5)
    t.check(s.healthy() and chat_ok(s), f"serving after 1,000 connections opened ({len(socks)}) and dropped")


def main():
    t = Checks("test_server_hostile")
    model = model_path()
    if model:
        s = Server(model, "--idle-timeout", "3", "--read-timeout", str(READ_TIMEOUT))
        try:
            for fn in (test_bodies, test_http_level, test_slowloris, test_connection_flood):
                t.run(fn, s)
        finally:
            t.check(s.stop() == 0, "exits 0 on SIGTERM")
    t.finish()


if __name__ == "__main__":
    main()
