#!/usr/bin/env bash
# Compares two builds of a benchmark as alternated pairs in one sitting (the VMs differ from day
# to day, so only ratios measured side by side mean anything):
#
#   bench/compare_builds.sh --old /path/to/old/bench --new build/bench --pairs 9 \
#       --field spawns_per_s -- runtime_bench spawn --n 10000
#
# Runs <old>/<bench> and <new>/<bench> with the same arguments, old first then new, --pairs
# times; reads the JSON field --field from the last line each prints; prints every pair, the
# medians and new/old of the medians. Exits non-zero when a run fails or prints no such field.
set -euo pipefail

old="" new="" pairs=7 field=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --old) old="$2"; shift 2 ;;
    --new) new="$2"; shift 2 ;;
    --pairs) pairs="$2"; shift 2 ;;
    --field) field="$2"; shift 2 ;;
    --help|-h) sed -n '2,10p' "$0"; exit 0 ;;
    --) shift; break ;;
    *) echo "compare_builds.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
if [[ -z "$old" || -z "$new" || -z "$field" || $# -lt 1 ]]; then
  echo "compare_builds.sh: --old, --new, --field and a benchmark command are required (try --help)" >&2
  exit 2
fi
bench="$1"; shift

run() {  # run <dir> <args...>: prints the field's value of one run
  local dir="$1" out value
  shift
  out=$("$dir/$bench" "$@" 2>/dev/null | tail -1) || { echo "compare_builds.sh: $dir/$bench failed" >&2; exit 1; }
  value=$(sed -n "s/.*\"$field\":\([0-9.]*\).*/\1/p" <<<"$out")
  if [[ -z "$value" ]]; then echo "compare_builds.sh: no \"$field\" in: $out" >&2; exit 1; fi
  echo "$value"
}

source "$(dirname "$0")/timing.sh"  # now, elapsed, median

olds=() news=()
for ((i = 1; i <= pairs; i++)); do
  o=$(run "$old" "$@")
  n=$(run "$new" "$@")
  olds+=("$o"); news+=("$n")
  echo "pair $i: old $o  new $n"
done
mo=$(printf '%s\n' "${olds[@]}" | median)
mn=$(printf '%s\n' "${news[@]}" | median)
echo "median $field: old $mo  new $mn  new/old $(awk -v a="$mn" -v b="$mo" 'BEGIN {printf "%.3f", a / b}')"
