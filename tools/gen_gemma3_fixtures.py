#!/usr/bin/env python3
"""Writes tests/fixtures/gemma3/: small random-weight Gemma 3 models built
with Hugging Face transformers, their float32 reference logits, and GGUF
versions written the way llama.cpp's converter names and transforms them
(MODELS.md §3.2: norms get +1; tensor names token_embd, blk.N.attn_q, ...).

Models (weights rounded to bfloat16 values so that every stored type but
the quantized ones holds exactly what transformers computed with):
  a/  hidden 64, 8 layers (5 sliding : 1 global, twice over the pattern's
      edge), 4 heads / 2 KV heads, head_dim 32 (heads x head_dim != hidden),
      sliding window 16, linear RoPE scaling 8 on global layers,
      query_pre_attn_scalar = head_dim. GGUF: F32, F16, BF16, Q8_0, Q4_0.
  b/  as a, with query_pre_attn_scalar 48 != head_dim and a final soft-cap
      of 30. HF only: a GGUF has no key for the scalar (llama.cpp derives
      the scale from head_dim), so a GGUF of b would be a different model.
Per model: config.json + model.safetensors (float32), and
  logits.bin  float32 [n_seq][n_tok][vocab] from transformers (eager attention)
  logits-q8_0.bin, logits-q4_0.bin (a/ only): the same with every quantized
      matrix replaced by the gguf package's dequantization of it, so a test
      can separate the engine's error from the quantization's
  tokens.txt  one sequence per line, ids separated by spaces
"""
import json
import os

import numpy as np
import torch
from gguf import GGMLQuantizationType as T, GGUFWriter, RopeScalingType
from gguf.quants import quantize
from safetensors.torch import save_file
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "gemma3")
VOCAB, SEQ_LENS, SEED = 256, (40, 37, 64), 1234

BASE = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=8,
            num_attention_heads=4, num_key_value_heads=2, head_dim=32, query_pre_attn_scalar=32,
            sliding_window=16, sliding_window_pattern=6, max_position_embeddings=1024,
            rope_theta=1_000_000.0, rope_local_base_freq=10_000.0,
            rope_scaling={"rope_type": "linear", "factor": 8.0}, rms_norm_eps=1e-6,
            hidden_activation="gelu_pytorch_tanh", final_logit_softcapping=None,
            attn_logit_softcapping=None, tie_word_embeddings=True, bos_token_id=2, eos_token_id=1,
            pad_token_id=0, attn_implementation="eager")
CONFIGS = {"a": dict(BASE), "b": dict(BASE, query_pre_attn_scalar=48, final_logit_softcapping=30.0)}

# HF name (after "model.") -> GGUF name; norms marked for the +1 transform
LAYER_NAMES = {
    "input_layernorm.weight": ("attn_norm.weight", True),
    "self_attn.q_proj.weight": ("attn_q.weight", False),
    "self_attn.k_proj.weight": ("attn_k.weight", False),
    "self_attn.v_proj.weight": ("attn_v.weight", False),
    "self_attn.o_proj.weight": ("attn_output.weight", False),
    "self_attn.q_norm.weight": ("attn_q_norm.weight", True),
    "self_attn.k_norm.weight": ("attn_k_norm.weight", True),
    "post_attention_layernorm.weight": ("post_attention_norm.weight", True),
    "pre_feedforward_layernorm.weight": ("ffn_norm.weight", True),
    "post_feedforward_layernorm.weight": ("post_ffw_norm.weight", True),
    "mlp.gate_proj.weight": ("ffn_gate.weight", False),
    "mlp.up_proj.weight": ("ffn_up.weight", False),
    "mlp.down_proj.weight": ("ffn_down.weight", False),
}


def build(cfg_kwargs, seed):
    torch.manual_seed(seed)
    cfg = Gemma3TextConfig(**cfg_kwargs)
    model = Gemma3ForCausalLM(cfg).float().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(0.2 * torch.randn_like(p))  # HF stores w of (1 + w)
            else:
                p.copy_(torch.randn_like(p) / (p.shape[-1] ** 0.5))
            p.copy_(p.to(torch.bfloat16).float())  # exact in bf16, f16 up to rounding
    return cfg, model


