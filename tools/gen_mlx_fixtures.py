#!/usr/bin/env python3
"""Writes tests/fixtures/mlx/: MLX folders made by mlx-lm's own converter
(mlx_lm.convert.convert: its sanitize, quantize_model and save) from the small
random HF fixtures of tools/gen_gemma_fixtures.py and gen_qwen35_fixtures.py,
with mlx-lm's logits, and dequantization vectors from mlx.core.

Sources (copied to a temporary HF folder first, with a 256-token byte-level
tokenizer.json that the converter insists on, the weights widened to float32 so
that mlx-lm's sanitize adds Qwen3.5's norm "+1" in float32 rather than in the
bfloat16 of the stored tensors, and two config edits: gemma3/a's rope in the
rope_theta / rope_local_base_freq / rope_scaling spelling, gemma4/b's
global_head_dim / num_global_key_value_heads instead of per_layer_config —
mlx-lm 0.32 reads only those spellings and would otherwise compute another
model). Before any quantized folder is written, each source is converted
unquantized in float32 and mlx-lm's logits on it must match transformers'
logits.bin within 2e-5 of max|logit|, so that the reference below is the model
the HF fixture describes.

Folders (<name>/: what mlx_lm.convert wrote, less README.md, and the
tokenizer files but in gemma3-q4):
  gemma3-q4          gemma3/a   affine 4-bit, groups of 64, bfloat16 (the usual mlx-community form)
  gemma3-q3-g32-f16  gemma3/a   affine 3-bit, groups of 32, float16 scales
  gemma3-q8          gemma3/a   affine 8-bit, groups of 64
  gemma4a-q4-g32     gemma4/a   affine 4-bit, groups of 32 (per-layer embeddings quantized too)
  gemma4b-q4         gemma4/b   MoE: experts.switch_glu stacks at 4 bits (down_proj, 32 inputs, is
                                not packed: it stays float under the same key), routers at mlx-lm's
                                own 8-bit override
  gemma4b-nvfp4      gemma4/b   nvfp4 (the router overrides are affine 8-bit inside it)
  qwen35-mixed26     qwen35/dense  mlx-lm's mixed_2_6 recipe: 2 bits, 6 for v_proj/down_proj of some
                                layers and lm_head, each a per-module override
  qwen35-q8-g32-f32  qwen35/dense  affine 8-bit, groups of 32, float32 scales
  qwen35-bf16        qwen35/dense  unquantized bfloat16 (sanitized: norms +1, conv1d [C, K, 1])
  qwen35moe-mxfp4    qwen35/moe    mxfp4 switch_mlp experts, 8-bit affine router and shared-expert gate
  qwen35moe-q5-g32   qwen35/moe    affine 5-bit, groups of 32
Groups of 128 (which pack only these models' 128-input matrices), 1-bit and
mxfp8 codes are covered by dequant/ alone.
Each holds tokens.txt (the longest sequence of its source's tokens.txt) and
logits.bin (float32 [n_tok][vocab]): mlx-lm's model (mlx_lm.utils.load_model)
on the CPU with every floating parameter (scales and biases included) cast to
float32, so that it computes in float32: MLX's quantized matmul then
multiplies f32 activations with scale * q + bias formed in f32, as it does for
16-bit scales too (checked below).

dequant/: rows quantized by mlx.core.quantize for every mode, bit width,
group size and scale dtype (affine 1, 2, 3, 4, 5, 6, 8 bits x groups of 32, 64,
128 x f16/bf16/f32 scales; mxfp4, mxfp8, nvfp4), manifest.txt lines
  MODE BITS GROUP SCALE_DTYPE ROWS K FILE
FILE = codes u32 [ROWS][K*BITS/32] | scales [ROWS][K/GROUP] | biases (affine)
| expected f32 [ROWS][K]: mlx.core.dequantize of the codes with the scales and
biases widened to float32 (for 16-bit scales mlx.core.dequantize itself
rounds to their dtype; mx.quantized_matmul with float32 inputs does not, and
is checked here to equal x . expected^T).
"""
import glob
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import mlx.core as mx
import torch
from mlx.utils import tree_map
from mlx_lm.convert import convert
from mlx_lm.utils import load_model
from pathlib import Path
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
OUT = os.path.join(ROOT, "mlx")
mx.set_default_device(mx.cpu)


