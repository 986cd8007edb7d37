#!/usr/bin/env python3
"""Manifests of what llama.cpp makes of the committed HF fixtures, for tests/test_convert.c.

For each fixture folder: llama.cpp's convert_hf_to_gguf.py (LLAMA_CPP, default /tmp/llama.cpp)
writes F32, F16, BF16 and Q8_0 GGUFs, and llama-quantize turns the F32 one into Q4_0, Q4_K, Q5_K,
Q6_K, Q4_K_M and Q5_K_M (Q4_K and Q5_K as `--pure`: every quantizable tensor of that type); a
few llama-quantize runs on committed GGUF fixtures (GGUF_SOURCES) give the GGUF-source cases, and
convert/wide (made here once: a Gemma 3 with 256-wide rows) the K-quant blocks that 64-wide rows
never reach; the SPM_FIXTURES cases add a SentencePiece tokenizer and run the converter unchanged.
Each output is described, as the gguf package's GGUFReader reads it, in
tests/fixtures/convert/<fixture>-<type>.txt:

    kv <key> <value type> <fnv1a64 of the value's GGUF bytes after its type tag>  # value
    tensor <name> <type> <ne0,ne1,...> <fnv1a64 of the data> [<ssm_a: each f32's bits, hex>]

The GGUF files themselves are not kept (size).

The fixtures carry no tokenizer, and the converter cannot run without one, so its set_vocab is
replaced by a no-op (flint converts such a folder without tokenizer keys, with a warning); a
tokenizer.json listing vocab_size tokens sits beside the copy so that Gemma 3's trimming of
embedding rows past the vocabulary keeps them all, as flint does without a tokenizer.
"""
import json, os, shutil, subprocess, sys, tempfile

LLAMA = os.environ.get("LLAMA_CPP", "/tmp/llama.cpp")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "convert")
FIXTURES = ["gemma1/a", "gemma2/a", "gemma3/a", "gemma4/a", "gemma4/b", "qwen35/dense", "qwen35/moe", "convert/wide",
            "convert/mtp"]
# With a tokenizer: these folders plus tests/fixtures/tok/spm's tokenizer files, converted by the
# converter itself (no stub), manifests "spm-<fixture>-<type>.txt".
SPM_FIXTURES = ["gemma1/a", "gemma2/a", "gemma3/a"]
SPM_FILES = ["tokenizer.model", "tokenizer.json", "tokenizer_config.json"]
# tokenizer.json only (the converter's BPE paths): (manifest tag, model fixture, tests/fixtures/tok/<name>,
# pre-tokenizer name or None). The model fixture is copied to tests/fixtures/convert/<tag> with its
# vocabulary-sized rows grown (random) to the tokenizer's size, which the converter requires. Qwen3.5's
# pre-tokenizer is named by a hash of what the tokenizer makes of a check text; the small tok/bytelevel
# vocabulary (Qwen3.5's pre-tokenizer, 854 tokens) hashes to nothing the converter knows, so for it
# the converter runs with only get_vocab_base_pre patched to return the family's name ("qwen35", what
# it returns for the real Qwen3.5 tokenizer's hash). Gemma 4 names no pre-tokenizer: unmodified. A
# chat_template.jinja in the model folder (bpe-qwen35: a short ChatML template) is copied too.
BPE_FIXTURES = [("bpe-qwen35", "qwen35/dense", "bytelevel", "qwen35"), ("bpe-gemma4", "gemma4/a", "gemma4", None)]
BPE_FILES = ["tokenizer.json", "tokenizer_config.json"]
# GGUF sources: llama-quantize's own requantization of committed fixture files.
GGUF_SOURCES = [("gemma3/a/model-f32.gguf", "q8_0", ["Q8_0"]), ("gemma3/a/model-f32.gguf", "q4_k_m", ["Q4_K_M"]),
                ("gemma3/a/model-q8_0.gguf", "q4_0", ["--allow-requantize", "Q4_0"])]
