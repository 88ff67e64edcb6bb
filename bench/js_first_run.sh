#!/usr/bin/env bash
# A new user's first JavaScript actor, nothing compiled yet: `theater create --lang js`, `theater
# build`, then `theater run`, timed from the build's start to the actor's first log line, with
# an empty compile cache each round. The npm packages are installed once, before any round
# (a new project links to them, as `theater create` projects share one install).
#
# Each round runs the tiered default (the engine runs from tcc's object while gcc's compiles in
# the background: docs/compile-cache.md, "Tiers") and, alternately, THEATER_TIER=optimized, what
# every run did before tiers (the first run waits for gcc -O2), stopped after --base-limit
# seconds (its figure is then a lower bound). Prints each figure's median over the rounds.
#
#   bench/js_first_run.sh --theater build/src/cli/theater [--rounds 3] [--base-limit 900]
set -euo pipefail

theater=""
rounds=3
base_limit=900
while [ $# -gt 0 ]; do
  case "$1" in
    --theater) theater=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --base-limit) base_limit=$2; shift 2 ;;
    --help|-h) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "js_first_run: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$theater" ] || { echo "js_first_run: --theater must name the theater binary" >&2; exit 2; }
theater=$(realpath "$theater")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/timing.sh"  # now, elapsed, median

# The packages every project links to, installed once (untimed).
echo "js_first_run: installing the npm packages once (untimed)" >&2
THEATER_HOME=$work/home-install "$theater" create installed --lang js -o "$work" >/dev/null
THEATER_HOME=$work/home-install "$theater" build "$work/installed" >/dev/null 2>&1

# first_run LABEL TIER LIMIT ROUND: prints "build_s first_log_s finished".
first_run() {
  local label=$1 tier=$2 limit=$3 round=$4
  local name="p-$label-$round" home="$work/home-$label-$round"
  mkdir -p "$home"
  THEATER_HOME=$home "$theater" create "$name" --lang js -o "$work" >/dev/null
  ln -s "$work/installed/node_modules" "$work/$name/node_modules"
  local t0 t1 t2
  t0=$(now)
  THEATER_HOME=$home "$theater" build "$work/$name" >/dev/null 2>"$work/$name.build.log"
  t1=$(now)
  # The time the actor's first log line reaches the terminal.
  local seen="$work/$name.seen"
  ( THEATER_HOME=$home THEATER_TIER=$tier timeout --signal=INT "$limit" \
      "$theater" run --settle-ms 1 "$work/$name/manifest.toml" 2>"$work/$name.run.err" || true ) |
    while IFS= read -r line; do
      case "$line" in *"Hello from $name"*) [ -f "$seen" ] || now >"$seen" ;; esac
    done
  if [ -f "$seen" ]; then
    t2=$(cat "$seen")
    echo "$(elapsed "$t0" "$t1") $(elapsed "$t0" "$t2") yes"
  else
    echo "$(elapsed "$t0" "$t1") $limit no"
  fi
}

: >"$work/tiered" && : >"$work/optimized"
for round in $(seq 1 "$rounds"); do
  echo "js_first_run: round $round of $rounds: tiered" >&2
  first_run tiered tiered 600 "$round" >>"$work/tiered"
  echo "js_first_run: round $round of $rounds: optimized (at most ${base_limit} s)" >&2
  first_run optimized optimized "$base_limit" "$round" >>"$work/optimized"
done

report() {
  local label=$1 file=$2 suffix=""
  grep -q " no$" "$file" && suffix=" (some stopped unfinished: a lower bound)"
  printf "%-44s %s s\n" "$label: theater build" "$(cut -d' ' -f1 "$file" | median)"
  printf "%-44s %s s%s\n" "$label: build start to first log line" \
    "$(cut -d' ' -f2 "$file" | median)" "$suffix"
}
echo "medians of $rounds rounds ($(nproc) CPUs, load at the end: $(cut -d' ' -f1 /proc/loadavg))"
report "tiered (default)" "$work/tiered"
report "THEATER_TIER=optimized (before tiers)" "$work/optimized"
