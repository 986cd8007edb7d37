#!/usr/bin/env python3
"""Writes models/tiny-gemma3.gguf: a Gemma-3-shaped model small enough to
ship in the repository (random weights, Q8_0 matrices, F32 norms) with a
SentencePiece-style vocabulary of byte tokens, specials and common English
pieces. It is what `make run` opens; it exercises the loaders, not quality."""
import os

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFReader, GGUFWriter, TokenType
from gguf.quants import quantize

OUT = os.path.join(os.path.dirname(__file__), "..", "models", "tiny-gemma3.gguf")
# what `flint info --tensors` must list, as the package's GGUFReader reads it
LISTING = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "gguf", "tiny-gemma3.tensors.txt")
H, L, N_HEAD, N_KV, HD, FF, CTX, WINDOW = 64, 2, 2, 1, 32, 128, 2048, 64

SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
WORDS = ["the", "of", "and", "to", "in", "is", "that", "it", "for", "on", "with", "as", "was", "flint",
         "model", "token", "fast", "engine", "hello", "world", "gem", "ma"]


def vocab():
    toks, scores, types = [], [], []
    for s in SPECIALS:
        toks.append(s); scores.append(0.0)
        types.append(TokenType.UNKNOWN if s == "<unk>" else TokenType.CONTROL)
    for b in range(256):
        toks.append(f"<0x{b:02X}>"); scores.append(0.0); types.append(TokenType.BYTE)
    pieces = [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["▁"] + \
             ["▁" + w for w in WORDS] + WORDS + [".", ",", "!", "?", "\n"]
    for i, p in enumerate(dict.fromkeys(pieces)):
        toks.append(p); scores.append(-float(i)); types.append(TokenType.NORMAL)
    return toks, scores, types


def main():
    rng = np.random.default_rng(3)
    toks, scores, types = vocab()
    w = GGUFWriter(OUT, arch="gemma3")
    w.add_name("tiny-gemma3 (random weights)")
    w.add_context_length(CTX)
    w.add_embedding_length(H)
    w.add_block_count(L)
    w.add_feed_forward_length(FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_KV)
    w.add_key_length(HD)
    w.add_value_length(HD)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(1e6)
    w.add_sliding_window(WINDOW)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(toks)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(2)
    w.add_eos_token_id(1)
    w.add_unk_token_id(3)
    w.add_pad_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(False)

    def mat(name, rows, cols):  # PyTorch [rows, cols] = GGUF ne {cols, rows}
        x = (rng.standard_normal((rows, cols)) / np.sqrt(cols)).astype(np.float32)
        w.add_tensor(name, quantize(x, T.Q8_0), raw_dtype=T.Q8_0)

    def norm(name, n):
        w.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32))

    mat("token_embd.weight", len(toks), H)
    for i in range(L):
        p = f"blk.{i}."
        norm(p + "attn_norm.weight", H)
        mat(p + "attn_q.weight", N_HEAD * HD, H)
        mat(p + "attn_k.weight", N_KV * HD, H)
        mat(p + "attn_v.weight", N_KV * HD, H)
        norm(p + "attn_q_norm.weight", HD)
        norm(p + "attn_k_norm.weight", HD)
        mat(p + "attn_output.weight", H, N_HEAD * HD)
        norm(p + "post_attention_norm.weight", H)
        norm(p + "ffn_norm.weight", H)
        mat(p + "ffn_gate.weight", FF, H)
        mat(p + "ffn_up.weight", FF, H)
        mat(p + "ffn_down.weight", H, FF)
        norm(p + "post_ffw_norm.weight", H)
    norm("output_norm.weight", H)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    r = GGUFReader(OUT)
    with open(LISTING, "w") as f:
        for t in r.tensors:
            shape = " x ".join(str(int(x)) for x in t.shape)  # fastest first
            f.write(f"{t.name}|{t.tensor_type.name}|{shape}|{t.data_offset}|{t.n_bytes}\n")


if __name__ == "__main__":
    main()
