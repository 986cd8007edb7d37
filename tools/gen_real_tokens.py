#!/usr/bin/env python3
"""gen_real_tokens.py — regenerates the llama.cpp references in
tests/fixtures/real/ that tests/real/test_real_model.py holds flint to on the
real Gemma 3 270M (Q4_K_M GGUF):

  gemma3_270m_tokens.json  the ids llama-tokenize gives for ~40 varied texts
                           (the 262144-token SentencePiece vocabulary);
  gemma3_270m_chat.json    with --llama-server and --gemma3-template: chat
                           prompts as llama-server's POST /apply-template
                           renders them with Google's Gemma 3 template
                           (its Jinja engine), and with llama.cpp's built-in
                           "gemma" template for comparison, and their ids;
  perplexity.json          with --llama-perplexity: llama-perplexity's
                           running estimates and final PPL on text.txt.

    python3 tools/gen_real_tokens.py /path/to/llama-tokenize [-m MODEL]
        [--llama-server /path/to/llama-server --gemma3-template FILE]
        [--llama-perplexity /path/to/llama-perplexity]

FILE is the chat_template of google/gemma-3-270m-it's tokenizer_config.json
(the one every Gemma 3 instruction model ships), saved as text. The script
only runs the llama.cpp binaries it is given (peers used as references;
nothing is built or fetched here). The model defaults to $FLINT_REAL_MODEL,
else the path tools/fetch_model.sh prints.

Each text goes to llama-tokenize byte for byte on stdin with --no-escape
(escape processing would turn a written "\\n" into a newline), with --no-bos
where the case has no BOS and --no-parse-special where special-token text
is to stay text; those correspond to flint tokenize's --bos and --special.
Standard library only. Texts are valid UTF-8 (they are JSON strings);
malformed UTF-8 is outside the fixture on purpose: llama.cpp trusts a lead
byte's length (a stray 0xFF swallows the next three bytes) and flint does
not (src/tokenizer/spm.c, char_len)."""
import argparse
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "real")
PROSE = os.path.join(FIXTURES, "text.txt")

CHAT = ("<start_of_turn>user\nYou are terse.\n\nWhat is 2+2?<end_of_turn>\n"
        "<start_of_turn>model\nFour.<end_of_turn>\n<start_of_turn>model\n")

PY_CODE = '''def fib(n):
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __repr__(self):
        return f"Point({self.x!r}, {self.y!r})"
'''

C_TABS = ("int main(int argc, char **argv) {\n\tif (argc < 2) {\n\t\tfprintf(stderr, \"usage: %s FILE\\n\", argv[0]);\n"
          "\t\treturn 1;\n\t}\n\tfor (int i = 0; i < 10; i++)\n\t\tputs(argv[1]);\n\treturn 0;\n}\n")

MAKEFILE = "all: build/flint\n\nbuild/%.o: src/%.c\n\t@mkdir -p $(dir $@)\n\t$(CC) $(CFLAGS) -c -o $@ $<\n"

