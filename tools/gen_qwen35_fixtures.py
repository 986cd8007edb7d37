#!/usr/bin/env python3
"""Writes tests/fixtures/qwen35/: small random-weight Qwen3.5 models (hybrid
Gated DeltaNet + gated attention; dense and MoE) built with Hugging Face
transformers, their float32 reference logits, and GGUF versions written the
way llama.cpp's converter (convert_hf_to_gguf.py / conversion/qwen.py at
upstream commit 34af94cd9, run with --no-mtp) names and transforms them
(MODELS.md §5).

Models (every weight a bfloat16 value, so that the bf16 checkpoint and the
F32/BF16 GGUFs hold exactly what transformers computed with):
  dense/  model_type qwen3_5 (Qwen3_5ForConditionalGeneration, text config
          qwen3_5_text): hidden 64, 8 layers, full_attention_interval 4
          (layers 3 and 7 gated attention, the rest Gated DeltaNet), 4 heads
          / 2 KV heads, head_dim 32, partial_rotary_factor 0.25 (8 rotated
          dims), rope_theta 1e7, linear attention 2 key heads / 4 value heads
          (so the GGUF V-head reorder matters) of dim 16, conv kernel 4,
          intermediate 128, vocab 256, untied lm_head.
  moe/    model_type qwen3_5_moe (Qwen3_5MoeForConditionalGeneration, text
          qwen3_5_moe_text): the same with 8 experts, top 2,
          moe_intermediate_size 32, shared expert 32, tied embeddings.
Per model:
  config.json, model.safetensors  HF folder in the form of the real checkpoints:
      nested text_config, tensors model.language_model.* (+ lm_head.weight
      when untied) in bfloat16, plus a tiny random vision tower model.visual.*
      that a text engine must skip; MoE experts stacked as
      mlp.experts.gate_up_proj [E, 2I, H] (gate rows first) and
      mlp.experts.down_proj [E, H, I] (no .weight suffix), as the hub
      checkpoints store them; no MTP (mtp_num_hidden_layers 0).
  model-{f32,bf16,q8_0,q4_0}.gguf  arch qwen35 / qwen35moe. The converter's
      type rules: 1-D tensors, *_norm.weight, ssm_conv1d, ssm_a, ssm_dt.bias,
      ffn_gate_inp and ffn_gate_inp_shexp stay F32; every other matrix
      (token_embd and output included) takes the file type. The converter
      has no q4_0 outtype: model-q4_0.gguf applies the same rules with Q4_0.
      No tokenizer.* keys (the vocabulary is synthetic).
  logits.bin  float32 [n_seq][n_tok][vocab] from transformers (eager/torch
      paths: torch_chunk_gated_delta_rule, torch causal conv, eager attention
      and experts), each sequence in one forward without a cache
  logits-q8_0.bin, logits-q4_0.bin  the same with every matrix the GGUF
      quantizes replaced by the gguf package's dequantization of it
  tokens.txt  one sequence per line (lengths 100, 70, 37), ids in [3, 256)
Checks: the first sequence decoded token by token with the HF cache gives
the one-shot logits within DECODE_TOL; the folder reloads with the
ConditionalGeneration class to the same logits; the fla / causal_conv1d /
kernels packages are absent (else transformers would not run its torch
reference paths). The f32, bf16 and q8_0 GGUFs were checked byte for byte
against the upstream converter run on these folders (with set_vocab skipped),
and llama.cpp at that commit (float32 KV cache, no flash attention) gives
logits.bin from model-f32.gguf within 6e-6 of max|logit|.

CONDITIONING. Random hybrid models are touchy: a DeltaNet mixer turns a
relative input error into ~2.4x that at its output (its per-head gated
RMSNorm rescales outputs that came out small), and a flipped top-2 expert
carries on through the recurrent state to every later token. Hence slow-ish
decays (median 0.97), the DeltaNet out_proj at 0.2x and the routed experts'
down_proj at 0.3x the plain 1/sqrt(fan_in) scale; both branches still decide
the logits (without the mixers top-1 agrees with the full model on 4 % of the
positions, without the routed experts on 9 %). What weight rounding alone
does here (transformers on the dequantized weights vs on the f32 ones):
  dense  Q8_0 top-1 0.894, mean KL 2.4e-3   Q4_0 top-1 0.24, KL 0.30
  moe    Q8_0 top-1 0.749, mean KL 3.5e-2   Q4_0 top-1 0.13, KL 0.51
(gemma3/a's Q8_0: 0.993, 4e-4), so engines with 8- or 16-bit activations
differ from the dequantized references by as much (llama.cpp: dense Q8_0
top-1 0.90 KL 2e-3, moe 0.75 KL 6e-2).

trained-dense/, trained-moe/: the same models trained briefly on
fixture_training's synthetic language (peaked predictions, as a real model
has), with sentences of that language: tokens.txt, logits.bin,
model-q8_0.gguf, model-q4_0.gguf and their dequantized logits.
"""
import copy
import importlib.util
import json
import os
import sys
import tempfile

