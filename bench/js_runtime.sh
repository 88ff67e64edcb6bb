#!/usr/bin/env bash
# What a JavaScript actor costs at run time, against the same measurement on a C actor in the same
# session (docs/benchmarks.md, "JavaScript actors at run time"; issue 26):
#   spawn     live spawns of a cached actor, init included (runtime_bench spawn --n N): in a
#             runtime that has not loaded the component yet (the first spawns in flight each
#             load it), and after one spawn (--warm-spawns 1: the steady state of a server);
#   idle      resident memory per idle actor, in the memory mode a server gives it (auto), with
#             the module loaded before (--warm-spawns 1), and once all hibernate;
#   rtt       handle-request round trip from a C actor (bench_actor.c) to the actor, timed inside
#             the requester (messaging_bench request --target-wasm);
#   host-rtt  the same request from the host (runtime_bench request: RequestMessage and back);
#   loop      one request whose handle-request makes 1,000 host calls (runtime get-current-time,
#             each recorded in the chain), with the chain and without (--no-chain); the same
#             request with no host call (host:0) and a loop of 1,000 iterations with no host call
#             (spin:1000) give the engine's own cost;
#   data-image  the kernel's part of a spawn without the runtime: the actor's data segments into
#             1,000 fresh memories, copied as now, pre-faulted, or mapped from a copy-on-write
#             image (bench/data_image_bench.cc; JavaScript only).
# The JavaScript actor is bench/js/bench_actor.js (world message-server-actor), built with
# `theater build`; its engine is compiled once into --home (minutes; kept for the next run).
# The C baselines: tests/actors/bench_actor.wasm (runtime_bench's default) for spawn, idle and the
# round trips; tests/actors/host_loop.c, as a component and as a core module, for the loops.
# Every measurement runs JS and C alternately, --rounds times; the summary gives medians.
#
#   bench/js_runtime.sh --theater BUILD/src/cli/theater --runtime-bench BUILD/bench/runtime_bench
#                       [--messaging-bench BUILD/bench/messaging_bench] [--node-modules DIR]
#                       [--home DIR] [--rounds 3] [--spawn-n 2000] [--idle-n 1000]
#                       [--only spawn,idle,rtt,host-rtt,loop,data-image] [--raw FILE]
set -euo pipefail

theater=""
runtime_bench=""
messaging_bench=""
node_modules=""
home=""
rounds=3
spawn_n=2000
idle_n=1000
only="spawn,idle,rtt,host-rtt,loop,data-image"
raw=""
while [ $# -gt 0 ]; do
  case "$1" in
    --theater) theater=$2; shift 2 ;;
    --runtime-bench) runtime_bench=$2; shift 2 ;;
    --messaging-bench) messaging_bench=$2; shift 2 ;;
    --node-modules) node_modules=$2; shift 2 ;;
    --home) home=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --spawn-n) spawn_n=$2; shift 2 ;;
    --idle-n) idle_n=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --raw) raw=$2; shift 2 ;;
    --help|-h) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "js_runtime: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$theater" ] || { echo "js_runtime: --theater must name the theater binary" >&2; exit 2; }
[ -x "$runtime_bench" ] || { echo "js_runtime: --runtime-bench must name runtime_bench" >&2; exit 2; }
theater=$(realpath "$theater")
runtime_bench=$(realpath "$runtime_bench")
[ -n "$messaging_bench" ] || messaging_bench=$(dirname "$runtime_bench")/messaging_bench
[ -x "$messaging_bench" ] || { echo "js_runtime: no messaging_bench at $messaging_bench" >&2; exit 2; }
build=$(dirname "$(dirname "$runtime_bench")")
actors=$build/tests/actors
for f in bench_actor.wasm host_loop.wasm host_loop.component.wasm; do
  [ -f "$actors/$f" ] || { echo "js_runtime: missing $actors/$f (build runtime_bench)" >&2; exit 2; }
done
src=$(cd "$(dirname "$0")" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -z "$home" ]; then home=$work/home; fi
mkdir -p "$home"
home=$(realpath "$home")
export THEATER_HOME=$home
unset THEATER_OPT_LEVEL  # the engine at the default level, -O2, as users get it
[ -n "$raw" ] || raw=$home/js_runtime.jsonl
: >"$raw"
source "$(dirname "$0")/timing.sh"  # now, elapsed, median

# 1. The JavaScript actor.
echo "js_runtime: building the JavaScript actor" >&2
"$theater" create jsbench --lang js --template message-server -o "$work" >/dev/null
cp "$src/js/bench_actor.js" "$work/jsbench/src/actor.js"
if [ -n "$node_modules" ]; then
  ln -s "$(realpath "$node_modules")" "$work/jsbench/node_modules"
