#!/usr/bin/env bash
# Installs dependencies, builds Theater and runs the whole test suite:
#   1. the unit and integration tests (CTest) in a RelWithDebInfo build;
#   2. every libFuzzer target for a fixed time budget (FUZZ_SECONDS, default 30);
#   3. the tests again in an AddressSanitizer + UndefinedBehaviorSanitizer build
#      (skipped with THEATER_SKIP_SANITIZERS=1 for quick local runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

scripts/build.sh build
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 600)

scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

if [ "${THEATER_SKIP_SANITIZERS:-0}" != 1 ]; then
  # -O0 (Debug) compiles faster; the sanitizers, not speed, are the point of this pass.
  scripts/build.sh build-asan -DTHEATER_SANITIZE=ON -DTHEATER_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
  (cd build-asan && ctest --output-on-failure -j "$(nproc)" --timeout 900)
fi
echo "test.sh: all tests passed"
