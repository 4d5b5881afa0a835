#!/usr/bin/env bash
# Creates .venv/ in the project with the Python tools' packages from PyPI. Idempotent.
#   tools/make_venv.sh --server only what make test needs: numpy, flask (teacher server), omegaconf, PyYAML (trainer configs)
#   tools/make_venv.sh          the light set (fixtures for SSIM/MFCC, teacher server)
#   tools/make_venv.sh --torch  plus torch, torchvision and lpips (LPIPS/SyncNet fixtures, benchmarks)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ "${1:-}" = "--server" ]; then
  if .venv/bin/python -c "import numpy, flask, omegaconf, yaml" 2>/dev/null; then exit 0; fi
  .venv/bin/python -m pip install -q -r tools/requirements-server.txt
  echo ".venv ready for make test: $(.venv/bin/python --version)"
  exit 0
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r tools/requirements.txt
if [ "${1:-}" = "--torch" ]; then
  .venv/bin/python -m pip install -q -r tools/requirements-torch.txt
fi
echo ".venv ready: $(.venv/bin/python --version)"
