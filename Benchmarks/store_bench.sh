#!/usr/bin/env bash
# Store benchmark (issue 5): 1,000,000 measurements written through the Store API (one
# transaction per unit, as the probe writes) against the sqlite3 CLI's `.import` of the same rows
# into the same schema, measured in the same run; plus a 100,000-row long CSV import.
#
#   Benchmarks/store_bench.sh [MEASUREMENTS] [ROUNDS] [WORKDIR]
#
# Each side's fastest of ROUNDS rounds (default 3) is reported, wall and CPU time: on a shared
# machine the minimum is the least disturbed figure. Needs the sqlite3 CLI (Debian package
# `sqlite3`). Builds StoreHarness in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
MEASUREMENTS="${1:-1000000}"
ROUNDS="${2:-3}"
WORKDIR="${3:-$(mktemp -d /tmp/trajprobe-store-bench.XXXXXX)}"
command -v sqlite3 >/dev/null || { echo "sqlite3 CLI missing: apt-get install sqlite3" >&2; exit 1; }
swift build -c release --product StoreHarness >&2
BIN="$(swift build -c release --show-bin-path)/StoreHarness"
echo "machine: $(nproc) cores, $(uname -m); workdir $WORKDIR"
"$BIN" bench "$WORKDIR" "$MEASUREMENTS" "$ROUNDS"
rm -rf "$WORKDIR"
