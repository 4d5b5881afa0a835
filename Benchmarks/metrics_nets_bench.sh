#!/bin/sh
# Neural-network metrics benchmark: PyTorch reference, then the Swift port, same weights and inputs,
# same machine, same run. Prints speed ratios (PyTorch time / Swift time; >1 means Swift is faster).
#   Benchmarks/metrics_nets_bench.sh [OUT_DIR]
# REPEATS (default 2) alternates the two halves that many times: on a shared machine the load
# moves between minutes, so read the ratios of every round.
# Until `trajprobe bench` wires MetricsNetsBench in, the Swift half runs from a scratch package
# that depends on this checkout (release build).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-/tmp/trajprobe-nets-bench}
PY=${PYTHON:-$ROOT/.venv/bin/python}
mkdir -p "$OUT"
PKG="$OUT/swift-bench"
mkdir -p "$PKG/Sources/NetsBench"
cat > "$PKG/Package.swift" <<SWIFT
// swift-tools-version:6.1
import PackageDescription
let package = Package(
    name: "NetsBench",
    dependencies: [.package(path: "$ROOT")],
    targets: [.executableTarget(name: "NetsBench", dependencies: [
        .product(name: "Metrics", package: "$(basename "$ROOT")"),
        .product(name: "Media", package: "$(basename "$ROOT")")])],
    swiftLanguageModes: [.v6])
SWIFT
cp "$ROOT/Benchmarks/metrics_nets_bench.swift" "$PKG/Sources/NetsBench/MetricsNetsBench.swift"
cat > "$PKG/Sources/NetsBench/main.swift" <<'SWIFT'
import Foundation
print(try MetricsNetsBench.run(directory: URL(fileURLWithPath: CommandLine.arguments[1])))
SWIFT
swift build -c release --package-path "$PKG" >&2
for round in $(seq 1 "${REPEATS:-2}"); do
    echo "round $round"
    "$PY" -W ignore "$ROOT/Benchmarks/metrics_nets_bench.py" "$OUT"
    echo "Swift, OpenBLAS default threads:"
    "$PKG/.build/release/NetsBench" "$OUT"
    echo "Swift, OPENBLAS_NUM_THREADS=1 (the reference also takes its faster thread setting):"
    OPENBLAS_NUM_THREADS=1 "$PKG/.build/release/NetsBench" "$OUT"
done
