#!/usr/bin/env python3
"""Writes tests/fixtures/gemma{1,2,3,4}/: small random-weight Gemma models built
with Hugging Face transformers (eager attention), their float32 reference
logits, and GGUF versions written the way llama.cpp's converter
(convert_hf_to_gguf.py / conversion/gemma.py at 34af94cd9) names, transforms
and types them. One table (FAMILIES) drives one build / save / GGUF / logits
path; a family differs only by its config kwargs, GGUF keys, tensor names and
norm convention.

Every weight is rounded to a bfloat16 value, so every stored type but the
quantized ones (and F16 for values below its normal range) holds exactly what
transformers computed with. Norm weights are random: HF stores w of (1 + w)
for Gemma 1/2/3 (drawn as 0.2 randn; the GGUF gets w + 1) and the plain w for
Gemma 4 (drawn as 1 + 0.2 randn; no shift; q_norm and k_norm times
head_dim^-1/4, standing in for the 1/sqrt(head_dim) Gemma 4 does not apply).
Gemma 4's scalars (layer_scalar, router.scale, router.per_expert_scale) are
drawn uniformly in [0.5, 1.5).

GGUF types written: gemma1/a F32 BF16 Q8_0 Q4_0; gemma2/a, gemma4/a, gemma4/b
F32 Q8_0 Q4_0; gemma3/a F32 F16 BF16 Q8_0 Q4_0.

gemma1/a  GemmaForCausalLM: hidden 64, 4 layers, 4 heads / 1 KV head, head_dim
    32, intermediate 128. config.json says "hidden_act": "gelu" and has no
    hidden_activation and a flat rope_theta, as the original gemma-2b/7b
    configs do; the model (and the logits) use tanh-GELU (MODELS.md §1.4).
gemma2/a  Gemma2ForCausalLM: hidden 64, 6 layers (even layers sliding), 4 heads
    / 2 KV heads, head_dim 32, sliding window 16, attention soft-cap 50, final
    soft-cap 30, query_pre_attn_scalar = head_dim (a GGUF has no key for it).
gemma2/b  as a with query_pre_attn_scalar 48. HF only.
gemma3/a  hidden 64, 8 layers (5 sliding : 1 global, twice over the pattern's
    edge), 4 heads / 2 KV heads, head_dim 32 (heads x head_dim != hidden),
    sliding window 16, linear RoPE scaling 8 on global layers,
    query_pre_attn_scalar = head_dim.
gemma3/b  as a, with query_pre_attn_scalar 48 != head_dim and a final soft-cap
    of 30. HF only: llama.cpp derives the scale from head_dim.
gemma4/a  Gemma4ForCausalLM, "E2B-like": hidden 64, 8 layers S F S S F S F F
    (S sliding, F full), 3 KV-shared layers (5 S reuses layer 3, 6 and 7 F
    reuse layer 4), double-wide MLP on the shared layers (intermediate 128,
    256 there), per-layer embeddings of 16 per layer over the whole vocab,
    4 heads / 2 KV heads, head_dim 32 (S) / global_head_dim 64 (F),
    proportional RoPE (partial 0.25) on F, sliding window 16, final soft-cap
    30. config.json as Google's releases write it (global_head_dim,
    num_global_key_value_heads).
gemma4/b  "26B-A4B-like": hidden 64, 6 layers S S F S S F, attention_k_eq_v
    with 1 KV head on F layers (no v_proj) and 2 on S, MoE on every layer
    (8 experts, top 2, expert intermediate 32) beside a dense MLP of 96, no
    per-layer embeddings, no KV sharing, head_dim 32 / 64, final soft-cap 30.
    config.json as transformers 5.23 save_pretrained writes it: per_layer_config
    instead of global_head_dim / num_global_key_value_heads.

Per model: config.json + model.safetensors (float32, tied lm_head left out), and
  logits.bin  float32 [n_seq][n_tok][vocab] from transformers (eager attention)
  tokens.txt  one sequence per line, ids separated by spaces
and for the models with a GGUF: model-<type>.gguf for the types in the table
(Q4_0 follows the converter's Q8_0 rules: tensors the converter keeps in F32
stay F32; a matrix whose rows are not a multiple of 32 falls back to F16), and
  logits-q8_0.bin, logits-q4_0.bin: the logits with every quantized tensor
      replaced by the gguf package's dequantization of what the GGUF stores,
      so a test can separate the engine's error from the quantization's.
Each written folder is reloaded with from_pretrained and must give the same
logits bit for bit.

<family>/trained-<tag>/ (gemma1/a, gemma2/a, gemma3/a, gemma4/a, gemma4/b): the
same model trained briefly on fixture_training's synthetic language, so that
its predictions are as peaked as a real model's (random weights give near ties
that even the Q8_0 rounding flips); tokens.txt holds sentences of that language,
with logits.bin, model-q8_0.gguf, model-q4_0.gguf and their dequantized logits.
"""
import copy
import json
import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import fixture_training as training
from gguf import GGMLQuantizationType as T, GGUFWriter, LlamaFileType as FT, RopeScalingType
from gguf.quants import QuantError, dequantize, quantize
from safetensors.torch import save_file
from transformers import (Gemma2Config, Gemma2ForCausalLM, Gemma3ForCausalLM, Gemma3TextConfig,
                          Gemma4ForCausalLM, Gemma4TextConfig, GemmaConfig, GemmaForCausalLM)

