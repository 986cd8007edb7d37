#!/usr/bin/env python3
"""Writes tests/fixtures/gguf/: GGUF files made by the `gguf` package's
GGUFWriter, and for each a manifest of what an independent reader must find.

Manifest (one line per leaf, the same canonical dump test_gguf.c prints):
  <path> <type> <value>            scalar: ints in decimal, f32/f64 as the hex of
                                   their bits, bool 0/1, string as hex bytes ("-" if empty)
  <path> array <elem_type> <count> then one line per element, path "<path>[i]"
  tensor <name> <TYPE> <n_dims> <ne0,ne1,..> <abs_offset> <nbytes> <fnv1a64 hex>
Tensor offsets and sizes come from the package's GGUFReader (an independent
parse of the same file); metadata values from what was handed to the writer.
"""
import os
import struct

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFReader, GGUFValueType as V, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "gguf")
TYPE_NAMES = {V.UINT8: "u8", V.INT8: "i8", V.UINT16: "u16", V.INT16: "i16", V.UINT32: "u32",
              V.INT32: "i32", V.FLOAT32: "f32", V.BOOL: "bool", V.STRING: "string",
              V.ARRAY: "array", V.UINT64: "u64", V.INT64: "i64", V.FLOAT64: "f64"}


def fnv1a64(b: bytes) -> int:
    h = 0xcbf29ce484222325
    for x in b:
        h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def leaf(path, vtype, val, lines):
    t = TYPE_NAMES[vtype]
    if vtype == V.FLOAT32:
        s = "0x%08x" % struct.unpack("<I", struct.pack("<f", val))[0]
    elif vtype == V.FLOAT64:
        s = "0x%016x" % struct.unpack("<Q", struct.pack("<d", val))[0]
    elif vtype == V.BOOL:
        s = "1" if val else "0"
    elif vtype == V.STRING:
        b = val.encode("utf-8") if isinstance(val, str) else val
        s = b.hex() if b else "-"
    else:
        s = str(int(val))
    lines.append(f"{path} {t} {s}")


def dump(path, vtype, val, sub, lines):
    if vtype != V.ARRAY:
        leaf(path, vtype, val, lines)
        return
    lines.append(f"{path} array {TYPE_NAMES[sub[0]]} {len(val)}")
    for i, item in enumerate(val):
        dump(f"{path}[{i}]", sub[0], item, sub[1:], lines)


# key -> (type, value, element types for arrays, outermost first)
METADATA = [
    ("general.architecture", V.STRING, "fixture", ()),
    ("general.alignment", V.UINT32, 64, ()),
    ("t.u8", V.UINT8, 255, ()),
    ("t.i8", V.INT8, -128, ()),
    ("t.u16", V.UINT16, 65535, ()),
    ("t.i16", V.INT16, -32768, ()),
    ("t.u32", V.UINT32, 4294967295, ()),
    ("t.i32", V.INT32, -2147483648, ()),
    ("t.f32", V.FLOAT32, 3.14159265, ()),
    ("t.f32_neg_tiny", V.FLOAT32, -1.5e-42, ()),
    ("t.bool_true", V.BOOL, True, ()),
    ("t.bool_false", V.BOOL, False, ()),
    ("t.u64", V.UINT64, 18446744073709551615, ()),
    ("t.i64", V.INT64, -9223372036854775808, ()),
    ("t.f64", V.FLOAT64, 2.718281828459045, ()),
    ("t.string", V.STRING, "Gemma ▁ 日本語 🙂 \"quoted\"\n", ()),
    ("t.string_empty", V.STRING, "", ()),
    ("t.arr_u8", V.ARRAY, [0, 1, 254, 255], (V.UINT8,)),
    ("t.arr_i8", V.ARRAY, [-128, 0, 127], (V.INT8,)),
    ("t.arr_u16", V.ARRAY, [0, 65535], (V.UINT16,)),
    ("t.arr_i16", V.ARRAY, [-32768, 32767], (V.INT16,)),
    ("t.arr_u32", V.ARRAY, [7, 4294967295], (V.UINT32,)),
    ("t.arr_i32", V.ARRAY, [-1, 2, -3, 4, -5], (V.INT32,)),
    ("t.arr_f32", V.ARRAY, [0.5, -2.25, 1e30, float("inf")], (V.FLOAT32,)),
    ("t.arr_bool", V.ARRAY, [True, False, True], (V.BOOL,)),
    ("t.arr_u64", V.ARRAY, [0, 18446744073709551615], (V.UINT64,)),
    ("t.arr_i64", V.ARRAY, [-9223372036854775808, 9223372036854775807], (V.INT64,)),
    ("t.arr_f64", V.ARRAY, [1e-300, -0.0], (V.FLOAT64,)),
    ("t.arr_str", V.ARRAY, ["<bos>", "", "▁the", "日本", "🙂", "<0x0A>"], (V.STRING,)),
    ("t.arr_nested", V.ARRAY, [[1, 2], [3], [4, 5, 6]], (V.ARRAY, V.INT32)),
    ("t.arr_nested_str", V.ARRAY, [["a", "bc"], ["日本"]], (V.ARRAY, V.STRING)),
    ("t.arr_nested3", V.ARRAY, [[[1.0], [2.0, 3.5]]], (V.ARRAY, V.ARRAY, V.FLOAT32)),
]

