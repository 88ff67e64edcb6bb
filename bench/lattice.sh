#!/usr/bin/env bash
# The lattice's figures beside raw NATS through the same nats-server (docs/benchmarks.md, issue
# 53): starts `nats-server -js` on a free loopback port, then runs, alternately for --rounds
# rounds:
#   raw-send / send (cross-host)           messages per second, 16-byte messages
#   raw-request / request (cross-host)     round-trip p50, p99
#   send and request, --no-cluster / --same-host   the lattice's cost on local delivery
# and prints each run's JSON line, then the medians and the ratios the issue names.
#
#   bench/lattice.sh --bench build/bench/lattice_bench [--rounds 5] [--n 400000]
set -euo pipefail

bench=""
rounds=5
n=400000
while [ $# -gt 0 ]; do
  case "$1" in
    --bench) bench=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    --help|-h) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lattice.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$bench" ] || { echo "lattice.sh: --bench must name the lattice_bench binary" >&2; exit 2; }
command -v nats-server > /dev/null ||
  { echo "lattice.sh: nats-server is not installed (scripts/install-deps.sh)" >&2; exit 1; }

work=$(mktemp -d)
. "$(dirname "$0")/nats_server.sh"
start_nats_server "$work"
nats=$NATS_PID
trap 'kill $nats 2>/dev/null; wait $nats 2>/dev/null; rm -rf "$work"' EXIT
url=$NATS_URL
results=$work/results.jsonl
run() { "$bench" "$@" --nats "$url" | grep '^{' | tee -a "$results"; }
for round in $(seq "$rounds"); do
  echo "# round $round of $rounds" >&2
  run raw-send --n "$n"
  run send --n "$n"
  run raw-request --n 20000
  run request --n 20000
  run send --n "$n" --no-cluster
  run send --n "$n" --same-host
  run request --n 20000 --no-cluster
  run request --n 20000 --same-host
done
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def med(mode, where, field):
    values = [r[field] for r in rows if r["mode"] == mode and r.get("where", "") == where]
    return statistics.median(values) if values else float("nan")
raw_send = med("raw-send", "", "messages_per_s")
cross_send = med("send", "cross-host", "messages_per_s")
raw_rtt = med("raw-request", "", "p50_us")
cross_rtt = med("request", "cross-host", "p50_us")
print(f"cross-host send {cross_send:,.0f} msg/s vs raw NATS {raw_send:,.0f}: {cross_send / raw_send:.2f}x (target >= 0.50)")
print(f"cross-host request p50 {cross_rtt:.1f} us vs raw NATS {raw_rtt:.1f}: {cross_rtt / raw_rtt:.2f}x (target <= 1.5)")
for mode, field, better in (("send", "messages_per_s", "higher"), ("request", "p50_us", "lower")):
    alone = med(mode, "no-cluster", field)
    joined = med(mode, "same-host", field)
    print(f"same-host {mode} {field}: {joined:,.2f} with --cluster vs {alone:,.2f} without: {joined / alone:.3f}x ({better} is better; target within 5%)")
PY
