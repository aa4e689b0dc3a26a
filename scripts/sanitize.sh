#!/usr/bin/env bash
# The hardening builds (docs/security.md), each in its own folder beside build/:
#   scripts/sanitize.sh address   AddressSanitizer + UndefinedBehaviorSanitizer (clang, with the
#                                 libFuzzer targets) in build-asan/: every C++ test and every
#                                 fuzz seed corpus run once
#   scripts/sanitize.sh thread    ThreadSanitizer (gcc) in build-tsan/: the server's reload-under-
#                                 load test and the Python threads test
#   scripts/sanitize.sh address build   configure and build only (scripts/fuzz.sh uses it)
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: scripts/sanitize.sh address|thread [build]}
only_build=${2:-}
# -O1 with line tables only: the sanitizers' usual trade between build time, speed and readable
# traces (clang spells it -gline-tables-only, gcc -g1).
common=(-G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DMFKIT_BUILD_BENCH=OFF)
case "$kind" in
  address)
    dir=build-asan
    CC=clang CXX=clang++ cmake -S . -B "$dir" "${common[@]}" "-DCMAKE_CXX_FLAGS_SANITIZE=-O1 -gline-tables-only" \
      -DMFKIT_SANITIZE=address,undefined -DMFKIT_FUZZ=ON \
      -DMFKIT_BUILD_PYTHON=OFF >/dev/null
    cmake --build "$dir" -j "$(nproc)"
    [ "$only_build" = build ] && exit 0
    # Leaks are reported by LeakSanitizer at exit; libtorch's own allocations at load are not ours.
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
    export LSAN_OPTIONS=suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    # The C++ tests in one process per core (GTEST shards: no process start per test), but those
    # that measure time (a sanitizer slows them down), need another compiler's random sequence to
    # reach an accuracy threshold, or mostly run uninstrumented libtorch on real data.
    skip='Cli.Demo*:Startup.*:RealData.*:MetaMf.MetaTraining*:ScalesAndDensities/NnmfCarriesOver.*'
    pids=()
    for shard in 0 1; do
      GTEST_TOTAL_SHARDS=2 GTEST_SHARD_INDEX=$shard "$dir/tests/mfkit_tests" --gtest_filter="-$skip" \
        >"$dir/tests-shard$shard.log" 2>&1 &
      pids+=($!)
    done
    failed=0
    for shard in 0 1; do
      if ! wait "${pids[$shard]}"; then
        failed=1
        echo "sanitize.sh: shard $shard failed:" >&2
        grep -a -E "FAILED|ERROR: |SUMMARY: |runtime error|Failure" "$dir/tests-shard$shard.log" | head -40 >&2
        tail -60 "$dir/tests-shard$shard.log" >&2
      fi
    done
    # The seed corpora, each input once (ctest's Fuzz.* tests).
    ctest --test-dir "$dir" --output-on-failure -R '^Fuzz\.' || failed=1
    exit $failed
    ;;
  thread)
    dir=build-tsan
    CC=gcc CXX=g++ cmake -S . -B "$dir" "${common[@]}" "-DCMAKE_CXX_FLAGS_SANITIZE=-O1 -g1" -DMFKIT_SANITIZE=thread >/dev/null
    cmake --build "$dir" -j "$(nproc)" --target mfkit_tests mfkit_python mfkit_python_files
    [ "$only_build" = build ] && exit 0
    # Races the code means to have are suppressed by name in tests/sanitizers/tsan.supp, each with
    # its reason; any other report fails the run.
    export TSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/tsan.supp halt_on_error=1 second_deadlock_stack=1"
    "$dir/tests/mfkit_tests" --gtest_filter='Server.ReloadsTheModelUnderLoadWithoutAFailedRequest:ServeLimits.*'
    # libgomp is not instrumented, so TSan cannot see an OpenMP team's barriers: the threads under
    # test are Python's (each call runs its OpenMP loops on one thread), the thread-count test aside.
    LD_PRELOAD=$(gcc -print-file-name=libtsan.so) MFKIT_BUILD_DIR="$PWD/$dir" \
      /usr/bin/python3 -m pytest tests/python/test_threads.py -q -p no:cacheprovider -k "not capped"
    ;;
  *) echo "sanitize.sh: unknown kind '$kind' (address or thread)" >&2; exit 2 ;;
esac
