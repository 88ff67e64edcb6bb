#!/usr/bin/env bash
# Connection-churn soak of the http-framework handler: serves bench/http_bench --serve (an actor
# answering a small GET, chain recording on) and runs wrk with a new connection per request for
# DURATION seconds (default 600), sampling the server's open descriptors, resident memory and
# threads every 30 s. A leak shows as descriptors or RSS that keep growing; a stalled accept as
# the final request failing or taking long. Results: docs/benchmarks.md.
# Usage: bench/http_churn.sh [build-dir]   (needs wrk: scripts/install-deps.sh)
set -euo pipefail
BUILD=${1:-build}
DURATION=${DURATION:-600}
WORK=$(mktemp -d)
trap 'kill "${HOLD:-}" "${PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkfifo "$WORK/in"
sleep 1000000 > "$WORK/in" &
HOLD=$!
THEATER_HOME=${THEATER_HOME:-$WORK/home} "$BUILD/bench/http_bench" --serve < "$WORK/in" > "$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 50); do
  URL=$(grep -o 'http://[0-9.:]*/users/1' "$WORK/serve.log" | head -1 || true)
  [ -n "$URL" ] && break
  sleep 0.2
done
[ -n "$URL" ] || { echo "http_churn: the server did not start:"; cat "$WORK/serve.log"; exit 1; }
sample() {
  echo "t=$1 fds=$(ls /proc/$PID/fd | wc -l)" \
    "rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)" \
    "threads=$(awk '/Threads/ {print $2}' /proc/$PID/status)"
}
echo "serving $URL (pid $PID) for ${DURATION}s"
sample 0
wrk -t2 -c32 -d"${DURATION}s" -H 'Connection: close' --latency "$URL" > "$WORK/wrk.log" 2>&1 &
WRK=$!
for i in $(seq 1 $((DURATION / 30))); do
  sleep 30
  sample $((i * 30))
done
wait $WRK
sleep 2
sample end
curl -s -o /dev/null -w 'a request after the run: HTTP %{http_code} in %{time_total}s\n' "$URL"
grep -E 'requests in|Requests/sec|50%|99%|Socket errors|Non-2xx' "$WORK/wrk.log"
