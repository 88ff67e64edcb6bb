#!/usr/bin/env bash
# How soon a lattice runs a killed host's replicated actors again (docs/benchmarks.md, issue 53):
# a nats-server with JetStream and `theater server --cluster` hosts h1 and h2; --actors N
# replicated probe actors (tests/actors/runtime_probe.c, durability = "replicated") are started
# on h2 and each asked once; h2 is killed with SIGKILL and the time runs from the signal to h1's
# log line saying it took them over, then h1 is asked how many of them it runs.
#
#   bench/takeover.sh --theater build/src/cli/theater [--actors 1000] [--test-actors DIR]
set -euo pipefail

theater=""
count=1000
actors=""
while [ $# -gt 0 ]; do
  case "$1" in
    --theater) theater=$2; shift 2 ;;
    --actors) count=$2; shift 2 ;;
    --test-actors) actors=$2; shift 2 ;;
    --help|-h) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "takeover.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$theater" ] || { echo "takeover.sh: --theater must name the theater binary" >&2; exit 2; }
[ -n "$actors" ] || actors="$(cd "$(dirname "$theater")/../.." && pwd)/tests/actors"
[ -f "$actors/runtime_probe.wasm" ] ||
  { echo "takeover.sh: no $actors/runtime_probe.wasm (a test build; or --test-actors DIR)" >&2; exit 2; }
command -v nats-server > /dev/null ||
  { echo "takeover.sh: nats-server is not installed (scripts/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT
. "$(dirname "$0")/nats_server.sh"
start_nats_server "$work"
pids+=("$NATS_PID")
start_lattice_host h1 "$work/h1.log" --cache-dir "$work/cache"
wait_for_line "$work/h1.log" "in lattice" 30
start_lattice_host h2 "$work/h2.log" --cache-dir "$work/cache"
h2=$LATTICE_HOST_PID
wait_for_line "$work/h2.log" "in lattice" 30
h1_address=$(sed -n 's/^listening on //p' "$work/h1.log" | head -1)
printf 'name = "replicated"\nversion = "0.1.0"\ncomponent = "%s/runtime_probe.wasm"\nauto_handlers = true\ndurability = "replicated"\n' \
  "$actors" > "$work/replicated.toml"
sleep 1.5  # h1 has heard h2
echo "starting $count replicated actors on h2..."
started=$(date +%s.%N)
seq "$count" | xargs -P 4 -I{} "$theater" --address "$h1_address" start --on h2 "$work/replicated.toml" \
  > "$work/ids" 2> "$work/start-errors"
[ "$(wc -l < "$work/ids")" -eq "$count" ] ||
  { echo "takeover.sh: $(wc -l < "$work/ids") of $count started:"; head -5 "$work/start-errors"; exit 1; } >&2
xargs -P 4 -I{} "$theater" --address "$h1_address" message --request {} count < "$work/ids" > /dev/null
echo "started and asked in $(echo "$(date +%s.%N) - $started" | bc -l | xargs printf '%.1f') s"
sleep 1  # their last events are replicated
start=$(date +%s.%N)
kill -KILL "$h2"
wait_for_line "$work/h1.log" "replicated actors in" 120
line=$(grep "replicated actors in" "$work/h1.log" | tail -1)
stamp=$(echo "$line" | sed -E 's/^\[([0-9-]+ [0-9:.]+)\].*/\1/')
done_at=$(date -d "$stamp" +%s.%N)
ms=$(echo "($done_at - $start) * 1000" | bc -l | xargs printf "%.0f")
running=$("$theater" --address "$h1_address" --json list | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin) if a.get("host") == "h1"))')
echo "$(echo "$line" | sed -E 's/.*lattice: //')"
echo "killed h2: $running of $count replicated actors running on h1 after $ms ms"