ROOT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures")
VOCAB, SEQ_LENS, SEED = 256, (40, 37, 64), 1234
S, F = "sliding_attention", "full_attention"

# GGUF tensor types by file name: (tensor type, general.file_type)
QTYPES = {"f32": (T.F32, FT.ALL_F32), "f16": (T.F16, FT.MOSTLY_F16), "bf16": (T.BF16, FT.MOSTLY_BF16),
          "q8_0": (T.Q8_0, FT.MOSTLY_Q8_0), "q4_0": (T.Q4_0, FT.MOSTLY_Q4_0)}
QUANTIZED = ("q8_0", "q4_0")

COMMON = dict(vocab_size=VOCAB, hidden_size=64, max_position_embeddings=1024, rms_norm_eps=1e-6,
              tie_word_embeddings=True, bos_token_id=2, eos_token_id=1, pad_token_id=0,
              attn_implementation="eager")

GEMMA1 = dict(COMMON, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
              num_key_value_heads=1, head_dim=32, hidden_act="gelu_pytorch_tanh", rope_theta=10_000.0)

GEMMA2 = dict(COMMON, intermediate_size=128, num_hidden_layers=6, num_attention_heads=4,
              num_key_value_heads=2, head_dim=32, query_pre_attn_scalar=32, sliding_window=16,
              attn_logit_softcapping=50.0, final_logit_softcapping=30.0, rope_theta=10_000.0,
              hidden_activation="gelu_pytorch_tanh")

GEMMA3 = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=8,
              num_attention_heads=4, num_key_value_heads=2, head_dim=32, query_pre_attn_scalar=32,
              sliding_window=16, sliding_window_pattern=6, max_position_embeddings=1024,
              rope_theta=1_000_000.0, rope_local_base_freq=10_000.0,
              rope_scaling={"rope_type": "linear", "factor": 8.0}, rms_norm_eps=1e-6,
              hidden_activation="gelu_pytorch_tanh", final_logit_softcapping=None,
              attn_logit_softcapping=None, tie_word_embeddings=True, bos_token_id=2, eos_token_id=1,
              pad_token_id=0, attn_implementation="eager")

GEMMA4 = dict(COMMON, num_attention_heads=4, num_key_value_heads=2, head_dim=32, global_head_dim=64,
              sliding_window=16, final_logit_softcapping=30.0, hidden_activation="gelu_pytorch_tanh",
              experts_implementation="eager")
GEMMA4_A = dict(GEMMA4, num_hidden_layers=8, layer_types=[S, F, S, S, F, S, F, F], intermediate_size=128,
                num_kv_shared_layers=3, use_double_wide_mlp=True, hidden_size_per_layer_input=16,
                vocab_size_per_layer_input=VOCAB)
GEMMA4_B = dict(GEMMA4, num_hidden_layers=6, layer_types=[S, S, F, S, S, F], intermediate_size=96,
                attention_k_eq_v=True, num_global_key_value_heads=1, enable_moe_block=True,
                num_experts=8, top_k_experts=2, moe_intermediate_size=32,
                hidden_size_per_layer_input=0, vocab_size_per_layer_input=VOCAB)

