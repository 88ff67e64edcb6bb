#!/usr/bin/env bash
# Installs dependencies, builds Theater and runs the whole test suite:
#   1. the unit and integration tests (CTest) in a RelWithDebInfo build;
#   2. every libFuzzer target for a fixed time budget (FUZZ_SECONDS, default 20);
#   3. the tests again in an AddressSanitizer + UndefinedBehaviorSanitizer build
#      (skipped with THEATER_SKIP_SANITIZERS=1 for quick local runs).
# Each step prints how long it took: the whole run is meant to stay well under 20 minutes on the
# 2-core CI machine.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { echo "test.sh: $1 done at $(((SECONDS - started) / 60))m$(((SECONDS - started) % 60))s"; }

scripts/install-deps.sh
step "install"

# Line tables (-g1) are all the test run's backtraces need, and a third of the compile time of
# full debug info. (Only a fresh build directory takes these flags; scripts/build.sh keeps an
# existing one's.)
scripts/build.sh build -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
step "release build"
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 600)
step "release tests"

scripts/fuzz.sh  # FUZZ_SECONDS a target, 15 by default
step "fuzzing"

if [ "${THEATER_SKIP_SANITIZERS:-0}" != 1 ]; then
  # Clang at -O0 (Debug): it compiles this build in half the time GCC takes with the
  # sanitizers on, and the sanitizers, not speed, are the point of this pass. A second compiler
  # also keeps the code portable. Line tables are all the sanitizers' reports need, and lld
  # links the instrumented executables several times faster than the default linker.
  CC=clang-14 CXX=clang++-14 scripts/build.sh build-asan -DTHEATER_SANITIZE=ON \
    -DTHEATER_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only \
    -DCMAKE_C_FLAGS_DEBUG=-gline-tables-only -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld
  step "sanitizer build"
  (cd build-asan && ctest --output-on-failure -j "$(nproc)" --timeout 900)
  step "sanitizer tests"
fi
echo "test.sh: all tests passed"
