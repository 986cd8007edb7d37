#!/usr/bin/env python3
"""Manifests of what llama.cpp makes of the committed HF fixtures, for tests/test_convert.c.

For each fixture folder: llama.cpp's convert_hf_to_gguf.py (LLAMA_CPP, default /tmp/llama.cpp)
writes F32, F16, BF16 and Q8_0 GGUFs, and llama-quantize turns the F32 one into Q4_0, Q4_K, Q5_K,
Q6_K, Q4_K_M and Q5_K_M (Q4_K and Q5_K as `--pure`: every quantizable tensor of that type); a
last run requantizes the Q8_0 file's... no: the F32 GGUF of gemma3/a to Q8_0 (a GGUF source).
Each output is described, as the gguf package's GGUFReader reads it, in
tests/fixtures/convert/<fixture>-<type>.txt:

    kv <key> <value type> <fnv1a64 of the value's GGUF bytes after its type tag>  # value
    tensor <name> <type> <ne0,ne1,...> <fnv1a64 of the data>

The GGUF files themselves are not kept (size).

The fixtures carry no tokenizer, and the converter cannot run without one, so its set_vocab is
replaced by a no-op (flint converts such a folder without tokenizer keys, with a warning); a
tokenizer.json listing vocab_size tokens sits beside the copy so that Gemma 3's trimming of
embedding rows past the vocabulary keeps them all, as flint does without a tokenizer.
"""
import hashlib, importlib, json, os, pkgutil, shutil, subprocess, sys, tempfile

LLAMA = os.environ.get("LLAMA_CPP", "/tmp/llama.cpp")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "convert")
FIXTURES = sys.argv[1:] or ["gemma1/a", "gemma2/a", "gemma3/a", "gemma4/a", "gemma4/b", "qwen35/dense", "qwen35/moe"]
CONVERTER_TYPES = ["f32", "f16", "bf16", "q8_0"]
QUANTIZE_TYPES = {"q4_0": ["Q4_0"], "q4_k": ["--pure", "Q4_K_M"], "q5_k": ["--pure", "Q5_K_M"],
                  "q6_k": ["Q6_K"], "q4_k_m": ["Q4_K_M"], "q5_k_m": ["Q5_K_M"]}

# Runs the converter in a child with set_vocab stubbed (argv: the converter's own arguments).
CHILD = r"""
import sys, runpy, importlib, pkgutil
sys.path[:0] = [LLAMA, LLAMA + "/gguf-py"]
import conversion, conversion.base as base
def no_vocab(self):
    pass
for m in pkgutil.iter_modules(conversion.__path__):
    mod = importlib.import_module("conversion." + m.name)
    for obj in vars(mod).values():
        if isinstance(obj, type) and issubclass(obj, base.ModelBase) and "set_vocab" in vars(obj):
            obj.set_vocab = no_vocab
base.TextModel.set_vocab = no_vocab
sys.argv = ["convert_hf_to_gguf.py"] + sys.argv[1:]
runpy.run_path(LLAMA + "/convert_hf_to_gguf.py", run_name="__main__")
"""


def fnv1a64(data: bytes) -> str:
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return f"{h:016x}"


def fnv(data: bytes) -> str:
    # the pure-Python loop is slow on megabytes: hash through numpy in 8-byte lanes? No -- keep
    # one definition; the files are small.
    return fnv1a64(data)


def manifest(path, out):
    sys.path[:0] = [LLAMA + "/gguf-py"]
    from gguf import GGUFReader, GGUFValueType
    r = GGUFReader(path)
    lines = []
    for f in r.fields.values():
        if f.name.startswith("GGUF."):
            continue
        vtype = GGUFValueType(int(f.parts[2][0])).name
        body = b"".join(bytes(p.tobytes()) for p in f.parts[3:])
        if f.types[0] == GGUFValueType.ARRAY:
            shown = f"array of {len(f.data)} {f.types[-1].name}"
        else:
            v = f.contents()
            shown = repr(v)[:80]
        lines.append(f"kv {f.name} {vtype} {fnv(body)}  # {shown}")
    for t in r.tensors:
        shape = ",".join(str(int(n)) for n in t.shape)
        lines.append(f"tensor {t.name} {t.tensor_type.name} {shape} {fnv(bytes(t.data.tobytes()))}")
    with open(out, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def prepared_copy(src, tmp):
    d = os.path.join(tmp, src.replace("/", "-"))
    shutil.copytree(os.path.join(ROOT, "tests", "fixtures", src), d)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    n_vocab = cfg.get("text_config", cfg)["vocab_size"]
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        json.dump({"model": {"vocab": {f"t{i}": i for i in range(n_vocab)}}, "added_tokens": []}, f)
    return d


def no_mtp(d):
    """--no-mtp for a Qwen3.5 config without MTP layers (the converter asserts it finds some)."""
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    text = cfg.get("text_config", cfg)
    return ["--no-mtp"] if "mtp_num_hidden_layers" in text and not text["mtp_num_hidden_layers"] else []


def main():
    os.makedirs(OUT, exist_ok=True)
    quantize = os.path.join(LLAMA, "build", "bin", "llama-quantize")
    env = dict(os.environ, PYTHONPATH=LLAMA + "/gguf-py")
    with tempfile.TemporaryDirectory() as tmp:
        for fx in FIXTURES:
            d = prepared_copy(fx, tmp)
            tag = fx.replace("/", "-")
            for t in CONVERTER_TYPES:
                g = os.path.join(tmp, f"{tag}-{t}.gguf")
                subprocess.run([sys.executable, "-c", f"LLAMA={LLAMA!r}\n" + CHILD, d,
                                "--outfile", g, "--outtype", t] + no_mtp(d), check=True, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                manifest(g, os.path.join(OUT, f"{tag}-{t}.txt"))
            f32 = os.path.join(tmp, f"{tag}-f32.gguf")
            for t, args in QUANTIZE_TYPES.items():
                g = os.path.join(tmp, f"{tag}-{t}.gguf")
                r = subprocess.run([quantize] + args[:-1] + [f32, g, args[-1]],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                out = os.path.join(OUT, f"{tag}-{t}.txt")
                if r.returncode != 0:  # llama-quantize refuses: flint must refuse too
                    why = [l for l in r.stderr.splitlines() if "failed to quantize:" in l][0]
                    with open(out, "w") as fh:
                        fh.write("error " + why.split("failed to quantize: ")[1] + "\n")
                    continue
                manifest(g, out)
            print(fx, "done")


if __name__ == "__main__":
    main()
