#!/bin/sh
# run.sh — runs every test binary given on the command line from the
# repository root and prints the total as the last line: "N passed, N failed".
# A .py (tests/server/, tests/real/) runs through tests/server/py.sh, which
# prepares its venv and the real model.
passed=0; failed=0; crashed=0
for t in "$@"; do
    case "$t" in
        *.py) out=$(sh tests/server/py.sh "$t" 2>&1); rc=$? ;;
        *) out=$("$t" 2>&1); rc=$? ;;
    esac
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '^[A-Za-z0-9_]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -z "$line" ]; then
        echo "$t: crashed or printed no result (exit $rc)"
        crashed=$((crashed + 1)); continue
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -eq 0 ] && [ "$rc" -ne 0 ]; then crashed=$((crashed + 1)); echo "$t: exit $rc"; fi
done
failed=$((failed + crashed))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
