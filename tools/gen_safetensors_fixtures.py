#!/usr/bin/env python3
"""gen_safetensors_fixtures.py — writes tests/fixtures/st/ (deterministic).

The checkpoints are written by the `safetensors` package itself (the Rust
writer behind every Hugging Face checkpoint), so the C reader is checked
against an independent implementation:

  single/model.safetensors   every dtype the package's writer knows (F4 and
                             the F8 FNUZ variants included), shapes 0-d .. 8-d,
                             zero-size tensors, __metadata__
  f6.safetensors             F6_E2M3 / F6_E3M2: safetensors 0.8.0 reads these
                             dtypes but its Python writer cannot make them, so
                             this header is written here and then checked by
                             safetensors.deserialize
  sharded/                   2 shards + model.safetensors.index.json + a
                             config.json that matches their shapes
  *.manifest, sharded/manifest
      tab-separated lines; "meta  file  key  hex(value)" per __metadata__
      entry and one per tensor:
      tensor  file  name  dtype  shape(d0,d1,.. or -)  begin  end  abs_offset  nbytes  fnv1a64(bytes)
      begin/end come from the header as Python's json reads it; the bytes
      are what safetensors.deserialize returns for the tensor.
  config/*.json + *.expected
      config.json fixtures and their flattening as Python's json module reads
      them, in the rules of src/format/config.h. One line per key:
      key TAB type TAB value; arrays: "array" TAB "<elem_type> <count>" then
      one line per item as key[i] (nested: key[i][j]). Strings are hex of
      their UTF-8 bytes; reals are repr() (round-trips through strtod).
"""
import ctypes
import hashlib
import json
import os
import struct
import sys

import safetensors
from safetensors import TensorSpec, deserialize, serialize_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "st")

# dtype code -> (TensorSpec name, bits per element)
DTYPES = {
    "BOOL": ("bool", 8), "U8": ("uint8", 8), "I8": ("int8", 8),
    "U16": ("uint16", 16), "I16": ("int16", 16), "F16": ("float16", 16),
    "BF16": ("bfloat16", 16), "U32": ("uint32", 32), "I32": ("int32", 32),
    "F32": ("float32", 32), "F64": ("float64", 64), "U64": ("uint64", 64),
    "I64": ("int64", 64), "F8_E4M3": ("float8_e4m3fn", 8),
    "F8_E5M2": ("float8_e5m2", 8), "F8_E8M0": ("float8_e8m0fnu", 8),
    "F4": ("float4_e2m1fn_x2", 4), "C64": ("complex64", 64),
    "F8_E4M3FNUZ": ("float8_e4m3fnuz", 8), "F8_E5M2FNUZ": ("float8_e5m2fnuz", 8),
    "F6_E2M3": (None, 6), "F6_E3M2": (None, 6),
}


