#!/usr/bin/env python3
"""bench_tokenizer.py — flint's encoder against the `tokenizers` library,
side by side on the same machine and the same 10 MB text, with the same
vocabulary (GPT-2 byte-level BPE from ../shared/tokenizer-vectors, rebuilt
as a tokenizers.Tokenizer from the GGUF's tokens and merges). Prints the
median of 5 runs of each (single string, one thread each) and checks that
both give the same ids. Needs build/bench/bench_tokenizer (make bench) or
the path in FLINT_BENCH. Run from the repository root."""
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from gguf import GGUFReader
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

VOCAB = "../shared/tokenizer-vectors/ggml-vocab-gpt-2.gguf"


def load_hf():
    r = GGUFReader(VOCAB)
    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    toks, merges = strings("tokenizer.ggml.tokens"), strings("tokenizer.ggml.merges")
    vocab = {t: i for i, t in enumerate(toks)}
    tok = Tokenizer(models.BPE(vocab, [tuple(m.split(" ", 1)) for m in merges]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def make_text(size):
    rnd = random.Random(1234)
    here = os.path.dirname(os.path.abspath(__file__))
    src = []
    for root in ("src", "docs", "tools"):
        for dp, _, fs in os.walk(os.path.join(here, "..", root)):
            for f in sorted(fs):
                if f.endswith((".c", ".h", ".md", ".py")):
                    src.append(open(os.path.join(dp, f), encoding="utf-8", errors="replace").read())
    extra = ["机器学习是人工智能的一个分支。", "Привет, мир! ", "مرحبا بالعالم ", "😀🦙 ", "naïve café déjà vu "]
    parts, n = [], 0
    while n < size:
        s = rnd.choice(src)
        a = rnd.randrange(max(1, len(s) - 4000))
        piece = s[a:a + 4000] + rnd.choice(extra)
        parts.append(piece)
        n += len(piece.encode())
    return "".join(parts).encode()[:size].decode("utf-8", errors="ignore")


def main():
    text = make_text(10 << 20)
    data = text.encode()
    tok = load_hf()
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        ids = tok.encode(text, add_special_tokens=False).ids
        times.append(time.perf_counter() - t0)
    hf = statistics.median(times)
    print(f"tokenizers {__import__('tokenizers').__version__}: {len(data)/1e6:.1f} MB, {len(ids)} ids, "
          f"median {hf:.3f} s = {len(data)/1e6/hf:.1f} MB/s (min {min(times):.3f}, max {max(times):.3f})")
    # tokenizers is slow on one huge string; also time it on the same text
    # cut into lines, one call per line (one thread) and batched (all cores)
    lines = text.splitlines(keepends=True)
    for name, fn in (("per line, 1 thread", lambda: [tok.encode(l, add_special_tokens=False) for l in lines]),
                     ("encode_batch, %d cores" % os.cpu_count(), lambda: tok.encode_batch(lines, add_special_tokens=False))):
        ts = []
        for _ in range(5):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        m = statistics.median(ts)
        print(f"tokenizers {name}: median {m:.3f} s = {len(data)/1e6/m:.1f} MB/s (min {min(ts):.3f}, max {max(ts):.3f})")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "text.txt")
        open(path, "wb").write(data)
        out = os.path.join(d, "ids.bin")
        exe = os.environ.get("FLINT_BENCH", "build/bench/bench_tokenizer")
        r = subprocess.run([exe, VOCAB, path], capture_output=True, text=True, env={**os.environ, "BENCH_IDS_OUT": out})
        print("flint", r.stdout.strip(), r.stderr.strip())
        got = np.fromfile(out, dtype=np.int32)
        same = len(got) == len(ids) and bool((got == np.array(ids, dtype=np.int32)).all())
        print("same ids:", same)
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
