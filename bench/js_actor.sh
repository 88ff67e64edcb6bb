#!/usr/bin/env bash
# What a JavaScript actor costs before it runs, for the basic template (world `minimal`):
#   1. `theater build` of a new project (esbuild, componentize-js; npm ci is not counted: the
#      project links to --node-modules, or installs first, untimed);
#   2. the one compile of the JavaScript engine into an empty cache (`theater compile`): wall
#      time, and the peak resident memory of the whole process tree (theater, wasm2c, the C
#      compilers running at once), sampled every 0.25 s;
#   3. the first run of a second, different actor of the same world with that cache:
#      `theater run --settle-ms 1`, wall time, and whether anything was compiled (it must not be).
# With --base, the same cold compile by another theater binary (the previous build) is measured
# in the same run, stopped after --base-limit seconds (its figures are then lower bounds).
#
#   bench/js_actor.sh --theater build/src/cli/theater [--node-modules DIR] [--opt 2] \
#                     [--base /tmp/base/theater] [--base-limit 600]
set -euo pipefail

theater=""
node_modules=""
opt=2
base=""
base_limit=600
while [ $# -gt 0 ]; do
  case "$1" in
    --theater) theater=$2; shift 2 ;;
    --node-modules) node_modules=$2; shift 2 ;;
    --opt) opt=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --base-limit) base_limit=$2; shift 2 ;;
    --help|-h) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "js_actor: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$theater" ] || { echo "js_actor: --theater must name the theater binary" >&2; exit 2; }
[ -z "$base" ] || [ -x "$base" ] || { echo "js_actor: --base is not executable" >&2; exit 2; }
theater=$(realpath "$theater")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/timing.sh"  # now, elapsed, median

# peak_tree PID OUT: samples the summed RSS (KiB) of PID and all its descendants until it exits;
# writes "peak_total_kib peak_single_kib" to OUT.
peak_tree() {
  local root=$1 out=$2 total=0 single=0
  while kill -0 "$root" 2>/dev/null; do
    read -r t s < <(ps -e -o pid=,ppid=,rss= | awk -v root="$root" '
      { parent[$1] = $2; rss[$1] = $3 }
      END {
        for (p in parent) {
          q = p
          while (q != "" && q != 0 && q != root) q = parent[q]
          if (q == root) { sum += rss[p]; if (rss[p] > max) max = rss[p] }
        }
        print sum + 0, max + 0
      }')
    [ "$t" -gt "$total" ] && total=$t
    [ "$s" -gt "$single" ] && single=$s
    sleep 0.25
  done
  echo "$total $single" >"$out"
}

# project NAME SOURCE_EDIT: a basic JavaScript project, built; prints the build's seconds.
project() {
  local name=$1 edit=$2
  THEATER_HOME=$work/home-build "$theater" create "$name" --lang js -o "$work" >/dev/null
  [ -n "$edit" ] && sed -i "$edit" "$work/$name/src/actor.js"
  if [ -n "$node_modules" ]; then
    ln -s "$(realpath "$node_modules")" "$work/$name/node_modules"
  else
    (cd "$work/$name" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$work/$name/package-lock.json" "$work/$name/node_modules/.theater-lock"
  fi
  local t0 t1
  t0=$(now)
  "$theater" build "$work/$name" >/dev/null 2>"$work/$name.build.log"
  t1=$(now)
  elapsed "$t0" "$t1"
}

# cold_compile LABEL BINARY LIMIT: prints "seconds peak_total_MiB peak_single_MiB finished".
cold_compile() {
  local label=$1 bin=$2 limit=$3 home="$work/home-$1"
  rm -rf "$home" && mkdir -p "$home"
  local t0 t1 finished=yes
  t0=$(now)
  THEATER_HOME=$home THEATER_OPT_LEVEL=$opt timeout --signal=INT "$limit" \
    "$bin" compile "$work/first/first.wasm" >"$work/$label.compile.log" 2>&1 &
  local pid=$!
  peak_tree "$pid" "$work/$label.peak" &
  local sampler=$!
  wait "$pid" || finished=no
  t1=$(now)
  wait "$sampler" || true
  read -r total single <"$work/$label.peak"
  echo "$(elapsed "$t0" "$t1") $((total / 1024)) $((single / 1024)) $finished"
}

echo "js_actor: building the first project" >&2
build_s=$(project first "")
echo "js_actor: compiling the engine (minutes)" >&2
read -r compile_s peak_total peak_single finished < <(cold_compile now "$theater" 3600)
[ "$finished" = yes ] || { cat "$work/now.compile.log" >&2; exit 1; }

echo "js_actor: a second actor of the world" >&2
second_build_s=$(project second "s/Hello from/Greetings from/")
t0=$(now)
THEATER_HOME=$work/home-now "$theater" run --settle-ms 1 "$work/second/manifest.toml" \
  >"$work/second.run.log" 2>&1
t1=$(now)
first_run_s=$(elapsed "$t0" "$t1")
grep -q "Greetings from" "$work/second.run.log" || { cat "$work/second.run.log" >&2; exit 1; }
compiled_again=no
grep -q "compiling" "$work/second.run.log" && compiled_again=yes

printf "%-40s %s\n" "theater build (first project)" "$build_s s"
printf "%-40s %s\n" "theater build (second project)" "$second_build_s s"
printf "%-40s %s\n" "component size" "$(stat -c %s "$work/first/first.wasm") bytes"
printf "%-40s %s\n" "engine compile, -O$opt, cold" "$compile_s s"
printf "%-40s %s\n" "  peak RSS, whole process tree" "$peak_total MiB"
printf "%-40s %s\n" "  peak RSS, largest process" "$peak_single MiB"
printf "%-40s %s\n" "first run of a second actor" "$first_run_s s (compiled again: $compiled_again)"
if [ -n "$base" ]; then
  echo "js_actor: the same compile by the baseline (at most ${base_limit} s)" >&2
  read -r b_s b_total b_single b_finished < <(cold_compile base "$base" "$base_limit")
  suffix=""
  [ "$b_finished" = yes ] || suffix=" (stopped unfinished: lower bounds)"
  printf "%-40s %s\n" "baseline engine compile, -O$opt, cold" "$b_s s$suffix"
  printf "%-40s %s\n" "  peak RSS, whole process tree" "$b_total MiB"
  printf "%-40s %s\n" "  peak RSS, largest process" "$b_single MiB"
fi