def legacy_gemma3_rope(c):
    rp = c.pop("rope_parameters")
    c["rope_theta"] = rp["full_attention"]["rope_theta"]
    c["rope_local_base_freq"] = rp["sliding_attention"]["rope_theta"]
    c["rope_scaling"] = {"rope_type": "linear", "factor": rp["full_attention"]["factor"]}


def release_gemma4(c):
    per_layer = c.pop("per_layer_config")
    full = [i for i, t in enumerate(c["layer_types"]) if t == "full_attention"]
    c["global_head_dim"] = per_layer[str(full[0])]["head_dim"]
    c["num_global_key_value_heads"] = per_layer[str(full[0])].get("num_key_value_heads")


SOURCES = {"gemma3/a": legacy_gemma3_rope, "gemma4/a": None, "gemma4/b": release_gemma4,
           "qwen35/dense": None, "qwen35/moe": None}

# name -> (source, mlx_lm.convert keyword arguments)
FOLDERS = {
    "gemma3-q4": ("gemma3/a", dict(quantize=True, q_bits=4, q_group_size=64, dtype="bfloat16")),
    "gemma3-q3-g32-f16": ("gemma3/a", dict(quantize=True, q_bits=3, q_group_size=32, dtype="float16")),
    "gemma3-q8": ("gemma3/a", dict(quantize=True, q_bits=8, q_group_size=64, dtype="bfloat16")),
    "gemma4a-q4-g32": ("gemma4/a", dict(quantize=True, q_bits=4, q_group_size=32, dtype="bfloat16")),
    "gemma4b-q4": ("gemma4/b", dict(quantize=True, q_bits=4, q_group_size=64, dtype="bfloat16")),
    "gemma4b-nvfp4": ("gemma4/b", dict(quantize=True, q_mode="nvfp4", dtype="bfloat16")),
    "qwen35-mixed26": ("qwen35/dense", dict(quantize=True, quant_predicate="mixed_2_6", q_group_size=64,
                                            dtype="bfloat16")),
    "qwen35-q8-g32-f32": ("qwen35/dense", dict(quantize=True, q_bits=8, q_group_size=32, dtype="float32")),
    "qwen35-bf16": ("qwen35/dense", dict(dtype="bfloat16")),
    "qwen35moe-mxfp4": ("qwen35/moe", dict(quantize=True, q_mode="mxfp4", dtype="bfloat16")),
    "qwen35moe-q5-g32": ("qwen35/moe", dict(quantize=True, q_bits=5, q_group_size=32, dtype="bfloat16")),
}
KEEP_TOKENIZER = "gemma3-q4"  # flint run needs one


def write_tokenizer(d):
    """A byte-level BPE over the 256 byte symbols (ids 0..255, no merges)."""
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet(), key=ord)
    tok = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast"}, f)


def hf_copy(src, tmp):
    d = os.path.join(tmp, "hf-" + src.replace("/", "-"))
    os.makedirs(d)
    with open(os.path.join(ROOT, src, "config.json")) as f:
        cfg = json.load(f)
    if SOURCES[src]:
        SOURCES[src](cfg)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    sd = load_file(os.path.join(ROOT, src, "model.safetensors"))
    save_file({k: v.float().contiguous() for k, v in sd.items()}, os.path.join(d, "model.safetensors"),
              metadata={"format": "pt"})
    write_tokenizer(d)
    return d


def sequences(src):
    with open(os.path.join(ROOT, src, "tokens.txt")) as f:
        return [list(map(int, line.split())) for line in f if line.strip()]


def mlx_logits(path, seqs):
    """mlx-lm's model on the CPU in float32 (every floating parameter cast)."""
    model, _ = load_model(Path(path))
    model.update(tree_map(lambda x: x.astype(mx.float32) if mx.issubdtype(x.dtype, mx.floating) else x,
                          model.parameters()))
    return [np.array(model(mx.array([s]))[0].astype(mx.float32)) for s in seqs]


