#!/bin/sh
# Neural-network metrics benchmark: PyTorch reference, then the Swift port, same weights and inputs,
# same machine, same run. Prints speed ratios (PyTorch time / Swift time; >1 means Swift is faster).
#   Benchmarks/metrics_nets_bench.sh [OUT_DIR]
# REPEATS (default 2) alternates the two halves that many times: on a shared machine the load
# moves between minutes, so read the ratios of every round.
# The Swift half is `trajprobe bench nets` (release build).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-/tmp/trajprobe-nets-bench}
PY=${PYTHON:-$ROOT/.venv/bin/python}
mkdir -p "$OUT"
swift build -c release --product trajprobe --package-path "$ROOT" >&2
BIN=$(swift build -c release --show-bin-path --package-path "$ROOT")/trajprobe
for round in $(seq 1 "${REPEATS:-2}"); do
    echo "round $round"
    "$PY" -W ignore "$ROOT/Benchmarks/metrics_nets_bench.py" "$OUT"
    echo "Swift, OpenBLAS default threads:"
    "$BIN" bench nets "$OUT"
    echo "Swift, OPENBLAS_NUM_THREADS=1 (the reference also takes its faster thread setting):"
    OPENBLAS_NUM_THREADS=1 "$BIN" bench nets "$OUT"
done
