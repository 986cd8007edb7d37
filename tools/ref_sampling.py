#!/usr/bin/env python3
"""ref_sampling.py — an independent NumPy reference for flint's sampler and
stop strings; writes tests/fixtures/sampling/{sampling,stops}.txt, which
tests/test_sample.c and tests/test_stop.c compare flint to.

Written from the definitions, not from flint's code:
  - logit bias: added to the logits before anything else (OpenAI logit_bias);
  - penalties over the last penalty_last_n tokens (0: 64, -1: all), for a
    token seen c > 0 times: llama.cpp's repetition penalty (divide a
    positive logit by r, multiply a negative one), then OpenAI's
    mu -= c * frequency_penalty + presence_penalty (float32 throughout, as
    the logits are float32);
  - greedy: the highest adjusted logit, the lowest id on ties (np.argmax);
  - the chain of llama.cpp: top-k -> top-p (smallest head whose softmax mass
    reaches p) -> min-p (p >= min_p * p_max) on the untempered distribution,
    then the softmax at the temperature over what is left (float64);
  - log-probs: the log-softmax of the raw logits (vLLM's raw_logprobs), the
    top N by logit with the lowest id first on ties;
  - stop strings: concatenate the pieces, cut at the earliest occurrence of
    any stop string.

The logits are random (vocabulary 262144) and regenerated from a seed by
the same integer recipe in tests/test_sample.c (gen_logits), so the fixture
stays small; every value is an integer times a power of two, exact in
float32. Only numpy is needed.
"""
import os
import sys

import numpy as np

V = 262144
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "sampling")
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
LISTED = 200  # candidates written per distribution (all of them when fewer)


def gen_logits(seed, shift):
    """Token i: z = splitmix64's (i+1)-th output from state seed. One in 4096
    tokens ((z >> 8) & 0xfff == 0) is a 'head' token with logit
    (2^20 + ((z >> 20) & 0xfffff)) * 2^(shift-18), in [4, 8) * 2^shift; the
    rest (int(z >> 40) - 2^24) * 2^(shift-21), in [-8, 0) * 2^shift."""
    with np.errstate(over="ignore"):
        x = np.uint64(seed) + np.arange(1, V + 1, dtype=np.uint64) * GOLDEN
        z = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    head = ((z >> np.uint64(8)) & np.uint64(0xFFF)) == 0
    base = ((z >> np.uint64(40)).astype(np.int64) - (1 << 24)).astype(np.float64) * 2.0 ** (shift - 21)
    top = ((1 << 20) + ((z >> np.uint64(20)) & np.uint64(0xFFFFF)).astype(np.int64)).astype(np.float64) * 2.0 ** (
        shift - 18
    )
    out = np.where(head, top, base)
    f = out.astype(np.float32)
    assert np.all(f.astype(np.float64) == out), "logits must be exact in float32"
    return f


def adjusted(raw, p, history):
    """Logits after the bias and the penalties (float32)."""
    l = np.where(np.isnan(raw), np.float32(-np.inf), raw).astype(np.float32)
    for tok, b in p["bias"]:
        l[tok] = np.float32(l[tok] + np.float32(b))
    last_n = p["last_n"]
    window = history if last_n == -1 else history[-(64 if last_n == 0 else last_n):]
    toks, counts = np.unique(np.array(window, dtype=np.int64), return_counts=True)
    r = np.float32(p["rep"])
    for tok, c in zip(toks, counts):
        v = l[tok]
        if r != 0 and r != 1:
            v = v / r if v > 0 else v * r
        v = np.float32(v - (np.float32(c) * np.float32(p["freq"]) + np.float32(p["pres"])))
        l[tok] = v
    return l


def greedy(l):
    t = int(np.argmax(l))  # the first index of the maximum: the lowest id on ties
    return -1 if l[t] == -np.inf else t


def logprobs(raw, n):
    x = raw.astype(np.float64)
    m = x.max()
    lse = m + np.log(np.sum(np.exp(x - m)))
    order = np.lexsort((np.arange(V), -x))[:n]
    return x - lse, [(int(i), float(x[i] - lse)) for i in order]


