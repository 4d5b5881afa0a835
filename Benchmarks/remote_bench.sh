#!/bin/sh
# Remote teacher benchmark: starts the reference server's echo model (x0 = x_t / 2, next to no
# compute) on loopback and measures, in the same run,
#   1. requests/s and MB/s of video-sized latents (4 rows of 16x5x30x52) through the binary tensor
#      extension (FP32, FP16) against the JSON form;
#   2. the probe's overhead per teacher call over the server's own compute time, on probe-sized
#      calls (150 rows of 64 values: a 75-frame clip, two branches).
#   Benchmarks/remote_bench.sh [path/to/trajprobe]
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/.build/release/trajprobe}
PY=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || "$ROOT/tools/make_venv.sh" --server
run() {  # state-shape rows calls
  log=$(mktemp)
  "$PY" -u "$ROOT/tools/teacher_server/server.py" --model echo --state-shape "$1" --port 0 >"$log" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
  port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$log")
  "$BIN" bench remote --url "http://127.0.0.1:$port" --model echo --rows "$2" --calls "$3" || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$log"
}
run 16,5,30,52 4 20
run 64 150 200
