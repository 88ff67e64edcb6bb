#!/usr/bin/env bash
# Installs dependencies, builds Theater and runs the whole test suite:
#   1. the unit and integration tests (CTest) in a release build;
#   2. in one clang build with AddressSanitizer + UndefinedBehaviorSanitizer (and libFuzzer's
#      coverage): the inputs that once broke a fuzz target, every fuzz target for a fixed time
#      budget (FUZZ_SECONDS, default 15), then the tests again
#      (all of step 2 is skipped with THEATER_SKIP_SANITIZERS=1 for quick local runs).
# At the end, passed or failed, it prints each step's time and each build's slowest tests
# (scripts/slowest-tests.sh; the full lists are in build/ctest.log and build-asan/ctest.log).
# The budget: 40 minutes from a clean clone on the slowest 2-core machine measured, 25 on the
# fastest; docs/testing.md keeps the figures and says how a new suite keeps to it.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
steps=()      # "name<TAB>seconds", in order
running=""    # the step under way, named in the summary if it fails
ctest_logs=() # "build<TAB>log" of each ctest run

clock() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# run_step NAME COMMAND...: runs COMMAND as the step NAME and records its time.
run_step() {
  local name=$1 step_started=$SECONDS
  shift
  running=$name
  "$@"
  steps+=("$name"$'\t'$((SECONDS - step_started)))
  running=""
  echo "test.sh: $name took $(clock $((SECONDS - step_started))), $(clock $((SECONDS - started))) in all"
}

# run_ctest BUILD_DIR JOBS CTEST_ARGS...: the tests of one build, JOBS at a time, their output kept
# in BUILD_DIR/ctest.log.
run_ctest() {
  local dir=$1 jobs=$2
  shift 2
  ctest_logs+=("$dir"$'\t'"$dir/ctest.log")
  (cd "$dir" && ctest --output-on-failure -j "$jobs" "$@") 2>&1 | tee "$dir/ctest.log"
}

