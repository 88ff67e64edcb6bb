#!/usr/bin/env bash
# Installs dependencies, builds Theater and runs the whole test suite:
#   1. the unit and integration tests (CTest) in a RelWithDebInfo build;
#   2. in one clang build with AddressSanitizer + UndefinedBehaviorSanitizer (and libFuzzer's
#      coverage): the inputs that once broke a fuzz target, every fuzz target for a fixed time
#      budget (FUZZ_SECONDS, default 15), then the tests again
#      (all of step 2 is skipped with THEATER_SKIP_SANITIZERS=1 for quick local runs).
# Each step prints how long it took: the whole run is meant to stay well under 30 minutes on the
# 2-core CI machine.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { echo "test.sh: $1 done at $(((SECONDS - started) / 60))m$(((SECONDS - started) % 60))s"; }

scripts/install-deps.sh
step "install"

# The JavaScript actor tests (src/cli/cli_js_e2e_test.cc) of both builds share one home: each
# world's engine is compiled once per run, and npm installs once per language.
export THEATER_JS_TEST_HOME="$PWD/.test-home-js"

# No debug information: nothing in the test run reads it, and with it the suite's 70 statically
# linked executables take 3.7 GB instead of about 1 GB (CI machines have run out of disk), and
# compile and link slower. The libraries compile as a few combined files each (a unity build, as
# scripts/build-command.sh builds the command; the tests stay one file at a time), and GCC with a
# large first heap (scripts/gcc-heap-flags.sh): the quickest build from scratch, and the build the
# quick start makes is then built by every test run too. (Only a fresh build directory takes
# these flags; scripts/build.sh keeps an existing one's.) The benchmarks are not built: bench/ has
# no tests.
scripts/build.sh build -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" -DTHEATER_BUILD_BENCH=OFF \
  -DTHEATER_UNITY_BUILD=ON -DCMAKE_CXX_FLAGS="$(scripts/gcc-heap-flags.sh)"
step "release build"
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 600)
step "release tests"

if [ "${THEATER_SKIP_SANITIZERS:-0}" != 1 ]; then
  # One clang build carries the sanitizers and the fuzzers' coverage (see sanitizer-build.sh).
  scripts/sanitizer-build.sh
  step "sanitizer build"
  scripts/fuzz.sh --regressions  # inputs that once crashed or hung a target
  scripts/fuzz.sh                # each target for FUZZ_SECONDS, 15 by default
  step "fuzzing"
  # Tests whose time goes to other programs (npm and componentize-js, cargo, clang building
  # every C and C++ template) run once, in the release build above. Of the JavaScript and Rust
  # actor tests the sanitizers still see one whole actor life and the failures (traps, deadline,
  # memory limit); the other templates differ from it only in the source they build. That keeps
  # about three minutes off a run.
  (cd build-asan && ctest --output-on-failure -j "$(nproc)" --timeout 900 \
    -E '(CliJsTest|CliRustTest)\.(MessageServer|Supervisor|HttpServer)|CliLocalTest\.CreateBuildAndRunEveryTemplate')
  step "sanitizer tests"
fi
echo "test.sh: all tests passed"
