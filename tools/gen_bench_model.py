#!/usr/bin/env python3
"""Writes random-weight GGUF files shaped like real models, for benchmarks
(not committed: they are large). Every matrix (the embedding included) is
stored in the given type and norms in F32, so flint and llama.cpp read exactly
the same bytes per token. Keys, tensor names, shapes and the tensors kept in
F32 follow llama.cpp's converter (convert_hf_to_gguf.py at 34af94cd9) and
llama-quantize.

usage: gen_bench_model.py OUT_DIR [SHAPE] [TYPES...] [--skew S]
       gen_bench_model.py --set-skew FILE --skew S
  SHAPE  gemma3-1b (the default)  hidden 1152, 26 layers, 4 heads / 1 KV head,
                                  head_dim 256, FFN 6912, vocab 262144, window 512
         gemma4-26b-a4b           Gemma 4 26B-A4B at 6 of its 30 layers (5 sliding
                                  + 1 full): hidden 2816, 16 heads, sliding head_dim
                                  256 / 8 KV heads, full head_dim 512 / 2 KV heads
                                  with K = V, dense FFN 2112 plus 128 experts (8
                                  used) of FFN 704, vocab 262144, tied output
         qwen35-35b-a3b           Qwen3.5-35B-A3B at 8 of its 40 layers (6 Gated
                                  DeltaNet + 2 gated attention): hidden 2048, 16
                                  heads / 2 KV heads of 256, 256 experts (8 used)
                                  of FFN 512 plus a shared expert, vocab 248320
         qwen35-35b-a3b-full      the same at all 40 layers (30 + 10), for disk-bound
                                  runs: 18.2 GiB at Q4_0, 34.4 GiB at Q8_0. Its
                                  expert stacks are not drawn value by value (35 G
                                  values take too long): 8 experts' worth of random
                                  values per stack width are quantized once and each
                                  expert is a run of those blocks from a random block
                                  on. Disk-bound runs read bytes, and any valid blocks
                                  do; routing depends on the routers, which stay
                                  random F32, each layer's from its own stream.
  TYPES  Q4_0 Q8_0 BF16 Q4_K Q6_K ... (default: Q4_0 Q8_0 BF16); Q4_K and
         Q6_K store matrices whose rows are not whole 256-blocks in
         llama-quantize's fallback type (Q5_0, Q8_0), as real files do
  --skew S  (qwen35-35b-a3b-full) Zipf-like expert popularity: in each
         layer the router row of rank r (a random order) is scaled by
         (r + 1)^-S, so that expert's logits vary more and it wins the top k
         more often. A random router routes almost uniformly, which makes
         an expert cache's hit rate look worse than on a trained model. The
         share of routings the top 10% and 25% of experts take is simulated
         (top 8 of the routers on 2048 Gaussian hidden states) and printed:
         S 0 gives 0.12 (sampling noise over 0.10), 0.1 gives 0.21, 0.15
         gives 0.27, 0.2 gives 0.34, 0.5 gives 0.64. The file is named
         SHAPE-skewS-TYPE.gguf.
  --set-skew FILE  rewrites the routers of a qwen35-35b-a3b-full file in
         place for --skew S (0 restores the uniform ones), so one large file
         serves both.
Writes OUT_DIR/SHAPE-TYPE.gguf (type in lower case) and prints its size and
the bytes of weights one decoded token reads: every tensor, except that the
embedding counts one row and an expert stack only its used experts (the
output matrix, tied or not, counts fully). `gen_bench_model.py OUT_DIR Q4_0`
still means gemma3-1b.

Tensors are written one at a time (expert stacks and embeddings in slices),
so memory stays near the largest slice whatever the file size."""
import os
import sys

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T, GGUFReader, GGUFWriter, LlamaFileType, TokenType
from gguf.gguf_writer import WriterState
from gguf.quants import quantize, quant_shape_to_byte_shape

F32 = None  # the "type" of tensors kept in float32 whatever the file type
CHUNK = 1 << 24  # values generated and quantized at a time
# llama-quantize's type for rows that are not whole 256-blocks (llama_tensor_get_type)
K_FALLBACK = {T.Q4_K: T.Q5_0, T.Q6_K: T.Q8_0}