def dist(l, p):
    """The candidates left and their probabilities at the temperature."""
    if p["temp"] <= 0:
        t = greedy(l)
        return [(t, 1.0)] if t >= 0 else []
    order = np.lexsort((np.arange(V), -l))  # descending logit, ascending id
    if 0 < p["top_k"] < V:
        order = order[: p["top_k"]]
    x = l[order].astype(np.float64)
    if 0 < p["top_p"] < 1:
        q = np.exp(x - x[0])
        q /= q.sum()
        cum = np.cumsum(q)
        keep = int(np.argmax(cum >= np.float64(np.float32(p["top_p"])))) + 1 if cum[-1] >= p["top_p"] else len(x)
        order, x = order[:keep], x[:keep]
    if p["min_p"] > 0:
        q = np.exp(x - x[0])  # p_i / p_max
        sel = q >= np.float64(np.float32(p["min_p"]))
        order, x = order[sel], x[sel]
    w = np.exp((x - x[0]) / np.float64(np.float32(p["temp"])))
    return list(zip(order.tolist(), (w / w.sum()).tolist()))


def f32(v):
    """A float32 parameter, written so that strtof reads the same value."""
    return repr(float(np.float32(v)))


def params_text(p):
    bias = " ".join(f"{t} {f32(b)}" for t, b in p["bias"])
    hist = " ".join(str(t) for t in p["hist"])
    return (
        f"temp {f32(p['temp'])} top_k {p['top_k']} top_p {f32(p['top_p'])} min_p {f32(p['min_p'])} "
        f"rep {f32(p['rep'])} pres {f32(p['pres'])} freq {f32(p['freq'])} last_n {p['last_n']} "
        f"bias {len(p['bias'])} {bias} hist {len(p['hist'])} {hist}"
    ).replace("  ", " ")