import numpy as np
import torch
from gguf import (GGML_QUANT_VERSION, GGMLQuantizationType as T, GGUFWriter, LlamaFileType, MODEL_ARCH,
                  MODEL_ARCH_NAMES, get_tensor_name_map, size_label)
from gguf.quants import dequantize, quantize
from gguf.utility import SafetensorsLocal
from safetensors.torch import save_file
from transformers import (Qwen3_5Config, Qwen3_5ForCausalLM, Qwen3_5ForConditionalGeneration,
                          Qwen3_5MoeConfig, Qwen3_5MoeForCausalLM, Qwen3_5MoeForConditionalGeneration,
                          Qwen3_5MoeTextConfig, Qwen3_5MoeVisionConfig, Qwen3_5TextConfig, Qwen3_5VisionConfig)
from transformers.models.qwen3_5.modeling_qwen3_5 import Qwen3_5VisionModel
from transformers.models.qwen3_5_moe.modeling_qwen3_5_moe import Qwen3_5MoeVisionModel

import fixture_training as training

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "qwen35")
VOCAB, SEQ_LENS, SEED = 256, (100, 70, 37), 3535
# transformers' token-by-token decode (torch_recurrent_gated_delta_rule + conv update) against its one-shot
# forward (torch_chunk_gated_delta_rule), both float32: measured 2.0e-5 (dense) and 2.4e-5 (moe), rounding
# (a decode bug moves logits by > 1e-2)
DECODE_TOL = 1e-4

TEXT_BASE = dict(
    vocab_size=VOCAB, hidden_size=64, num_hidden_layers=8, num_attention_heads=4, num_key_value_heads=2,
    head_dim=32, hidden_act="silu", max_position_embeddings=1024, rms_norm_eps=1e-6, attention_bias=False,
    rope_parameters={"rope_type": "default", "rope_theta": 10_000_000.0, "partial_rotary_factor": 0.25,
                     "mrope_section": [11, 11, 10], "mrope_interleaved": True},
    linear_conv_kernel_dim=4, linear_key_head_dim=16, linear_value_head_dim=16, linear_num_key_heads=2,
    linear_num_value_heads=4, full_attention_interval=4, bos_token_id=None, eos_token_id=1, pad_token_id=0,
    # keys real checkpoints carry that transformers keeps as plain attributes
    attn_output_gate=True, mamba_ssm_dtype="float32", mtp_num_hidden_layers=0)
VISION = dict(depth=1, hidden_size=16, intermediate_size=32, num_heads=2, in_channels=3, patch_size=2,
              temporal_patch_size=2, spatial_merge_size=2, out_hidden_size=64, num_position_embeddings=16)

MODELS = {
    "dense": dict(arch=MODEL_ARCH.QWEN35, text_config_cls=Qwen3_5TextConfig, config_cls=Qwen3_5Config,
                  causal_cls=Qwen3_5ForCausalLM, cond_cls=Qwen3_5ForConditionalGeneration,
                  vision_config_cls=Qwen3_5VisionConfig, vision_cls=Qwen3_5VisionModel,
                  architecture="Qwen3_5ForConditionalGeneration",
                  text=dict(TEXT_BASE, intermediate_size=128, tie_word_embeddings=False)),
    "moe": dict(arch=MODEL_ARCH.QWEN35MOE, text_config_cls=Qwen3_5MoeTextConfig, config_cls=Qwen3_5MoeConfig,
                causal_cls=Qwen3_5MoeForCausalLM, cond_cls=Qwen3_5MoeForConditionalGeneration,
                vision_config_cls=Qwen3_5MoeVisionConfig, vision_cls=Qwen3_5MoeVisionModel,
                architecture="Qwen3_5MoeForConditionalGeneration",
                text=dict(TEXT_BASE, num_experts=8, num_experts_per_tok=2, moe_intermediate_size=32,
                          shared_expert_intermediate_size=32, tie_word_embeddings=True)),
}
GGUF_TYPES = (("f32", T.F32, LlamaFileType.ALL_F32), ("bf16", T.BF16, LlamaFileType.MOSTLY_BF16),
              ("q8_0", T.Q8_0, LlamaFileType.MOSTLY_Q8_0), ("q4_0", T.Q4_0, LlamaFileType.MOSTLY_Q4_0))


