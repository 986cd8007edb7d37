#!/bin/sh
# gpu-check.sh — everything a session lent a real GPU for a few minutes
# runs, in one go: the build's packages, `make VULKAN=1`, the Vulkan tests
# (make test-vulkan), `flint info --gpus`, greedy tokens of one GGUF on the
# GPU against the CPU's exact mode (what the device computes), then
# prefill and decode speed of
# one GGUF on the GPU (flint bench --gpu vulkan) beside the CPU (the same
# bench without --gpu) and, when LLAMA_BENCH names a llama.cpp Vulkan
# build's llama-bench, llama.cpp on the same file with every layer on the
# GPU (-ngl 99); then a table of tokens/s and the ratios, decode's to the
# device memory's read bandwidth floor (measured by bench in the same run),
# and decode with command-buffer replay off (FLINT_VK_REPLAY=0) for its
# gain. The greedy check also runs the model split (--gpu-layers 1).
#
# It downloads nothing: the model is the first argument or $FLINT_REAL_MODEL
# (the real Gemma 3 270M Q4_K_M GGUF), else ~/.cache/flint's copy if
# present, else the bundled tiny model (said so).
#
#   sh tools/gpu-check.sh [MODEL.gguf]
# Environment: FLINT_REAL_MODEL, LLAMA_BENCH, GPU_CHECK_PP (prompt tokens,
# 512), GPU_CHECK_TG (decoded tokens, 128), GPU_CHECK_REPS (3),
# GPU_CHECK_SKIP_TESTS=1 (bench only), JOBS (make -j, default nproc).
set -eu
cd "$(dirname "$0")/.."
start=$(date +%s)
pp=${GPU_CHECK_PP:-512}
tg=${GPU_CHECK_TG:-128}
reps=${GPU_CHECK_REPS:-3}
jobs=${JOBS:-$(nproc)}
model=${1:-${FLINT_REAL_MODEL:-}}
if [ -z "$model" ] && [ -f "$HOME/.cache/flint/gemma-3-270m-Q4_K_M.gguf" ]; then
    model="$HOME/.cache/flint/gemma-3-270m-Q4_K_M.gguf"
fi
if [ -z "$model" ]; then
    model=models/tiny-gemma3.gguf
    echo "gpu-check: no model given (argument or FLINT_REAL_MODEL): benchmarking the bundled $model"
fi
[ -f "$model" ] || { echo "gpu-check: $model: no such file" >&2; exit 1; }
step() { printf '\n== %s (%ds)\n' "$1" $(($(date +%s) - start)); }

step "packages"
sh tools/deps.sh build
sh tools/deps.sh vulkan

step "make VULKAN=1"
make VULKAN=1 -j"$jobs"
flint=build-vulkan/flint

if [ "${GPU_CHECK_SKIP_TESTS:-0}" != 1 ]; then
    step "make VULKAN=1 test-vulkan"
    make VULKAN=1 -j"$jobs" test-vulkan
fi

step "flint info --gpus"
$flint info --gpus

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
step "greedy tokens on $model: --gpu vulkan against the CPU's --exact"
# the whole model on the device, and split (its last layer on the device, the rest on the CPU)
for dev in vulkan "vulkan --gpu-layers 1" cpu; do
    name=$(echo "$dev" | tr -d ' -')
    $flint run -m "$model" -p "The capital of France is" --temp 0 -n 32 --ignore-eos --exact --gpu $dev --json \
        2>/dev/null | sed -nE 's/.*"tokens":\[([0-9,]*)\].*/\1/p' | tr ',' '\n' > "$out/tokens-$name.txt"
done
n=$(wc -l < "$out/tokens-cpu.txt")
for name in vulkan vulkangpulayers1; do
    same=$(paste -d' ' "$out/tokens-$name.txt" "$out/tokens-cpu.txt" | awk '$1 != $2 { exit } { k++ } END { print k + 0 }')
    echo "$name: the first $same of $n greedy tokens agree with the CPU's"