fi
js=$("$theater" build "$work/jsbench" 2>"$work/build.log") || { cat "$work/build.log" >&2; exit 1; }
js=$(realpath "$js")
echo "js_runtime: component $js ($(stat -c %s "$js") bytes)" >&2

# 2. Its engine, compiled once into the home (nothing to do when the home has it already).
echo "js_runtime: compiling the engine into $home (minutes the first time)" >&2
t0=$(now)
"$theater" compile "$js" >"$work/compile.log" 2>&1 || { cat "$work/compile.log" >&2; exit 1; }
t1=$(now)
compile_s=$(printf "%.1f" "$(echo "$t1 - $t0" | bc)")
echo "js_runtime: compile took ${compile_s} s" >&2
cached_before=$(find "$home/cache" -name '*.so' | wc -l)

# run LABEL KIND COMMAND...: runs one measurement, appends {"label":..,"kind":..,<its JSON>}.
run() {
  local label=$1 kind=$2
  shift 2
  local out
  out=$("$@" 2>"$work/err") || { echo "js_runtime: $label $kind failed:" >&2; cat "$work/err" >&2; exit 1; }
  out=$(echo "$out" | tail -1)
  echo "{\"label\":\"$label\",\"kind\":\"$kind\",${out#\{}" >>"$raw"
  echo "  $label $kind: $out" >&2
}

want() { [[ ",$only," == *",$1,"* ]]; }
rb=$runtime_bench
mb=$messaging_bench
c_comp=$actors/host_loop.component.wasm
c_core=$actors/host_loop.wasm
for r in $(seq 1 "$rounds"); do
  echo "js_runtime: round $r of $rounds" >&2
  if want spawn; then
    run spawn js "$rb" spawn --n "$spawn_n" --wasm "$js"
    run spawn c "$rb" spawn --n "$spawn_n"
    run spawn-warm js "$rb" spawn --n "$spawn_n" --warm-spawns 1 --wasm "$js"
    run spawn-warm c "$rb" spawn --n "$spawn_n" --warm-spawns 1
  fi
  if want idle; then
    run idle js "$rb" idle --n "$idle_n" --memory-mode auto --warm-spawns 1 --wasm "$js"
    run idle c "$rb" idle --n "$idle_n" --memory-mode auto --warm-spawns 1
  fi
  if want rtt; then
    run rtt js "$mb" request --n 20000 --durability memory --target-wasm "$js"
    run rtt c "$mb" request --n 20000 --durability memory
  fi
  if want host-rtt; then
    run host-rtt js "$rb" request --n 20000 --wasm "$js"
    run host-rtt c "$rb" request --n 20000
  fi
  if want loop; then
    for message in host:1000 host:0 spin:1000; do
      run "$message" js "$rb" request --n 1000 --message "$message" --wasm "$js"
      run "$message" c-component "$rb" request --n 1000 --message "$message" --wasm "$c_comp"
      run "$message" c-core "$rb" request --n 1000 --message "$message" --wasm "$c_core"
    done
    for message in host:1000 host:0; do
      run "$message-no-chain" js "$rb" request --n 1000 --message "$message" --no-chain --wasm "$js"
      run "$message-no-chain" c-component "$rb" request --n 1000 --message "$message" --no-chain \
        --wasm "$c_comp"
      run "$message-no-chain" c-core "$rb" request --n 1000 --message "$message" --no-chain \
        --wasm "$c_core"
    done
  fi
  if want data-image && [ -x "$(dirname "$rb")/data_image_bench" ]; then
    for mode in copy populate cow; do
      run "data-image-$mode" js "$(dirname "$rb")/data_image_bench" "$js" --n 1000 --mode "$mode"
    done
  fi
done
cached_after=$(find "$home/cache" -name '*.so' | wc -l)
[ "$cached_after" -le "$((cached_before + 3))" ] ||
  echo "js_runtime: WARNING: the benches compiled $((cached_after - cached_before)) modules" >&2

# 3. The summary: medians over the rounds.
echo
echo "js_runtime: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $rounds rounds (medians), component $(stat -c %s "$js") bytes, engine compile ${compile_s} s (under a second: it was in the home's cache)"
python3 - "$raw" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(label, kind, field):
    v = [r[field] for r in rows if r["label"] == label and r["kind"] == kind and field in r]
    return statistics.median(v) if v else None
def fmt(x, unit=""):
    return "-" if x is None else (f"{x:,.0f}{unit}" if abs(x) >= 100 else f"{x:.2f}{unit}")
def line(name, js, c, target=""):
    ratio = f"{js / c:.2f}x" if js is not None and c else "-"
    print(f"  {name:<58} {fmt(js):>12} {fmt(c):>12} {ratio:>8}  {target}")
