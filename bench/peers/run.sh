#!/usr/bin/env bash
# Theater and Erlang/OTP side by side (bench/peers/README.md): runs this project's benchmarks and
# bench/peers/erlang_bench.escript alternately, figure by figure, for --rounds rounds, and prints
# a table of every round, the medians and the ratio Theater/Erlang of the medians.
#
#   bench/peers/run.sh [--rounds R] [--build DIR] [--json FILE] [--only FIGURES]
#                      [--spawn-n N] [--send-n N] [--pairs P] [--request-n N] [--idle-n N]
#                      [--no-sysctl]
#
#   --rounds R      rounds (default 3); each round runs every figure once on each system, Theater
#                   first in odd rounds and Erlang first in even ones
#   --build DIR     the build directory holding bench/runtime_bench and bench/messaging_bench
#                   (default: build, in the repository)
#   --json FILE     also save the machine, the settings, every raw result and the summary
#   --only FIGURES  a comma-separated subset of spawn,send,request,idle
#   --spawn-n N     actors / processes spawned until ready (default 10,000)
#   --send-n N      messages sent over the pairs (default 1,000,000); --pairs P (default 8)
#   --request-n N   request round trips (default 50,000)
#   --idle-n N      idle actors / processes kept alive (default 100,000)
#   --no-sysctl     never raise vm.max_map_count; use a smaller --idle-n instead when it is low
#
# Needs escript (Debian's erlang-base: scripts/install-deps.sh --bench), python3 and a build
# (scripts/build.sh build). THEATER_HOME defaults to <build>/test-home so compiled actors are
# cached between runs. Exits non-zero when any run failed.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/bench/peers"
rounds=3 build="" json_out="" only="spawn,send,request,idle" raise_maps=1
spawn_n=10000 send_n=1000000 pairs=8 request_n=50000 idle_n=100000

die() { echo "bench/peers/run.sh: $*" >&2; exit 2; }
posint() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive integer, not '$2'"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) posint "$1" "${2:-}"; rounds="$2"; shift 2 ;;
    --build) [[ -n "${2:-}" ]] || die "--build needs a directory"; build="$2"; shift 2 ;;
    --json) [[ -n "${2:-}" ]] || die "--json needs a file"; json_out="$2"; shift 2 ;;
    --only) only="${2:-}"; shift 2 ;;
    --spawn-n) posint "$1" "${2:-}"; spawn_n="$2"; shift 2 ;;
    --send-n) posint "$1" "${2:-}"; send_n="$2"; shift 2 ;;
    --pairs) posint "$1" "${2:-}"; pairs="$2"; shift 2 ;;
    --request-n) posint "$1" "${2:-}"; request_n="$2"; shift 2 ;;
    --idle-n) posint "$1" "${2:-}"; idle_n="$2"; shift 2 ;;
    --no-sysctl) raise_maps=0; shift ;;
    --help|-h) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
done
figures=()
IFS=',' read -ra wanted <<<"$only"
for f in "${wanted[@]}"; do
  case "$f" in
    spawn|send|request|idle) figures+=("$f") ;;
    *) die "--only: unknown figure '$f' (spawn, send, request, idle)" ;;
  esac
