#!/usr/bin/env bash
# How soon a lattice notices a host's death (docs/benchmarks.md, issue 53): a nats-server and
# `theater server --cluster` hosts h1 and h2; h2 is killed with SIGKILL (or frozen with SIGSTOP,
# --frozen) and the time from the signal to h1's log line "lattice: host 'h2' lost" is taken,
# --kills times over, a fresh h2 each time. Prints each time, then the median, p99 and max.
#
#   bench/host_loss.sh --theater build/src/cli/theater [--kills 10] [--frozen]
set -euo pipefail

theater=""
kills=10
signal=KILL
while [ $# -gt 0 ]; do
  case "$1" in
    --theater) theater=$2; shift 2 ;;
    --kills) kills=$2; shift 2 ;;
    --frozen) signal=STOP; shift ;;
    --help|-h) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "host_loss.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$theater" ] || { echo "host_loss.sh: --theater must name the theater binary" >&2; exit 2; }
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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
nats-server -js -a 127.0.0.1 -p "$port" -sd "$work/js" > "$work/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q "Server is ready" "$work/nats.log" && break; sleep 0.1; done
url="nats://127.0.0.1:$port"
server() {  # host-id output-file (stdout and the log)
  "$theater" server --address 127.0.0.1:0 --home "$work/$1" --durability none --log-level info \
    --cluster "$url" --lattice bench --host-id "$1" > "$2" 2>&1 &
  pids+=($!)
  echo $!
}
wait_for() {  # file pattern
  for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.02; done
  echo "host_loss.sh: timed out waiting for '$2' in $1" >&2; exit 1
}
server h1 "$work/h1.log" > /dev/null
wait_for "$work/h1.log" "in lattice"
times=()
for i in $(seq "$kills"); do
  h2=$(server h2 "$work/h2-$i.log")
  wait_for "$work/h2-$i.log" "in lattice"
  sleep 1.5  # h1 has heard a heartbeat or two of this h2
  lines=$(grep -c "host 'h2' lost" "$work/h1.log" || true)
  start=$(date +%s.%N)
  kill -"$signal" "$h2"
  for _ in $(seq 1000); do
    [ "$(grep -c "host 'h2' lost" "$work/h1.log" || true)" -gt "$lines" ] && break
    sleep 0.005
  done
  line=$(grep "host 'h2' lost" "$work/h1.log" | tail -1)
  # spdlog's stamp: [YYYY-MM-DD HH:MM:SS.mmm]
  stamp=$(echo "$line" | sed -E 's/^\[([0-9-]+ [0-9:.]+)\].*/\1/')
  lost=$(date -d "$stamp" +%s.%N)
  ms=$(echo "($lost - $start) * 1000" | bc -l | xargs printf "%.0f")
  times+=("$ms")
  echo "kill $i: lost after $ms ms ($(echo "$line" | sed -E 's/.*lost: //'))"
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
print(f"signal {sys.argv[1]}: {n} hosts lost after median {t[n // 2]} ms, p99 {p99} ms, max {t[-1]} ms")
' "$signal"
