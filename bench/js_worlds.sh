#!/usr/bin/env bash
# The JavaScript engine of several worlds, compiled one after another into one empty cache: the
# first world compiles every unit; each later one links the units it shares with the worlds
# before it from the cache's units/ (docs/compile-cache.md, "Unit objects"). The baseline is the
# same binary with units/ emptied before each world, as if nothing were shared. The two are
# alternated, --rounds times, each into a fresh cache; the figures are per-world wall times.
#
# The worlds' engines are the stub actors `theater compile --engine js --world W` writes; they are
# made once, in --stubs DIR (kept when given, so that later runs skip npm), untimed.
#
#   bench/js_worlds.sh --theater build/src/cli/theater [--stubs DIR] [--rounds 2] \
#                      [--cc clang-14] [--opt 0] \
#                      [--worlds "minimal message-server-actor supervisor-messages http-actor"]
set -euo pipefail

theater=""
stubs=""
rounds=2
cc=cc
opt=2
worlds="minimal message-server-actor supervisor-messages http-actor"
while [ $# -gt 0 ]; do
  case "$1" in
    --theater) theater=$2; shift 2 ;;
    --stubs) stubs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --cc) cc=$2; shift 2 ;;
    --opt) opt=$2; shift 2 ;;
    --worlds) worlds=$2; shift 2 ;;
    --help|-h) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "js_worlds: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$theater" ] || { echo "js_worlds: --theater must name the theater binary" >&2; exit 2; }
theater=$(realpath "$theater")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "$stubs" ] || stubs="$work/stubs"
mkdir -p "$stubs"

for world in $worlds; do
  if [ ! -f "$stubs/js-engine/$world/engine.wasm" ]; then
    echo "js_worlds: making the stub actor of $world (untimed)" >&2
    # The stub's own compile is not what is measured: it goes to a cache thrown away.
    THEATER_HOME="$stubs" THEATER_CC=clang-14 THEATER_OPT_LEVEL=0 \
      "$theater" compile --engine js --world "$world" >/dev/null 2>"$work/stub.log" ||
      { cat "$work/stub.log" >&2; exit 1; }
    rm -rf "$stubs/cache"
  fi
done

source "$(dirname "$0")/timing.sh"  # now, elapsed, median
# one_pass MODE: compiles every world into a fresh cache; prints "MODE world seconds" lines.
one_pass() {
  local mode=$1 home
  home=$(mktemp -d "$work/home-XXXXXX")
  for world in $worlds; do
    [ "$mode" = unshared ] && rm -rf "$home/cache/units"
    local start end
    start=$(now)
    THEATER_HOME="$home" THEATER_CC="$cc" THEATER_OPT_LEVEL="$opt" \
      "$theater" compile "$stubs/js-engine/$world/engine.wasm" >/dev/null 2>"$work/compile.log" ||
      { cat "$work/compile.log" >&2; exit 1; }
    end=$(now)
    printf '%s %s %.1f\n' "$mode" "$world" "$(echo "$end - $start" | bc)"
  done
  rm -rf "$home"
}

results="$work/results"
: >"$results"
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) -eq 1 ]; then order="shared unshared"; else order="unshared shared"; fi
  for mode in $order; do one_pass "$mode" | tee -a "$results" >&2; done
done

echo "engine compiles by world ($cc -O$opt, $(nproc) cores, medians of $rounds rounds, seconds)"
printf '%-24s %10s %10s %8s\n' world unshared shared ratio
total_u=0
total_s=0
for world in $worlds; do
  med() { grep "^$1 $world " "$results" | awk '{print $3}' | sort -n |
          awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
  u=$(med unshared)
  s=$(med shared)
  total_u=$(echo "$total_u + $u" | bc)
  total_s=$(echo "$total_s + $s" | bc)
  printf '%-24s %10.1f %10.1f %7.2fx\n' "$world" "$u" "$s" "$(echo "$s / $u" | bc -l)"
done
printf '%-24s %10.1f %10.1f %7.2fx\n' "all" "$total_u" "$total_s" "$(echo "$total_s / $total_u" | bc -l)"
