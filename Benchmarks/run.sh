#!/usr/bin/env bash
# All benchmarks, each printing a ratio against a reference timed in the same run (`make bench`).
# The Python references (scikit-image, python_speech_features, lpips, PyTorch) need
# `tools/make_venv.sh --torch` first; those benchmarks are skipped with a note when .venv lacks them.
# The remote-teacher benchmark makes the small server venv itself (numpy, flask).
set -u
cd "$(dirname "$0")/.."
BIN=$(swift build -c release --show-bin-path)/trajprobe
echo "== media: decode vs the ffmpeg CLI"
"$BIN" bench media
echo "== store: 1M measurements via the Store API vs sqlite3 .import; 100k-row CSV import"
"$BIN" bench store
echo "== probe: 8 scales vs 1 (shared passes); analytic teacher FLOP/s vs plain sgemm"
"$BIN" bench probe
if [ -x .venv/bin/python ] && .venv/bin/python -c "import skimage, python_speech_features" 2>/dev/null; then
  echo "== metrics: SSIM vs scikit-image, MFCC vs python_speech_features"
  .venv/bin/python Benchmarks/metrics_fidelity_bench.py --swift "$BIN bench fidelity --json"
else
  echo "== metrics (SSIM, MFCC): skipped, run tools/make_venv.sh first"
fi
if [ -x .venv/bin/python ] && .venv/bin/python -c "import torch, lpips" 2>/dev/null; then
  echo "== nets: LPIPS vs lpips, SyncNet LSE vs PyTorch"
  PYTHON=.venv/bin/python Benchmarks/metrics_nets_bench.sh
else
  echo "== nets (LPIPS, SyncNet): skipped, run tools/make_venv.sh --torch first"
fi
echo "== remote teacher: binary tensors vs JSON (req/s, MB/s), client overhead per call"
Benchmarks/remote_bench.sh "$BIN"
