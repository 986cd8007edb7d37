#!/usr/bin/env python3
"""Writes Gemma-3-1B-shaped random-weight GGUF files for benchmarks (not
committed: they are large). Shape: hidden 1152, 26 layers, 4 heads / 1 KV
head, head_dim 256, FFN 6912, vocab 262144, sliding window 512.

usage: gen_bench_model.py OUT_DIR [Q4_0 Q8_0 BF16 ...]
Every matrix (the embedding included) is stored in the given type, norms in
F32, so flint and llama.cpp read exactly the same bytes per token."""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFWriter
from gguf.quants import quantize

H, L, NH, NKV, HD, FF, V = 1152, 26, 4, 1, 256, 6912, 262144


def write(path, qtype, rng):
    w = GGUFWriter(path, arch="gemma3")
    w.add_name(f"gemma3-1b-shaped random {qtype.name}")
    w.add_context_length(32768)
    w.add_embedding_length(H)
    w.add_block_count(L)
    w.add_feed_forward_length(FF)
    w.add_head_count(NH)
    w.add_head_count_kv(NKV)
    w.add_key_length(HD)
    w.add_value_length(HD)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(1e6)
    w.add_sliding_window(512)
    # a minimal vocabulary so both engines accept the file
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list([f"<t{i}>" for i in range(V)])
    w.add_token_scores([0.0] * V)
    w.add_token_types([1] * V)
    w.add_bos_token_id(2)
    w.add_eos_token_id(1)

    def mat(name, rows, cols):
        x = rng.standard_normal((rows, cols), dtype=np.float32) * (1.0 / np.sqrt(cols))
        w.add_tensor(name, quantize(x, qtype), raw_dtype=qtype)

    def norm(name, n):
        w.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32))

    mat("token_embd.weight", V, H)
    for i in range(L):
        p = f"blk.{i}."
        for n in ("attn_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm"):
            norm(p + n + ".weight", H)
        norm(p + "attn_q_norm.weight", HD)
        norm(p + "attn_k_norm.weight", HD)
        mat(p + "attn_q.weight", NH * HD, H)
        mat(p + "attn_k.weight", NKV * HD, H)
        mat(p + "attn_v.weight", NKV * HD, H)
        mat(p + "attn_output.weight", H, NH * HD)
        mat(p + "ffn_gate.weight", FF, H)
        mat(p + "ffn_up.weight", FF, H)
        mat(p + "ffn_down.weight", H, FF)
    norm("output_norm.weight", H)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name in sys.argv[2:] or ["Q4_0", "Q8_0", "BF16"]:
        rng = np.random.default_rng(0)
        write(os.path.join(out, f"gemma3-1b-{name.lower()}.gguf"), T[name], rng)


if __name__ == "__main__":
    main()
