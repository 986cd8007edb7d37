#!/usr/bin/env python3
"""gen_quant_fixtures.py — writes tests/fixtures/quant/ for tests/test_quant.c.

Expected values come from implementations independent of flint's C code:
the gguf package (gguf.quants: dequantize for every ggml type, quantize for
Q8_0/Q4_0/BF16), numpy (float16 casts, MLX affine formula) and ml_dtypes
(F8/F4/F6 small floats, bfloat16). Run from the repository root; the output
is deterministic (fixed seed), so regenerating gives identical files.

Fixture format
--------------
tests/fixtures/quant/manifest.txt is a text file, one case per line,
whitespace-separated fields, '#' starts a comment line. Every binary is raw
little-endian with no header; a case's file is the concatenation of the
sections listed, whose sizes follow from the fields on the line:

  dequant TYPE N SRC FILE
      SRC = inline: FILE = input (N elements of TYPE, row_bytes(TYPE, N))
                           + expected f32[N]
      SRC = iota16: the input is the u16 values 0..65535 (N = 65536), not
                    stored; FILE = expected f32[N]
  convert TYPE N FILE
      f32 -> TYPE encoding (F16 or BF16). FILE = f32[N] input
      + expected u16[N] encodings
  quant TYPE N INPUT REF REF_RMSE BOUND
      Block quantization of INPUT (f32[N], shared by all quant lines).
      REF = the gguf package's quantized bytes for this input and REF_RMSE
      the RMSE of its own dequantization against the input, or "-" where
      gguf has no quantizer. BOUND = the largest allowed relative RMSE
      sqrt(sum (deq - x)^2 / sum x^2), or "-".
  mlx BITS GROUP STYPE ROWS NIN FILE
      MLX affine rows. FILE = w u32[ROWS * NIN * BITS / 32]
      + scales STYPE[ROWS * NIN / GROUP] + biases (same) + expected f32[ROWS * NIN]

NaN: wherever an expected value is NaN, the test requires NaN (any payload,
since numpy may or may not quiet a signalling NaN depending on its SIMD
path). flint does reproduce every NaN bit pattern written here: F16/BF16
NaNs keep sign and payload, F8 NaN codes decode to ml_dtypes' quiet NaN
with the code's sign; F4/F6 have no NaN or inf codes.

F6 packing: safetensors does not specify it and ml_dtypes stores one value
per byte, so flint reads F4 and F6 as a little-endian bit stream (element i
at stream bits [i*w, (i+1)*w), bit k in byte k/8 at position k%8): for F4
that is torch.float4_e2m1fn_x2's low-nibble-first, for F6 a 24-bit LE word
per 4 elements with element k at bits 6k..6k+5 (as MLX packs 6-bit codes).

K-quant bounds (the gguf package has no Q4_K/Q5_K/Q6_K quantizer): flint's
encoders restate llama.cpp's quantize_row_q{4,5,6}_K_ref (no imatrix). Off
tree they were checked against a transcription of those ggml functions:
byte-identical output on 3,000 random 256-rows (Gaussian, tiny, outlier,
all-positive, half-zero and coarse-valued rows; built with gcc and with
clang, -O2 and -O3 -march=native). On the quant input written below, llama.cpp's
algorithm reaches these relative RMSEs, sqrt(sum (deq - x)^2 / sum x^2):
    Q4_K 0.099788   Q5_K 0.052597   Q6_K 0.029024
(Gaussian rows alone: about 0.070, 0.035, 0.018; the outlier rows, where a
few elements 25x larger stretch one sub-block's scale, reach 0.109, 0.058,
0.039 and dominate the total). KQUANT_BOUNDS allow 2% above those
measurements: a change that makes the search worse fails, while the
summation order of the check itself does not matter.
"""

import os
import sys

import numpy as np

try:
    import ml_dtypes
    from gguf import GGMLQuantizationType as T
    from gguf import quants
    from gguf.constants import GGML_QUANT_SIZES
except ImportError as e:  # pragma: no cover
    sys.exit(f"gen_quant_fixtures: {e} (run tools/make_fixtures.sh, which installs tools/requirements.txt)")

OUT = "tests/fixtures/quant"
SEED = 20240611

# relative RMSE bounds, see the module docstring
KQUANT_BOUNDS = {"Q4_K": 0.1018, "Q5_K": 0.0537, "Q6_K": 0.0297}

rng = np.random.default_rng(SEED)
manifest = []


def write(name: str, *parts: bytes) -> None:
    with open(os.path.join(OUT, name), "wb") as f:
        for p in parts:
            f.write(p)


def f32le(a) -> bytes:
    return np.ascontiguousarray(a, dtype="<f4").tobytes()


def random_f16(n: int, lo_exp: float = -8.0, hi_exp: float = 2.0) -> np.ndarray:
    """n finite f16 scale values: random sign, log-uniform magnitude in
    [2^lo_exp, 2^hi_exp), with a few exact zeros and f16 subnormals so those
    paths are covered too."""
    mag = np.exp2(rng.uniform(lo_exp, hi_exp, n))
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    v = (mag * sign).astype(np.float16)
    if n >= 8:
        v[0] = 0.0
        v[1] = np.float16(2.0**-20)  # subnormal
        v[2] = -np.float16(2.0**-15)  # subnormal
    return v


# Byte offsets of the f16 fields (d, dmin/m) in each ggml block layout.
F16_FIELDS = {
    "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2], "Q8_0": [0],
    "Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
    "IQ4_NL": [0], "IQ4_XS": [0], "MXFP4": [],
}
N_BLOCKS = {"Q2_K": 24, "Q3_K": 24, "Q4_K": 24, "Q5_K": 24, "Q6_K": 24, "IQ4_XS": 24, "MXFP4": 256}


def gen_ggml_dequant() -> None:
    for name, offsets in F16_FIELDS.items():
        qt = T[name]
        block, size = GGML_QUANT_SIZES[qt]
        nb = N_BLOCKS.get(name, 64)
        raw = rng.integers(0, 256, size=(nb, size), dtype=np.uint8)
        for off in offsets:
            # K-quant mins use a smaller range than scales, as real files do
            raw[:, off:off + 2] = random_f16(nb).view(np.uint8).reshape(nb, 2)
        if name == "MXFP4":
            # every E8M0 exponent once, including 0 and 1 (ggml's subnormal
            # scales) and 254/255 (where large codes overflow to inf)
            raw[:, 0] = rng.permutation(256).astype(np.uint8)
        with np.errstate(over="ignore"):
            expected = quants.dequantize(raw, qt).astype(np.float32).reshape(-1)
        assert expected.size == nb * block
        fname = f"dq_{name.lower()}.bin"
        write(fname, raw.tobytes(), f32le(expected))
        manifest.append(f"dequant {name} {nb * block} inline {fname}")