def bf16_round(t):
    return t.to(torch.bfloat16).float()


def randomize(model, gen):
    """Every parameter random (bf16 values); returns the names it set."""
    seen = []
    with torch.no_grad():
        for name, p in model.named_parameters():
            def randn(*shape):
                return torch.randn(*(shape or p.shape), generator=gen)
            if name.endswith("linear_attn.norm.weight"):
                v = 1.0 + 0.2 * randn()                       # gated RMSNorm: plain weight around 1
            elif name.endswith("norm.weight") and "visual" not in name:
                v = 0.2 * randn()                             # (1 + w) norms: HF stores w
            elif name.endswith("linear_attn.A_log"):
                v = torch.empty(p.shape).uniform_(0.1, 2.0, generator=gen).log()
            elif name.endswith("linear_attn.dt_bias"):
                # with a = in_proj_a(h) ~ N(0, 1) the per-token decays exp(-A softplus(a + dt)) spread
                # over 0.52 (1 %), 0.74 (5 %), 0.97 (median), 0.9999 (99 %). Faster decays leave the
                # 16x16 states of rank ~1, S^T q often tiny, and the per-head gated RMSNorm then blows
                # rounding up (float32 implementations differed by 1e-3 with A up to 8, dt_bias ~ N(-2, 1))
                v = randn() - 4.0
            else:                                             # matrices, conv1d [C,1,K], experts [E,out,in]
                v = randn() / (p.shape[-1] ** 0.5)
                # CONDITIONING (module docstring): these two branches write less into the residual
                if name.endswith("linear_attn.out_proj.weight"):
                    v = 0.2 * v
                elif name.endswith("mlp.experts.down_proj"):
                    v = 0.3 * v
            p.copy_(bf16_round(v))
            seen.append(name)
    return seen


def build(spec, gen):
    tc = spec["text_config_cls"](**spec["text"])
    tc._attn_implementation = "eager"
    tc._experts_implementation = "eager"
    model = spec["causal_cls"](tc).float().eval()
    names = randomize(model, gen)
    n_params = sum(1 for _ in model.parameters())
    assert len(names) == n_params, (len(names), n_params)
    return tc, model


def hf_checkpoint(spec, tc, model, gen):
    """config.json dict and the tensors of a real-format checkpoint (bf16)."""
    vc = spec["vision_config_cls"](**VISION)
    vision = spec["vision_cls"](vc).float().eval()
    randomize(vision, gen)
    text = tc.to_dict()
    text["full_attention_interval"] = TEXT_BASE["full_attention_interval"]  # real configs keep it beside layer_types
    text["dtype"] = "bfloat16"
    for k in ("_attn_implementation_autoset", "architectures"):
        text.pop(k, None)
    cfg = spec["config_cls"](text_config=text, vision_config=vc.to_dict(),
                             tie_word_embeddings=spec["text"]["tie_word_embeddings"])
    cfg_dict = cfg.to_dict()
    cfg_dict["text_config"] = text
    cfg_dict["architectures"] = [spec["architecture"]]
    cfg_dict["dtype"] = "bfloat16"
    tensors = {}
    for k, v in model.state_dict().items():
        if k == "lm_head.weight":
            if spec["text"]["tie_word_embeddings"]:
                continue
            tensors[k] = v
        else:
            assert k.startswith("model.")
            tensors["model.language_model." + k[len("model."):]] = v
    for k, v in vision.state_dict().items():
        tensors["model.visual." + k] = v
    tensors = {k: v.to(torch.bfloat16).contiguous() for k, v in tensors.items()}
    return cfg_dict, tensors


# ---------------------------------------------------------------- GGUF (convert_hf_to_gguf.py --no-mtp)

def reorder_v_heads(t, dim, n_k, n_v_per_k, head_dim):
    """conversion/qwen.py _LinearAttentionVReorderBase._reorder_v_heads: grouped -> tiled.
    With n_k and n_v_per_k swapped it is the inverse (tiled -> grouped)."""
    shape = list(t.shape)
    dim = dim % len(shape)
    t = t.reshape(*shape[:dim], n_k, n_v_per_k, head_dim, *shape[dim + 1:])
    perm = list(range(t.dim()))
    perm[dim], perm[dim + 1] = perm[dim + 1], perm[dim]
    return t.permute(*perm).contiguous().reshape(*shape)


