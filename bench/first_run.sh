#!/usr/bin/env bash
# What a new user waits for before a new actor runs: `theater build` of a fresh project (clang-14)
# and the first compile of its .wasm into an empty cache (wasm2c, then gcc), for the basic
# template in C and in C++. Each round creates the projects again and uses a fresh
# THEATER_HOME, so every compile is cold; binaries given with --base are measured in the same
# round, alternately, as the baseline. Prints each step's median over the rounds and the .wasm
# sizes.
#
#   bench/first_run.sh --theater build/src/cli/theater [--base /tmp/base/theater] [--rounds 5]
set -euo pipefail

theater=""
base=""
rounds=5
while [ $# -gt 0 ]; do
  case "$1" in
    --theater) theater=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --help|-h) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "first_run: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$theater" ] || { echo "first_run: --theater must name the theater binary" >&2; exit 2; }
[ -z "$base" ] || [ -x "$base" ] || { echo "first_run: --base is not executable" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/timing.sh"  # now, elapsed, median

# measure LABEL BINARY LANG: appends "label lang build_s compile_s wasm_bytes" to $work/results.
measure() {
  local label=$1 bin=$2 lang=$3
  local dir="$work/$label-$lang" home="$work/home-$label-$lang"
  rm -rf "$dir" "$home"
  mkdir -p "$home"
  THEATER_HOME=$home "$bin" create p -o "$dir" --lang "$lang" >/dev/null
  local t0 t1 t2
  t0=$(now)
  THEATER_HOME=$home "$bin" build "$dir/p" >/dev/null 2>&1
  t1=$(now)
  THEATER_HOME=$home "$bin" compile "$dir/p/p.wasm" >/dev/null 2>&1
  t2=$(now)
  echo "$label $lang $(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc) $(stat -c %s "$dir/p/p.wasm")" \
    >>"$work/results"
}

for ((r = 1; r <= rounds; r++)); do
  for lang in c cpp; do
    measure now "$theater" "$lang"
    [ -z "$base" ] || measure base "$base" "$lang"
  done
done

printf "%-5s %-4s %10s %12s %10s %12s\n" binary lang "build s" "compile s" "total s" "wasm bytes"
for label in now base; do
  [ "$label" = base ] && [ -z "$base" ] && continue
  for lang in c cpp; do
    rows=$(awk -v l="$label" -v g="$lang" '$1 == l && $2 == g' "$work/results")
    b=$(echo "$rows" | awk '{print $3}' | median)
    c=$(echo "$rows" | awk '{print $4}' | median)
    t=$(echo "$rows" | awk '{print $3 + $4}' | median)
    s=$(echo "$rows" | awk '{print $5}' | median)
    printf "%-5s %-4s %10.2f %12.2f %10.2f %12d\n" "$label" "$lang" "$b" "$c" "$t" "$s"
  done
done
