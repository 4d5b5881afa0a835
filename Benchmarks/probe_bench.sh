#!/bin/sh
# Probe benchmarks (issue 6): (a) 8 guidance scales over 1 for shared-pass arms (target <= 1.3x),
# (b) analytic teacher FLOP/s as a fraction of plain sgemm of the same shapes (target >= 50%).
# Both are ratios against references measured in the same run. Release build; prints only.
# Until `trajprobe bench` wires ProbeBenchmark.run(), the runner is a test gated on TRAJPROBE_BENCH.
set -eu
cd "$(dirname "$0")/.."
TRAJPROBE_BENCH=1 swift test -c release --filter ProbeBenchmarkRunner 2>&1 | grep -E "probe bench|error"