def v_reorder(name, t, text, inverse=False):
    """The V-head reorder of the converter for one HF tensor (identity when nK == nV)."""
    n_k, n_v = text["linear_num_key_heads"], text["linear_num_value_heads"]
    if n_k == n_v or "linear_attn." not in name:
        return t
    dk, dv, r = text["linear_key_head_dim"], text["linear_value_head_dim"], n_v // n_k

    def ro(x, dim, hd):
        return reorder_v_heads(x, dim, r, n_k, hd) if inverse else reorder_v_heads(x, dim, n_k, r, hd)
    if ".in_proj_qkv." in name:
        qk = 2 * dk * n_k
        return torch.cat([t[:qk], ro(t[qk:], 0, dv)], dim=0)
    if ".in_proj_z." in name:
        return ro(t, 0, dv)
    if ".in_proj_b." in name or ".in_proj_a." in name:
        return ro(t, 0, 1)
    if ".A_log" in name or ".dt_bias" in name:
        return ro(t.unsqueeze(-1), 0, 1).squeeze(-1)
    if ".conv1d" in name:
        t = t.squeeze()
        qk = 2 * dk * n_k
        return torch.cat([t[:qk], ro(t[qk:], 0, dv)], dim=0)
    if ".out_proj." in name:
        return ro(t, 1, dv)
    return t


def gguf_tensors(st_path, text, arch):
    """(gguf name, float32 torch tensor, HF name, part) in the converter's order and form; part says which
    slice of the HF tensor it came from (None, "gate" or "up")."""
    tmap = get_tensor_name_map(arch, text["num_hidden_layers"])
    out = []
    st = SafetensorsLocal(st_path)
    for hf_name, lt in st.tensors.items():          # the converter's order: the file's header order
        if "visual." in hf_name:                    # TextModel.filter_tensors drops the vision tower
            continue
        name = hf_name.replace("language_model.", "")
        data = torch.frombuffer(bytearray(lt.mmap_bytes()), dtype=torch.bfloat16).reshape(lt.shape).float()
        data = v_reorder(name, data, text)
        # Qwen3NextModel.modify_tensors
        if name.endswith(".A_log"):
            data = -torch.exp(data)
        elif name.endswith(".dt_bias"):
            name = name.rpartition(".dt_bias")[0] + ".dt_proj.bias"
        elif "conv1d" in name:
            data = data.squeeze()
        elif name.endswith("norm.weight") and not name.endswith("linear_attn.norm.weight"):
            data = data + 1
        # Qwen2MoeModel.modify_tensors (stacked experts)
        if name.endswith("mlp.experts.down_proj"):
            parts = [(name + ".weight", data, None)]
        elif name.endswith("mlp.experts.gate_up_proj"):
            n_ff = data.shape[-2] // 2
            base = name.removesuffix(".gate_up_proj")
            parts = [(base + ".gate_proj.weight", data[..., :n_ff, :].contiguous(), "gate"),
                     (base + ".up_proj.weight", data[..., n_ff:, :].contiguous(), "up")]
        else:
            parts = [(name, data, None)]
        for n, d, part in parts:
            new = tmap.get_name(key=n, try_suffixes=(".weight", ".bias"))
            assert new is not None, n
            out.append((new, d, hf_name, part))
    return out


def tensor_qtype(new_name, data, qtype):
    """conversion/base.py prepare_tensors: which tensors keep F32 whatever the outtype."""
    if data.dim() <= 1 or new_name.endswith("_norm.weight"):
        return T.F32
    forced_f32 = (".ffn_gate_inp.weight", ".ffn_gate_inp_shexp.weight", ".ssm_conv1d.weight")
    if new_name.endswith(forced_f32) or new_name[-7:] != ".weight":
        return T.F32
    return qtype