# (name, text, bos, special): bos adds BOS as the vocabulary asks (Gemma: yes);
# special parses written control tokens such as <start_of_turn> into one id.
CASES = [
    ("hello", "Hello world", False, False),
    ("hello_bos", "Hello world", True, False),
    ("prose", "The quick brown fox jumps over the lazy dog. It was the best of times, it was the worst "
              "of times; nobody, however, had told the fox.", True, False),
    ("leading_spaces", "   three leading spaces and one trailing ", False, False),
    ("single_space", " ", False, False),
    ("python_indent", PY_CODE, False, False),
    ("c_tabs", C_TABS, False, False),
    ("makefile_tabs", MAKEFILE, True, False),
    ("space_run_40", "a" + " " * 40 + "b", False, False),
    ("space_run_257", " " * 257, False, False),
    ("mixed_ws_run", "x \t \t\t  \n\n\n\n\n   \t\ny", False, False),
    ("newlines_only", "\n\n\n\n\n\n\n\n", False, False),
    ("crlf_mixed", "line one\r\nline two\rline three\nline four\r\n\r\n\r\nend\n", True, False),
    ("digits", "0123456789 9876543210 00000", False, False),
    ("numbers", "pi = 3.14159, e ~ 2.718; 1e-10, 0x1F, -42, +7, 1,234,567.89 and 12345678901234567890", True, False),
    ("dates_money", "On 2024-03-15 at 09:45 the price rose from $1,299.99 to €1.349,00 (+3.8%).", True, False),
    ("emoji", "I love it 😀👍🏽! Family: 👨‍👩‍👧‍👦, flags: 🇫🇷🇯🇵, hearts ❤️💙, rocket 🚀", True, False),
    ("chinese", "我们今天下午去公园散步，天气很好。机器学习是人工智能的一个分支。", True, False),
    ("japanese", "こんにちは、世界！カタカナとひらがな、そして漢字を混ぜた文章です。", False, False),
    ("korean", "안녕하세요, 세계! 오늘 날씨가 정말 좋네요.", False, False),
    ("arabic", "مرحبا بالعالم! اللغة العربية تكتب من اليمين إلى اليسار، والأرقام ١٢٣ أيضا.", True, False),
    ("hebrew_hindi_thai", "שלום עולם · नमस्ते दुनिया · สวัสดีชาวโลก · Привет, мир · Γειά σου κόσμε", False, False),
    ("accented_nfc", "Café naïve façade résumé jalapeño Ångström Straße Dvořák Łódź Ærø øre Ğ İstanbul", True, False),
    ("accented_nfd", "Cafe\u0301 nai\u0308ve re\u0301sume\u0301 A\u030angstro\u0308m", False, False),
    ("math_symbols", "∑_{i=1}^{n} x_i ≤ ∫₀^∞ e^{-t} dt ≠ √2 ± π · ∂f/∂x → ∞ ∀ε>0 ∃δ", False, False),
    ("rare_chars", "𝄞 𠀀 \ue000 \U0001F9EC ℵ₀ ﬁ ｆｕｌｌｗｉｄｔｈ", False, False),
    ("unicode_spaces", "non\u00a0breaking\u3000ideographic\u2009thin\u200bzero\u200dwidth\ufeffbom", False, False),
    ("control_chars", "nul\x00bell\x07esc\x1b[0mdel\x7f", False, False),
    ("repeats", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ======================== !!!??? ...... ----", False, False),
    ("casing", "HELLO hello Hello hELLO HeLLo WORLD-wide CamelCaseIdentifier snake_case_name", False, False),
    ("url_email_json", 'See https://example.com/a/b?x=1&y=%20z#top or mail jane.doe+tag@example.org. '
                       '{"key": [1, 2.5, null, true], "nested": {"s": "v\\"q"}}', True, False),
    ("markdown_html", "# Title\n\n- item *one*\n- item **two**\n\n```sh\nmake test\n```\n"
                      "<div class=\"x\"><p>Hi &amp; bye</p></div>\n", True, False),
    ("chat_as_text", CHAT, False, False),
    ("chat_special", CHAT, False, True),
    ("chat_special_bos", CHAT, True, True),
    ("control_tokens_special", "<bos><eos><pad><unk><mask>[@BOS@]<start_of_image><end_of_image>", False, True),
    ("control_tokens_text", "<bos><eos><pad><unk><mask>[@BOS@]<start_of_image><end_of_image>", False, False),
    ("special_near_misses", "<start_of_turn <<start_of_turn>> <START_OF_TURN> <start_of_turn>x<end_of_turn", False, True),
    ("special_space_around", " <start_of_turn> user \n <end_of_turn> ", False, True),
    ("empty", "", False, False),
    ("empty_bos", "", True, False),
]


def long_cases():
    """Two texts of a few KB: every short case above joined (all scripts,
    code and whitespace at once), and the start of the perplexity text."""
    mixed = "\n\n".join(text for name, text, _, special in CASES if text and not special)
    out = [("all_cases_joined", mixed, True, False)]
    if os.path.exists(PROSE):
        with open(PROSE, encoding="utf-8", newline="") as f:
            out.append(("prose_6kb", f.read()[:6000], True, False))
    return out


def llama_ids(exe, model, text, bos, special):
    cmd = [exe, "-m", model, "--stdin", "--no-escape", "--ids", "--log-disable"]
    if not bos:
        cmd.append("--no-bos")
    if not special:
        cmd.append("--no-parse-special")
    r = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, check=True)
    lines = [ln for ln in r.stdout.decode().splitlines() if ln.startswith("[")]
    if len(lines) != 1 or not re.fullmatch(r"\[[0-9, ]*\]", lines[0]):
        sys.exit(f"gen_real_tokens: unexpected llama-tokenize output: {r.stdout[-500:]!r}")
    return json.loads(lines[0])