def gen_float_dequant() -> None:
    # F32: a view; random values plus specials
    x = rng.standard_normal(256).astype(np.float32) * np.float32(100)
    x[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45]
    raw = x.astype("<f4").view(np.uint8)
    expected = quants.dequantize(raw, T.F32)
    write("dq_f32.bin", raw.tobytes(), f32le(expected))
    manifest.append("dequant F32 256 inline dq_f32.bin")

    # F16 and BF16: every bit pattern (the input is generated by the test)
    pat = np.arange(65536, dtype=np.uint32).astype("<u2")
    f16 = quants.dequantize(pat.view(np.uint8), T.F16).astype(np.float32)
    bf16 = quants.dequantize(pat.view(np.uint8), T.BF16).astype(np.float32)
    # ml_dtypes must agree with gguf's bf16 bit shift
    md = pat.view(ml_dtypes.bfloat16).astype(np.float32)
    ok = np.isnan(md) & np.isnan(bf16) | (md.view(np.uint32) == bf16.view(np.uint32))
    assert ok.all(), "ml_dtypes and gguf disagree on bfloat16"
    write("dq_f16_all.bin", f32le(f16))
    write("dq_bf16_all.bin", f32le(bf16))
    manifest.append("dequant F16 65536 iota16 dq_f16_all.bin")
    manifest.append("dequant BF16 65536 iota16 dq_bf16_all.bin")

    # F8: all 256 byte values
    codes = np.arange(256, dtype=np.uint8)
    for name, dt in (("F8_E4M3", ml_dtypes.float8_e4m3fn), ("F8_E5M2", ml_dtypes.float8_e5m2),
                     ("F8_E8M0", ml_dtypes.float8_e8m0fnu), ("F8_E4M3FNUZ", ml_dtypes.float8_e4m3fnuz),
                     ("F8_E5M2FNUZ", ml_dtypes.float8_e5m2fnuz)):
        expected = codes.view(dt).astype(np.float32)
        fname = f"dq_{name.lower()}.bin"
        write(fname, codes.tobytes(), f32le(expected))
        manifest.append(f"dequant {name} 256 inline {fname}")

    # F4: all 256 bytes = every (low, high) nibble pair; element 2i is the
    # low nibble of byte i
    lo, hi = codes & 0x0F, codes >> 4
    vals = np.stack([lo, hi], axis=1).reshape(-1).astype(np.uint8)
    expected = vals.view(ml_dtypes.float4_e2m1fn).astype(np.float32)
    write("dq_f4.bin", codes.tobytes(), f32le(expected))
    manifest.append("dequant F4 512 inline dq_f4.bin")

    # F6: 64 groups of 4 codes, position k of group b holds (b + 17k) % 64,
    # so every code appears at every position. Packed as a little-endian
    # bit stream: 24-bit LE word, element k at bits [6k, 6k+6).
    b = np.arange(64)[:, None]
    k = np.arange(4)[None, :]
    six = ((b + 17 * k) % 64).astype(np.uint32)
    word = six[:, 0] | six[:, 1] << 6 | six[:, 2] << 12 | six[:, 3] << 18
    packed = np.stack([word & 0xFF, (word >> 8) & 0xFF, (word >> 16) & 0xFF], axis=1).astype(np.uint8)
    for name, dt in (("F6_E2M3", ml_dtypes.float6_e2m3fn), ("F6_E3M2", ml_dtypes.float6_e3m2fn)):
        expected = six.reshape(-1).astype(np.uint8).view(dt).astype(np.float32)
        fname = f"dq_{name.lower()}.bin"
        write(fname, packed.tobytes(), f32le(expected))
        manifest.append(f"dequant {name} 256 inline {fname}")


def gen_convert() -> None:
    """f32 -> F16 / BF16 rounding: random values over the whole range,
    exact midpoints between neighbouring f16 values and their f32
    neighbours, the overflow and underflow edges, and specials."""
    parts = [
        rng.standard_normal(1024) * np.exp2(rng.uniform(-30, 20, 1024)),
        [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 65504.0, 65519.996, 65520.0, 65536.0, 1e10,
         -65520.0, 2.0**-24, 2.0**-25, 2.0**-25 * 1.0000001, 2.0**-26, 1.5 * 2.0**-24, 2.0**-14,
         2.0**-14 * (1 - 2.0**-11), 3e38, 1e-45, -1e-45, 3.4028235e38],
    ]
    h = rng.integers(0, 0x7BFF, 1024, dtype=np.uint16)
    lo = h.view(np.float16).astype(np.float32)
    hi = (h + 1).view(np.float16).astype(np.float32)
    mid = ((lo.astype(np.float64) + hi.astype(np.float64)) / 2).astype(np.float32)  # exact
    sign = np.where(rng.random(1024) < 0.5, -1, 1).astype(np.float32)
    parts += [mid * sign, np.nextafter(mid, np.float32(np.inf)) * sign, np.nextafter(mid, np.float32(0)) * sign]
    x = np.concatenate([np.asarray(p, dtype=np.float32) for p in parts])
    n = x.size
    with np.errstate(over="ignore", invalid="ignore"):
        f16 = x.astype(np.float16).view("<u2")
    write("cv_f16.bin", f32le(x), f16.tobytes())
    manifest.append(f"convert F16 {n} cv_f16.bin")
    bf16 = quants.quantize(x, T.BF16).view("<u2")  # ggml's rounding: RNE, NaN forced quiet
    write("cv_bf16.bin", f32le(x), bf16.tobytes())
    manifest.append(f"convert BF16 {n} cv_bf16.bin")


def gen_quant() -> None:
    """One input of 24 rows x 256, shared by every quantizer: mostly
    Gaussian rows at a few scales, rows with rare large outliers, an
    all-positive row, a row of tiny values and a row whose first half is an
    all-zero block."""
    rows, n_row = 24, 256
    x = rng.standard_normal((rows, n_row)) * np.array([1.0, 0.02, 3.0, 0.5] * 6)[:, None]
    for r in (4, 5, 6):  # outliers
        idx = rng.choice(n_row, 4, replace=False)
        x[r, idx] *= 25.0
    x[7] = np.abs(x[7]) + 0.3  # all positive: the min of Q4_K/Q5_K is nonzero
    x[8] *= 1e-3
    x[9, :128] = 0.0  # all-zero 32-blocks and half of a K-quant super-block
    x[10, :] = 0.0  # an all-zero super-block
    x[11] = rng.uniform(-1, 1, n_row)
    x = x.astype(np.float32)
    n = x.size
    write("quant_input.f32", f32le(x))

    for name in ("Q8_0", "Q4_0"):
        q = quants.quantize(x, T[name])
        deq = quants.dequantize(q, T[name]).astype(np.float64)
        rmse = float(np.sqrt(np.mean((deq - x.astype(np.float64)) ** 2)))
        fname = f"q_{name.lower()}_gguf.bin"
        write(fname, q.tobytes())
        manifest.append(f"quant {name} {n} quant_input.f32 {fname} {rmse!r} -")
    for name, bound in KQUANT_BOUNDS.items():
        manifest.append(f"quant {name} {n} quant_input.f32 - - {bound!r}")


def gen_mlx() -> None:
    """MLX affine rows for every (bits, group size, scale dtype): codes
    packed into u32 words in numpy, y = f32(scale) * q + f32(bias) rounded
    in f32 after each operation."""
    rows, n_in = 3, 256
    stypes = {"F16": np.float16, "BF16": ml_dtypes.bfloat16, "F32": np.float32}
    for bits in (4, 8):
        per_word = 32 // bits
        for group in (32, 64, 128):
            for sname, sdt in stypes.items():
                q = rng.integers(0, 1 << bits, size=(rows, n_in), dtype=np.uint32)
                words = np.zeros((rows, n_in // per_word), dtype=np.uint32)
                for k in range(per_word):
                    words |= q[:, k::per_word] << np.uint32(bits * k)
                ng = n_in // group
                scales = (rng.standard_normal((rows, ng)) * 0.01).astype(sdt)
                biases = (rng.standard_normal((rows, ng)) * 0.05).astype(sdt)
                s32 = np.repeat(scales.astype(np.float32), group, axis=1)
                b32 = np.repeat(biases.astype(np.float32), group, axis=1)
                y = s32 * q.astype(np.float32)  # rounded to f32
                y = y + b32  # rounded again
                assert y.dtype == np.float32
                fname = f"mlx_b{bits}_g{group}_{sname.lower()}.bin"
                write(fname, words.astype("<u4").tobytes(), scales.view(np.uint8).tobytes(),
                      biases.view(np.uint8).tobytes(), f32le(y))
                manifest.append(f"mlx {bits} {group} {sname} {rows} {n_in} {fname}")


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    gen_ggml_dequant()
    gen_float_dequant()
    gen_convert()
    gen_quant()
    gen_mlx()
    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("# Generated by tools/gen_quant_fixtures.py; format described there.\n")
        for line in manifest:
            f.write(line + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"gen_quant_fixtures: {len(manifest)} cases, {total} bytes in {OUT}")


if __name__ == "__main__":
    main()
