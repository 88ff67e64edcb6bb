#!/usr/bin/env bash
# The chain-recording overhead figure (issue 3, docs/benchmarks.md "Chain recording"): PAIRS
# alternated runs of `runtime_bench calls` with the chain on and off (default 9), on a shared
# compile cache, then the medians of calls/s and CPU per call and the ratio on/off. Extra
# arguments go to every run, e.g. --workers 1 (the actor's worker as the only bottleneck).
# Usage: bench/chain_overhead.sh [build-dir] [runtime_bench args...]
set -euo pipefail
BUILD=${1:-build}
shift || true
PAIRS=${PAIRS:-9}
if [ -n "${THEATER_HOME:-}" ]; then
  HOME_DIR=$THEATER_HOME
else
  HOME_DIR=$(mktemp -d)
  trap 'rm -rf "$HOME_DIR"' EXIT
fi
run() {
  THEATER_HOME=$HOME_DIR "$BUILD/bench/runtime_bench" calls --n 400000 --actors 100 "$@" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["calls_per_s"], d["cpu_us_per_call"])'
}
for _ in $(seq "$PAIRS"); do
  echo "$(run "$@") $(run "$@" --no-chain)"
done | python3 -c '
import statistics as st, sys
rows = [list(map(float, line.split())) for line in sys.stdin]
for on, on_cpu, off, off_cpu in rows:
    print(f"chain on {on:9.0f} calls/s {on_cpu:.2f} us | off {off:9.0f} calls/s {off_cpu:.2f} us | ratio {on / off:.3f}")
on = st.median(r[0] for r in rows); off = st.median(r[2] for r in rows)
print(f"median: on {on:.0f} calls/s, {st.median(r[1] for r in rows):.2f} us/call; "
      f"off {off:.0f} calls/s, {st.median(r[3] for r in rows):.2f} us/call; "
      f"median of ratios {st.median(r[0] / r[2] for r in rows):.3f}")'