# Conversations `flint run --chat [--system S] -p U` can express: an optional
# system message and one user turn. "spaces" tells the templates apart:
# Google's trims each turn's content but not the system text it prefixes to
# the first user turn; llama.cpp's built-in "gemma" trims both.
CHATS = [
    ("system_user", "You are a helpful assistant. Answer in one sentence.", "What is the capital of France?"),
    ("user_only", None, "Write a haiku about the sea."),
    ("multiline", "Réponds en français.\nSois concis.", "Qu'est-ce qu'un arc-en-ciel ? 🌈\nExplique simplement."),
    ("spaces", "  Be brief.  ", "\n  Hello there.  \n\n"),
]


def write_json(path, doc, listed):
    """JSON with the list under key `listed` one entry per line (diffs show which entry changed)."""
    head = json.dumps({k: v for k, v in doc.items() if k != listed}, ensure_ascii=False, indent=1)
    body = ",\n".join("  " + json.dumps(c, ensure_ascii=False) for c in doc[listed])
    with open(path, "w", encoding="utf-8") as f:
        f.write(head[:-2] + f',\n "{listed}": [\n' + body + "\n ]\n}\n")
    print(f"gen_real_tokens: {len(doc[listed])} {listed} -> {os.path.relpath(path, ROOT)}")


def llama_commit(exe):
    version = subprocess.run([exe, "--version"], capture_output=True, text=True)
    commit = re.search(r"commit ([0-9a-f]+)", version.stdout + version.stderr)
    return commit.group(1) if commit else None


