#!/usr/bin/env python3
"""serve_load.py — load on an OpenAI-compatible server (flint serve or
llama-server): N concurrent streaming chat clients with mixed prompt
lengths, each request greedy with a fixed max_tokens and ignore_eos, so
every server generates the same number of tokens. Reports aggregate
generated tokens/s, time to first token and inter-token latency (p50, p99)
and errors, one JSON line with --json.

    bench/serve_load.py --url http://127.0.0.1:8080 --clients 64 --requests 128 --max-tokens 64

Python's standard library only; tokens are counted from the server's usage
chunk (stream_options.include_usage)."""
import argparse
import http.client
import json
import random
import threading
import time
import urllib.parse

WORDS = ("the sea river mountain light city story machine garden winter music number science window road "
         "history friend language market summer").split()


def prompt(rng, n_words):
    return "Continue this text: " + " ".join(rng.choice(WORDS) for _ in range(n_words))


def one_request(url, body, out):
    u = urllib.parse.urlparse(url)
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    if r.status != 200:
        out.append({"error": f"HTTP {r.status}: {r.read()[:200]!r}"})
        return
    first, stamps, usage, buf = None, [], None, b""
    while True:
        line = r.readline()
        if not line:
            break
        if not line.startswith(b"data: "):
            continue
        data = line[6:].strip()
        if data == b"[DONE]":
            break
        ev = json.loads(data)
        if "error" in ev:
            out.append({"error": str(ev["error"])})
            return
        if ev.get("usage"):
            usage = ev["usage"]
        for ch in ev.get("choices", []):
            if ch.get("delta", {}).get("content"):
                now = time.perf_counter()
                first = first or now
                stamps.append(now)
    conn.close()
    end = time.perf_counter()
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    out.append({"ttft": (first or end) - t0, "gaps": gaps, "tokens": usage["completion_tokens"] if usage else 0,
                "end": end})


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--requests", type=int, default=128)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--min-words", type=int, default=8)
    ap.add_argument("--max-words", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    bodies = [{"model": "m", "messages": [{"role": "user", "content": prompt(rng, rng.randint(a.min_words, a.max_words))}],
               "max_tokens": a.max_tokens, "temperature": 0, "ignore_eos": True, "stream": True,
               "stream_options": {"include_usage": True}} for _ in range(a.requests)]
    results, lock, next_i = [], threading.Lock(), [0]

    def worker():
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= len(bodies):
                return
            out = []
            one_request(a.url, bodies[i], out)
            with lock:
                results.extend(out)
    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(a.clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    ok = [r for r in results if "error" not in r]
    errors = [r["error"] for r in results if "error" in r]
    gaps = [g for r in ok for g in r["gaps"]]
    rep = {"url": a.url, "clients": a.clients, "requests": a.requests, "completed": len(ok), "errors": len(errors),
           "generated_tokens": sum(r["tokens"] for r in ok), "wall_s": round(wall, 2),
           "tokens_per_s": round(sum(r["tokens"] for r in ok) / wall, 2),
           "ttft_p50_s": round(pct([r["ttft"] for r in ok], 50), 3), "ttft_p99_s": round(pct([r["ttft"] for r in ok], 99), 3),
           "itl_p50_ms": round(1000 * pct(gaps, 50), 1), "itl_p99_ms": round(1000 * pct(gaps, 99), 1)}
    if a.json:
        print(json.dumps(rep))
    else:
        for k, v in rep.items():
            print(f"{k:18} {v}")
        for e in errors[:5]:
            print("error:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