done
[ "$n" -gt 0 ] || { echo "gpu-check: no tokens from flint run" >&2; exit 1; }
step "flint bench --gpu vulkan on $model (-p $pp -n $tg -r $reps)"
$flint bench -m "$model" -p "$pp" -n "$tg" -r "$reps" --gpu vulkan --json | tee "$out/vulkan.jsonl"
step "flint bench --gpu vulkan, decode with every step recorded afresh (FLINT_VK_REPLAY=0)"
FLINT_VK_REPLAY=0 $flint bench -m "$model" -p 0 -n "$tg" -r "$reps" --gpu vulkan --no-floor --json | tee "$out/vulkan-norep.jsonl"
step "flint bench on the CPU"
$flint bench -m "$model" -p "$pp" -n "$tg" -r "$reps" --json | tee "$out/cpu.jsonl"
if [ -n "${LLAMA_BENCH:-}" ]; then
    step "llama-bench -ngl 99 ($LLAMA_BENCH)"
    "$LLAMA_BENCH" -m "$model" -p "$pp" -n "$tg" -r "$reps" -ngl 99 -o jsonl > "$out/llama.jsonl"
    sed -E 's/.*"backends": "([^"]*)".*"n_prompt": ([0-9]+), "n_gen": ([0-9]+).*"avg_ts": ([0-9.]+).*/backends \1: n_prompt \2, n_gen \3, \4 t\/s/' \
        "$out/llama.jsonl"
fi

# tokens/s of test $2 ("pp512", "tg128") in flint's bench JSON $1
flint_tps() { sed -nE "s/.*\"test\": \"$2\", \"tokens_per_s\": ([0-9.]+).*/\1/p" "$1" | head -n 1; }
# tokens/s of llama-bench's prompt ($2 = p) or generation ($2 = g) test
llama_tps() {
    [ -f "$out/llama.jsonl" ] || return 0
    if [ "$2" = p ]; then sed -nE "s/.*\"n_prompt\": $pp, \"n_gen\": 0,.*\"avg_ts\": ([0-9.]+).*/\1/p" "$1"
    else sed -nE "s/.*\"n_prompt\": 0, \"n_gen\": $tg,.*\"avg_ts\": ([0-9.]+).*/\1/p" "$1"; fi | head -n 1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.2f", a / b; else printf "-" }'; }

step "summary"
device=$(sed -nE 's/.*"device": "([^"]*)".*/\1/p' "$out/vulkan.jsonl" | head -n 1)
echo "model: $model"
echo "device: $device"
echo
bw=$(sed -nE 's/.*"read_bandwidth_gbs": ([0-9.]+).*/\1/p' "$out/vulkan.jsonl" | head -n 1)
echo "device memory read bandwidth: ${bw:--} GB/s (decode's floor: that over the weight bytes per token)"
echo
echo "| test | flint vulkan t/s | ratio to floor | flint cpu t/s | llama.cpp -ngl 99 t/s | vulkan / cpu | vulkan / llama.cpp |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for t in "pp$pp p" "tg$tg g"; do
    set -- $t
    v=$(flint_tps "$out/vulkan.jsonl" "$1")
    f=$(sed -nE "s/.*\"test\": \"$1\".*\"floor_ratio\": ([0-9.]+).*/\1/p" "$out/vulkan.jsonl" | head -n 1)
    c=$(flint_tps "$out/cpu.jsonl" "$1")
    l=$(llama_tps "$out/llama.jsonl" "$2")
    echo "| $1 | ${v:--} | ${f:--} | ${c:--} | ${l:--} | $(ratio "$v" "$c") | $(ratio "$v" "$l") |"
done
norep=$(flint_tps "$out/vulkan-norep.jsonl" "tg$tg")
echo
echo "decode with every step recorded afresh: ${norep:--} t/s (replay's gain: $(ratio "$(flint_tps "$out/vulkan.jsonl" "tg$tg")" "$norep")x)"
echo
echo "gpu-check: done in $(($(date +%s) - start)) s"
