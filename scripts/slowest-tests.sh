#!/usr/bin/env bash
# Prints the slowest tests of a CTest run, from the output ctest printed (scripts/test.sh keeps it
# in <build>/ctest.log), slowest first, with their seconds, then the number of tests and the sum
# of their seconds. Usage: scripts/slowest-tests.sh LOG [COUNT]   (COUNT: default 15)
set -euo pipefail
if [ $# -lt 1 ] || [ "$1" = --help ] || [ "$1" = -h ]; then
  sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -ge 1 ] && exit 0 || exit 2
fi
log=$1
count=${2:-15}
if [ ! -r "$log" ]; then
  echo "slowest-tests: cannot read $log" >&2
  exit 1
fi
# ctest prints one line per finished test:
#   " 12/1206 Test  #42: Suite.Name ..........   Passed  274.12 sec"
# ("***Failed", "***Timeout" or "***Exception: ..." in place of "Passed"): the name follows the
# "#N:" field and the seconds come before the last one.
times=$(awk '
  / Test +#[0-9]+: / && $NF == "sec" {
    for (i = 1; i <= NF; i++) if ($i ~ /^#[0-9]+:$/) { name = $(i + 1); break }
    printf "%10.2f  %s%s\n", $(NF - 1), name, ($0 ~ / Passed /) ? "" : "  (not passed)"
  }' "$log")
if [ -z "$times" ]; then
  echo "  (no finished test in $log)"
  exit 0
fi
head -n "$count" < <(sort -rn <<<"$times")
awk '{ total += $1 } END { printf "%10.2f  seconds in all, %d tests\n", total, NR }' <<<"$times"
