"""Writes tests/fixtures/exact/: K-quant GGUFs of a small random Gemma 3 and the logits transformers
computes (float32) on the gguf package's dequantization of exactly the bytes each file stores, the
references for flint's exact mode (test_exact.c holds `--exact` to 1e-4 of them, the F32 bound).

The gguf package dequantizes the K-quants but cannot quantize them (NotImplementedError), and the
reference needs only the dequantization of the stored bytes, so the files hold random valid blocks:
uniformly random codes, sub-block scales and mins, with each block's f16 super-scales set per tensor so
that the dequantized rows have mean ~0 and standard deviation 1/sqrt(columns), as the random fixtures of
tools/gen_gemma_fixtures.py have. The model's weights are then those dequantized values, so what the
reference computes is exactly the model the GGUF describes. Rows are 256 wide (K-quant blocks are 256
elements): hidden and FFN sizes 256, 2 layers. Q8_0 and Q4_0 have such references already (the
logits-q8_0.bin / logits-q4_0.bin of every random fixture).

  <dir>/model-<q>.gguf   q in q4_k, q5_k, q6_k: every matrix in that type, norms F32
  <dir>/logits-<q>.bin   float32 [sequence][position][vocab], sequences back to back
  <dir>/tokens.txt       the token ids of each sequence, one line each
"""
import os

import numpy as np
import torch
from gguf import GGMLQuantizationType as T, GGUFWriter, GGML_QUANT_SIZES
from gguf.quants import dequantize

import gen_gemma_fixtures as G

DIR = os.path.join(G.ROOT, "exact", "gemma3")
KW = dict(G.GEMMA3, hidden_size=256, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
          num_key_value_heads=1, head_dim=64, query_pre_attn_scalar=64)
QTYPES = {"q4_k": T.Q4_K, "q5_k": T.Q5_K, "q6_k": T.Q6_K}
SEED = 4321

# byte offsets of the f16 super-scales in a block: (d, dmin or None)
SUPER = {T.Q4_K: (0, 2), T.Q5_K: (0, 2), T.Q6_K: (208, None)}


def with_super(blocks, qtype, d, dmin):
    b = blocks.copy()
    od, om = SUPER[qtype]
    b[:, od:od + 2] = np.frombuffer(np.float16(d).tobytes(), np.uint8)
    if om is not None:
        b[:, om:om + 2] = np.frombuffer(np.float16(dmin).tobytes(), np.uint8)
    return b


def random_tensor(rng, shape, qtype):
    """Random blocks of qtype for a tensor of shape (rows, cols): (bytes [rows][row bytes], dequantized)."""
    rows, cols = shape
    bs, ts = GGML_QUANT_SIZES[qtype]
    assert cols % bs == 0, shape
    blocks = rng.integers(0, 256, size=(rows * cols // bs, ts), dtype=np.uint8)
    a = dequantize(with_super(blocks, qtype, 1.0, 0.0).reshape(rows, -1), qtype)  # d's part
    d = (cols ** -0.5) / a.std()
    dmin = 0.0
    if SUPER[qtype][1] is not None:  # y = d * sc * q - dmin * m: cancel the mean
        b = dequantize(with_super(blocks, qtype, 0.0, 1.0).reshape(rows, -1), qtype)
        dmin = d * a.mean() / -b.mean()
    data = with_super(blocks, qtype, d, dmin).reshape(rows, -1)
    deq = dequantize(data, qtype).reshape(shape)
    assert np.isfinite(deq).all() and abs(deq.mean()) < 0.2 * deq.std(), (qtype, deq.mean(), deq.std())
    return data, deq


def tensors(fam, model, qtype, rng):
    """(GGUF name, data, type, HF name) of every stored tensor; the model's matrices become the
    dequantization of their random blocks."""
    out = []
    for hf, t in model.state_dict().items():
        if hf == "lm_head.weight":
            continue  # tied to the embedding
        name = G.gguf_name(fam, hf)
        x = t.float().numpy()
        if hf.endswith("norm.weight"):
            x = x + 1.0  # Gemma 1-3 store 1 + w
        if G.stored_type(name, x, qtype) == T.F32:
            out.append((name, x.astype(np.float32), T.F32, hf))
            continue
        data, deq = random_tensor(rng, x.shape, qtype)
        with torch.no_grad():
            t.copy_(torch.from_numpy(deq))
        out.append((name, data, qtype, hf))
    return out


def main():
    fam = G.FAMILIES["gemma3"]
    os.makedirs(DIR, exist_ok=True)
    rng = np.random.default_rng(SEED)
    seqs = [rng.integers(3, G.VOCAB, size=n).tolist() for n in G.SEQ_LENS]
    for s in seqs:
        s[0] = 2  # <bos>
    with open(os.path.join(DIR, "tokens.txt"), "w") as f:
        f.write("".join(" ".join(map(str, s)) + "\n" for s in seqs))
    for qname, qtype in QTYPES.items():
        model = G.build(fam, KW, SEED)
        ts = tensors(fam, model, qtype, np.random.default_rng(SEED + qtype.value))
        w = GGUFWriter(os.path.join(DIR, f"model-{qname}.gguf"), arch=fam.arch)
        fam.kv(w, KW, None)
        for name, data, ttype, _ in ts:
            w.add_tensor(name, data, raw_dtype=ttype)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        G.write_logits(os.path.join(DIR, f"logits-{qname}.bin"), model, seqs)
        print(f"{DIR}/model-{qname}.gguf: {os.path.getsize(os.path.join(DIR, f'model-{qname}.gguf'))} bytes")


if __name__ == "__main__":
    main()
