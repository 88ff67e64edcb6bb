#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 and runs each for a fixed budget.
# Usage: scripts/fuzz.sh [seconds-per-target]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-30}
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang-14 CXX=clang++-14 cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build build-fuzz -j "$(nproc)"
for target in build-fuzz/*_fuzz; do
  name=$(basename "$target")
  corpus=build-fuzz/corpus/$name
  mkdir -p "$corpus"
  seeds=()
  [ -d "fuzz/seeds/$name" ] && seeds=("fuzz/seeds/$name")
  if [ "$name" = component_decoder_fuzz ]; then
    # Components the main build made (scripts/test.sh builds it first): the decoder fixtures and
    # the test actors made into components by the standard tools.
    built=build-fuzz/seeds/$name
    mkdir -p "$built"
    cp build/src/abi/component/testdata/*.wasm build/tests/actors/*.component.wasm "$built"/ \
      2>/dev/null || true
    seeds+=("$built")
  fi
  echo "fuzz: $name for ${SECONDS_PER_TARGET}s"
  "$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$corpus" "${seeds[@]}" 2>&1 | tail -n 12
done
