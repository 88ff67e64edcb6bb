#!/usr/bin/env bash
# Builds the `theater` command alone, in build-run/: no tests, benchmarks or test actors, -O2, and
# each library compiled as a few combined files (THEATER_UNITY_BUILD), the quickest build from
# scratch (docs/benchmarks.md, "The first command"). For scripts/run-example.sh and
# scripts/install.sh; development uses scripts/build.sh. Its packages: install-deps.sh --run.
set -euo pipefail
cd "$(dirname "$0")/.."
# GCC collects the garbage of its own heap as it grows; a large first heap skips most of those
# collections: 0.86x the build's time, for up to 3.5 GB per compiler (the Boost.Beast file) instead
# of 2.3. Only with GCC, and with 4 GiB of memory per core.
gcc_flags=""
mem_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)
if c++ --version 2>/dev/null | grep -q 'Free Software Foundation' &&
  [ "${mem_kib:-0}" -ge $((4 * 1024 * 1024 * $(nproc))) ]; then
  gcc_flags="--param ggc-min-expand=400 --param ggc-min-heapsize=2097152"
fi
if [ ! -f build-run/build.ninja ]; then
  cmake -S . -B build-run -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS="$gcc_flags" \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DTHEATER_BUILD_TESTS=OFF -DTHEATER_BUILD_BENCH=OFF -DTHEATER_BUILD_EXAMPLES=OFF \
    -DTHEATER_UNITY_BUILD=ON >/dev/null
fi
cmake --build build-run --target theater -j "$(nproc)"