def fnv1a64(b):
    h = 0xcbf29ce484222325
    for x in b:
        h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def det_bytes(name, n):
    """n deterministic pseudo-random bytes, seeded by the tensor name."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{name}:{i}".encode()).digest()
        i += 1
    return bytes(out[:n])


def nbytes(dtype, shape):
    n = 1
    for d in shape:
        n *= d
    bits = n * DTYPES[dtype][1]
    assert bits % 8 == 0, (dtype, shape)
    return bits // 8


def write_package(path, tensors, metadata=None):
    """tensors: list of (name, dtype code, logical shape); written by
    safetensors.serialize_file from raw bytes."""
    keep, specs = [], {}
    for name, dtype, shape in tensors:
        n = nbytes(dtype, shape)
        data = det_bytes(name, n)
        buf = ctypes.create_string_buffer(data, max(n, 1))
        keep.append(buf)
        store = list(shape)
        if dtype == "F4":  # TensorSpec takes the packed (storage) shape
            assert store[-1] % 2 == 0
            store[-1] //= 2
        specs[name] = TensorSpec(dtype=DTYPES[dtype][0], shape=store,
                                 data_ptr=ctypes.addressof(buf), data_len=n)
    serialize_file(specs, path, metadata=metadata)
    os.chmod(path, 0o644)  # the package writes 0600 through a temp file


def write_by_hand(path, tensors, metadata=None):
    """For dtypes the package cannot write: the layout the crate writes (JSON
    header padded with spaces to a multiple of 8, data in order)."""
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        b = det_bytes(name, nbytes(dtype, shape))
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def manifest_lines(path, label):
    """Lines for every tensor of path: offsets from the raw header (Python
    json), bytes from safetensors.deserialize (the package's reader)."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    start = 8 + n
    got = {name: t for name, t in deserialize(raw)}
    lines = [f"meta\t{label}\t{k}\t{v.encode().hex()}" for k, v in header.get("__metadata__", {}).items()]
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        data = bytes(got[name]["data"])
        assert got[name]["dtype"] == info["dtype"] and list(got[name]["shape"]) == info["shape"]
        assert raw[start + b:start + e] == data and len(data) == e - b
        shape = ",".join(str(d) for d in info["shape"]) or "-"
        lines.append(f"tensor\t{label}\t{name}\t{info['dtype']}\t{shape}\t{b}\t{e}\t{start + b}\t{e - b}\t{fnv1a64(data):016x}")
    return lines


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for l in lines:
            f.write(l + "\n")


# ---- checkpoints ----

SINGLE = [
    ("bool.1d", "BOOL", [7]),
    ("u8.zero", "U8", [0, 7]),
    ("i8.2d", "I8", [3, 5]),
    ("u16.3d", "U16", [2, 3, 4]),
    ("i16.1d", "I16", [9]),
    ("f16.2d", "F16", [4, 6]),
    ("f16.zero", "F16", [3, 0]),
    ("bf16.5d", "BF16", [2, 1, 3, 1, 2]),
    ("u32.1d", "U32", [5]),
    ("i32.2d", "I32", [2, 7]),
    ("f32.2d", "F32", [3, 5]),
    ("f32.8d", "F32", [1, 2, 1, 1, 2, 1, 1, 3]),
    ("f32.scalar", "F32", []),
    ("f64.3d", "F64", [2, 2, 3]),
    ("u64.scalar", "U64", []),
    ("i64.1d", "I64", [4]),
    ("f8_e4m3.2d", "F8_E4M3", [4, 8]),
    ("f8_e5m2.1d", "F8_E5M2", [16]),
    ("f8_e8m0.1d", "F8_E8M0", [8]),
    ("f8_e4m3fnuz.1d", "F8_E4M3FNUZ", [4]),
    ("f8_e5m2fnuz.2d", "F8_E5M2FNUZ", [2, 3]),
    ("f4.2d", "F4", [3, 8]),
    ("c64.1d", "C64", [3]),
    ("model.layers.0.self_attn.q_proj.weight", "BF16", [8, 16]),
    ("\u00fcn\u00efcode.weight", "F32", [2]),
]

F6 = [
    ("f6_e2m3.2d", "F6_E2M3", [2, 8]),
    ("f6_e3m2.1d", "F6_E3M2", [4]),
    ("u8.tail", "U8", [3]),
]

SHARDS = {
    "model-00001-of-00002.safetensors": [
        ("model.embed_tokens.weight", "BF16", [32, 8]),
        ("model.layers.0.input_layernorm.weight", "BF16", [8]),
        ("model.layers.0.self_attn.q_proj.weight", "BF16", [8, 8]),
        ("model.layers.0.mlp.down_proj.weight", "F32", [8, 12]),
    ],
    "model-00002-of-00002.safetensors": [
        ("model.layers.1.input_layernorm.weight", "BF16", [8]),
        ("model.layers.1.self_attn.q_proj.weight", "F16", [8, 8]),
        ("model.norm.weight", "BF16", [8]),
        ("lm_head.weight", "BF16", [32, 8]),
    ],
}

TINY_CONFIG = {
    "architectures": ["Gemma3ForCausalLM"],
    "head_dim": 8,
    "hidden_activation": "gelu_pytorch_tanh",
    "hidden_size": 8,
    "intermediate_size": 12,
    "model_type": "gemma3_text",
    "num_attention_heads": 1,
    "num_hidden_layers": 2,
    "num_key_value_heads": 1,
    "rms_norm_eps": 1e-06,
    "torch_dtype": "bfloat16",
    "vocab_size": 32,
}


def gen_checkpoints():
    os.makedirs(os.path.join(OUT, "single"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "sharded"), exist_ok=True)

    p = os.path.join(OUT, "single", "model.safetensors")
    # One metadata key: the writer keeps __metadata__ in a Rust HashMap, so
    # with several keys their order (and the file) would change every run.
    write_package(p, SINGLE, {"format": "pt"})
    write_lines(p.replace(".safetensors", ".manifest"), manifest_lines(p, "model.safetensors"))

    p = os.path.join(OUT, "f6.safetensors")
    write_by_hand(p, F6, {"format": "pt", "note": "flint fixture", "unicode": "h\u00e9llo \u2713"})
    write_lines(os.path.join(OUT, "f6.manifest"), manifest_lines(p, "f6.safetensors"))

    lines, weight_map, total = [], {}, 0
    for shard, tensors in SHARDS.items():
        p = os.path.join(OUT, "sharded", shard)
        write_package(p, tensors, {"format": "pt"})
        lines += manifest_lines(p, shard)
        for name, dtype, shape in tensors:
            weight_map[name] = shard
            total += nbytes(dtype, shape)
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(OUT, "sharded", "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    write_lines(os.path.join(OUT, "sharded", "manifest"), lines)
    # A Hugging Face folder is config.json + weights: a config matching the shapes.
    with open(os.path.join(OUT, "sharded", "config.json"), "w") as f:
        json.dump(TINY_CONFIG, f, indent=2)
        f.write("\n")


# ---- config.json ----

GEMMA3_1B = {
    "architectures": ["Gemma3ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "attn_logit_softcapping": None,
    "bos_token_id": 2,
    "cache_implementation": "hybrid",
    "eos_token_id": [1, 106],
    "final_logit_softcapping": None,
    "head_dim": 256,
    "hidden_activation": "gelu_pytorch_tanh",
    "hidden_size": 1152,
    "initializer_range": 0.02,
    "intermediate_size": 6912,
    "max_position_embeddings": 32768,
    "model_type": "gemma3_text",
    "num_attention_heads": 4,
    "num_hidden_layers": 26,
    "num_key_value_heads": 1,
    "pad_token_id": 0,
    "query_pre_attn_scalar": 256,
    "rms_norm_eps": 1e-06,
    "rope_local_base_freq": 10000,
    "rope_scaling": None,
    "rope_theta": 1000000,
    "sliding_window": 512,
    "sliding_window_pattern": 6,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.50.0.dev0",
    "use_cache": True,
    "vocab_size": 262144,
}

GEMMA3_4B = {
    "architectures": ["Gemma3ForConditionalGeneration"],
    "boi_token_index": 255999,
    "eoi_token_index": 256000,
    "eos_token_id": [1, 106],
    "image_token_index": 262144,
    "initializer_range": 0.02,
    "mm_tokens_per_image": 256,
    "model_type": "gemma3",
    "text_config": {
        "attention_bias": False,
        "head_dim": 256,
        "hidden_activation": "gelu_pytorch_tanh",
        "hidden_size": 2560,
        "intermediate_size": 10240,
        "layer_types": ["sliding_attention"] * 5 + ["full_attention"] + ["sliding_attention"] * 2,
        "model_type": "gemma3_text",
        "num_attention_heads": 8,
        "num_hidden_layers": 34,
        "num_key_value_heads": 4,
        "query_pre_attn_scalar": 256,
        "rms_norm_eps": 1e-06,
        "rope_parameters": {
            "full_attention": {"factor": 8.0, "rope_theta": 1000000.0, "rope_type": "linear"},
            "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"},
        },
        "sliding_window": 1024,
        "vocab_size": 262208,
    },
    "torch_dtype": "bfloat16",
    "transformers_version": "4.57.0",
    "vision_config": {
        "hidden_size": 1152,
        "image_size": 896,
        "intermediate_size": 4304,
        "layer_norm_eps": 1e-06,
        "model_type": "siglip_vision_model",
        "num_attention_heads": 16,
        "num_hidden_layers": 27,
        "patch_size": 14,
        "vision_use_head": False,
    },
}

QWEN35 = {
    "architectures": ["Qwen3_5MoeForConditionalGeneration"],
    "eos_token_id": 248046,
    "image_token_id": 248056,
    "model_type": "qwen3_5_moe",
    "text_config": {
        "attention_bias": False,
        "attn_output_gate": True,
        "bos_token_id": 248044,
        "dtype": "bfloat16",
        "eos_token_id": 248044,
        "full_attention_interval": 4,
        "head_dim": 256,
        "hidden_act": "silu",
        "hidden_size": 2048,
        "layer_types": (["linear_attention"] * 3 + ["full_attention"]) * 2,
        "linear_conv_kernel_dim": 4,
        "linear_key_head_dim": 128,
        "linear_num_key_heads": 16,
        "linear_num_value_heads": 32,
        "linear_value_head_dim": 128,
        "mamba_ssm_dtype": "float32",
        "max_position_embeddings": 262144,
        "model_type": "qwen3_5_moe_text",
        "moe_intermediate_size": 512,
        "mtp_num_hidden_layers": 1,
        "num_attention_heads": 16,
        "num_experts": 256,
        "num_experts_per_tok": 8,
        "num_hidden_layers": 8,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-06,
        "rope_parameters": {
            "mrope_interleaved": True,
            "mrope_section": [11, 11, 10],
            "partial_rotary_factor": 0.25,
            "rope_theta": 10000000,
            "rope_type": "default",
        },
        "router_aux_loss_coef": 0.001,
        "shared_expert_intermediate_size": 512,
        "tie_word_embeddings": False,
        "vocab_size": 248320,
    },
    "tie_word_embeddings": False,
    "transformers_version": "4.57.0.dev0",
    "video_token_id": 248057,
    "vision_config": {
        "deepstack_visual_indexes": [],
        "depth": 27,
        "hidden_size": 1152,
        "model_type": "qwen3_5_moe",
        "out_hidden_size": 2048,
        "spatial_merge_size": 2,
    },
    "vision_end_token_id": 248054,
    "vision_start_token_id": 248053,
}

# Written verbatim: formatting and values the dict writers above never produce.
EDGE = r'''{"a":1,"b":-9223372036854775808,"c":9223372036854775807,"d":1.5e300,"e":-0.0,
 "f":1E-7 , "g":true,"h":false,"i":null,"s":"tab\there \u00e9 \ud83d\ude00 \"q\"",
 "empty_obj":{},"empty_arr":[],"mixed_num":[1,2.5,-3],"mixed":[1,"x",null,true],
 "nested":[[1,2],[3],[]],"objs":[{"bits":4,"names":["q","k"]},{"bits":8,"sub":{"x":0.5}}],
 "deep":{"a":{"b":{"c":{"d":"leaf"}}}},"": {"": 7}, "unicode_ключ": "значение"}
'''


class ObjectPairs(list):
    """A JSON object as its (key, value) pairs in document order."""


def mtype(v):
    if v is None or isinstance(v, ObjectPairs):  # an object inside an array: a null item
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "i64"
    if isinstance(v, float):
        return "f64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    raise TypeError(v)


def fmt_scalar(v):
    t = mtype(v)
    if t == "bool":
        return "true" if v else "false"
    if t == "i64":
        return str(v)
    if t == "f64":
        return repr(v)
    if t == "string":
        return v.encode("utf-8").hex() or "-"
    return "null"


def flatten(obj, prefix, out):
    for k, v in obj:  # object_pairs_hook keeps document order
        key = k if prefix is None else f"{prefix}.{k}"
        if isinstance(v, ObjectPairs):
            flatten(v, key, out)
        else:
            value_lines(v, key, key, out)


def value_lines(v, key, label, out):
    """Line(s) for a non-object value stored under key (label: key[i]...)."""
    if not isinstance(v, list):
        out.append(f"{label}\t{mtype(v)}\t{fmt_scalar(v)}")
        return
    types = {mtype(x) for x in v}
    if len(types) == 1:
        et = types.pop()
    elif types == {"i64", "f64"}:
        et = "f64"
        v = [float(x) for x in v]
    else:
        et = "null"
    out.append(f"{label}\tarray\t{et} {len(v)}")
    pending = []
    for i, x in enumerate(v):
        if isinstance(x, ObjectPairs):
            out.append(f"{label}[{i}]\tnull\tnull")
            pending.append((x, f"{key}.{i}"))
        else:
            value_lines(x, f"{key}.{i}", f"{label}[{i}]", out)
    for x, k in pending:
        flatten(x, k, out)


def load_pairs(text):
    def hook(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), "duplicate key"
        return ObjectPairs(pairs)
    return json.loads(text, object_pairs_hook=hook)


def gen_configs():
    d = os.path.join(OUT, "config")
    os.makedirs(d, exist_ok=True)
    texts = {
        "gemma3_1b": json.dumps(GEMMA3_1B, indent=2) + "\n",
        "gemma3_4b": json.dumps(GEMMA3_4B, indent=2) + "\n",
        "qwen35_moe": json.dumps(QWEN35, indent=2) + "\n",
        "edge": EDGE,
    }
    for name, text in texts.items():
        with open(os.path.join(d, name + ".json"), "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        out = []
        flatten(load_pairs(text), None, out)
        # items of arrays of objects are listed after the array's own items;
        # the C test compares by key, so only the set of lines matters.
        write_lines(os.path.join(d, name + ".expected"), out)


def main():
    if safetensors.__version__ != "0.8.0":
        print(f"warning: safetensors {safetensors.__version__}, fixtures were made with 0.8.0", file=sys.stderr)
    gen_checkpoints()
    gen_configs()


if __name__ == "__main__":
    main()
