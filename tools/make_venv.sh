#!/usr/bin/env bash
# Creates .venv/ in the project with the Python tools' packages from PyPI. Idempotent.
#   tools/make_venv.sh --server only what make test needs: numpy, flask (teacher server), omegaconf, PyYAML (trainer configs)
#   tools/make_venv.sh --browser Playwright for the report's browser test (make e2e; the browser
#                                itself is Debian's chromium, never downloaded)
#   tools/make_venv.sh          the light set (fixtures for SSIM/MFCC, teacher server)
#   tools/make_venv.sh --torch  plus torch, torchvision and lpips (LPIPS/SyncNet fixtures, benchmarks)
#                               and syncnet-python without its dependencies (syncnet_jpeg fixtures)
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
if [ "${1:-}" = "--browser" ]; then
  if .venv/bin/python -c "import playwright.sync_api" 2>/dev/null; then exit 0; fi
  .venv/bin/python -m pip install -q -r tools/requirements-browser.txt
  echo ".venv ready for the browser test: $(.venv/bin/python -m playwright --version)"
  exit 0
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r tools/requirements.txt
if [ "${1:-}" = "--torch" ]; then
  .venv/bin/python -m pip install -q -r tools/requirements-torch.txt
  .venv/bin/python -m pip install -q --no-deps -r tools/requirements-syncnet.txt
fi
echo ".venv ready: $(.venv/bin/python --version)"