# every ggml type flint knows, with shapes of 1..4 dimensions
TENSOR_TYPES = [T.F32, T.F16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q8_1, T.Q2_K, T.Q3_K,
                T.Q4_K, T.Q5_K, T.Q6_K, T.Q8_K, T.IQ2_XXS, T.IQ2_XS, T.IQ3_XXS, T.IQ1_S, T.IQ4_NL,
                T.IQ3_S, T.IQ2_S, T.IQ4_XS, T.I8, T.I16, T.I32, T.I64, T.F64, T.IQ1_M, T.BF16,
                T.TQ1_0, T.TQ2_0, T.MXFP4]
SHAPES = [(2,), (2, 3), (1, 2, 2), (1, 1, 2, 1)]  # in blocks along ne0; fastest first


def write(path, metadata, with_tensors, rng):
    w = GGUFWriter(path, arch="fixture")
    w.kv_data[0].clear()  # the arch key is written explicitly below
    for key, vtype, val, sub in metadata:
        if key == "general.alignment":
            w.data_alignment = val
        w.add_key_value(key, val, vtype, sub_type=sub[0] if sub else None)
    if with_tensors:
        for i, t in enumerate(TENSOR_TYPES):
            bs, ts = GGML_QUANT_SIZES[t]
            shape = list(SHAPES[i % len(SHAPES)])
            shape[0] *= bs
            n = int(np.prod(shape))
            # uint8 rows of ne0/bs blocks; the writer turns the byte shape back into elements
            byte_shape = list(reversed(shape))
            byte_shape[-1] = shape[0] // bs * ts
            raw = rng.integers(0, 256, size=n // bs * ts, dtype=np.uint8).reshape(byte_shape)
            w.add_tensor(f"t.{i}.{t.name.lower()}", raw, raw_dtype=t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    lines = []
    for key, vtype, val, sub in metadata:
        dump(key, vtype, val, sub, lines)
    r = GGUFReader(path)
    for t in r.tensors:
        shape = [int(x) for x in t.shape]  # GGUFReader lists ne fastest first
        data = bytes(r.data[t.data_offset:t.data_offset + t.n_bytes])
        lines.append(f"tensor {t.name} {t.tensor_type.name} {len(shape)} {','.join(map(str, shape))} "
                     f"{t.data_offset} {t.n_bytes} {fnv1a64(data):016x}")
    with open(os.path.splitext(path)[0] + ".txt", "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(1234)
    write(os.path.join(OUT, "all_types.gguf"), METADATA, True, rng)
    # default alignment (32), metadata only, no tensors
    write(os.path.join(OUT, "no_tensors.gguf"),
          [m for m in METADATA if m[0] != "general.alignment"][:8], False, rng)


if __name__ == "__main__":
    main()
