#!/usr/bin/env bash
# How long `theater move` takes (docs/benchmarks.md, issue 53): a nats-server and `theater server
# --cluster` hosts h1 and h2; a messenger actor (tests/actors/messenger.c) with some state is
# moved h1 -> h2 -> h1 ... --moves times, and, alternately, restarted in place (`theater
# restart`, the baseline: a stop and a start of the same actor on one host). Prints each move's
# time as the old host logs it (from "moving from host" to "moved to host") and each command's
# wall time (the CLI's own start included, for both), then the medians and the ratio.
#
#   bench/move.sh --theater build/src/cli/theater [--moves 10] [--actors build/tests/actors]
set -euo pipefail

theater=""
moves=10
actors=""
while [ $# -gt 0 ]; do
  case "$1" in
    --theater) theater=$2; shift 2 ;;
    --moves) moves=$2; shift 2 ;;
    --actors) actors=$2; shift 2 ;;
    --help|-h) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "move.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$theater" ] || { echo "move.sh: --theater must name the theater binary" >&2; exit 2; }
[ -n "$actors" ] || actors="$(cd "$(dirname "$theater")/../.." && pwd)/tests/actors"
[ -f "$actors/messenger.wasm" ] ||
  { echo "move.sh: needs $actors/messenger.wasm (a test build; or --actors DIR)" >&2; exit 2; }
command -v nats-server > /dev/null ||
  { echo "move.sh: nats-server is not installed (scripts/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/nats_server.sh"
start_nats_server "$work"
pids+=("$NATS_PID")
for host in h1 h2; do start_lattice_host "$host" "$work/$host.log"; done
for host in h1 h2; do wait_for_line "$work/$host.log" "in lattice" 10; done
h1=$(sed -n 's/^listening on //p' "$work/h1.log" | head -1)
printf 'name = "m"\nversion = "0.1.0"\ncomponent = "%s/messenger.wasm"\n\n[[handler]]\ntype = "message-server"\n\n[[handler]]\ntype = "timing"\n' \
  "$actors" > "$work/m.toml"
id=$("$theater" --address "$h1" start "$work/m.toml" | head -1)
for i in $(seq 50); do "$theater" --address "$h1" message "$id" "state $i" > /dev/null; done

ms() { date +%s%N; }
move_wall=()
restart_wall=()
to=h2
for _ in $(seq "$moves"); do
  t0=$(ms); "$theater" --address "$h1" move "$id" --to "$to" > /dev/null; t1=$(ms)
  move_wall+=($(( (t1 - t0) / 1000 )))
  t0=$(ms); "$theater" --address "$h1" restart "$id" > /dev/null; t1=$(ms)
  restart_wall+=($(( (t1 - t0) / 1000 )))
  [ "$to" = h2 ] && to=h1 || to=h2
done
# The old host's own account of each move: its log lines' timestamps.
python3 - "$work" "${move_wall[*]}" "${restart_wall[*]}" <<'PY'
import datetime, re, statistics, sys
work, move_wall, restart_wall = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
stamp = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\]")
def when(line):
    return datetime.datetime.strptime(stamp.match(line).group(1), "%Y-%m-%d %H:%M:%S.%f")
inside = []
for host in ("h1", "h2"):
    began = None
    for line in open(f"{work}/{host}.log"):
        if not stamp.match(line): continue
        if "moving from host" in line: began = when(line)
        elif ": moved to host" in line and began is not None:
            inside.append((when(line) - began).total_seconds() * 1000)
            began = None
mw = [int(x) / 1000 for x in move_wall]
rw = [int(x) / 1000 for x in restart_wall]
print("move, as the old host logs it (ms):", " ".join(f"{x:.0f}" for x in inside))
print("theater move, wall (ms):", " ".join(f"{x:.0f}" for x in mw))
print("theater restart, wall (ms):", " ".join(f"{x:.0f}" for x in rw))
print(f"median: move {statistics.median(inside):.0f} ms inside, {statistics.median(mw):.0f} ms wall; "
      f"restart {statistics.median(rw):.0f} ms wall; move/restart {statistics.median(mw) / statistics.median(rw):.2f}x")
PY