# HF name below "model." -> GGUF name (MODELS.md §1.2, §2.2, §3.2, §4.2)
TOP_NAMES = {
    "embed_tokens.weight": "token_embd.weight",
    "norm.weight": "output_norm.weight",
    "embed_tokens_per_layer.weight": "per_layer_token_embd.weight",
    "per_layer_model_projection.weight": "per_layer_model_proj.weight",
    "per_layer_projection_norm.weight": "per_layer_proj_norm.weight",
}
# below "model.layers.N." -> below "blk.N."
LAYER_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_norm.weight": "attn_q_norm.weight",
    "self_attn.k_norm.weight": "attn_k_norm.weight",
    "post_attention_layernorm.weight": "post_attention_norm.weight",
    "pre_feedforward_layernorm.weight": "ffn_norm.weight",
    "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    # Gemma 4
    "layer_scalar": "layer_output_scale.weight",
    "per_layer_input_gate.weight": "inp_gate.weight",
    "per_layer_projection.weight": "proj.weight",
    "post_per_layer_input_norm.weight": "post_norm.weight",
    "router.proj.weight": "ffn_gate_inp.weight",
    "router.scale": "ffn_gate_inp.scale",
    "router.per_expert_scale": "ffn_down_exps.scale",
    "experts.gate_up_proj": "ffn_gate_up_exps.weight",  # [E, 2I, H], gate rows first
    "experts.down_proj": "ffn_down_exps.weight",
    "pre_feedforward_layernorm_2.weight": "pre_ffw_norm_2.weight",
    "post_feedforward_layernorm_1.weight": "post_ffw_norm_1.weight",
    "post_feedforward_layernorm_2.weight": "post_ffw_norm_2.weight",
}
# Gemma 1's post_attention_layernorm is the pre-FFN norm (MODELS.md §1.4)
GEMMA1_LAYER_NAMES = dict(LAYER_NAMES, **{"post_attention_layernorm.weight": "ffn_norm.weight"})


# ---- GGUF keys, in the order the converter adds them (a re-added key keeps its first place)

def kv_shape(w, kw):
    """The keys Gemma 1, 2 and 3 begin with, in the converter's order."""
    w.add_context_length(kw["max_position_embeddings"])
    w.add_embedding_length(kw["hidden_size"])
    w.add_block_count(kw["num_hidden_layers"])
    w.add_feed_forward_length(kw["intermediate_size"])
    w.add_head_count(kw["num_attention_heads"])
    w.add_head_count_kv(kw["num_key_value_heads"])


def kv_gemma1(w, kw, ftype):
    kv_shape(w, kw)
    w.add_layer_norm_rms_eps(kw["rms_norm_eps"])
    w.add_key_length(kw["head_dim"])
    w.add_value_length(kw["head_dim"])
    w.add_file_type(ftype)


def kv_gemma2(w, kw, ftype):
    kv_gemma1(w, kw, ftype)
    w.add_attn_logit_softcapping(kw["attn_logit_softcapping"])
    w.add_final_logit_softcapping(kw["final_logit_softcapping"])
    w.add_sliding_window(kw["sliding_window"])


def kv_gemma3(w, kw, ftype):
    del ftype  # these fixtures were written without general.file_type; kept byte for byte
    kv_shape(w, kw)
    w.add_key_length(kw["head_dim"])
    w.add_value_length(kw["head_dim"])
    w.add_layer_norm_rms_eps(kw["rms_norm_eps"])
    w.add_rope_freq_base(kw["rope_theta"])  # global layers; llama.cpp fixes the local base at 10000
    w.add_sliding_window(kw["sliding_window"])
    w.add_rope_scaling_type(RopeScalingType.LINEAR)
    w.add_rope_scaling_factor(kw["rope_scaling"]["factor"])