CONVERTER_TYPES = ["f32", "f16", "bf16", "q8_0"]
QUANTIZE_TYPES = {"q4_0": ["Q4_0"], "q4_k": ["--pure", "Q4_K_M"], "q5_k": ["--pure", "Q5_K_M"],
                  "q6_k": ["Q6_K"], "q4_k_m": ["Q4_K_M"], "q5_k_m": ["Q5_K_M"]}

# MLX sources (tests/fixtures/mlx/<name>, made by gen_mlx_fixtures.py): manifests "mlx-<name>-<type>.txt"
# of the converter's output on an HF folder that mlx-lm itself dequantized (see mlx_reference).
MLX_FIXTURES = ["qwen35-q8-g32-f32", "qwen35moe-q5-g32", "gemma3-q4", "gemma3-q3-g32-f16", "gemma4a-q4-g32", "gemma4b-q4",
               "gemma3-q8", "gemma4b-nvfp4", "qwen35-mixed26", "qwen35-bf16", "qwen35moe-mxfp4"]
MLX_TYPES = ["f32", "q8_0", "q4_k_m"]

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

# Runs the converter with get_vocab_base_pre returning PRE (argv: the converter's own arguments).
PRE_CHILD = r"""
import sys, runpy
sys.path[:0] = [LLAMA, LLAMA + "/gguf-py"]
import conversion.base as base
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: PRE
sys.argv = ["convert_hf_to_gguf.py"] + sys.argv[1:]
runpy.run_path(LLAMA + "/convert_hf_to_gguf.py", run_name="__main__")
"""


def fnv(data: bytes) -> str:
    """FNV-1a, 64 bits: simple enough to write again in the C test."""
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return f"{h:016x}"


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
        line = f"tensor {t.name} {t.tensor_type.name} {shape} {fnv(bytes(t.data.tobytes()))}"
        if t.name.endswith(".ssm_a"):  # -exp(A_log): torch's exp is not correctly rounded; the bits let
            line += " " + ",".join(f"{u:08x}" for u in t.data.view("<u4"))  # the test measure by how much
        lines.append(line)
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


