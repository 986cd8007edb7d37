#!/bin/sh
# py.sh — runs one server test script (tests/server/test_*.py) the way
# tests/run.sh runs a test binary: prepares what it needs first, once:
#   - a git-ignored venv (tools/.venv-server) with the official openai
#     client, websocket-client and huggingface_hub from PyPI
#     (tests/server/requirements.txt);
#   - the real Gemma 3 270M (tools/fetch_model.sh), unless FLINT_REAL_MODEL
#     names a model already.
# Offline, the script still runs and reports itself SKIPPED with 0 checks.
# FLINT_BIN (the flint binary under test) comes from make.
set -u
here=$(dirname "$0")
venv=tools/.venv-server
name=$(basename "$1" .py)
if ! "$venv/bin/python" -c 'import openai, websocket, huggingface_hub' 2>/dev/null; then
    python3 -m venv "$venv" >&2 &&
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" >&2 ||
    { echo "SKIPPED: could not install the test clients from PyPI (offline?)"; echo "$name: 0 passed, 0 failed"; exit 0; }
fi
if [ -z "${FLINT_REAL_MODEL:-}" ]; then
    FLINT_REAL_MODEL=$(sh tools/fetch_model.sh) || FLINT_REAL_MODEL=
    export FLINT_REAL_MODEL
fi
exec "$venv/bin/python" "$1"