print(f"  {'figure':<58} {'JS':>12} {'C':>12} {'JS/C':>8}  target")
line("spawns/s, module already loaded (--warm-spawns 1)", med("spawn-warm", "js", "spawns_per_s"), med("spawn-warm", "c", "spawns_per_s"), ">= 1,000/s")
line("spawns/s, first spawns load the module (spawn --n N)", med("spawn", "js", "spawns_per_s"), med("spawn", "c", "spawns_per_s"), ">= 1,000/s")
line("idle: resident KiB per actor", med("idle", "js", "kib_per_actor"), med("idle", "c", "kib_per_actor"), "<= 8,192 KiB")
line("  of which linear memory (KiB)", med("idle", "js", "linear_memory_resident_kib_per_actor"), med("idle", "c", "linear_memory_resident_kib_per_actor"))
line("  of which host heap (KiB)", med("idle", "js", "heap_kib_per_actor"), med("idle", "c", "heap_kib_per_actor"))
line("  linear memory size (KiB)", med("idle", "js", "linear_memory_size_kib"), med("idle", "c", "linear_memory_size_kib"))
line("  idle spawn phase (s)", med("idle", "js", "spawn_seconds"), med("idle", "c", "spawn_seconds"))
line("idle, hibernated: resident KiB per actor", med("idle", "js", "kib_per_actor_hibernated"), med("idle", "c", "kib_per_actor_hibernated"))
line("  hibernated image bytes per actor", med("idle", "js", "image_bytes_per_actor"), med("idle", "c", "image_bytes_per_actor"))
line("request round trip from a C actor, p50 us", med("rtt", "js", "p50_us"), med("rtt", "c", "p50_us"), "<= 50 us")
line("  p99 us", med("rtt", "js", "p99_us"), med("rtt", "c", "p99_us"))
line("request round trip from the host, p50 us", med("host-rtt", "js", "p50_us"), med("host-rtt", "c", "p50_us"))
line("  CPU us per request", med("host-rtt", "js", "cpu_us_per_request"), med("host-rtt", "c", "cpu_us_per_request"))
print()
def loop(name, label, field="p50_us"):
    js, cc, co = (med(label, k, field) for k in ("js", "c-component", "c-core"))
    ratio = f"{js / cc:.2f}x" if js is not None and cc else "-"
    print(f"  {name:<58} {fmt(js):>12} {fmt(cc):>12} {fmt(co):>12} {ratio:>10}")
    return js, cc, co
def net(a, b):
    return tuple(None if x is None or y is None else x - y for x, y in zip(a, b))
def netline(name, v, target=""):
    # No ratio against a C figure within the noise (a C loop of 1,000 additions is ~1 us).
    ratio = f"{v[0] / v[1]:.2f}x" if v[0] is not None and v[1] is not None and v[1] > 2 else "-"
    print(f"  {name:<58} {fmt(v[0]):>12} {fmt(v[1]):>12} {fmt(v[2]):>12} {ratio:>10}   {target}")
# A short request's p50 from the host is bimodal (a few us when the worker is awake, ~30 us when
# it must be woken): the fastest request of each run (min) is the stable measure of its cost.
for field, title in (("p50_us", "p50"), ("min_us", "fastest")):
    print()
    print(f"  {'request from the host, ' + title + ', us':<58} {'JS':>12} {'C comp.':>12} {'C core':>12} {'JS/C comp.':>10}")
    h = loop("host:1000 (1,000 host calls, chain recorded)", "host:1000", field)
    z = loop("host:0 (the same request, no host call)", "host:0", field)
    s = loop("spin:1000 (1,000 iterations, no host call)", "spin:1000", field)
    n = loop("host:1000 without chain recording (--no-chain)", "host:1000-no-chain", field)
    nz = loop("host:0 without chain recording (--no-chain)", "host:0-no-chain", field)
    netline("1,000 host calls alone (host:1000 - host:0)", net(h, z), "target <= 2x")
    netline("  the same without chain recording", net(n, nz))
    netline("1,000 loop iterations alone (spin:1000 - host:0)", net(s, z))
print()
loop("host:1000, CPU us per request (all threads)", "host:1000", "cpu_us_per_request")
if any(r["label"].startswith("data-image") for r in rows):
    print()
    print(f"  {'the data segments into a fresh memory (data_image_bench)':<58} {'us each':>12} {'RSS KiB':>12} {'PSS KiB':>12}")
    for mode in ("copy", "populate", "cow"):
        lab = "data-image-" + mode
        print(f"  {'  ' + mode:<58} {fmt(med(lab, 'js', 'us_per_memory')):>12} {fmt(med(lab, 'js', 'rss_kib_per_memory')):>12} {fmt(med(lab, 'js', 'pss_kib_per_memory')):>12}")
EOF
echo "js_runtime: raw results in $raw (one JSON line per run)"