def gguf_name(hf):
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight", False
    if hf == "model.norm.weight":
        return "output_norm.weight", True
    parts = hf.split(".")  # model.layers.N.<rest>
    name, plus_one = LAYER_NAMES[".".join(parts[3:])]
    return f"blk.{parts[2]}.{name}", plus_one


def write_gguf(path, kw, model, qtype):
    w = GGUFWriter(path, arch="gemma3")
    w.add_context_length(kw["max_position_embeddings"])
    w.add_embedding_length(kw["hidden_size"])
    w.add_block_count(kw["num_hidden_layers"])
    w.add_feed_forward_length(kw["intermediate_size"])
    w.add_head_count(kw["num_attention_heads"])
    w.add_head_count_kv(kw["num_key_value_heads"])
    w.add_key_length(kw["head_dim"])
    w.add_value_length(kw["head_dim"])
    w.add_layer_norm_rms_eps(kw["rms_norm_eps"])
    w.add_rope_freq_base(kw["rope_theta"])  # global layers; llama.cpp fixes the local base at 10000
    w.add_sliding_window(kw["sliding_window"])
    w.add_rope_scaling_type(RopeScalingType.LINEAR)
    w.add_rope_scaling_factor(kw["rope_scaling"]["factor"])
    for hf, t in model.state_dict().items():
        if hf == "lm_head.weight":
            continue  # tied to the embedding; the converter drops it
        name, plus_one = gguf_name(hf)
        x = t.float().numpy()
        if plus_one:
            w.add_tensor(name, (x + 1.0).astype(np.float32))  # norms stay F32 in every mix
        elif qtype == T.F32:
            w.add_tensor(name, x.astype(np.float32))
        elif qtype == T.F16:
            w.add_tensor(name, x.astype(np.float16))
        else:
            w.add_tensor(name, quantize(x.astype(np.float32), qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_logits(path, model, seqs):
    with torch.no_grad(), open(path, "wb") as f:
        for s in seqs:
            f.write(model(torch.tensor([s])).logits[0].float().numpy().astype("<f4").tobytes())


def dequantized_copy(model, qtype):
    """The model with each matrix GGUF would quantize replaced by gguf's dequantization of it."""
    import copy
    from gguf.quants import dequantize
    m = copy.deepcopy(model)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("norm.weight"):
                continue
            x = p.float().numpy()
            p.copy_(torch.from_numpy(dequantize(quantize(x, qtype), qtype).reshape(x.shape)))
    return m


def main():
    rng = np.random.default_rng(SEED)
    seqs = [rng.integers(3, VOCAB, size=n).tolist() for n in SEQ_LENS]
    for seqs_i, s in enumerate(seqs):
        s[0] = 2  # <bos>
    for tag, kwargs in CONFIGS.items():
        d = os.path.join(OUT, tag)
        os.makedirs(d, exist_ok=True)
        cfg, model = build(kwargs, SEED + ord(tag))
        cfg_dict = cfg.to_dict()
        cfg_dict["architectures"] = ["Gemma3ForCausalLM"]
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg_dict, f, indent=2, sort_keys=True)
        sd = {k: v.float().contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
        save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        write_logits(os.path.join(d, "logits.bin"), model, seqs)
        with open(os.path.join(d, "tokens.txt"), "w") as f:
            f.write("".join(" ".join(map(str, s)) + "\n" for s in seqs))
        if tag == "a":
            for qname, q in (("f32", T.F32), ("f16", T.F16), ("bf16", T.BF16), ("q8_0", T.Q8_0), ("q4_0", T.Q4_0)):
                write_gguf(os.path.join(d, f"model-{qname}.gguf"), kwargs, model, q)
            for qname, q in (("q8_0", T.Q8_0), ("q4_0", T.Q4_0)):
                write_logits(os.path.join(d, f"logits-{qname}.bin"), dequantized_copy(model, q), seqs)


if __name__ == "__main__":
    main()