def kv_gemma4(w, kw, ftype):
    """TextModel, Gemma3Model then Gemma4Model.set_gguf_parameters."""
    n_layer, types = kw["num_hidden_layers"], kw["layer_types"]
    swa = [t == S for t in types]
    rope = Gemma4TextConfig(**kw).rope_parameters
    first_shared = n_layer - kw.get("num_kv_shared_layers", 0)
    n_ff = kw["intermediate_size"]
    w.add_block_count(n_layer)
    w.add_context_length(kw["max_position_embeddings"])
    w.add_embedding_length(kw["hidden_size"])
    if kw.get("use_double_wide_mlp"):
        w.add_feed_forward_length([n_ff if i < first_shared else 2 * n_ff for i in range(n_layer)])
    else:
        w.add_feed_forward_length(n_ff)
    w.add_head_count(kw["num_attention_heads"])
    if kw.get("attention_k_eq_v") and kw.get("num_global_key_value_heads") is not None:
        w.add_head_count_kv([kw["num_key_value_heads"] if s else kw["num_global_key_value_heads"] for s in swa])
    else:
        w.add_head_count_kv(kw["num_key_value_heads"])
    w.add_rope_freq_base(rope[F]["rope_theta"])  # proportional RoPE: no scaling keys
    w.add_rope_freq_base_swa(rope[S]["rope_theta"])
    w.add_layer_norm_rms_eps(kw["rms_norm_eps"])
    if kw.get("num_experts"):
        w.add_expert_count(kw["num_experts"])
        w.add_expert_used_count(kw["top_k_experts"])
    w.add_key_length(kw["global_head_dim"])
    w.add_value_length(kw["global_head_dim"])
    w.add_file_type(ftype)
    if kw.get("final_logit_softcapping"):
        w.add_final_logit_softcapping(kw["final_logit_softcapping"])
    w.add_sliding_window(kw["sliding_window"])
    w.add_shared_kv_layers(kw.get("num_kv_shared_layers", 0))
    w.add_embedding_length_per_layer_input(kw.get("hidden_size_per_layer_input") or 0)
    w.add_sliding_window_pattern(swa)
    w.add_key_length_swa(kw["head_dim"])
    w.add_value_length_swa(kw["head_dim"])
    if kw.get("moe_intermediate_size") is not None:
        w.add_expert_feed_forward_length(kw["moe_intermediate_size"])
    w.add_rope_dimension_count(kw["global_head_dim"])  # proportional RoPE rotates via rope_freqs
    w.add_rope_dimension_count_swa(kw["head_dim"])     # the converter reads no swa partial factor: 1.0


def extra_gemma4(kw):
    """rope_freqs as Gemma4Model.generate_extra_tensors computes it (used by the full layers only)."""
    full = Gemma4TextConfig(**kw).rope_parameters[F]
    assert full["rope_type"] == "proportional"
    n_rot = int(kw["global_head_dim"] * full["partial_rotary_factor"] / 2)
    n_unrot = int(kw["global_head_dim"] / 2) - n_rot
    yield "rope_freqs.weight", np.array([1.0] * n_rot + [1e30] * n_unrot, dtype=np.float32)


# ---- config.json edits

def config_legacy_gemma1(d):
    """As the original gemma-2b/7b configs: legacy "gelu" (tanh meant) and a flat rope_theta."""
    d.pop("hidden_activation", None)
    d["hidden_act"] = "gelu"
    d["rope_theta"] = d.pop("rope_parameters")["rope_theta"]
    d["rope_scaling"] = None


def config_release_gemma4(d):
    """As Google's releases write it: global_head_dim and num_global_key_value_heads where
    transformers' save_pretrained (kept for tag b) writes per_layer_config."""
    per_layer = d.pop("per_layer_config")
    full = [i for i, t in enumerate(d["layer_types"]) if t == F]
    d["global_head_dim"] = per_layer[str(full[0])]["head_dim"]
    d["num_global_key_value_heads"] = per_layer[str(full[0])].get("num_key_value_heads")


@dataclass
class Family:
    model_cls: type
    config_cls: type
    configs: dict              # tag -> config kwargs
    gguf: dict                 # tag -> GGUF types written (tags absent: HF only)
    arch: str
    kv: Callable               # writes the converter's arch keys
    seed: int = SEED
    plain_norms: bool = False  # Gemma 4: y = rms(x) w; else y = rms(x) (1 + w), GGUF w + 1
    layer_names: dict = field(default_factory=lambda: LAYER_NAMES)
    config_json: dict = field(default_factory=dict)  # tag -> edit of the saved config dict
    extra_tensors: Callable = lambda kw: ()
    general: bool = True       # general.file_type and general.quantization_version
    trained: tuple = ()        # tags also written trained (write_trained)


