#!/usr/bin/env bash
# How much slower the fast tier's code runs than the optimized object (docs/compile-cache.md,
# "Tiers"), on the code users meet it with: a JavaScript actor (the basic template) whose init
# does --work rounds of JavaScript work (objects built, serialised with JSON and parsed back,
# string and arithmetic work). Each round of the benchmark runs `theater run --settle-ms 1` of
# that actor and of the same actor with no work, with THEATER_TIER=fast and =optimized
# alternately, both objects compiled before (untimed); the work's time is the difference of the
# two runs' wall times. Prints the medians and their ratio.
#
# --home DIR keeps the compiled engines (and npm packages) for the next run.
#
#   bench/tier_speed.sh --theater build/src/cli/theater [--rounds 5] [--work 20000] [--home DIR]
set -euo pipefail

theater=""
rounds=5
work_rounds=20000
home=""
while [ $# -gt 0 ]; do
  case "$1" in
    --theater) theater=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --work) work_rounds=$2; shift 2 ;;
    --home) home=$2; shift 2 ;;
    --help|-h) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tier_speed: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$theater" ] || { echo "tier_speed: --theater must name the theater binary" >&2; exit 2; }
theater=$(realpath "$theater")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export THEATER_HOME=${home:-$work/home}
mkdir -p "$THEATER_HOME"
source "$(dirname "$0")/timing.sh"  # now, elapsed, median

# busy ROUNDS: the basic project, its init doing ROUNDS rounds of work first.
project() {
  local name=$1 n=$2
  "$theater" create "$name" --lang js -o "$work" >/dev/null
  [ -d "$work/installed/node_modules" ] && ln -s "$work/installed/node_modules" "$work/$name/node_modules"
  cat >"$work/$name/src/actor.js" <<JS
import { log } from 'theater:simple/runtime';
export const actor = {
  init(state, [actorId]) {
    let checksum = 0;
    for (let i = 0; i < $n; i++) {
      const value = { id: i, name: 'item-' + i, tags: ['a', 'b', String(i % 7)], score: i * 1.5 };
      const back = JSON.parse(JSON.stringify(value));
      checksum = (checksum + back.id * 31 + back.name.length + back.tags.length) % 1000003;
    }
    log('work done: ' + checksum);
    return [state];
  },
};
JS
  "$theater" build "$work/$name" >/dev/null 2>"$work/$name.build.log" ||
    { cat "$work/$name.build.log" >&2; exit 1; }
}

echo "tier_speed: building the two actors (npm ci the first time)" >&2
"$theater" create installed --lang js -o "$work" >/dev/null
"$theater" build "$work/installed" >/dev/null 2>&1
project busy "$work_rounds"
project idle 0
echo "tier_speed: compiling the engine in both tiers (minutes, untimed)" >&2
"$theater" compile --tier fast "$work/busy/busy.wasm" >/dev/null 2>&1
"$theater" compile --tier optimized "$work/busy/busy.wasm" >/dev/null 2>&1

run_s() {
  local tier=$1 name=$2 t0 t1
  t0=$(now)
  THEATER_TIER=$tier "$theater" run --settle-ms 1 "$work/$name/manifest.toml" >"$work/out" 2>&1
  t1=$(now)
  if [ "$name" = busy ] && ! grep -q "work done" "$work/out"; then cat "$work/out" >&2; exit 1; fi
  echo "$t1 - $t0" | bc
}
: >"$work/fast" && : >"$work/optimized"
for round in $(seq 1 "$rounds"); do
  for tier in fast optimized; do
    busy=$(run_s "$tier" busy)
    idle=$(run_s "$tier" idle)
    echo "$busy - $idle" | bc >>"$work/$tier"
  done
done
fast=$(median <"$work/fast")
optimized=$(median <"$work/optimized")
echo "medians of $rounds rounds, $work_rounds rounds of work ($(nproc) CPUs, load: $(cut -d' ' -f1 /proc/loadavg))"
printf "%-34s %s s\n" "fast tier (tcc)" "$fast"
printf "%-34s %s s\n" "optimized (cc -O2)" "$optimized"
printf "%-34s %s\n" "fast / optimized" "$(echo "scale=2; $fast / $optimized" | bc)"