def write_gguf(path, arch, text, tensors, qtype, ftype):
    """As ModelBase.write(): tensors first (prepare_tensors), then the metadata (prepare_metadata)."""
    w = GGUFWriter(path, arch=MODEL_ARCH_NAMES[arch])
    for new, data, _, _ in tensors:
        qt = tensor_qtype(new, data, qtype)
        w.add_tensor(new, quantize(data.numpy(), qt), raw_dtype=qt)
    w.add_type("model")
    # Metadata.set_gguf_meta_model: general.name is empty for this folder (so not written); the size label
    # is computed from the tensors
    w.add_size_label(size_label(*w.get_total_parameter_count()))
    # TextModel.set_gguf_parameters
    w.add_block_count(text["num_hidden_layers"])            # --no-mtp: no MTP blocks, no nextn_predict_layers
    w.add_context_length(text["max_position_embeddings"])
    w.add_embedding_length(text["hidden_size"])
    if "intermediate_size" in text:                          # absent in the MoE config: no feed_forward_length
        w.add_feed_forward_length(text["intermediate_size"])
    w.add_head_count(text["num_attention_heads"])
    w.add_head_count_kv(text["num_key_value_heads"])
    rope = text["rope_parameters"]                           # rope_type "default": no scaling keys
    w.add_rope_dimension_sections((list(rope["mrope_section"]) + [0, 0, 0, 0])[:4])
    w.add_rope_freq_base(rope["rope_theta"])
    w.add_layer_norm_rms_eps(text["rms_norm_eps"])
    if "num_experts" in text:
        w.add_expert_count(text["num_experts"])
        w.add_expert_used_count(text["num_experts_per_tok"])
    w.add_key_length(text["head_dim"])
    w.add_value_length(text["head_dim"])
    w.add_file_type(ftype)
    # Qwen2MoeModel.set_gguf_parameters
    if "moe_intermediate_size" in text:
        w.add_expert_feed_forward_length(text["moe_intermediate_size"])
        w.add_expert_shared_feed_forward_length(text["shared_expert_intermediate_size"])
    # Qwen3NextModel.set_gguf_parameters
    w.add_ssm_conv_kernel(text["linear_conv_kernel_dim"])
    w.add_ssm_state_size(text["linear_key_head_dim"])
    w.add_ssm_group_count(text["linear_num_key_heads"])
    w.add_ssm_time_step_rank(text["linear_num_value_heads"])
    w.add_ssm_inner_size(text["linear_value_head_dim"] * text["linear_num_value_heads"])
    w.add_full_attention_interval(text.get("full_attention_interval", 4))
    w.add_rope_dimension_count(int(text["head_dim"] * rope.get("partial_rotary_factor", 0.25)))
    # (_Qwen35MRopeMixin adds no key: mrope_section is present)
    w.add_quantization_version(GGML_QUANT_VERSION)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def dequantized_copy(model, text, tensors, qtype):
    """The model with every matrix the GGUF quantizes replaced by gguf's dequantization of it (mapped back
    to the HF layout: the V-head reorder undone, gate/up put back into gate_up_proj)."""
    m = copy.deepcopy(model)
    params = dict(m.named_parameters())
    n = 0
    with torch.no_grad():
        for new, data, hf_name, part in tensors:
            if tensor_qtype(new, data, qtype) == T.F32:
                continue
            x = data.numpy()
            dq = torch.from_numpy(dequantize(quantize(x, qtype), qtype).reshape(x.shape).astype(np.float32))
            short = hf_name.replace("language_model.", "")
            dq = v_reorder(short, dq, text, inverse=True)
            p = params[short]
            if part is None:
                p.copy_(dq)
            else:
                i = p.shape[-2] // 2
                (p[..., :i, :] if part == "gate" else p[..., i:, :]).copy_(dq)
            n += 1
    return m, n


# ---------------------------------------------------------------- reference logits

def logits_one_shot(model, seqs):
    with torch.no_grad():
        return [model(input_ids=torch.tensor([s]), use_cache=False).logits[0].float() for s in seqs]


def write_logits(path, logits):
    with open(path, "wb") as f:
        for l in logits:
            f.write(l.numpy().astype("<f4").tobytes())


