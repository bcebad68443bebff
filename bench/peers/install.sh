#!/usr/bin/env bash
# Installs the mock LLM servers the benchmark's API cases compare with (make bench runs this;
# make test never does): aimock from the pinned package-lock.json into node_modules/, and
# llm-mock-api from the pinned requirements.txt into a virtualenv of its own,
# .venv/bench-peers/ at the top of the repository (its FastAPI and pydantic pins then never
# touch the project's own environment).
set -euo pipefail
cd "$(dirname "$0")"
peer_venv=../../.venv/bench-peers
bash ../../scripts/ensure-system-deps.sh  # Node.js and npm among them
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --silent
fi
if [ ! -x "$peer_venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$peer_venv"
fi
"$peer_venv/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt
