#!/usr/bin/env python3
"""gen_tokenizer_fixtures.py — small tokenizers of each style flint supports,
trained here, with the ids the independent reference implementations give
for a multilingual test corpus, and chat prompts rendered by transformers'
apply_chat_template from the real templates in ../shared/chat-templates/.

Writes tests/fixtures/tok/:
  bytelevel/        Qwen3.5-style byte-level BPE (NFC, the Qwen3.5 regex),
                    trained with the `tokenizers` package; ids from tokenizers
  gpt2/             GPT-2-style byte-level BPE (ByteLevel use_regex); tokenizers
  spm/              SentencePiece BPE with byte fallback (Gemma settings),
                    trained with `sentencepiece`, converted to tokenizer.json by
                    transformers' GemmaConverter, and as a GGUF vocabulary
                    (tokenizer.ggml.model "llama") written with the `gguf`
                    package; ids from sentencepiece itself
  gemma4/           Gemma-4-style character BPE ('▁', byte fallback, lines
                    split) trained with `tokenizers`, plus a GGUF vocabulary
                    (tokenizer.ggml.model "gemma4"); ids from tokenizers
  */cases.json      [{"hex": text bytes, "ids": [...], "ids_special": [...]}]
  chat.json         [{"family", "messages", "tools", "add_generation_prompt",
                      "enable_thinking", "expected"}]
Run from the repository root (tools/make_fixtures.sh does).
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

OUT = "tests/fixtures/tok"
TEMPLATES = "../shared/chat-templates"

QWEN35_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+")

TRAIN = [
    "The quick brown fox jumps over the lazy dog. It's 12:30, and we'll see what they've done.",
    "def encode(self, text: str) -> list[int]:\n    return [self.vocab[t] for t in text.split()]\n",
    "for (int i = 0; i < n; i++) {\n\tsum += x[i] * y[i];\n}\n",
    "机器学习是人工智能的一个分支。我想在苹果工作。你好，世界！",
    "日本語のテキストも少し入れておきます。東京は大きな都市です。",
    "مرحبا بالعالم. هذه جملة باللغة العربية للاختبار.",
    "Привет, мир! Это тест токенизатора на русском языке.",
    "Emoji: 😀 😁 🚀 🦙 👍🏽 👨‍👩‍👧 ❤️ ✅",
    "Ελληνικά: Καλημέρα κόσμε. Français: déjà vu, naïve café, Ærø.",
    "Combining: e\u0301 a\u0308 o\u0302 n\u0303 — Vietnamese: Cửa Việt, tiếng Việt.",
    "   leading spaces, trailing spaces   \n\n\n  \t tabs\tand\nnewlines\r\n",
    "numbers 0 1 2 3 12345 3.14159 1,000,000 2024-01-01",
    "<html><body><p class=\"x\">Hello &amp; goodbye</p></body></html>",
    "I'M SURE YOU'RE RIGHT, BUT HE'S NOT. THEY'LL SEE. 'Quoted' \"double\"",
]

CASES = [
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n\n",
    "Hello world",
    " Hello world",
    "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～",
    "   Hello\n    Hello",
    "I'VE been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL",
    "def f(x):\n    return x**2  # square\n",
    "if (a && b) { return c->d[0]; }",
    "机器学习是人工智能的一个分支",
    "مرحبا بالعالم",
    "Привет, мир!",
    "🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ 🦙🦙",
    "e\u0301 vs \u00e9 and a\u0308 vs \u00e4; \u1e9b\u0323",
    "Cửa Việt",
    "word" + " " * 7 + "word\t\t\tword\n\n \n  \n",
    "3 33 333 3333 33333 3.3 3..3 3...3",
    "trailing space ",
    "\u00a0non-breaking\u2003em space\u3000ideographic",
    "zero\u200bwidth\u200djoiner",
    "x" * 300,
    "NUL\x00byte\x00",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
    "text<|endoftext|>more<|im_end|>",
    "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n",
    "<|turn>user\nHi<turn|>\n<|turn>model\n<|\"|>quoted<|\"|>",
]
INVALID = [b"bad \xff byte", b"\xc3(", b"\xe2\x82", b"ok\x80\x80end", b"\xf0\x9f\x98", b"\xed\xa0\x80 surrogate"]


def hexs(b):
    return b.hex()


def write_cases(d, items):
    with open(os.path.join(d, "cases.json"), "w") as f:
        json.dump(items, f, ensure_ascii=True, indent=0)


def train_bytelevel(d, regex):
    tok = Tokenizer(models.BPE())
    if regex:
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN35_RE), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    else:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tr = trainers.BpeTrainer(vocab_size=1500, special_tokens=specials,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(TRAIN * 3, tr)
    from tokenizers import AddedToken
    tok.add_tokens([AddedToken("<think>", special=False, normalized=False),
                    AddedToken("</think>", special=False, normalized=False)])
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "add_bos_token": False}, f)
    items = []
    for s in CASES:
        tok.encode_special_tokens = True
        plain = tok.encode(s, add_special_tokens=False).ids
        tok.encode_special_tokens = False
        spec = tok.encode(s, add_special_tokens=False).ids
        items.append({"hex": hexs(s.encode()), "ids": plain, "ids_special": spec,
                      "lossless": tok.decode(plain, skip_special_tokens=False) == s})
    for b in INVALID:
        s = b.decode("utf-8", errors="replace")
        tok.encode_special_tokens = True
        ids = tok.encode(s, add_special_tokens=False).ids
        items.append({"hex": hexs(b), "ids": ids, "ids_special": ids, "lossless": False})
    write_cases(d, items)


def train_spm(d):
    import sentencepiece as spm
    os.makedirs(d, exist_ok=True)
    tmp = tempfile.mkdtemp()
    with open(os.path.join(tmp, "corpus.txt"), "w") as f:
        for _ in range(3):
            for line in TRAIN:
                f.write(line.replace("\n", " ") + "\n")
    spm.SentencePieceTrainer.train(
        input=os.path.join(tmp, "corpus.txt"), model_prefix=os.path.join(tmp, "m"), model_type="bpe",
        vocab_size=900, byte_fallback=True, split_digits=True, normalization_rule_name="identity",
        add_dummy_prefix=False, remove_extra_whitespaces=False, allow_whitespace_only_pieces=True,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
        unk_piece="<unk>", user_defined_symbols=["<start_of_turn>", "<end_of_turn>"],
        character_coverage=1.0, minloglevel=2, num_threads=1)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(tmp, "m.model"))
    shutil.copy(os.path.join(tmp, "m.model"), os.path.join(d, "tokenizer.model"))

    # tokenizer.json as transformers converts a Gemma SentencePiece model
    from transformers.convert_slow_tokenizer import GemmaConverter, GemmaSentencePieceExtractor

    class Extractor(GemmaSentencePieceExtractor):  # transformers 5 forgets to load .sp
        def __init__(self, model):
            super().__init__(model)
            self.sp = spm.SentencePieceProcessor(model_file=model)

    class Converter(GemmaConverter):
        SpmExtractor = Extractor

    class Orig:
        vocab_file = os.path.join(tmp, "m.model")
        pad_token, eos_token, bos_token, unk_token = "<pad>", "<eos>", "<bos>", "<unk>"
        add_prefix_space = False
        legacy = False
    fast = Converter(Orig()).converted()
    fast.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
                   "add_bos_token": True, "add_eos_token": False}, f)

    # the same vocabulary as GGUF metadata (what llama.cpp's converter writes)
    import gguf
    w = gguf.GGUFWriter(os.path.join(d, "vocab.gguf"), "gemma")
    toks, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        toks.append(sp.id_to_piece(i).encode())
        scores.append(sp.get_score(i))
        t = 1
        if sp.is_unknown(i): t = 2
        elif sp.is_control(i): t = 3
        elif sp.is_unused(i): t = 5
        elif sp.is_byte(i): t = 6
        elif sp.id_to_piece(i) in ("<start_of_turn>", "<end_of_turn>"): t = 4
        types.append(t)
    w.add_tokenizer_model("llama")
    w.add_token_list(toks)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(2)
    w.add_eos_token_id(1)
    w.add_unk_token_id(3)
    w.add_pad_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(False)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    items = []
    for s in CASES:
        ids = sp.encode(s)
        # sentencepiece matches user-defined symbols always, control ones never
        hf = fast.encode(s, add_special_tokens=False).ids
        fast.encode_special_tokens = True
        hf_plain = fast.encode(s, add_special_tokens=False).ids
        fast.encode_special_tokens = False
        items.append({"hex": hexs(s.encode()), "ids": ids, "ids_hf": hf, "ids_hf_plain": hf_plain,
                      "lossless": sp.decode(ids) == s})
    write_cases(d, items)
    shutil.rmtree(tmp)


def train_gemma4(d):
    tok = Tokenizer(models.BPE(byte_fallback=True, unk_token=None))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[^\n]+|[\n]+"), behavior="isolated")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<|turn>", "<turn|>"]
    byte_toks = ["<0x%02X>" % b for b in range(256)]
    tr = trainers.BpeTrainer(vocab_size=1400, special_tokens=specials + byte_toks, show_progress=False,
                             limit_alphabet=400)
    tok.train_from_iterator([t.replace(" ", "▁") for t in TRAIN] * 3, tr)
    from tokenizers import AddedToken
    tok.add_tokens([AddedToken('<|"|>', special=False, normalized=False),
                    AddedToken("<|channel>", special=False, normalized=False),
                    AddedToken("<channel|>", special=False, normalized=False)])
    # byte tokens are ordinary vocabulary entries in real Gemma vocabularies:
    # they were given to the trainer as special only to reserve their ids
    spec = json.loads(tok.to_str())
    spec["added_tokens"] = [a for a in spec["added_tokens"] if not a["content"].startswith("<0x")]
    tok = Tokenizer.from_str(json.dumps(spec))
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "add_bos_token": True}, f)
    vocab = spec["model"]["vocab"]
    n = max(max(vocab.values()), max(a["id"] for a in spec["added_tokens"])) + 1
    toks = [b""] * n
    types = [1] * n
    for k, v in vocab.items():
        toks[v] = k.encode()
        if k.startswith("<0x") and len(k) == 6: types[v] = 6
    for a in spec["added_tokens"]:
        toks[a["id"]] = a["content"].encode()
        types[a["id"]] = 3 if a["special"] else 4
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    import gguf
    w = gguf.GGUFWriter(os.path.join(d, "vocab.gguf"), "gemma4")
    w.add_tokenizer_model("gemma4")
    w.add_tokenizer_pre("gemma4")
    w.add_token_list(toks)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(vocab["<bos>"] if "<bos>" in vocab else 2)
    w.add_eos_token_id(1)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(False)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    items = []
    for s in CASES:
        tok.encode_special_tokens = True
        plain = tok.encode(s, add_special_tokens=False).ids
        tok.encode_special_tokens = False
        sp = tok.encode(s, add_special_tokens=False).ids
        items.append({"hex": hexs(s.encode()), "ids": plain, "ids_special": sp,
                      "lossless": tok.decode(plain, skip_special_tokens=False) == s})
    write_cases(d, items)


TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "The city name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"}},
        "required": ["city"]}}}]

CONVS = {
    "simple": [{"role": "user", "content": "Hello! How are you?"}],
    "multi": [{"role": "user", "content": "What is 2+2?"},
              {"role": "assistant", "content": "  2+2 is 4.  "},
              {"role": "user", "content": "And 3+3?\n"}],
    "system": [{"role": "system", "content": "You are a terse assistant."},
               {"role": "user", "content": "Name a color."},
               {"role": "assistant", "content": "Blue."},
               {"role": "user", "content": "Another one."}],
    "reasoning": [{"role": "system", "content": "Think step by step."},
                  {"role": "user", "content": "Is 7 prime?"},
                  {"role": "assistant", "content": "Yes, 7 is prime.", "reasoning_content": "7 has no divisors but 1 and 7."},
                  {"role": "user", "content": "And 9?"},
                  {"role": "assistant", "content": "No.", "reasoning_content": "9 = 3 * 3."}],
    "tool": [{"role": "user", "content": "What's the weather in Paris?"},
             {"role": "assistant", "content": "", "reasoning_content": "I should call the tool.",
              "tool_calls": [{"id": "call_1", "type": "function", "function": {
                  "name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}]},
             {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "{\"temp\": 18, \"sky\": \"clear\"}"},
             {"role": "assistant", "content": "It is 18 °C and clear in Paris."},
             {"role": "user", "content": "Thanks!"}],
    "tool_pending": [{"role": "system", "content": "Use tools when helpful."},
                     {"role": "user", "content": "Weather in Oslo and Rome?"},
                     {"role": "assistant", "content": "Let me check.",
                      "tool_calls": [{"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
                                     {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome", "unit": "fahrenheit"}}}]},
                     {"role": "tool", "tool_call_id": "a", "name": "get_weather", "content": "cold"},
                     {"role": "tool", "tool_call_id": "b", "name": "get_weather", "content": "warm"}],
}


def gen_chat(tok_dir):
    from transformers import PreTrainedTokenizerFast
    tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(tok_dir, "tokenizer.json"), bos_token="<bos>",
                                  eos_token="<eos>")
    families = {"gemma": "google-gemma-2-2b-it.jinja", "chatml": "Qwen3.5-4B.jinja",
                "gemma4": "google-gemma-4-31B-it.jinja"}
    out = []
    for fam, fname in families.items():
        tmpl = open(os.path.join(TEMPLATES, fname)).read()
        for name, conv in CONVS.items():
            for tools in (None, TOOLS):
                for think in (None, True, False):
                    for agp in (True, False):
                        if fam == "gemma" and (tools or think is not None or "tool" in name or name in ("system", "reasoning")):
                            continue
                        if not tools and name == "tool_pending":
                            continue
                        kw = {} if think is None else {"enable_thinking": think}
                        try:
                            text = tok.apply_chat_template(conv, tools=tools, chat_template=tmpl, tokenize=False,
                                                           add_generation_prompt=agp, **kw)
                        except Exception as e:  # the template rejects it: flint must too
                            text = None
                        out.append({"family": fam, "name": name, "messages": conv, "tools": tools,
                                    "add_generation_prompt": agp, "enable_thinking": think, "expected": text})
    with open(os.path.join(OUT, "chat.json"), "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=0)


def main():
    if not os.path.isdir(TEMPLATES):
        sys.exit("gen_tokenizer_fixtures.py: run from the repository root with ../shared beside it")
    os.makedirs(OUT, exist_ok=True)
    train_bytelevel(os.path.join(OUT, "bytelevel"), True)
    train_bytelevel(os.path.join(OUT, "gpt2"), False)
    train_spm(os.path.join(OUT, "spm"))
    train_gemma4(os.path.join(OUT, "gemma4"))
    gen_chat(os.path.join(OUT, "bytelevel"))
    np.random.seed(0)


if __name__ == "__main__":
    main()