def apply_templates(exe, model, template_args, convs):
    """llama-server's rendering of each conversation (POST /apply-template)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "-m", model, "-c", "512", "-t", "1", "--host", "127.0.0.1", "--port", str(port),
                             *template_args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                sys.exit(f"gen_real_tokens: llama-server {template_args} exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit(f"gen_real_tokens: llama-server {template_args} did not become healthy in a minute")
        out = []
        for msgs in convs:
            req = urllib.request.Request(url + "/apply-template", data=json.dumps({"messages": msgs}).encode(),
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=60) as r:
                out.append(json.loads(r.read())["prompt"])
        return out
    finally:
        proc.terminate()
        proc.wait()


def gen_chat(args, model, sha):
    convs = []
    for _, system, user in CHATS:
        convs.append(([{"role": "system", "content": system}] if system is not None else []) +
                     [{"role": "user", "content": user}])
    google = apply_templates(args.llama_server, model, ["--jinja", "--chat-template-file", args.gemma3_template], convs)
    builtin = apply_templates(args.llama_server, model, ["--no-jinja", "--chat-template", "gemma"], convs)
    chats = []
    for (name, system, user), prompt, prompt_builtin in zip(CHATS, google, builtin):
        # llama-server adds BOS when it tokenizes the prompt (the model asks for it) and parses special tokens
        ids = llama_ids(args.llama_tokenize, model, prompt, True, True)
        chats.append({"name": name, "system": system, "user": user, "prompt": prompt,
                      "prompt_llama_builtin_gemma": prompt_builtin, "ids": ids})
    write_json(os.path.join(FIXTURES, "gemma3_270m_chat.json"), {
        "about": "Gemma 3 chat prompts rendered by llama.cpp's llama-server (POST /apply-template) with Google's "
                 "Gemma 3 chat template; ids: llama-tokenize of the prompt with BOS and special tokens parsed, "
                 "the tokens llama-server would run. llama-server leaves the template's leading <bos> text out of "
                 "the prompt and adds BOS when tokenizing; flint's rendering keeps it as text. "
                 "prompt_llama_builtin_gemma: llama.cpp's built-in 'gemma' template (--no-jinja), which also trims "
                 "the system text. Regenerate with tools/gen_real_tokens.py.",
        "model_sha256": sha,
        "llama_cpp_commit": llama_commit(args.llama_server),
        "commands": ["llama-server -m MODEL --jinja --chat-template-file gemma3.jinja",
                     "llama-server -m MODEL --no-jinja --chat-template gemma",
                     "POST /apply-template {\"messages\": [...]}",
                     "llama-tokenize -m MODEL --stdin --no-escape --ids --log-disable < prompt"],
        "chats": chats,
    }, "chats")


def gen_perplexity(args, model, sha):
    cmd = [args.llama_perplexity, "-m", model, "-f", PROSE, "-c", "512", "-t", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    running = [float(x) for x in re.findall(r"\[\d+\]([0-9.]+),", r.stdout)]
    final = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", r.stdout + r.stderr)
    if not running or not final:
        sys.exit(f"gen_real_tokens: unexpected llama-perplexity output: {r.stdout[-500:]!r}")
    doc = {
        "about": "llama.cpp's llama-perplexity on text.txt (running estimate after each chunk, final PPL); "
                 "regenerate with tools/gen_real_tokens.py --llama-perplexity",
        "model_sha256": sha,
        "llama_cpp_commit": llama_commit(args.llama_perplexity),
        "command": "llama-perplexity -m gemma-3-270m-Q4_K_M.gguf -f tests/fixtures/real/text.txt -c 512 -t 2",
        "n_ctx": 512,
        "chunks": running,
        "ppl": float(final.group(1)),
        "ppl_stderr": float(final.group(2)),
    }
    path = os.path.join(FIXTURES, "perplexity.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"gen_real_tokens: PPL {doc['ppl']} ({len(running)} chunks) -> {os.path.relpath(path, ROOT)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("llama_tokenize", help="path of llama.cpp's llama-tokenize")
    ap.add_argument("-m", "--model", default=os.environ.get("FLINT_REAL_MODEL"))
    ap.add_argument("--llama-server", help="llama-server, for gemma3_270m_chat.json (with --gemma3-template)")
    ap.add_argument("--gemma3-template", help="Google's Gemma 3 chat template (Jinja text)")
    ap.add_argument("--llama-perplexity", help="llama-perplexity, for perplexity.json")
    args = ap.parse_args()
    if bool(args.llama_server) != bool(args.gemma3_template):
        ap.error("--llama-server and --gemma3-template go together")
    model = args.model
    if not model:
        model = subprocess.run(["sh", os.path.join(ROOT, "tools", "fetch_model.sh")], capture_output=True,
                               text=True, check=True).stdout.strip()
    h = hashlib.sha256()
    with open(model, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    cases = []
    for name, text, bos, special in CASES + long_cases():
        ids = llama_ids(args.llama_tokenize, model, text, bos, special)
        cases.append({"name": name, "bos": bos, "special": special, "text": text, "ids": ids})
    doc = {
        "about": "llama.cpp's llama-tokenize ids on Gemma 3 270M; regenerate with tools/gen_real_tokens.py",
        "model": os.path.basename(model),
        "model_sha256": h.hexdigest(),
        "llama_cpp_commit": llama_commit(args.llama_tokenize),
        "command": "llama-tokenize -m MODEL --stdin --no-escape --ids --log-disable "
                   "[--no-bos unless bos] [--no-parse-special unless special] < text",
        "cases": cases,
    }
    os.makedirs(FIXTURES, exist_ok=True)
    write_json(os.path.join(FIXTURES, "gemma3_270m_tokens.json"), doc, "cases")
    if args.llama_server:
        gen_chat(args, model, doc["model_sha256"])
    if args.llama_perplexity:
        gen_perplexity(args, model, doc["model_sha256"])


if __name__ == "__main__":
    main()
