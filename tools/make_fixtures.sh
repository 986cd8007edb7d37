#!/bin/sh
# make_fixtures.sh — regenerates tests/fixtures/ with independent Python
# implementations (the gguf and safetensors packages, numpy, ml_dtypes,
# mlx and mlx-lm); ref_sampling.py is the NumPy reference for the sampler and
# stop strings. gen_mlx_fixtures.py runs last: it converts the HF fixtures
# the others write.
# Creates the git-ignored virtual environment tools/.venv on first use.
set -e
cd "$(dirname "$0")/.."
if [ ! -x tools/.venv/bin/python ]; then
    python3 -m venv tools/.venv
fi
tools/.venv/bin/pip install -q -r tools/requirements.txt
for g in $(ls tools/gen_*.py | grep -v gen_mlx_fixtures) tools/ref_sampling.py tools/gen_mlx_fixtures.py; do
    echo "== $g"
    tools/.venv/bin/python "$g"
done