FAMILIES = {
    "gemma1": Family(GemmaForCausalLM, GemmaConfig, {"a": GEMMA1}, {"a": ("f32", "bf16", "q8_0", "q4_0")},
                     "gemma", kv_gemma1, seed=SEED + 100, layer_names=GEMMA1_LAYER_NAMES,
                     config_json={"a": config_legacy_gemma1}, trained=("a",)),
    "gemma2": Family(Gemma2ForCausalLM, Gemma2Config, {"a": GEMMA2, "b": dict(GEMMA2, query_pre_attn_scalar=48)},
                     {"a": ("f32", "q8_0", "q4_0")}, "gemma2", kv_gemma2, seed=SEED + 200, trained=("a",)),
    "gemma3": Family(Gemma3ForCausalLM, Gemma3TextConfig,
                     {"a": GEMMA3, "b": dict(GEMMA3, query_pre_attn_scalar=48, final_logit_softcapping=30.0)},
                     {"a": ("f32", "f16", "bf16", "q8_0", "q4_0")}, "gemma3", kv_gemma3, general=False,
                     trained=("a",)),
    "gemma4": Family(Gemma4ForCausalLM, Gemma4TextConfig, {"a": GEMMA4_A, "b": GEMMA4_B},
                     {"a": ("f32", "q8_0", "q4_0"), "b": ("f32", "q8_0", "q4_0")}, "gemma4", kv_gemma4,
                     seed=SEED + 400, plain_norms=True, config_json={"a": config_release_gemma4},
                     extra_tensors=extra_gemma4, trained=("a", "b")),
}


def build(fam, kw, seed):
    torch.manual_seed(seed)
    model = fam.model_cls(fam.config_cls(**kw)).float().eval()
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, p in params.items():
            if fam.plain_norms and name.endswith(("q_norm.weight", "k_norm.weight")):
                # attention scale 1: the q/k norms carry head_dim^-1/2 between them, else the
                # softmax is so sharp that 1e-3 errors move the logits by 1e-1
                p.copy_((1.0 + 0.2 * torch.randn_like(p)) * p.shape[-1] ** -0.25)
            elif name.endswith("norm.weight"):
                p.copy_((1.0 if fam.plain_norms else 0.0) + 0.2 * torch.randn_like(p))
            elif name.endswith(("router.scale", "router.per_expert_scale")):
                p.copy_(0.5 + torch.rand_like(p))
            elif name.endswith("router.proj.weight"):
                # the router sees a unit-norm input: logits of std ~2 give top-k margins that
                # quantization noise does not flip (1/sqrt(H) weights gave std 0.1: near ties)
                p.copy_(2.0 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / (p.shape[-1] ** 0.5))
            p.copy_(p.to(torch.bfloat16).float())  # exact in bf16, f16 up to rounding
        buffers = [k for k in model.state_dict() if k not in params and k != "lm_head.weight"]
        for name in buffers:
            assert name.endswith("layer_scalar"), f"buffer {name} not initialised"
            b = model.get_buffer(name)
            b.copy_((0.5 + torch.rand_like(b)).to(torch.bfloat16).float())
        for name, t in model.state_dict().items():  # every stored tensor is random
            assert (t.numel() == 1 and t.item() != 1.0) or t.std() > 0, name
    return model


def gguf_name(fam, hf):
    parts = hf.split(".")  # model.<top> or model.layers.N.<rest>
    if parts[1] == "layers":
        return f"blk.{parts[2]}.{fam.layer_names['.'.join(parts[3:])]}"
    return TOP_NAMES[".".join(parts[1:])]


def stored_type(name, x, qtype):
    """The converter's choice (conversion/base.py prepare_tensors): F32 for 1-D tensors, norms, the
    router matrix and names not ending in .weight; the file's type for the rest."""
    if x.ndim <= 1 or name.endswith("_norm.weight") or name.endswith("ffn_gate_inp.weight") \
            or not name.endswith(".weight"):
        return T.F32
    return qtype


def gguf_tensors(fam, kw, model, qtype):
    """Yields (GGUF name, stored data, stored type, HF name or None) as the converter writes them."""
    for name, x in fam.extra_tensors(kw):
        yield name, x, T.F32, None
    for hf, t in model.state_dict().items():
        if hf == "lm_head.weight":
            continue  # tied to the embedding; the converter drops it
        name = gguf_name(fam, hf)
        x = t.float().numpy()
        if not fam.plain_norms and hf.endswith("norm.weight"):
            x = x + 1.0
        ttype = stored_type(name, x, qtype)
        try:
            data = quantize(x.astype(np.float32), ttype)
        except QuantError:  # rows not a multiple of the block size
            ttype = T.F16
            data = quantize(x.astype(np.float32), ttype)
        yield name, data, ttype, hf


