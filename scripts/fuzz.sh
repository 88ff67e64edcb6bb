#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cc) with clang-14 and runs each for a fixed budget,
# with its seed corpus (fuzz/seeds/<target>) and dictionary (fuzz/dictionaries/<target>.dict).
#
# Usage: scripts/fuzz.sh [seconds-per-target] [target...]
#        scripts/fuzz.sh --regressions [target...]
#   seconds-per-target: default $FUZZ_SECONDS, else 15 (15 targets: about 4 minutes in all).
#   --regressions: instead of fuzzing, runs each target once over fuzz/regressions/<target>/*
#   (inputs that crashed or hung it once) and fails if any still does.
# Longer campaigns: run a target directly, e.g.
#   build-fuzz/manifest_fuzz -max_total_time=600 -dict=fuzz/dictionaries/manifest_fuzz.dict \
#     -max_len=300000 corpus/ fuzz/seeds/manifest_fuzz
# (a large -max_len lets the deep-nesting dictionary entries build inputs deep enough to matter).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=fuzz
if [ "${1:-}" = "--regressions" ]; then
  mode=regressions
  shift
  SECONDS_PER_TARGET=0
else
  SECONDS_PER_TARGET=${1:-${FUZZ_SECONDS:-15}}
  [ $# -gt 0 ] && shift
fi
only=("$@")

if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang-14 CXX=clang++-14 cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache
fi
cmake --build build-fuzz -j "$(nproc)"

status=0
for target in build-fuzz/*_fuzz; do
  name=$(basename "$target")
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " =~ " $name " ]]; then
    continue
  fi
  if [ "$mode" = regressions ]; then
    [ -d "fuzz/regressions/$name" ] || continue
    for input in fuzz/regressions/"$name"/*; do
      if "$target" -timeout=10 -rss_limit_mb=2048 "$input" >/dev/null 2>&1; then
        echo "regression: $name $(basename "$input"): ok"
      else
        echo "regression: $name $(basename "$input"): FAILS"
        status=1
      fi
    done
    continue
  fi
  corpus=build-fuzz/corpus/$name
  mkdir -p "$corpus"
  seeds=()
  [ -d "fuzz/seeds/$name" ] && seeds=("fuzz/seeds/$name")
  dict=()
  [ -f "fuzz/dictionaries/$name.dict" ] && dict=("-dict=fuzz/dictionaries/$name.dict")
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
  if ! "$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "${dict[@]}" "$corpus" "${seeds[@]}" > "build-fuzz/$name.log" 2>&1; then
    status=1
    echo "fuzz: $name FAILED (build-fuzz/$name.log):"
  fi
  tail -n 12 "build-fuzz/$name.log"
done
exit $status
