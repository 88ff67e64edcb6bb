#!/usr/bin/env bash
# How soon a lattice notices a host's death (docs/benchmarks.md, issue 53): a nats-server and
# `theater server --cluster` hosts h1 and h2; h2 is killed with SIGKILL (or frozen with SIGSTOP,
# --frozen) and the time from the signal to h1's log line "lattice: host 'h2' lost" is taken,
# --kills times over, a fresh h2 each time. Prints each time, then the median, p99 and max.
# With --parent, what is timed is a parent's hearing of it: an actor on h1 (the probe,
# tests/actors/runtime_probe.c) supervises a child its manifest places on h2, and the time runs
# to h1's log line "child ... failed with its host", where the parent's handle-child-error is
# queued (docs/distribution.md, "Supervision across hosts").
#
#   bench/host_loss.sh --theater build/src/cli/theater [--kills 10] [--frozen] [--parent]
#                      [--actors build/tests/actors]
set -euo pipefail

theater=""
kills=10
signal=KILL
parent_mode=""
actors=""
while [ $# -gt 0 ]; do
  case "$1" in
    --theater) theater=$2; shift 2 ;;
    --kills) kills=$2; shift 2 ;;
    --frozen) signal=STOP; shift ;;
    --parent) parent_mode=1; shift ;;
    --actors) actors=$2; shift 2 ;;
    --help|-h) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "host_loss.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$theater" ] || { echo "host_loss.sh: --theater must name the theater binary" >&2; exit 2; }
[ -n "$actors" ] || actors="$(cd "$(dirname "$theater")/../.." && pwd)/tests/actors"
if [ -n "$parent_mode" ] && [ ! -f "$actors/runtime_probe.wasm" ]; then
  echo "host_loss.sh: --parent needs $actors/runtime_probe.wasm (a test build; or --actors DIR)" >&2
  exit 2
fi
command -v nats-server > /dev/null ||
  { echo "host_loss.sh: nats-server is not installed (scripts/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"; [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || true
}
trap cleanup EXIT
. "$(dirname "$0")/nats_server.sh"
start_nats_server "$work"
pids+=("$NATS_PID")
start_lattice_host h1 "$work/h1.log" --spawn-root "$actors"
wait_for_line "$work/h1.log" "in lattice" 6
# What is waited for on h1's log after each kill.
lost_line="host 'h2' lost"
if [ -n "$parent_mode" ]; then
  h1_address=$(sed -n 's/^listening on //p' "$work/h1.log" | head -1)
  probe() {  # name extra-toml
    printf 'name = "%s"\nversion = "0.1.0"\ncomponent = "%s/runtime_probe.wasm"\nauto_handlers = true\n%s' \
      "$1" "$actors" "$2" > "$work/$1.toml"
  }
  probe parent '[[handler]]
type = "supervisor"
'
  probe child 'placement = "h2"
'
  parent=$("$theater" --address "$h1_address" start "$work/parent.toml" | head -1)
  lost_line="failed with its host"
fi
times=()
for i in $(seq "$kills"); do
  start_lattice_host h2 "$work/h2-$i.log" --spawn-root "$actors"
  h2=$LATTICE_HOST_PID
  wait_for_line "$work/h2-$i.log" "in lattice" 6
  sleep 1.5  # h1 has heard a heartbeat or two of this h2
  if [ -n "$parent_mode" ]; then
    child=$("$theater" --address "$h1_address" message --request "$parent" "spawn:$work/child.toml" | head -1)
    [ ${#child} -eq 36 ] || { echo "host_loss.sh: the parent could not spawn on h2: $child" >&2; exit 1; }
  fi
  lines=$(grep -c "$lost_line" "$work/h1.log" || true)
  start=$(date +%s.%N)
  kill -"$signal" "$h2"
  for _ in $(seq 1000); do
    [ "$(grep -c "$lost_line" "$work/h1.log" || true)" -gt "$lines" ] && break
    sleep 0.005
  done
  line=$(grep "$lost_line" "$work/h1.log" | tail -1)
  # spdlog's stamp: [YYYY-MM-DD HH:MM:SS.mmm]
  stamp=$(echo "$line" | sed -E 's/^\[([0-9-]+ [0-9:.]+)\].*/\1/')
  lost=$(date -d "$stamp" +%s.%N)
  ms=$(echo "($lost - $start) * 1000" | bc -l | xargs printf "%.0f")
  times+=("$ms")
  echo "kill $i: ${parent_mode:+the parent told }after $ms ms ($(echo "$line" | sed -E 's/.*lost: //'))"
  kill -CONT "$h2" 2>/dev/null || true
  kill -9 "$h2" 2>/dev/null || true
  wait "$h2" 2>/dev/null || true
  # The next h2 takes the name again once this one is gone (its ping has no responder).
done
printf '%s\n' "${times[@]}" | sort -n | python3 -c '
import sys
t = [int(x) for x in sys.stdin]
n = len(t)
p99 = t[min(n - 1, int(round(0.99 * (n - 1))))]
what = "parents told" if sys.argv[2] else "hosts lost"
print(f"signal {sys.argv[1]}: {n} {what} after median {t[n // 2]} ms, p99 {p99} ms, max {t[-1]} ms")
' "$signal" "$parent_mode"