def write_gguf(path, fam, kw, model, qname):
    qtype, ftype = QTYPES[qname]
    w = GGUFWriter(path, arch=fam.arch)
    fam.kv(w, kw, ftype)
    if fam.general:
        w.add_quantization_version(2)
    for name, data, ttype, _ in gguf_tensors(fam, kw, model, qtype):
        w.add_tensor(name, data, raw_dtype=ttype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def logits(model, seqs):
    with torch.no_grad():
        return [model(torch.tensor([s])).logits[0].float().numpy().astype("<f4") for s in seqs]


def write_logits(path, model, seqs):
    with open(path, "wb") as f:
        for x in logits(model, seqs):
            f.write(x.tobytes())


def dequantized_copy(fam, kw, model, qtype):
    """The model with each tensor the GGUF does not store in F32 replaced by gguf's dequantization of it."""
    m = copy.deepcopy(model)
    sd = m.state_dict()  # shares storage with m's parameters and buffers
    with torch.no_grad():
        for _, data, ttype, hf in gguf_tensors(fam, kw, model, qtype):
            if hf is not None and ttype != T.F32:
                sd[hf].copy_(torch.from_numpy(dequantize(data, ttype).reshape(sd[hf].shape)))
    return m


def write_tokens_logits(d, fam, kw, model, seqs, qnames):
    """tokens.txt, logits.bin, model-<q>.gguf for qnames and the dequantized logits of the quantized ones."""
    with open(os.path.join(d, "tokens.txt"), "w") as f:
        f.write("".join(" ".join(map(str, s)) + "\n" for s in seqs))
    write_logits(os.path.join(d, "logits.bin"), model, seqs)
    for qname in qnames:
        write_gguf(os.path.join(d, f"model-{qname}.gguf"), fam, kw, model, qname)
    for qname in QUANTIZED:
        if qname in qnames:
            write_logits(os.path.join(d, f"logits-{qname}.bin"),
                         dequantized_copy(fam, kw, model, QTYPES[qname][0]), seqs)


def write_random(fam_name, fam, tag, kw, seqs):
    d = os.path.join(ROOT, fam_name, tag)
    os.makedirs(d, exist_ok=True)
    model = build(fam, kw, fam.seed + ord(tag))
    cfg_dict = model.config.to_dict()
    cfg_dict["architectures"] = [fam.model_cls.__name__]
    if tag in fam.config_json:
        fam.config_json[tag](cfg_dict)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg_dict, f, indent=2, sort_keys=True)
    sd = {k: v.float().contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    write_tokens_logits(d, fam, kw, model, seqs, fam.gguf.get(tag, ()))
    impl = {k: kw[k] for k in ("attn_implementation", "experts_implementation") if k in kw}
    reloaded = fam.model_cls.from_pretrained(d, **impl).float().eval()
    assert all(np.array_equal(x, y) for x, y in zip(logits(model, seqs), logits(reloaded, seqs))), \
        f"{d}: config.json + model.safetensors do not reproduce the logits"


def write_trained(fam_name, fam, tag, kw):
    """<family>/trained-<tag>/: the random model of <tag> trained on fixture_training's language, with
    sentences of that language (not seen in training), their logits, and the quantized GGUFs."""
    d = os.path.join(ROOT, fam_name, f"trained-{tag}")
    os.makedirs(d, exist_ok=True)
    seed = fam.seed + ord(tag)
    model = build(fam, kw, seed)
    lang = training.Language(VOCAB, seed)
    loss = training.train(model, lang, seed, max(SEQ_LENS))
    seqs = [lang.sample(1, n)[0].tolist() for n in SEQ_LENS]
    write_tokens_logits(d, fam, kw, model, seqs, QUANTIZED)
    ref = np.concatenate(logits(model, seqs))
    for qname in QUANTIZED:
        deq = np.concatenate(logits(dequantized_copy(fam, kw, model, QTYPES[qname][0]), seqs))
        top1, kl = training.agreement(ref, deq)
        print(f"{d}: loss {loss:.3f}; transformers on dequantized {qname}: top-1 {top1:.3f}, mean KL {kl:.2g}")


def main():
    rng = np.random.default_rng(SEED)
    seqs = [rng.integers(3, VOCAB, size=n).tolist() for n in SEQ_LENS]
    for s in seqs:
        s[0] = 2  # <bos>
    for fam_name, fam in FAMILIES.items():
        for tag, kw in fam.configs.items():
            write_random(fam_name, fam, tag, kw, seqs)
        for tag in fam.trained:
            write_trained(fam_name, fam, tag, fam.configs[tag])


if __name__ == "__main__":
    main()
