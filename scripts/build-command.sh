#!/usr/bin/env bash
# Builds the `theater` command alone, in build-run/: no tests, benchmarks or test actors, -O2, and
# each library compiled as a few combined files (THEATER_UNITY_BUILD), the quickest build from
# scratch (docs/benchmarks.md, "The first command"). For scripts/run-example.sh and
# scripts/install.sh; development uses scripts/build.sh. Its packages: install-deps.sh --run.
set -euo pipefail
cd "$(dirname "$0")/.."
gcc_flags=$(scripts/gcc-heap-flags.sh)
if [ ! -f build-run/build.ninja ]; then
  cmake -S . -B build-run -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$gcc_flags" \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DTHEATER_BUILD_TESTS=OFF -DTHEATER_BUILD_BENCH=OFF -DTHEATER_BUILD_EXAMPLES=OFF \
    -DTHEATER_UNITY_BUILD=ON >/dev/null
fi
cmake --build build-run --target theater -j "$(nproc)"
