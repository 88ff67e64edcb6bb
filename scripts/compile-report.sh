#!/usr/bin/env bash
# Reports what scripts/record-compile.sh recorded of a build: the compile units with the most
# memory and the most CPU time, and the sum of the CPU time. Exits 1 when a unit's peak memory
# exceeded LIMIT_MIB (default 1536: the budget in docs/testing.md).
# Usage: scripts/compile-report.sh BUILD_DIR [COUNT] [LIMIT_MIB]   (COUNT: default 5)
set -euo pipefail
if [ $# -lt 1 ] || [ "$1" = --help ] || [ "$1" = -h ]; then
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -ge 1 ] && exit 0 || exit 2
fi
log=$1/compile_units.tsv
count=${2:-5}
limit_mib=${3:-1536}
if [ ! -s "$log" ]; then
  echo "  (no compile recorded in $log)"
  exit 0
fi
# GNU time writes "%U %S" as two numbers in one field; the output path is the last field.
units=$(awk -F'\t' 'NF >= 4 {split($2, cpu, " "); printf "%d\t%.1f\t%s\n", $1 / 1024, cpu[1] + cpu[2], $4}' "$log")
echo "  most memory (MiB, CPU s, unit):"
head -n "$count" < <(sort -t$'\t' -k1,1 -rn <<<"$units") | awk -F'\t' '{printf "  %8d %8.1f  %s\n", $1, $2, $3}'
echo "  most CPU time:"
head -n "$count" < <(sort -t$'\t' -k2,2 -rn <<<"$units") | awk -F'\t' '{printf "  %8d %8.1f  %s\n", $1, $2, $3}'
awk -F'\t' -v limit="$limit_mib" '{ cpu += $2; if ($1 > peak) peak = $1; if ($1 > limit) over++ }
  END { printf "  %d units, %.0f CPU seconds in all, the largest %d MiB", NR, cpu, peak
        if (over) printf ", %d over the limit of %d MiB", over, limit
        printf "\n"; exit over > 0 }' <<<"$units"