def decode_max_diff(model, seq, ref):
    cache, rows = None, []
    with torch.no_grad():
        for tok in seq:
            out = model(input_ids=torch.tensor([[tok]]), past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            rows.append(out.logits[0, -1].float())
    return (torch.stack(rows) - ref).abs().max().item()


def main():
    for pkg in ("fla", "causal_conv1d", "kernels"):  # transformers would use them instead of the torch paths
        if importlib.util.find_spec(pkg) is not None:
            sys.exit(f"{pkg} is installed: the torch reference paths would not be used")
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    rng = np.random.default_rng(SEED)
    seqs = [rng.integers(3, VOCAB, size=n).tolist() for n in SEQ_LENS]
    for tag, spec in MODELS.items():
        gen = torch.Generator().manual_seed(SEED + sum(map(ord, tag)))
        d = os.path.join(OUT, tag)
        os.makedirs(d, exist_ok=True)
        tc, model = build(spec, gen)
        cfg_dict, tensors = hf_checkpoint(spec, tc, model, gen)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg_dict, f, indent=2, sort_keys=True)
            f.write("\n")
        st_path = os.path.join(d, "model.safetensors")
        save_file(tensors, st_path, metadata={"format": "pt"})
        with open(os.path.join(d, "tokens.txt"), "w") as f:
            f.write("".join(" ".join(map(str, s)) + "\n" for s in seqs))

        ref = logits_one_shot(model, seqs)
        write_logits(os.path.join(d, "logits.bin"), ref)
        diff = decode_max_diff(model, seqs[0], ref[0])
        print(f"{tag}: token-by-token decode vs one-shot max |dlogit| = {diff:.3g} (max |logit| "
              f"{ref[0].abs().max().item():.3g})")
        assert diff < DECODE_TOL, diff

        # the folder as written reloads with the multimodal class to the same logits
        cond, info = spec["cond_cls"].from_pretrained(d, attn_implementation="eager", experts_implementation="eager",
                                                      dtype=torch.float32, output_loading_info=True)
        assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
        cond.eval()
        rdiff = max((a - b).abs().max().item() for a, b in zip(logits_one_shot(cond, seqs), ref))
        print(f"{tag}: {spec['architecture']}.from_pretrained(folder) vs CausalLM max |dlogit| = {rdiff:.3g}")
        assert rdiff < 1e-5, rdiff
        del cond

        text = cfg_dict["text_config"]
        gts = gguf_tensors(st_path, text, spec["arch"])
        for qname, qtype, ftype in GGUF_TYPES:
            write_gguf(os.path.join(d, f"model-{qname}.gguf"), spec["arch"], text, gts, qtype, ftype)
        for qname, qtype, _ in GGUF_TYPES[2:]:
            m, n = dequantized_copy(model, text, gts, qtype)
            write_logits(os.path.join(d, f"logits-{qname}.bin"), logits_one_shot(m, seqs))
            print(f"{tag}: logits-{qname}.bin with {n} dequantized matrices")
    for tag, spec in MODELS.items():
        write_trained(tag, spec)


def write_trained(tag, spec):
    """trained-<tag>/: the random model of <tag> trained on fixture_training's language, with sentences of
    that language (not seen in training), their logits, and the quantized GGUFs with their dequantized
    logits (no HF folder: the random fixtures test that path)."""
    seed = SEED + sum(map(ord, tag))
    gen = torch.Generator().manual_seed(seed)
    d = os.path.join(OUT, f"trained-{tag}")
    os.makedirs(d, exist_ok=True)
    tc, model = build(spec, gen)
    lang = training.Language(VOCAB, seed)
    loss = training.train(model, lang, seed, max(SEQ_LENS))
    seqs = [lang.sample(1, n)[0].tolist() for n in SEQ_LENS]
    with open(os.path.join(d, "tokens.txt"), "w") as f:
        f.write("".join(" ".join(map(str, s)) + "\n" for s in seqs))
    ref = logits_one_shot(model, seqs)
    write_logits(os.path.join(d, "logits.bin"), ref)
    cfg_dict, tensors = hf_checkpoint(spec, tc, model, gen)
    text = cfg_dict["text_config"]
    with tempfile.TemporaryDirectory() as tmp:  # the converter's input
        st_path = os.path.join(tmp, "model.safetensors")
        save_file(tensors, st_path, metadata={"format": "pt"})
        gts = gguf_tensors(st_path, text, spec["arch"])
    for qname, qtype, ftype in GGUF_TYPES[2:]:
        write_gguf(os.path.join(d, f"model-{qname}.gguf"), spec["arch"], text, gts, qtype, ftype)
        m, _ = dequantized_copy(model, text, gts, qtype)
        deq = logits_one_shot(m, seqs)
        write_logits(os.path.join(d, f"logits-{qname}.bin"), deq)
        top1, kl = training.agreement(torch.cat(ref).numpy(), torch.cat(deq).numpy())
        print(f"{d}: loss {loss:.3f}; transformers on dequantized {qname}: top-1 {top1:.3f}, mean KL {kl:.2g}")


if __name__ == "__main__":
    main()
