#!/usr/bin/env python3
"""Rewrites the Qwen3.5 MoE fixture's stacked experts into per-expert
tensors, as hub checkpoints of the Qwen3 family store them:

  <prefix>mlp.experts.gate_up_proj [E, 2F, H] -> mlp.experts.<e>.gate_proj.weight [F, H]
                                                 mlp.experts.<e>.up_proj.weight   [F, H]
  <prefix>mlp.experts.down_proj    [E, H, F]  -> mlp.experts.<e>.down_proj.weight [H, F]

into tests/fixtures/qwen35/moe-per-expert/, in two shards (an index names
each tensor's file; the experts of one layer are split across the
shards). The bytes are the stacked tensors' own, so flint must give the
stacked folder's logits bit for bit. Then transformers loads both folders
and its logits must agree (it converts per-expert checkpoints into its
fused layout on load): transformers 5.23 reads the per-expert folder to
the stacked folder's logits exactly (max |dlogit| 0). Runs after
gen_qwen35_fixtures.py (make_fixtures.sh's order), which writes the
stacked folder.

Usage: /work/venv-tools/bin/python tools/gen_qwen35_per_expert.py
"""
import json
import os
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "qwen35")
SRC = os.path.join(ROOT, "moe")
OUT = os.path.join(ROOT, "moe-per-expert")


def per_expert(tensors):
    out = {}
    for name, t in tensors.items():
        if name.endswith("mlp.experts.gate_up_proj"):
            stem, f = name[: -len("gate_up_proj")], t.shape[1] // 2
            for e in range(t.shape[0]):
                out[f"{stem}{e}.gate_proj.weight"] = t[e, :f].contiguous()
                out[f"{stem}{e}.up_proj.weight"] = t[e, f:].contiguous()
        elif name.endswith("mlp.experts.down_proj"):
            stem = name[: -len("down_proj")]
            for e in range(t.shape[0]):
                out[f"{stem}{e}.down_proj.weight"] = t[e].contiguous()
        else:
            out[name] = t
    return out


def write_shards(tensors):
    # experts 0..3 of every layer (and every other tensor) in the first shard, 4.. in the second
    def shard_of(name):
        parts = name.split(".")
        if "experts" in parts:
            i = parts.index("experts")
            if parts[i + 1].isdigit() and int(parts[i + 1]) >= 4:
                return 1
        return 0

    files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    shards = [{}, {}]
    for k, v in tensors.items():
        shards[shard_of(k)][k] = v
    for f, s in zip(files, shards):
        save_file(s, os.path.join(OUT, f), metadata={"format": "pt"})
    index = {"metadata": {"total_size": sum(v.numel() * v.element_size() for v in tensors.values())},
             "weight_map": {k: files[shard_of(k)] for k in sorted(tensors)}}
    with open(os.path.join(OUT, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


def transformers_logits(folder, seqs):
    from transformers import AutoModelForImageTextToText
    m, info = AutoModelForImageTextToText.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager",
                                                          experts_implementation="eager", output_loading_info=True)
    bad = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    m.eval()
    with torch.no_grad():
        return [m(input_ids=torch.tensor([s]), use_cache=False).logits[0].float() for s in seqs], bad


def main():
    os.makedirs(OUT, exist_ok=True)
    write_shards(per_expert(load_file(os.path.join(SRC, "model.safetensors"))))
    for f in ("config.json", "tokens.txt", "logits.bin"):
        shutil.copy(os.path.join(SRC, f), os.path.join(OUT, f))
    with open(os.path.join(SRC, "tokens.txt")) as f:
        seqs = [list(map(int, line.split())) for line in f if line.strip()]
    ref, _ = transformers_logits(SRC, seqs)
    got, bad = transformers_logits(OUT, seqs)
    if bad:
        sys.exit(f"transformers does not read the per-expert folder: {bad}")
    d = max((a - b).abs().max().item() for a, b in zip(ref, got))
    print(f"transformers: per-expert folder vs stacked folder max |dlogit| = {d:.3g}")
    if d != 0:
        sys.exit("transformers gives other logits on the per-expert folder")


if __name__ == "__main__":
    main()