# summary [STATUS]: the table of steps and the slowest tests; exits with STATUS (default: $?).
summary() {
  local status=${1:-$?} entry
  trap - EXIT
  echo
  if [ $status -eq 0 ]; then
    echo "test.sh: all tests passed; the run's time:"
  else
    echo "test.sh: FAILED (exit $status)${running:+ in the step '$running'}; the run's time:"
  fi
  for entry in "${steps[@]}"; do
    printf '  %-18s %8s\n' "${entry%%$'\t'*}" "$(clock "${entry##*$'\t'}")"
  done
  printf '  %-18s %8s\n' "whole run" "$(clock $((SECONDS - started)))"
  for entry in "${ctest_logs[@]}"; do
    echo "test.sh: the 15 slowest tests in ${entry%%$'\t'*} (seconds):"
    scripts/slowest-tests.sh "${entry##*$'\t'}" 15 || true
  done
  if [ "${THEATER_CCACHE:-0}" = 1 ]; then
    # Units the compiler cache answered took no compile: their memory below is the cache's.
    echo "test.sh: the compiler cache ($CCACHE_DIR) this run: $(ccache --print-stats 2>/dev/null |
      awk -F'\t' '$1 == "direct_cache_hit" || $1 == "preprocessed_cache_hit" {hits += $2}
                   $1 == "cache_miss" {misses = $2}
                   END {printf "%d hits, %d misses", hits, misses}')"
  fi
  for dir in build build-asan; do
    [ -s "$dir/compile_units.tsv" ] || continue
    echo "test.sh: the compile units of $dir (a unit over 1.5 GiB is named):"
    scripts/compile-report.sh "$dir" 3 || true
  done
  exit $status
}
trap summary EXIT

run_step install scripts/install-deps.sh

# Both builds record each compile unit's peak memory and CPU time (compile_units.tsv in the
# build directory; the summary reports them). Only a fresh build directory takes the launcher.
export CMAKE_CXX_COMPILER_LAUNCHER="$PWD/scripts/record-compile.sh"
export CMAKE_C_COMPILER_LAUNCHER="$PWD/scripts/record-compile.sh"

# What a run keeps on the machine for the next one (docs/testing.md, "Caches"), under
# THEATER_TEST_CACHE (default ~/.cache/theater-test; "off" keeps nothing, as on a fresh machine):
#   * the JavaScript actor tests' home (src/cli/cli_js_e2e_test.cc), shared by both builds: each
#     world's engine compiled once, npm packages installed once per lock file;
#   * a compiler cache (ccache) for both builds.
# A clean clone on a fresh machine must fit the budget without them; with them a second run
# compiles only what changed.
cache_root="${THEATER_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/theater-test}"
if [ "$cache_root" = off ]; then
  export THEATER_JS_TEST_HOME="${THEATER_JS_TEST_HOME:-$PWD/.test-home-js}"
else
  mkdir -p "$cache_root"
  export THEATER_JS_TEST_HOME="${THEATER_JS_TEST_HOME:-$cache_root/js-home}"
  # Each change of an engine adds about 55 MB of compiled objects: past 4 GiB the compiled
  # objects go (the next run compiles the engines it uses again).
  if [ -d "$THEATER_JS_TEST_HOME/cache" ] &&
     [ "$(du -sk "$THEATER_JS_TEST_HOME/cache" | cut -f1)" -gt $((4 << 20)) ]; then
    echo "test.sh: the JavaScript tests' compile cache passed 4 GiB: emptied"
    rm -rf "$THEATER_JS_TEST_HOME/cache"
  fi
  if command -v ccache > /dev/null; then
    export THEATER_CCACHE=1 CCACHE_DIR="$cache_root/ccache" CCACHE_MAXSIZE=8G
    # The sanitizer build's test files use a precompiled header (theater_test_pch in
    # cmake/TheaterHelpers.cmake), which ccache answers only with these: no source file here uses
    # __DATE__ or __TIME__, and the header is included before any line of a file.
    export CCACHE_SLOPPINESS=pch_defines,time_macros
    # Paths under the clone hash as relative ones: another clone of the same sources hits.
    export CCACHE_BASEDIR="$PWD"
    ccache --zero-stats > /dev/null
  fi
fi

# No debug information: nothing in the test run reads it, and with it the suite's 70 statically
# linked executables take 3.7 GB instead of about 1 GB (CI machines have run out of disk), and
# compile and link slower. The libraries compile as a few combined files each (a unity build, as
# scripts/build-command.sh builds the command; the tests stay one file at a time), and GCC with a
# larger first heap (scripts/gcc-heap-flags.sh): the quickest build from scratch, and the build
# the quick start makes is then built by every test run too. (Only a fresh build directory takes
# these flags; scripts/build.sh keeps an existing one's.) The benchmarks are not built: bench/ has
# no tests.
run_step "release build" scripts/build.sh build -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" -DTHEATER_BUILD_BENCH=OFF \
  -DTHEATER_UNITY_BUILD=ON -DCMAKE_CXX_FLAGS="$(scripts/gcc-heap-flags.sh)"
# The sanitizer build runs beside the release tests, at the lowest priority: the tests leave about
# a third of the two cores idle while they wait on timers, sockets and child processes, and the
# build takes that share; when a test wants the CPU, the kernel gives it (nice 19 weighs 1/70 of a
# test). Its output is in build-asan/build.log, and its remaining time is the step after the tests.
sanitizers=1
[ "${THEATER_SKIP_SANITIZERS:-0}" = 1 ] && sanitizers=0
if [ $sanitizers = 1 ]; then
  mkdir -p build-asan
  # In a process group of its own (job control), so that a failed run stops the whole build with
  # it; in this session, not a new one (setsid), where the kernel's per-session scheduling groups
  # (autogroup) would give it half the machine whatever its nice value.
  set -m
  nice -n 19 scripts/sanitizer-build.sh > build-asan/build.log 2>&1 &
  sanitizer_build=$!
  set +m
  trap 'status=$?; kill -- -"$sanitizer_build" 2>/dev/null; summary $status' EXIT
fi
# One test per core: the sanitizer build beside them takes what they leave idle.
run_step "release tests" run_ctest build "$(nproc)" --timeout 600

if [ $sanitizers = 1 ]; then
  # One clang build carries the sanitizers and the fuzzers' coverage (see sanitizer-build.sh).
  finish_sanitizer_build() {
    if ! wait "$sanitizer_build"; then
      tail -n 40 build-asan/build.log
      echo "test.sh: the sanitizer build failed (build-asan/build.log)"
      return 1
    fi
  }
  run_step "sanitizer build" finish_sanitizer_build
  trap summary EXIT
  fuzz() {
    scripts/fuzz.sh --regressions # inputs that once crashed or hung a target
    scripts/fuzz.sh               # each target for FUZZ_SECONDS, 15 by default
  }
  run_step fuzzing fuzz
  # The sanitizer build leaves out the tests of the command's own commands
  # (THEATER_CLI_COMMAND_TESTS). Of the JavaScript actor tests, whose time goes to npm,
  # componentize-js and the engine's compile, it runs one whole actor life and the failures
  # (traps, deadline, memory limit); the other templates differ from it only in the source they
  # build.
  # One test more than there are cores: alone, the sanitizer tests left about a sixth of the
  # two cores idle (waiting on timers, sockets and child processes; a /proc/stat sample every
  # 5 s, docs/benchmarks.md), and every test must pass on a busy machine anyway.
  run_step "sanitizer tests" run_ctest build-asan $(($(nproc) + 1)) --timeout 900 \
    -E 'CliJsTest\.(MessageServer|Supervisor|HttpServer)'
fi