def main():
    rng = np.random.default_rng(20240611)
    rows = [(1, 0), (2, 1), (3, -1)]  # (seed, shift)
    logits = [gen_logits(s, sh) for s, sh in rows]
    lines = [
        "# written by tools/ref_sampling.py (make fixtures); logits regenerated from (seed, shift)",
        f"vocab {V}",
    ]
    for i, (s, sh) in enumerate(rows):
        lines.append(f"row {i} seed {s} shift {sh}")

    def params(**kw):
        p = dict(temp=0.0, top_k=0, top_p=0.0, min_p=0.0, rep=1.0, pres=0.0, freq=0.0, last_n=0, bias=[], hist=[])
        p.update(kw)
        for k in ("temp", "top_p", "min_p", "rep", "pres", "freq"):
            p[k] = float(np.float32(p[k]))
        p["bias"] = [(t, float(np.float32(b))) for t, b in p["bias"]]
        return p

    def history(raw, n):
        """A history drawn mostly from the best tokens, so the penalties bite."""
        best = np.argsort(-raw, kind="stable")[:12]
        return [int(best[rng.integers(len(best))]) if rng.random() < 0.7 else int(rng.integers(V)) for _ in range(n)]

    # greedy with penalties and bias
    for case in range(36):
        r = case % 3
        raw = logits[r]
        order = np.argsort(-raw, kind="stable")
        bias = [(int(rng.integers(V)), float(rng.uniform(-5, 5))) for _ in range(rng.integers(0, 4))]
        if case % 6 == 1:
            bias.append((int(order[0]), -np.inf))  # ban the favourite
        if case % 6 == 2:  # a tie at the top: the lower id must win
            a, b = int(order[0]), int(order[1])
            bias.append((b, float(raw[a] - raw[b])))
        if case % 6 == 3:
            bias.append((int(order[3]), 1.0))
            bias.append((int(order[3]), 0.5))  # listed twice: both apply
        p = params(
            rep=[1.0, 1.1, 1.3, 0.8, 0.0, 2.0][case % 6],
            pres=float(rng.uniform(-2, 2)) if case % 2 else 0.0,
            freq=float(rng.uniform(-2, 2)) if case % 3 else 0.0,
            last_n=[0, -1, 1, 8, 64, 200][case % 6],
            bias=bias,
            hist=[] if case % 6 == 2 else history(raw, int(rng.integers(0, 150))),
        )
        l = adjusted(raw, p, p["hist"])
        lines.append(f"greedy row {r} {params_text(p)} expect {greedy(l)}")

    # log-probs of the raw logits
    for r, raw in enumerate(logits):
        order = np.argsort(-raw, kind="stable")
        for tok, n in ((int(order[0]), 20), (int(order[5]), 5), (int(rng.integers(V)), 1), (int(order[1]), 0)):
            lp, top = logprobs(raw, n)
            tops = " ".join(f"{t} {v!r}" for t, v in top)
            lines.append(f"logprobs row {r} token {tok} n {n} lp {float(lp[tok])!r} top {tops}".rstrip())

    # the final distribution
    combos = [
        dict(temp=1.0, top_k=40),
        dict(temp=0.7, top_k=40, top_p=0.95, min_p=0.05),
        dict(temp=1.0, top_k=1000),
        dict(temp=1.3, top_p=0.5),
        dict(temp=0.8, top_p=0.9),
        dict(temp=1.0, min_p=0.1),
        dict(temp=0.5, min_p=0.02, top_k=300),
        dict(temp=1.0, top_k=64, top_p=0.3, rep=1.3, pres=0.5, freq=0.4),
        dict(temp=2.0, top_k=50, min_p=0.2, bias=[(7, 9.0), (9, -np.inf)]),
        dict(temp=0.0, rep=1.1),
        dict(temp=1.0, top_p=0.999, min_p=0.5),
        dict(temp=0.9, top_k=128, pres=-1.5, freq=-0.5, last_n=-1),
    ]
    for i, c in enumerate(combos):
        for r in range(3) if i % 4 == 0 else (i % 3,):
            raw = logits[r]
            if c.get("bias") == [(7, 9.0), (9, -np.inf)]:  # bias the head's best two
                order = np.argsort(-raw, kind="stable")
                c = dict(c, bias=[(int(order[7]), 9.0), (int(order[0]), -np.inf)])
            hist = history(raw, 40) if (c.get("rep", 1) != 1 or c.get("pres") or c.get("freq")) else []
            p = params(**dict(c, hist=hist))
            d = dist(adjusted(raw, p, hist), p)
            idsum = sum(t for t, _ in d)
            listed = " ".join(f"{t} {pr!r}" for t, pr in d[:LISTED])
            lines.append(f"dist row {r} {params_text(p)} n {len(d)} idsum {idsum} listed {min(len(d), LISTED)} {listed}")

    # boundaries: min_p and top_p a float32 step below the 6th candidate's
    # ratio p/p_max and cumulative mass, so that it is just kept
    for r in (0, 1):
        raw = logits[r]
        x = np.sort(raw.astype(np.float64))[::-1]
        ratio = np.exp(x[5] - x[0])
        cum = np.cumsum(np.exp(x - x[0]) / np.sum(np.exp(x - x[0])))[5]
        for key, v in (("min_p", ratio), ("top_p", cum)):
            f = np.float32(v)
            if f >= v:
                f = np.nextafter(f, np.float32(0))
            p = params(temp=1.0, **{key: float(f)})
            d = dist(adjusted(raw, p, []), p)
            assert len(d) == 6, (key, len(d))
            listed = " ".join(f"{t} {pr!r}" for t, pr in d)
            lines.append(f"dist row {r} {params_text(p)} n {len(d)} idsum {sum(t for t, _ in d)} listed {len(d)} {listed}")

    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "sampling.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    # stop strings: hand-picked sets and random ones; strings and pieces in hex
    stop_lines = ["# written by tools/ref_sampling.py: stop strings (hex), pieces (hex, '-' empty), the text shown"]

    def stop_case(stops, pieces):
        text = b"".join(pieces)
        hits = [text.find(s) for s in stops if text.find(s) >= 0]
        shown = text[: min(hits)] if hits else text
        hx = lambda b: b.hex() if b else "-"
        stop_lines.append(
            f"stops {len(stops)} {' '.join(s.hex() for s in stops)} pieces {len(pieces)} "
            f"{' '.join(hx(p) for p in pieces)} shown {hx(shown)}"
        )

    stop_case([b"</s>"], [b"Hello", b" world", b"</", b"s", b">", b"tail"])
    stop_case([b"<|im_end|>", b"\n\nUser:"], [b"Sure", b".\n", b"\nUs", b"er", b": more"])
    stop_case([b"abcd", b"bc"], [b"xab", b"c", b"d"])
    stop_case([b"abcd", b"bc"], [b"xab", b"c", b"e"])
    stop_case(["é!".encode(), b"!!"], ["caf".encode(), b"\xc3", b"\xa9", b"!"])
    alphabet = [b"a", b"b", b"c", "é".encode(), b" "]
    for _ in range(120):
        stops = list(
            {b"".join(alphabet[k] for k in rng.integers(0, 3, rng.integers(1, 5))) for _ in range(rng.integers(1, 4))}
        )
        text = b"".join(alphabet[k] for k in rng.integers(0, 5, rng.integers(0, 40)))
        cuts = sorted(rng.integers(0, len(text) + 1, rng.integers(0, 8)).tolist())
        pieces = [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]
        stop_case(stops, pieces)
    with open(os.path.join(OUT, "stops.txt"), "w") as f:
        f.write("\n".join(stop_lines) + "\n")
    print(f"wrote {OUT}/sampling.txt ({len(lines)} lines), stops.txt ({len(stop_lines)} lines)")


if __name__ == "__main__":
    sys.exit(main())
