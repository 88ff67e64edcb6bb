#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cc, in the sanitizer build: scripts/sanitizer-build.sh)
# and runs each for a fixed budget, with its seed corpus (fuzz/seeds/<target>) and dictionary
# (fuzz/dictionaries/<target>.dict). A target that crashes, hangs or leaks fails the run; its log
# is build-asan/fuzz/<target>.log and the input it saved is named in it.
#
# Usage: scripts/fuzz.sh [seconds-per-target] [target...]
#        scripts/fuzz.sh --regressions [target...]
#   seconds-per-target: default $FUZZ_SECONDS, else 15 (18 targets: about 2 minutes 30 s in
#   all on 2 cores, one campaign per core; FUZZ_JOBS sets how many run at once).
#   target...: only these (names as in fuzz/, e.g. manifest_fuzz).
#   --regressions: instead of fuzzing, runs each target once over fuzz/regressions/<target>/*
#   (inputs that crashed or hung it once) and fails if any still does.
# Longer campaigns: run a target directly, e.g.
#   build-asan/fuzz/manifest_fuzz -max_total_time=600 -dict=fuzz/dictionaries/manifest_fuzz.dict \
#     -max_len=300000 corpus/ fuzz/seeds/manifest_fuzz
# (a large -max_len lets the deep-nesting dictionary entries build inputs deep enough to matter).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=fuzz
case "${1:-}" in
  --help|-h) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
if [ "${1:-}" = "--regressions" ]; then
  mode=regressions
  shift
  SECONDS_PER_TARGET=0
else
  SECONDS_PER_TARGET=${1:-${FUZZ_SECONDS:-15}}
  [ $# -gt 0 ] && shift
  if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]]; then
    echo "fuzz.sh: '$SECONDS_PER_TARGET' is not a number of seconds per target (try --help)" >&2
    exit 2
  fi
fi
only=("$@")

scripts/sanitizer-build.sh fuzz_targets
out=build-asan/fuzz

# One fuzzing campaign per CPU at a time (FUZZ_JOBS, default nproc): each target is a single
# process on one core, so on the 2-core CI machine two lanes halve the step's wall time.
jobs=${FUZZ_JOBS:-$(nproc)}
running=0

# Runs one target's campaign and prints its report in one piece when it ends (so that lanes
# running side by side do not interleave their lines); fails if the target did.
fuzz_one() {
  local name=$1 target=$2 report rc=0
  shift 2
  "$target" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$@" > "$out/$name.log" 2>&1 || rc=$?
  report="fuzz: $name for ${SECONDS_PER_TARGET}s"
  [ $rc -eq 0 ] || report+=$'\n'"fuzz: $name FAILED ($out/$name.log):"
  echo "$report"$'\n'"$(tail -n 12 "$out/$name.log")"
  return $rc
}

status=0
for target in "$out"/*_fuzz; do
  name=$(basename "$target")
  if [ ${#only[@]} -gt 0 ] && [[ ! " ${only[*]} " =~ " $name " ]]; then
    continue
  fi
  if [ "$mode" = regressions ]; then
    [ -d "fuzz/regressions/$name" ] || continue
    # One untimed run on an empty input first: a target whose world compiles actors (into the
    # shared compile cache) pays that compile here, not inside the first input's 10 s timeout
    # (a loaded machine once took longer than that to compile them).
    empty=$(mktemp)
    "$target" -timeout=0 -rss_limit_mb=2048 "$empty" > "$out/$name.warm-up.log" 2>&1 ||
      { echo "regression: $name: the warm-up run failed ($out/$name.warm-up.log):";
        tail -n 20 "$out/$name.warm-up.log"; status=1; }
    rm -f "$empty"
    for input in fuzz/regressions/"$name"/*; do
      log=$out/$name.regression.log
      if "$target" -timeout=10 -rss_limit_mb=2048 "$input" > "$log" 2>&1; then
        echo "regression: $name $(basename "$input"): ok"
      else
        echo "regression: $name $(basename "$input"): FAILS ($log):"
        tail -n 20 "$log"
        status=1
      fi
    done
    continue
  fi
  corpus=$out/corpus/$name
  mkdir -p "$corpus"
  seeds=()
  [ -d "fuzz/seeds/$name" ] && seeds=("fuzz/seeds/$name")
  dict=()
  [ -f "fuzz/dictionaries/$name.dict" ] && dict=("-dict=fuzz/dictionaries/$name.dict")
  if [ "$name" = component_decoder_fuzz ]; then
    # Components the sanitizer build made: the decoder fixtures and the test actors made into
    # components by the standard tools (present after a full build; fuzz.sh alone builds only
    # the targets).
    built=$out/seeds/$name
    mkdir -p "$built"
    cp build-asan/src/abi/component/testdata/*.wasm build-asan/tests/actors/*.component.wasm \
      "$built"/ 2>/dev/null || true
    seeds+=("$built")
  fi
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
  fuzz_one "$name" "$target" "${dict[@]}" "$corpus" "${seeds[@]}" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