class Tensor:
    """One tensor to write: numpy shape (rows last is ne0), kept in F32 or
    stored in the file type, values from gen(rng, slice_shape); expert stacks
    set experts so the per-token count reads only the used ones."""

    def __init__(self, name, shape, gen, f32=False, experts=0, pooled=False):
        self.name, self.shape, self.gen, self.f32, self.experts = name, tuple(shape), gen, f32, experts
        self.pooled = pooled  # written as runs of blocks from a pool (expert_pool)

    def qtype(self, qtype):
        if self.f32:
            return T.F32
        if qtype in K_FALLBACK and self.shape[-1] % 256:
            return K_FALLBACK[qtype]
        return qtype

    def byte_shape(self, qtype):
        q = self.qtype(qtype)
        return self.shape if q == T.F32 else quant_shape_to_byte_shape(self.shape, q)

    def nbytes(self, qtype):
        q = self.qtype(qtype)
        return int(np.prod(self.byte_shape(qtype))) * (4 if q == T.F32 else 1)

    def slices(self):
        """Shapes whose concatenation (in C order) is the tensor: whole experts
        or runs of rows, each at most CHUNK values (at least one row)."""
        *outer, cols = self.shape
        rows = int(np.prod(outer)) if outer else 1
        step = max(1, CHUNK // cols)
        for r in range(0, rows, step):
            yield (min(step, rows - r), cols) if outer else (cols,)


# value generators: (rng, slice shape) -> float32 array; each draws exactly
# prod(shape) values so slicing never changes the stream


def weight(cols, legacy=False):
    if legacy:  # gemma3-1b's original expression (float64 product), kept byte-identical
        return lambda rng, s: rng.standard_normal(s, dtype=np.float32) * (1.0 / np.sqrt(cols))
    scale = np.float32(1.0 / np.sqrt(cols))
    return lambda rng, s: rng.standard_normal(s, dtype=np.float32) * scale


def norm(rng, s):
    return (1.0 + 0.1 * rng.standard_normal(s)).astype(np.float32)


def const(values):
    values = np.asarray(values, dtype=np.float32)
    return lambda rng, s: values


def router(layer, skew):
    """A router matrix from its layer's own stream (so --set-skew can rewrite
    it in place): random rows, the row of rank r (a random permutation)
    scaled by (r + 1)^-skew, so a skewed expert's logits vary more and it
    lands in the top k more often."""
    def gen(_, s):
        rng = np.random.default_rng((3, layer))
        w = rng.standard_normal(s, dtype=np.float32) * np.float32(1.0 / np.sqrt(s[-1]))
        rank = rng.permutation(s[0])
        return w * ((rank + 1.0) ** -skew).astype(np.float32)[:, None]
    return gen


def neg_exp_uniform(rng, s):  # ssm_a = -exp(A_log), A_log ~ U(0, ln 16) as at init
    return (-np.exp(rng.uniform(0.0, np.log(16.0), s))).astype(np.float32)


# K-quants (the gguf package cannot quantize them): a plain min/max fit per
# sub-block, not llama-quantize's search; a benchmark needs valid bytes and
# every code in use, not the best fit.


def f16_bytes(v):
    return v.astype(np.float16).view(np.uint8).reshape(len(v), 2)


def ratio(a, b, top):
    """rint(a / b) clipped to [0, top], 0 where b is 0"""
    return np.where(b > 0, np.rint(a / np.where(b > 0, b, 1)), 0).clip(0, top)


def quant_q4_k(x):
    """144-byte blocks: d, dmin (f16), 12 bytes of 6-bit (scale, min) per
    sub-block of 32, 128 bytes of nibbles; y = d sc q - dmin mn."""
    b = x.reshape(-1, 8, 32).astype(np.float32)
    lo = np.minimum(b.min(axis=2), 0)
    scale, m = (b.max(axis=2) - lo) / 15, -lo
    d, dmin = (scale.max(axis=1) / 63).astype(np.float16), (m.max(axis=1) / 63).astype(np.float16)
    df, dmf = d.astype(np.float32)[:, None], dmin.astype(np.float32)[:, None]
    sc, mn = ratio(scale, df, 63).astype(np.uint8), ratio(m, dmf, 63).astype(np.uint8)
    q = ratio(b + (dmf * mn)[:, :, None], (df * sc)[:, :, None], 15).astype(np.uint8)
    s12 = np.concatenate([sc[:, :4] | (sc[:, 4:] >> 4) << 6, mn[:, :4] | (mn[:, 4:] >> 4) << 6,
                          (sc[:, 4:] & 15) | (mn[:, 4:] & 15) << 4], axis=1)
    qs = (q[:, 0::2] | q[:, 1::2] << 4).reshape(-1, 128)  # chunk c: sub-blocks 2c (low), 2c+1 (high)
    return np.concatenate([f16_bytes(d), f16_bytes(dmin), s12, qs], axis=1).reshape(x.shape[:-1] + (-1,))


def quant_q6_k(x):
    """210-byte blocks: ql[128], qh[64], int8 scales per sub-block of 16, d
    (f16); y = d sc (q - 32), element 128n + 32g + l in ql[64n + 32(g&1) + l]
    (high nibble for g >= 2) and bits 2g of qh[32n + l]."""
    b = x.reshape(-1, 16, 16).astype(np.float32)
    scale = np.abs(b).max(axis=2) / 31
    d = (scale.max(axis=1) / 127).astype(np.float16)
    df = d.astype(np.float32)[:, None]
    sc = ratio(scale, df, 127)
    step = (df * sc)[:, :, None]
    q = (np.where(step > 0, np.rint(b / np.where(step > 0, step, 1)), 0).clip(-32, 31) + 32).astype(np.uint8)
    q = q.reshape(-1, 2, 4, 32)  # n, g, l
    ql = np.concatenate([q[:, :, 0] & 15 | (q[:, :, 2] & 15) << 4, q[:, :, 1] & 15 | (q[:, :, 3] & 15) << 4], axis=2)
    qh = q[:, :, 0] >> 4 | (q[:, :, 1] >> 4) << 2 | (q[:, :, 2] >> 4) << 4 | (q[:, :, 3] >> 4) << 6
    blocks = [ql.reshape(-1, 128), qh.reshape(-1, 64), sc.astype(np.int8).view(np.uint8), f16_bytes(d)]
    return np.concatenate(blocks, axis=1).reshape(x.shape[:-1] + (-1,))


def quantize_any(x, q):
    return quant_q4_k(x) if q == T.Q4_K else quant_q6_k(x) if q == T.Q6_K else quantize(x, q)


# --- pooled expert stacks ----------------------------------------------------

POOL_EXPERTS = 8  # experts' worth of values quantized once per (type, columns)


def expert_pool(q, cols, per_expert):
    """POOL_EXPERTS experts of random values (the stack's distribution)
    quantized once, as an array of blocks laid twice end to end, so that
    per_expert values starting at any block of the first copy are contiguous."""
    rows = POOL_EXPERTS * per_expert // cols
    x = weight(cols)(np.random.default_rng((1, cols)), (rows, cols))
    blocks = quantize_any(x, q).reshape(-1, GGML_QUANT_SIZES[q][1])
    return np.concatenate([blocks, blocks])


def write_pooled(fout, t, q, pools, rng):
    """Each expert: a run of blocks from a random block of the pool."""
    per_expert = int(np.prod(t.shape[1:]))
    key = (q, t.shape[-1])
    if key not in pools:
        pools[key] = expert_pool(q, t.shape[-1], per_expert)
    pool = pools[key]
    n = per_expert // GGML_QUANT_SIZES[q][0]
    for start in rng.integers(0, len(pool) // 2, t.experts):
        pool[start:start + n].tofile(fout)
    return t.experts * n * pool.shape[1]


# --- gemma3-1b ---------------------------------------------------------------


def gemma3_1b():
    H, L, NH, NKV, HD, FF, V = 1152, 26, 4, 1, 256, 6912, 262144

    def meta(w):
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
        return Tensor(name, (rows, cols), weight(cols, legacy=True))

    def nrm(name, n):
        return Tensor(name, (n,), norm, f32=True)

    ts = [mat("token_embd.weight", V, H)]
    for i in range(L):
        p = f"blk.{i}."
        ts += [nrm(p + n + ".weight", H) for n in ("attn_norm", "post_attention_norm", "ffn_norm", "post_ffw_norm")]
        ts += [nrm(p + "attn_q_norm.weight", HD), nrm(p + "attn_k_norm.weight", HD),
               mat(p + "attn_q.weight", NH * HD, H), mat(p + "attn_k.weight", NKV * HD, H),
               mat(p + "attn_v.weight", NKV * HD, H), mat(p + "attn_output.weight", H, NH * HD),
               mat(p + "ffn_gate.weight", FF, H), mat(p + "ffn_up.weight", FF, H),
               mat(p + "ffn_down.weight", H, FF)]
    ts.append(nrm("output_norm.weight", H))
    return dict(arch="gemma3", meta=meta, tensors=ts, legacy=True)


# --- minimal tokenizers -----------------------------------------------------


def gemma4_vocab(w, V):
    """tokenizer.ggml.model "gemma4" (character BPE, spaces as U+2581, byte
    fallback): the special ids of Gemma, the 256 byte tokens, a few merges."""
    special = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<|turn>", "<turn|>"]
    byte = [f"<0x{b:02X}>" for b in range(256)]
    merges = ["▁ t", "h e", "▁t he", "i n", "▁ a", "e r", "o n", "r e"]
    pieces = ["▁", "\n"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["▁t", "he", "▁the", "in", "▁a", "er", "on", "re"]
    toks = special + byte + pieces
    toks += [f"<t{i}>" for i in range(len(toks), V)]
    types = ([TokenType.CONTROL] * len(special) + [TokenType.BYTE] * 256 +
             [TokenType.NORMAL] * (V - len(special) - 256))
    w.add_tokenizer_model("gemma4")
    w.add_token_list(toks)
    w.add_token_scores([0.0] * V)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(2)
    w.add_eos_token_id(1)
    w.add_unk_token_id(3)
    w.add_pad_token_id(0)
    w.add_add_space_prefix(False)
    w.add_add_bos_token(True)


def gpt2_bytes():
    """GPT-2's byte-to-character map (printable bytes map to themselves)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


def qwen35_vocab(w, V):
    """tokenizer.ggml.model "gpt2" (byte-level BPE), pre "qwen35": the 256
    byte characters, a few merges, Qwen's three special tokens at the end."""
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "r e", "Ġ Ġ", "Ċ Ċ"]
    toks = gpt2_bytes() + ["Ġt", "he", "Ġthe", "in", "Ġa", "er", "on", "re", "ĠĠ", "ĊĊ"]
    toks += [f"<t{i}>" for i in range(len(toks), V - len(special))] + special
    types = [TokenType.NORMAL] * (V - len(special)) + [TokenType.CONTROL] * len(special)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen35")
    w.add_token_list(toks)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_eos_token_id(V - 3)  # <|endoftext|>
    w.add_pad_token_id(V - 3)
    w.add_bos_token_id(V - 3)
    w.add_add_bos_token(False)


# --- gemma4-26b-a4b ------------------------------------------------------------


def gemma4_26b_a4b():
    H, L, NH, V = 2816, 6, 16, 262144
    SWA = [True] * 5 + [False]  # layers 0-4 sliding, layer 5 full
    HD_SWA, NKV_SWA, HD_FULL, NKV_FULL = 256, 8, 512, 2
    FF, FF_EXP, N_EXP, N_USED = 2112, 704, 128, 8
    ROT_FULL = int(HD_FULL * 0.25 / 2)  # proportional RoPE, partial_rotary_factor 0.25

    def meta(w):
        # in the order convert_hf_to_gguf.py writes them (Gemma4Model)
        w.add_block_count(L)
        w.add_context_length(262144)
        w.add_embedding_length(H)
        w.add_feed_forward_length(FF)
        w.add_head_count(NH)
        w.add_rope_freq_base(1e6)
        w.add_rope_freq_base_swa(1e4)
        w.add_layer_norm_rms_eps(1e-6)
        w.add_expert_count(N_EXP)
        w.add_expert_used_count(N_USED)
        w.add_key_length(HD_FULL)
        w.add_value_length(HD_FULL)
        w.add_final_logit_softcapping(30.0)
        w.add_sliding_window(1024)
        w.add_shared_kv_layers(0)
        w.add_embedding_length_per_layer_input(0)
        w.add_sliding_window_pattern(SWA)
        w.add_key_length_swa(HD_SWA)
        w.add_value_length_swa(HD_SWA)
        w.add_expert_feed_forward_length(FF_EXP)
        w.add_head_count_kv([NKV_SWA if s else NKV_FULL for s in SWA])
        w.add_rope_dimension_count(HD_FULL)
        w.add_rope_dimension_count_swa(HD_SWA)
        gemma4_vocab(w, V)

    def mat(name, rows, cols, experts=0):
        shape = (experts, rows, cols) if experts else (rows, cols)
        return Tensor(name, shape, weight(cols), experts=experts)

    def f32(name, n, gen=norm):
        return Tensor(name, (n,), gen, f32=True)

    ts = [mat("token_embd.weight", V, H),
          f32("rope_freqs.weight", HD_FULL // 2, const([1.0] * ROT_FULL + [1e30] * (HD_FULL // 2 - ROT_FULL)))]
    for i in range(L):
        p = f"blk.{i}."
        hd, nkv = (HD_SWA, NKV_SWA) if SWA[i] else (HD_FULL, NKV_FULL)
        ts += [f32(p + "attn_norm.weight", H),
               mat(p + "attn_q.weight", NH * hd, H),
               mat(p + "attn_k.weight", nkv * hd, H)]
        if SWA[i]:  # full layers have no attn_v: V is K (attention_k_eq_v)
            ts.append(mat(p + "attn_v.weight", nkv * hd, H))
        ts += [mat(p + "attn_output.weight", H, NH * hd),
               f32(p + "attn_q_norm.weight", hd), f32(p + "attn_k_norm.weight", hd),
               f32(p + "post_attention_norm.weight", H),
               # dense MLP (runs beside the experts)
               f32(p + "ffn_norm.weight", H),
               mat(p + "ffn_gate.weight", FF, H), mat(p + "ffn_up.weight", FF, H), mat(p + "ffn_down.weight", H, FF),
               f32(p + "post_ffw_norm_1.weight", H),
               # router, F32 as the converter and llama-quantize leave it
               Tensor(p + "ffn_gate_inp.weight", (N_EXP, H), weight(H), f32=True),
               f32(p + "ffn_gate_inp.scale", H),
               f32(p + "pre_ffw_norm_2.weight", H),
               mat(p + "ffn_gate_up_exps.weight", 2 * FF_EXP, H, N_EXP),  # gate rows, then up rows
               mat(p + "ffn_down_exps.weight", H, FF_EXP, N_EXP),
               f32(p + "ffn_down_exps.scale", N_EXP),
               f32(p + "post_ffw_norm_2.weight", H),
               f32(p + "post_ffw_norm.weight", H),
               f32(p + "layer_output_scale.weight", 1)]
    ts.append(f32("output_norm.weight", H))
    return dict(arch="gemma4", meta=meta, tensors=ts, n_expert=N_EXP, n_used=N_USED)


# --- qwen35-35b-a3b ------------------------------------------------------------


def qwen35_35b_a3b(L=8, full=False, skew=0.0):
    """L=8: the reduced-depth shape (all of its values from the one stream);
    full: all 40 layers with pooled expert stacks and per-layer routers"""
    H, NH, NKV, HD, V = 2048, 16, 2, 256, 248320
    INTERVAL = 4  # every 4th layer is full (gated) attention, the rest Gated DeltaNet
    K_CONV, D_STATE, N_GROUP, DT_RANK = 4, 128, 16, 32  # 16 K heads, 32 V heads of 128
    D_INNER = D_STATE * DT_RANK  # 4096
    CONV_DIM = 2 * N_GROUP * D_STATE + D_INNER  # q, k, v channels: 8192
    FF_EXP, FF_SHEXP, N_EXP, N_USED = 512, 512, 256, 8

    def meta(w):
        # in the order convert_hf_to_gguf.py writes them (Qwen3_5MoeTextModel, --no-mtp)
        w.add_block_count(L)
        w.add_context_length(262144)
        w.add_embedding_length(H)
        w.add_head_count(NH)
        w.add_head_count_kv(NKV)
        w.add_rope_dimension_sections([11, 11, 10, 0])
        w.add_rope_freq_base(1e7)
        w.add_layer_norm_rms_eps(1e-6)
        w.add_expert_count(N_EXP)
        w.add_expert_used_count(N_USED)
        w.add_key_length(HD)
        w.add_value_length(HD)
        w.add_expert_feed_forward_length(FF_EXP)
        w.add_expert_shared_feed_forward_length(FF_SHEXP)
        w.add_ssm_conv_kernel(K_CONV)
        w.add_ssm_state_size(D_STATE)
        w.add_ssm_group_count(N_GROUP)
        w.add_ssm_time_step_rank(DT_RANK)
        w.add_ssm_inner_size(D_INNER)
        w.add_full_attention_interval(INTERVAL)
        w.add_rope_dimension_count(int(HD * 0.25))
        qwen35_vocab(w, V)

    def mat(name, rows, cols, experts=0):
        shape = (experts, rows, cols) if experts else (rows, cols)
        return Tensor(name, shape, weight(cols), experts=experts, pooled=full and experts > 0)

    def f32(name, shape, gen=norm):
        return Tensor(name, shape if isinstance(shape, tuple) else (shape,), gen, f32=True)

    def gate_inp(i):
        gen = router(i, skew) if full else weight(H)
        return Tensor(f"blk.{i}.ffn_gate_inp.weight", (N_EXP, H), gen, f32=True)

    ts = [mat("token_embd.weight", V, H)]
    for i in range(L):
        p = f"blk.{i}."
        ts.append(f32(p + "attn_norm.weight", H))
        if (i + 1) % INTERVAL:  # Gated DeltaNet
            ts += [mat(p + "attn_qkv.weight", CONV_DIM, H),  # q (16x128), k (16x128), v (32x128) rows
                   mat(p + "attn_gate.weight", D_INNER, H),  # z
                   f32(p + "ssm_conv1d.weight", (CONV_DIM, K_CONV), weight(K_CONV)),  # ne {4, 8192}
                   f32(p + "ssm_dt.bias", DT_RANK),
                   f32(p + "ssm_a", DT_RANK, neg_exp_uniform),  # -exp(A_log) < 0
                   mat(p + "ssm_beta.weight", DT_RANK, H),
                   mat(p + "ssm_alpha.weight", DT_RANK, H),
                   f32(p + "ssm_norm.weight", D_STATE),
                   mat(p + "ssm_out.weight", H, D_INNER)]
        else:  # gated attention: attn_q holds query and gate interleaved per head
            ts += [mat(p + "attn_q.weight", 2 * NH * HD, H),
                   f32(p + "attn_q_norm.weight", HD),
                   mat(p + "attn_k.weight", NKV * HD, H),
                   f32(p + "attn_k_norm.weight", HD),
                   mat(p + "attn_v.weight", NKV * HD, H),
                   mat(p + "attn_output.weight", H, NH * HD)]
        ts += [f32(p + "post_attention_norm.weight", H),
               gate_inp(i),  # router
               mat(p + "ffn_gate_exps.weight", FF_EXP, H, N_EXP),
               mat(p + "ffn_up_exps.weight", FF_EXP, H, N_EXP),
               mat(p + "ffn_down_exps.weight", H, FF_EXP, N_EXP),
               f32(p + "ffn_gate_inp_shexp.weight", H, weight(H)),  # shared expert's sigmoid gate
               mat(p + "ffn_gate_shexp.weight", FF_SHEXP, H),
               mat(p + "ffn_up_shexp.weight", FF_SHEXP, H),
               mat(p + "ffn_down_shexp.weight", H, FF_SHEXP)]
    ts += [f32("output_norm.weight", H), mat("output.weight", V, H)]
    return dict(arch="qwen35moe", meta=meta, tensors=ts, n_expert=N_EXP, n_used=N_USED)


SHAPES = {"gemma3-1b": gemma3_1b, "gemma4-26b-a4b": gemma4_26b_a4b, "qwen35-35b-a3b": qwen35_35b_a3b,
          "qwen35-35b-a3b-full": lambda skew=0.0: qwen35_35b_a3b(40, full=True, skew=skew)}
SKEWABLE = "qwen35-35b-a3b-full"
FILE_TYPES = {T.F32: LlamaFileType.ALL_F32, T.F16: LlamaFileType.MOSTLY_F16, T.BF16: LlamaFileType.MOSTLY_BF16,
              T.Q4_0: LlamaFileType.MOSTLY_Q4_0, T.Q4_1: LlamaFileType.MOSTLY_Q4_1,
              T.Q5_0: LlamaFileType.MOSTLY_Q5_0, T.Q5_1: LlamaFileType.MOSTLY_Q5_1,
              T.Q8_0: LlamaFileType.MOSTLY_Q8_0, T.Q4_K: LlamaFileType.MOSTLY_Q4_K_S,
              T.Q6_K: LlamaFileType.MOSTLY_Q6_K}


def bytes_per_token(spec, qtype):
    ts = spec["tensors"]
    names = {t.name for t in ts}
    n = 0
    for t in ts:
        b = t.nbytes(qtype)
        if t.name == "token_embd.weight":
            n += b // t.shape[0]  # the looked-up row
            if "output.weight" not in names:
                n += b  # tied output
        elif t.experts:
            n += b // t.experts * spec["n_used"]
        else:
            n += b
    return n


def routing_shares(routers, n_used, tokens=2048):
    """Top-k routing simulated on isotropic Gaussian hidden states: per
    router, the share of routings taken by its most used 10% and 25% of
    experts (0.10 and 0.25 when uniform)."""
    h = np.random.default_rng(4).standard_normal((tokens, routers[0].shape[1]), dtype=np.float32)
    shares = []
    for w in routers:
        top = np.argpartition(-(h @ w.T), n_used, axis=1)[:, :n_used]
        counts = np.sort(np.bincount(top.ravel(), minlength=len(w)))[::-1]
        shares.append([counts[:len(w) * f // 100].sum() / counts.sum() for f in (10, 25)])
    return np.array(shares)


def print_skew(spec, skew):
    routers = [t.gen(None, t.shape) for t in spec["tensors"] if t.name.endswith("ffn_gate_inp.weight")]
    shares = routing_shares(routers, spec["n_used"])
    for f, col in ((10, 0), (25, 1)):
        print(f"skew {skew:g}: top {f}% of experts take {shares[:, col].mean():.3f} of routings "
              f"(layers {shares[:, col].min():.3f}-{shares[:, col].max():.3f}; simulated, "
              f"Gaussian hidden states)", flush=True)


def set_skew(path, skew):
    """Rewrites the routers of a qwen35-35b-a3b-full file in place."""
    try:
        r = GGUFReader(path, "r+")
        name = bytes(r.fields["general.name"].parts[-1]).decode()
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"{path}: not a GGUF file with general.name ({e})")
    if not name.startswith(SKEWABLE + "-shaped"):
        sys.exit(f"{path}: general.name is '{name}', not a {SKEWABLE} file")
    spec = SHAPES[SKEWABLE](skew)
    want = {t.name: t for t in spec["tensors"] if t.name.endswith("ffn_gate_inp.weight")}
    found = [t for t in r.tensors if t.name in want]
    if len(found) != len(want):
        sys.exit(f"{path}: {len(found)} routers, expected {len(want)}")
    for t in found:
        spec_t = want[t.name]
        if t.data.shape != spec_t.shape or t.data.dtype != np.float32:
            sys.exit(f"{path}: {t.name} is {t.data.dtype} {t.data.shape}, expected float32 {spec_t.shape}")
        t.data[...] = spec_t.gen(None, spec_t.shape)
    r.data.flush()
    print_skew(spec, skew)


def write(path, shape, spec, qtype, rng):
    w = GGUFWriter(path, arch=spec["arch"])
    w.add_name(f"{shape}-shaped random {qtype.name}")
    if not spec.get("legacy"):
        w.add_type("model")
        w.add_file_type(FILE_TYPES[qtype])
        w.add_quantization_version(2)
    spec["meta"](w)
    ts = spec["tensors"]
    for t in ts:
        q = t.qtype(qtype)
        w.add_tensor_info(t.name, t.byte_shape(qtype), np.float32 if q == T.F32 else np.uint8, t.nbytes(qtype),
                          raw_dtype=None if q == T.F32 else q)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    fout = w.fout[0]
    pools, pool_rng = {}, np.random.default_rng(2)
    for t in ts:  # GGUFWriter.write_tensor_data, one slice at a time
        q = t.qtype(qtype)
        ti = w.tensors[0].pop(t.name)
        w.write_padding(fout, fout.tell())
        if t.pooled:
            n = write_pooled(fout, t, q, pools, pool_rng)
        else:
            n = 0
            for s in t.slices():
                x = t.gen(rng, s)
                x = x.astype(np.float32) if q == T.F32 else quantize_any(x, q)
                x.tofile(fout)
                n += x.nbytes
        assert n == ti.nbytes == t.nbytes(qtype), t.name
        w.write_padding(fout, n)
        w.state = WriterState.WEIGHTS
    w.close()


def usage():
    sys.exit(__doc__.split("\n\n")[1])


def take_skew(args):
    """Removes "--skew S" from args; returns S (0 when absent)."""
    if "--skew" not in args:
        return 0.0
    i = args.index("--skew")
    try:
        skew = float(args[i + 1])
    except (IndexError, ValueError):
        sys.exit("--skew needs a number")
    if not 0 <= skew <= 8:
        sys.exit(f"--skew {skew:g}: expected 0 to 8")
    del args[i:i + 2]
    return skew


def main():
    args = sys.argv[1:]
    skew = take_skew(args)
    if args and args[0] == "--set-skew":
        if len(args) != 2:
            usage()
        return set_skew(args[1], skew)
    if not args or args[0].startswith("-"):
        usage()
    out, rest = args[0], args[1:]
    shape = "gemma3-1b"
    if rest and rest[0] in SHAPES:
        shape, rest = rest[0], rest[1:]
    elif rest and rest[0] not in T.__members__:
        sys.exit(f"unknown shape '{rest[0]}' (known: {', '.join(SHAPES)})")
    for name in rest:
        if name not in T.__members__ or T[name] not in FILE_TYPES:
            sys.exit(f"unsupported type '{name}' (known: {', '.join(q.name for q in FILE_TYPES)})")
    if skew and shape != SKEWABLE:
        sys.exit(f"--skew applies to {SKEWABLE} only")
    os.makedirs(out, exist_ok=True)
    spec = SHAPES[shape](skew) if shape == SKEWABLE else SHAPES[shape]()
    suffix = f"-skew{skew:g}" if skew else ""
    for name in rest or ["Q4_0", "Q8_0", "BF16"]:
        path = os.path.join(out, f"{shape}{suffix}-{name.lower()}.gguf")
        write(path, shape, spec, T[name], np.random.default_rng(0))
        print(f"{path}: {os.path.getsize(path)} bytes, bytes per token: {bytes_per_token(spec, T[name])}", flush=True)
    if shape == SKEWABLE:
        print_skew(spec, skew)


if __name__ == "__main__":
    main()