def check_source(src, hf, tmp):
    """mlx-lm's float32 conversion gives transformers' logits.bin."""
    d = os.path.join(tmp, "f32-" + src.replace("/", "-"))
    convert(hf, d, dtype="float32")
    got = np.concatenate([x.reshape(-1) for x in mlx_logits(d, sequences(src))])
    ref = np.fromfile(os.path.join(ROOT, src, "logits.bin"), dtype="<f4")
    err = np.abs(got - ref).max() / np.abs(ref).max()
    print(f"{src}: mlx-lm float32 vs transformers: max|d|/max|ref| {err:.2e}")
    assert err < 2e-5, f"{src}: mlx-lm reads the config as another model ({err:.3g})"


def write_folder(name, src, hf, kw):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    convert(hf, d, **kw)
    os.remove(os.path.join(d, "README.md"))
    if name != KEEP_TOKENIZER:
        for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            if os.path.exists(os.path.join(d, f)):
                os.remove(os.path.join(d, f))
    seq = max(sequences(src), key=len)
    with open(os.path.join(d, "tokens.txt"), "w") as f:
        f.write(" ".join(map(str, seq)) + "\n")
    mlx_logits(d, [seq])[0].astype("<f4").tofile(os.path.join(d, "logits.bin"))
    size = sum(os.path.getsize(p) for p in glob.glob(os.path.join(d, "*")))
    print(f"{d}: {size // 1024} KiB")


def gen_dequant():
    d = os.path.join(OUT, "dequant")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    rng = np.random.default_rng(20)
    rows, k = 3, 256
    lines = ["# MODE BITS GROUP SCALE_DTYPE ROWS K FILE (tools/gen_mlx_fixtures.py)"]
    cases = [("affine", b, g, s) for b in (1, 2, 3, 4, 5, 6, 8) for g in (32, 64, 128)
             for s in ("float16", "bfloat16", "float32")]
    cases += [("mxfp4", 4, 32, "uint8"), ("mxfp8", 8, 32, "uint8"), ("nvfp4", 4, 16, "uint8")]
    for mode, bits, group, sdt in cases:
        # a spread of magnitudes and signs (scales come out negative where the
        # larger-magnitude end of a group is negative)
        w = rng.standard_normal((rows, k)).astype(np.float32) * np.exp(rng.uniform(-3, 2, (rows, 1)))
        wdt = getattr(mx, sdt) if mode == "affine" else mx.float32
        parts = mx.quantize(mx.array(w).astype(wdt), group_size=group, bits=bits, mode=mode)
        q, s = parts[0], parts[1]
        b = parts[2] if mode == "affine" else None
        if mode == "affine":
            expected = mx.dequantize(q, s.astype(mx.float32), b.astype(mx.float32), group_size=group, bits=bits)
            x = mx.array(rng.standard_normal((5, k)).astype(np.float32))
            y = mx.quantized_matmul(x, q, s, b, transpose=True, group_size=group, bits=bits)
            ref = x @ expected.T
            assert np.allclose(np.array(y), np.array(ref), rtol=1e-5, atol=1e-5 * float(mx.abs(ref).max())), \
                f"{mode} {bits} {group} {sdt}: quantized_matmul is not x . dequantized^T"
        else:
            expected = mx.dequantize(q, s, group_size=group, bits=bits, mode=mode, dtype=mx.float32)
        assert q.dtype == mx.uint32 and tuple(q.shape) == (rows, k * bits // 32)
        blobs = [np.array(q).astype("<u4").tobytes()]
        for a in (s, b):
            if a is not None:
                blobs.append(np.array(a.view(mx.uint16) if a.dtype in (mx.bfloat16, mx.float16) else a).tobytes())
        blobs.append(np.array(expected).astype("<f4").tobytes())
        fname = f"{mode}_b{bits}_g{group}_{sdt}.bin"
        with open(os.path.join(d, fname), "wb") as f:
            f.write(b"".join(blobs))
        lines.append(f"{mode} {bits} {group} {sdt} {rows} {k} {fname}")
    with open(os.path.join(d, "manifest.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    gen_dequant()
    with tempfile.TemporaryDirectory() as tmp:
        hf = {src: hf_copy(src, tmp) for src in SOURCES}
        for src in SOURCES:
            check_source(src, hf[src], tmp)
        only = set(sys.argv[1:])
        for name, (src, kw) in FOLDERS.items():
            if not only or name in only:
                write_folder(name, src, hf[src], kw)


if __name__ == "__main__":
    main()
