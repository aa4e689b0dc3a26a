#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS (docs/security.md):
#   scripts/fuzz.sh csv|model_file|params|query|http SECONDS
# The target is built with AddressSanitizer and UndefinedBehaviorSanitizer in build-asan/ (clang).
# It starts from the seeds in fuzz/corpus/TARGET and keeps what it finds in build-asan/fuzz/corpus/
# TARGET (not committed); a crashing input is written to build-asan/fuzz/crashes/ and the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh csv|model_file|params|query|http SECONDS}
seconds=${2:-60}
[ -d "fuzz/corpus/$target" ] || { echo "fuzz.sh: no target '$target' (see fuzz/)" >&2; exit 2; }
./scripts/sanitize.sh address build >/dev/null
work=build-asan/fuzz/corpus/$target
mkdir -p "$work" build-asan/fuzz/crashes
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"build-asan/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -max_len=1048576 \
  -print_final_stats=1 -artifact_prefix="build-asan/fuzz/crashes/$target-" "$work" "fuzz/corpus/$target"