def make_wide(d):
    """convert/wide: a Gemma 3 whose rows are 256 wide, so that the K-quants are not all replaced by
    llama-quantize's fallbacks for rows narrower than a super-block (the other fixtures are 64 wide)."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig
    cfg = Gemma3TextConfig(vocab_size=256, hidden_size=256, intermediate_size=256, num_hidden_layers=2,
                           num_attention_heads=2, num_key_value_heads=1, head_dim=128, max_position_embeddings=1024,
                           sliding_window=16, layer_types=["sliding_attention", "full_attention"],
                           tie_word_embeddings=True)
    torch.manual_seed(20)
    model = Gemma3ForCausalLM(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(0.2 * torch.randn_like(p) if name.endswith("norm.weight") else torch.randn_like(p) / p.shape[-1] ** 0.5)
    model.to(torch.bfloat16).save_pretrained(d, safe_serialization=True)
    os.remove(os.path.join(d, "generation_config.json"))
    # as the other fixtures' configs: an empty model id, from which the converter derives no general.name
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"_name_or_path": "", **cfg}, f, indent=2)
        f.write("\n")


def make_mtp(d):
    """convert/mtp: qwen35/dense cut to its first 4 layers (3 DeltaNet, 1 attention) plus one MTP
    layer as Qwen3.5 checkpoints store it (mtp.fc, mtp.pre_fc_norm_*, mtp.norm, mtp.layers.0.*:
    an attention layer), random, for the converter's MTP handling."""
    import torch
    from safetensors.torch import load_file, save_file
    src = os.path.join(ROOT, "tests", "fixtures", "qwen35", "dense")
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    text = cfg["text_config"]
    text["num_hidden_layers"] = 4
    text["layer_types"] = text["layer_types"][:4]
    text["mtp_num_hidden_layers"] = 1
    sd = load_file(os.path.join(src, "model.safetensors"))
    keep = {}
    for k, v in sd.items():
        parts = k.split(".")
        if k.startswith("model.visual.") or ("layers" in parts and int(parts[parts.index("layers") + 1]) >= 4):
            continue
        keep[k] = v
    torch.manual_seed(35)
    h = text["hidden_size"]
    full = "model.language_model.layers.3."
    for k, v in sd.items():
        if k.startswith(full):
            keep["mtp.layers.0." + k[len(full):]] = (torch.randn(v.shape) * 0.1).to(v.dtype)
    for name, shape in [("fc.weight", (h, 2 * h)), ("pre_fc_norm_embedding.weight", (h,)),
                        ("pre_fc_norm_hidden.weight", (h,)), ("norm.weight", (h,))]:
        keep["mtp." + name] = (torch.randn(shape) * 0.1).to(torch.bfloat16)
    os.makedirs(d, exist_ok=True)
    save_file(keep, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def make_bpe_model(src, tok, d):
    """A copy of fixture src whose vocabulary is tok's: config vocab_size(s) and the embedding /
    output rows grown with random rows (the first rows kept), in bfloat16."""
    import torch
    from safetensors.torch import load_file, save_file
    with open(os.path.join(ROOT, "tests", "fixtures", "tok", tok, "tokenizer.json")) as f:
        tj = json.load(f)
    n = max(list(tj["model"]["vocab"].values()) + [a["id"] for a in tj["added_tokens"]]) + 1
    with open(os.path.join(ROOT, "tests", "fixtures", src, "config.json")) as f:
        cfg = json.load(f)
    text = cfg.get("text_config", cfg)
    old = text["vocab_size"]
    for key in ["vocab_size", "vocab_size_per_layer_input"]:
        if key in text:
            text[key] = n
    sd = load_file(os.path.join(ROOT, "tests", "fixtures", src, "model.safetensors"))
    torch.manual_seed(21)
    for k, v in sd.items():
        if any(k.endswith(x) for x in ["embed_tokens.weight", "embed_tokens_per_layer.weight", "lm_head.weight"]):
            assert v.shape[0] == old
            extra = torch.randn(n - old, *v.shape[1:]) * v.float().std()
            sd[k] = torch.cat([v, extra.to(v.dtype)])
    sd = {k: v.to(torch.bfloat16) if v.is_floating_point() else v for k, v in sd.items()}  # (size)
    os.makedirs(d, exist_ok=True)
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def mlx_reference(name, d):
    """An HF folder d from the MLX folder tests/fixtures/mlx/<name>: mlx-lm loads it (load_model), every
    floating parameter is cast to float32 (scales and biases included, so that dequantization computes
    in float32: exact for float32 scales), mlx_lm.utils.dequantize_model dequantizes it, and its
    dequantized parameters are saved in float32, the others in their stored type. What mlx-lm's Qwen3.5 sanitize changed is undone so that the
    converter reads the HF form: the names back to the checkpoint's (model.language_model.*, lm_head),
    the experts' switch_mlp (Qwen3.5) and switch_glu (Gemma 4) gate/up halves joined again into
    experts.gate_up_proj, conv1d [C, K, 1] ->
    [C, 1, K], and 1 taken off the norms it raised (input/post-attention, q/k and final norms; kept in
    float32, where x - 1 is exact for x in [0.5, 2] by Sterbenz's lemma, and the converter's + 1 gives x
    back). The config loses its quantization
    block."""
    import mlx.core as mx
    import numpy as np
    from pathlib import Path
    from mlx.utils import tree_flatten, tree_map
    from mlx_lm.utils import load_model, dequantize_model
    from safetensors.numpy import save_file
    src = os.path.join(ROOT, "tests", "fixtures", "mlx", name)
    import torch
    from safetensors.torch import save_file
    model, cfg = load_model(Path(src))
    stored = {k: v.dtype for k, v in tree_flatten(model.parameters())}
    model.update(tree_map(lambda x: x.astype(mx.float32) if mx.issubdtype(x.dtype, mx.floating) else x,
                          model.parameters()))
    model = dequantize_model(model)
    weights = {k: np.array(v.astype(mx.float32)) for k, v in tree_flatten(model.parameters())}
    # tensors that were not quantized go back to their stored type (as mlx_lm.convert --dequantize keeps them)
    as_stored = {k: {mx.float16: torch.float16, mx.bfloat16: torch.bfloat16}.get(stored[k], torch.float32)
                 if stored.get(k) != mx.uint32 else torch.float32 for k in weights}
    qwen = "qwen3_5" in cfg["model_type"]
    out = {}
    norm_keys = (".input_layernorm.weight", ".post_attention_layernorm.weight", "model.norm.weight",
                 ".q_norm.weight", ".k_norm.weight")
    for key, v in weights.items():
        k = key
        if qwen:
            if "conv1d.weight" in k:
                assert v.shape[-1] == 1
                v = np.ascontiguousarray(np.moveaxis(v, 2, 1))
            if any(k.endswith(sfx) for sfx in norm_keys) and v.ndim == 1:
                v = v - np.float32(1.0)
                as_stored[key] = torch.float32  # (x - 1) kept exactly
            k = k.replace("language_model.model.", "model.language_model.").replace("language_model.lm_head", "lm_head")
        for split, fused in (("mlp.switch_mlp.", "mlp.experts."), ("experts.switch_glu.", "experts.")):
            if k.endswith(split + "up_proj.weight"):
                k = None  # joined to the gate half below
                break
            if k.endswith(split + "gate_proj.weight"):  # the fused [E, 2F, H] of the checkpoint
                up = weights[key.replace("gate_proj", "up_proj")]
                v, k = np.concatenate([v, up], axis=1), k.replace(split + "gate_proj.weight", fused + "gate_up_proj")
            k = k.replace(split + "down_proj.weight", fused + "down_proj")
        if k is None:
            continue
        out[k] = torch.from_numpy(np.ascontiguousarray(v)).to(as_stored[key])
    os.makedirs(d)
    save_file(out, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    config.pop("quantization", None)
    config.pop("quantization_config", None)
    config.setdefault("_name_or_path", "")  # as the HF fixtures: no model id, no general.name (flint writes none)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    n_vocab = config.get("text_config", config)["vocab_size"]
    with open(os.path.join(d, "tokenizer.json"), "w") as f:  # as prepared_copy: the converter's vocab is stubbed
        json.dump({"model": {"vocab": {f"t{i}": i for i in range(n_vocab)}}, "added_tokens": []}, f)


def main():
    if not os.path.isfile(os.path.join(LLAMA, "convert_hf_to_gguf.py")) or \
            not os.path.isfile(os.path.join(LLAMA, "build", "bin", "llama-quantize")):
        print(f"skipped: needs llama.cpp (34af94cd9) with llama-quantize built at {LLAMA} (LLAMA_CPP=...)")
        return
    os.makedirs(OUT, exist_ok=True)
    mtp = os.path.join(ROOT, "tests", "fixtures", "convert", "mtp")
    if not os.path.exists(os.path.join(mtp, "model.safetensors")):
        make_mtp(mtp)
    wide = os.path.join(ROOT, "tests", "fixtures", "convert", "wide")
    if not os.path.exists(os.path.join(wide, "model.safetensors")):
        make_wide(wide)
    only = sys.argv[1:]
    quantize = os.path.join(LLAMA, "build", "bin", "llama-quantize")
    env = dict(os.environ, PYTHONPATH=LLAMA + "/gguf-py")
    with tempfile.TemporaryDirectory() as tmp:
        for fx in [f for f in FIXTURES if not only or f in only]:
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
        if not only or "spm" in only:
            for fx in SPM_FIXTURES:
                d = os.path.join(tmp, "spm-" + fx.replace("/", "-"))
                os.makedirs(d)
                for name in ["config.json", "model.safetensors"]:
                    shutil.copy(os.path.join(ROOT, "tests", "fixtures", fx, name), d)
                for name in SPM_FILES:
                    shutil.copy(os.path.join(ROOT, "tests", "fixtures", "tok", "spm", name), d)
                tag = "spm-" + fx.replace("/", "-")
                f32 = os.path.join(tmp, f"{tag}-f32.gguf")
                subprocess.run([sys.executable, os.path.join(LLAMA, "convert_hf_to_gguf.py"), d, "--outfile", f32,
                                "--outtype", "f32"], check=True, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                manifest(f32, os.path.join(OUT, f"{tag}-f32.txt"))
                g = os.path.join(tmp, f"{tag}-q4_k_m.gguf")
                subprocess.run([quantize, f32, g, "Q4_K_M"], check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                manifest(g, os.path.join(OUT, f"{tag}-q4_k_m.txt"))
            print("spm done")
        if not only or "bpe" in only:
            for tag, fx, tok, pre in BPE_FIXTURES:
                model = os.path.join(OUT, tag)
                if not os.path.exists(os.path.join(model, "model.safetensors")):
                    make_bpe_model(fx, tok, model)
                d = os.path.join(tmp, tag)
                os.makedirs(d)
                for name in ["config.json", "model.safetensors"]:
                    shutil.copy(os.path.join(model, name), d)
                for name in BPE_FILES:
                    shutil.copy(os.path.join(ROOT, "tests", "fixtures", "tok", tok, name), d)
                if os.path.exists(os.path.join(model, "chat_template.jinja")):
                    shutil.copy(os.path.join(model, "chat_template.jinja"), d)
                f32 = os.path.join(tmp, f"{tag}-f32.gguf")
                run = [sys.executable, "-c", f"LLAMA={LLAMA!r}\nPRE={pre!r}\n" + PRE_CHILD] if pre else \
                    [sys.executable, os.path.join(LLAMA, "convert_hf_to_gguf.py")]
                subprocess.run(run + [d, "--outfile", f32, "--outtype", "f32"] + no_mtp(d), check=True, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                manifest(f32, os.path.join(OUT, f"{tag}-f32.txt"))
                g = os.path.join(tmp, f"{tag}-q4_k_m.gguf")
                subprocess.run([quantize, f32, g, "Q4_K_M"], check=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
                manifest(g, os.path.join(OUT, f"{tag}-q4_k_m.txt"))
            print("bpe done")
        if not only or "mlx" in only:
            for name in MLX_FIXTURES:
                d = os.path.join(tmp, "mlx_" + name.replace("-", "_"))  # a folder name the converter reads no model id from
                mlx_reference(name, d)
                tag = "mlx-" + name
                for t in MLX_TYPES:
                    g = os.path.join(tmp, f"{tag}-{t}.gguf")
                    if t in CONVERTER_TYPES:
                        subprocess.run([sys.executable, "-c", f"LLAMA={LLAMA!r}\n" + CHILD, d, "--outfile", g,
                                        "--outtype", t] + no_mtp(d), check=True, env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    else:
                        subprocess.run([quantize, os.path.join(tmp, f"{tag}-f32.gguf"), g] + QUANTIZE_TYPES[t],
                                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    manifest(g, os.path.join(OUT, f"{tag}-{t}.txt"))
            print("mlx done")
        if only and "gguf" not in only:
            return
        for src, t, args in GGUF_SOURCES:
            tag = "gguf-" + src.replace("/model-", "-").replace("/", "-").removesuffix(".gguf")
            g = os.path.join(tmp, f"{tag}-{t}.gguf")
            subprocess.run([quantize] + args[:-1] + [os.path.join(ROOT, "tests", "fixtures", src), g, args[-1]],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            manifest(g, os.path.join(OUT, f"{tag}-{t}.txt"))
        print("gguf sources done")


if __name__ == "__main__":
    main()