done
[[ ${#figures[@]} -gt 0 ]] || die "--only names no figure"

# --- what the runs need --------------------------------------------------------------------
if ! command -v escript >/dev/null; then
  die "escript (Erlang/OTP) not found; install it with scripts/install-deps.sh --bench"
fi
command -v python3 >/dev/null || die "python3 not found; install it with scripts/install-deps.sh"
build="${build:-$root/build}"
[[ "$build" = /* ]] || build="$PWD/$build"
for b in runtime_bench messaging_bench; do
  [[ -x "$build/bench/$b" ]] || die "$build/bench/$b not found; build it with scripts/build.sh $build"
done
export THEATER_HOME="${THEATER_HOME:-$build/test-home}"
mkdir -p "$THEATER_HOME"

# runtime_bench idle runs in bounds-check memory mode, its linear memories mapped in slabs of up
# to 64: the kernel's default vm.max_map_count (65,530) held a million actors (docs/benchmarks.md).
maps_note=""
if [[ " ${figures[*]} " == *" idle "* ]]; then
  maps=$(cat /proc/sys/vm/max_map_count)
  maps_needed=$((idle_n / 16 + 16384))
  if ((maps < maps_needed)); then
    want=$((maps_needed > 262144 ? maps_needed : 262144))
    echo "idle: runtime_bench idle --n $idle_n needs vm.max_map_count >= $maps_needed" \
         "(a mapping per slab of linear memories, and room for the rest); it is $maps" >&2
    if ((raise_maps)) && [[ -w /proc/sys/vm/max_map_count ]] &&
       sysctl -qw vm.max_map_count="$want" 2>/dev/null; then
      echo "idle: raised vm.max_map_count to $want (sysctl -w vm.max_map_count=$want)" >&2
      maps_note="vm.max_map_count raised from $maps to $want"
    else
      smaller=$(( (maps - 16384) * 16 / 1000 * 1000 ))
      ((smaller >= 1000)) || die "vm.max_map_count is $maps: too low for the idle figure; run as root: sysctl -w vm.max_map_count=$want"
      maps_note="vm.max_map_count is $maps: idle measured with $smaller actors instead of $idle_n (as root: sysctl -w vm.max_map_count=$want)"
      echo "idle: NOTE: cannot raise vm.max_map_count; measuring $smaller actors and processes" \
           "instead of $idle_n (to measure $idle_n, as root: sysctl -w vm.max_map_count=$want)" >&2
      idle_n=$smaller
    fi
  fi
fi

# --- the machine ---------------------------------------------------------------------------
export PEERS_CPU PEERS_CORES PEERS_MEMORY PEERS_KERNEL PEERS_OS PEERS_DATE PEERS_COMMIT PEERS_OTP
PEERS_CPU=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
PEERS_CORES=$(nproc)
PEERS_MEMORY=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
PEERS_KERNEL=$(uname -sr)
PEERS_OS=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")
PEERS_DATE=$(date '+%Y-%m-%d %H:%M:%S %Z')
PEERS_COMMIT=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
PEERS_OTP=$(erl -noshell -eval 'io:format("OTP ~s, erts ~s", [erlang:system_info(otp_release), erlang:system_info(version)]), halt().' 2>/dev/null || echo unknown)
echo "machine: ${PEERS_CPU:-unknown CPU}, $PEERS_CORES cores, $PEERS_MEMORY, $PEERS_KERNEL, ${PEERS_OS:-unknown OS}"
echo "date:    $PEERS_DATE"
echo "theater: $PEERS_COMMIT ($build); erlang: $PEERS_OTP; THEATER_HOME=$THEATER_HOME"
[[ -z "$maps_note" ]] || echo "note:    $maps_note"
echo

# --- the runs ------------------------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/theater-peers.XXXXXX")
trap 'rm -rf "$work"' EXIT
results="$work/results.jsonl"
: >"$results"

command_for() {  # command_for <system> <figure>: sets cmd
  local system="$1" figure="$2" rb="$build/bench/runtime_bench" mb="$build/bench/messaging_bench"
  local erl=(escript "$here/erlang_bench.escript")
  case "$system:$figure" in
    theater:spawn) cmd=("$rb" spawn --n "$spawn_n") ;;
    theater:send) cmd=("$mb" send --n "$send_n" --pairs "$pairs" --durability memory) ;;
    theater:request) cmd=("$mb" request --n "$request_n" --durability memory) ;;
    # Idle as an idle actor ends up: hibernated (after hibernate_after, 10 s by default; 1 s
    # here so that the run is short).
    theater:idle) cmd=("$rb" idle --n "$idle_n" --hibernate-ms 1000) ;;
    erlang:spawn) cmd=("${erl[@]}" spawn --n "$spawn_n") ;;
    erlang:send) cmd=("${erl[@]}" send --n "$send_n" --pairs "$pairs") ;;
    erlang:request) cmd=("${erl[@]}" request --n "$request_n") ;;
    erlang:idle) cmd=("${erl[@]}" idle --n "$idle_n") ;;
  esac
}

failed=0
run_one() {  # run_one <round> <system> <figure>: appends one record to $results
  local round="$1" system="$2" figure="$3" out="$work/out" err="$work/err" rc=0 start end
  command_for "$system" "$figure"
  start=$(date +%s.%N)
  timeout --kill-after=10 1800 "${cmd[@]}" >"$out" 2>"$err" || rc=$?
  end=$(date +%s.%N)
  python3 - "$round" "$system" "$figure" "$rc" "$start" "$end" "$out" "$err" "${cmd[@]}" \
      >>"$results" <<'EOF' || { failed=1; echo "  (could not record the run)" >&2; }
import json, sys
round_, system, figure, rc, start, end, out, err = sys.argv[1:9]
command = sys.argv[9:]
record = {"round": int(round_), "system": system, "figure": figure, "command": command,
          "exit_code": int(rc), "wall_seconds": round(float(end) - float(start), 3)}
result = None
for line in open(out, errors="replace").read().splitlines():
    line = line.strip()
    if line.startswith("{"):
        try:
            result = json.loads(line)
        except ValueError:
            pass
if int(rc) == 0 and result is not None:
    record["result"] = result
else:
    record["error"] = open(err, errors="replace").read()[-2000:] or "no JSON result line"
print(json.dumps(record))
EOF
  python3 - "$results" <<'EOF' >&2 || true
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][-1]
keys = {"spawn": ("spawns_per_s", "spawns/s"), "send": ("messages_per_s", "messages/s"),
        "request": ("p50_us", "us p50"), "idle": ("kib_per_actor_hibernated", "KiB each")}
key, unit = keys[r["figure"]]
if "result" in r:
    v = r["result"].get(key, r["result"].get("kib_per_process"))
    print(f"  round {r['round']} {r['figure']:<8} {r['system']:<8} {v:>14,} {unit}"
          f"  ({r['wall_seconds']:.1f} s)")
else:
    last = (r["error"].strip().splitlines() or [""])[-1]
    print(f"  round {r['round']} {r['figure']:<8} {r['system']:<8} FAILED (exit {r['exit_code']}): {last}")
EOF
  if [[ $rc -ne 0 ]] || ! grep -q '"result"' <(tail -1 "$results"); then failed=1; fi
}

for ((r = 1; r <= rounds; r++)); do
  for figure in "${figures[@]}"; do
    if ((r % 2)); then order=(theater erlang); else order=(erlang theater); fi
    for system in "${order[@]}"; do run_one "$r" "$system" "$figure"; done
  done
done
echo >&2

# --- the table -----------------------------------------------------------------------------
export PEERS_ROUNDS="$rounds" PEERS_MAPS_NOTE="$maps_note" PEERS_BUILD="$build"
export PEERS_SETTINGS="spawn_n=$spawn_n send_n=$send_n pairs=$pairs request_n=$request_n idle_n=$idle_n"
python3 - "$results" "$json_out" <<'EOF'
import json, math, os, statistics, sys

runs = [json.loads(line) for line in open(sys.argv[1])]
json_out = sys.argv[2]
rounds = int(os.environ["PEERS_ROUNDS"])

# figure, row label, Theater's key, Erlang's key, unit, higher is better
ROWS = [
    ("spawn", "spawn until ready (init returned)", "spawns_per_s", "spawns_per_s", "/s", True),
    ("spawn", "stop all of them", "stops_per_s", "stops_per_s", "/s", True),
    ("send", "send over the pairs", "messages_per_s", "messages_per_s", "msg/s", True),
    ("send", "send: CPU per message", "cpu_us_per_message", "cpu_us_per_message", "µs", False),
    ("request", "request round trip p50", "p50_us", "p50_us", "µs", False),
    ("request", "request round trip p99", "p99_us", "p99_us", "µs", False),
    ("request", "request round trip mean", "mean_us", "mean_us", "µs", False),
    ("idle", "idle: resident memory each (Theater: hibernated)", "kib_per_actor_hibernated",
     "kib_per_process", "KiB", False),
    ("idle", "idle: resident memory each (Theater: awake)", "kib_per_actor", "kib_per_process",
     "KiB", False),
]

def sig3(v):  # three significant digits, trailing zeros kept: 2.10, 19.3, 196, 1,234
    if v >= 100 or v == 0:
        return f"{v:,.0f}"
    return f"{v:.{2 - math.floor(math.log10(abs(v)))}f}"

def fmt(v, unit):
    if v is None:
        return "—"
    if unit in ("/s", "msg/s"):
        for scale, suffix in ((1e6, "M"), (1e3, "k")):
            if v >= scale:
                return sig3(v / scale) + suffix
    return sig3(v)

def values(system, figure, key):
    out = []
    for r in range(1, rounds + 1):
        rec = next((x for x in runs if x["round"] == r and x["system"] == system
                    and x["figure"] == figure), None)
        out.append(None if rec is None or "result" not in rec else rec["result"].get(key))
    return out

summary, lines = [], []
header = ["figure", "unit", "better", "Theater, each round", "Erlang, each round",
          "Theater median", "Erlang median", "Theater/Erlang", "ahead"]
for figure, label, tkey, ekey, unit, higher in ROWS:
    if not any(x["figure"] == figure for x in runs):
        continue
    t, e = values("theater", figure, tkey), values("erlang", figure, ekey)
    tm = statistics.median([v for v in t if v is not None]) if any(v is not None for v in t) else None
    em = statistics.median([v for v in e if v is not None]) if any(v is not None for v in e) else None
    ratio = tm / em if tm and em else None
    ahead = "—"
    if ratio:
        factor = ratio if ratio >= 1 else 1 / ratio
        theater_ahead = (ratio > 1) == higher
        ahead = f"{'Theater' if theater_ahead else 'Erlang'} by {sig3(factor)}×"
    summary.append({"figure": figure, "row": label, "unit": unit,
                    "better": "higher" if higher else "lower",
                    "theater": t, "erlang": e, "theater_median": tm, "erlang_median": em,
                    "theater_over_erlang": ratio})
    lines.append([label, unit, "higher" if higher else "lower",
                  ", ".join(fmt(v, unit) for v in t), ", ".join(fmt(v, unit) for v in e),
                  fmt(tm, unit), fmt(em, unit), sig3(ratio) + "×" if ratio else "—", ahead])

widths = [max(len(row[i]) for row in [header] + lines) for i in range(len(header))]
def show(row):
    print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
show(header)
print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
for row in lines:
    show(row)

notes = []
idle_erl = [x["result"] for x in runs if x["figure"] == "idle" and x["system"] == "erlang"
            and "result" in x]
if idle_erl:
    heap = statistics.median(r["processes_memory_kib_per_process"] for r in idle_erl)
    notes.append(f"Erlang's own count of process memory (erlang:memory(processes)) for the idle "
                 f"processes: {heap:.3g} KiB each (median).")
    n = idle_erl[0]["processes"]
    notes.append(f"idle: {n:,} actors / processes alive at once.")
if os.environ.get("PEERS_MAPS_NOTE"):
    notes.append(os.environ["PEERS_MAPS_NOTE"] + ".")
notes.append("Theater/Erlang is the ratio of the medians: for rates (/s) above 1 means Theater is "
             "faster; for times (µs) and memory (KiB) below 1 means Theater is better.")
failed = [x for x in runs if "result" not in x]
for x in failed:
    notes.append(f"FAILED: round {x['round']} {x['system']} {x['figure']} "
                 f"(exit {x['exit_code']}): {' '.join(x['command'])}")
print()
for note in notes:
    print("* " + note)

if json_out:
    machine = {k.lower(): os.environ.get("PEERS_" + k, "") for k in
               ("CPU", "CORES", "MEMORY", "KERNEL", "OS", "DATE", "COMMIT", "OTP", "BUILD")}
    settings = dict(kv.split("=") for kv in os.environ["PEERS_SETTINGS"].split())
    settings = {k: int(v) for k, v in settings.items()}
    settings["rounds"] = rounds
    with open(json_out, "w") as f:
        json.dump({"machine": machine, "settings": settings, "notes": notes, "runs": runs,
                   "summary": summary}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"\nraw results saved to {json_out}")
EOF
exit $failed
