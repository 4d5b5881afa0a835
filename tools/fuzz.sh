#!/usr/bin/env bash
# libFuzzer runs of every parser harness (Fuzz/<Harness>/): `make fuzz` builds them with
# -sanitize=fuzzer,address into .build-fuzz and runs each for FUZZ_SECONDS (default 60).
#
#   tools/fuzz.sh [--build-only] [--seconds N] [HARNESS...]      (default: all harnesses)
#
# Each run starts from the committed seeds (Fuzz/Corpus/<Harness>, read-only) plus what earlier
# runs found (.build-fuzz/corpus/<Harness>); crashes, leaks, timeouts (10 s) and out-of-memory
# (2 GB) inputs are written to .build-fuzz/crashes/ and fail the script. A crash input becomes a
# regression test in the module's test target, and a seed here, once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
SECONDS_EACH=${FUZZ_SECONDS:-60}
BUILD_ONLY=0
ALL=(FuzzLongCSV FuzzRegistry FuzzStudyYAML FuzzODESchedule FuzzSafeTensors FuzzFaceSyncModel FuzzMedia FuzzRemoteResponse)
HARNESSES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-only) BUILD_ONLY=1 ;;
    --seconds) SECONDS_EACH=$2; shift ;;
    *) HARNESSES+=("$1") ;;
  esac
  shift
done
[ ${#HARNESSES[@]} -eq 0 ] && HARNESSES=("${ALL[@]}")

declare -A DICT=([FuzzLongCSV]=csv [FuzzRegistry]=registry [FuzzStudyYAML]=study [FuzzODESchedule]=json
                 [FuzzSafeTensors]=safetensors [FuzzFaceSyncModel]=facesync [FuzzRemoteResponse]=json)

# SwiftPM's --sanitize fuzzer links libFuzzer's main (and keeps SwiftPM from renaming ours);
# -Xswiftc -sanitize=fuzzer,address is what instruments the Swift code for coverage (SwiftPM
# passes only the last --sanitize value to the compiler). One product per build: libFuzzer's
# main would clash with the @main of the other executables.
for h in "${HARNESSES[@]}"; do
  echo "== building $h"
  TRAJPROBE_FUZZ=1 $SWIFT build --scratch-path .build-fuzz --product "$h" \
    --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address 2>&1 \
    | grep -v "Cannot export local symbol" || true
  [ -x ".build-fuzz/debug/$h" ] || { echo "build of $h failed"; exit 1; }
done
[ $BUILD_ONLY = 1 ] && exit 0

mkdir -p .build-fuzz/crashes
status=0
summary=()
for h in "${HARNESSES[@]}"; do
  corpus=.build-fuzz/corpus/$h
  mkdir -p "$corpus"
  args=("$corpus" "Fuzz/Corpus/$h" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048
        -artifact_prefix=".build-fuzz/crashes/$h-" -print_final_stats=1)
  [ -n "${DICT[$h]:-}" ] && args+=(-dict="Fuzz/Dictionaries/${DICT[$h]}.dict")
  echo "== fuzzing $h for ${SECONDS_EACH}s"
  log=.build-fuzz/$h.log
  start=$(date +%s)
  if ASAN_OPTIONS=detect_leaks=0 ".build-fuzz/debug/$h" "${args[@]}" > "$log" 2>&1; then
    result="0 crashes"
  else
    result="FAILED (see $log and .build-fuzz/crashes/)"
    status=1
  fi
  runs=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$log" | grep -o "[0-9]*$" || echo "?")
  summary+=("$h: $(( $(date +%s) - start )) s, $runs inputs, $result")
  tail -n 3 "$log"
done
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
exit $status
