# Sourced by the lattice's benchmarks (host_loss.sh, takeover.sh, move.sh, lattice.sh).

# start_nats_server DIR: starts `nats-server -js` on a free loopback port with its store under
# DIR, and sets NATS_URL to it and NATS_PID to its process. Waits until it says it is ready (at
# most 5 s).
start_nats_server() {
  local dir=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  nats-server -js -a 127.0.0.1 -p "$port" -sd "$dir/js" > "$dir/nats.log" 2>&1 &
  NATS_PID=$!
  for _ in $(seq 50); do grep -q "Server is ready" "$dir/nats.log" && break; sleep 0.1; done
  NATS_URL="nats://127.0.0.1:$port"
}

# start_lattice_host ID LOG [ARG...]: starts `$theater server --cluster $NATS_URL` as host ID of
# lattice "bench" (its home $work/ID, its output in LOG, ARGs added), sets LATTICE_HOST_PID to
# its process and appends it to the caller's `pids` (for the caller's cleanup). Not from $(...):
# a subshell's variables do not come back.
start_lattice_host() {
  local id=$1 log=$2
  shift 2
  "$theater" server --address 127.0.0.1:0 --home "$work/$id" --durability none --log-level info \
    --cluster "$NATS_URL" --lattice bench --host-id "$id" "$@" > "$log" 2>&1 &
  LATTICE_HOST_PID=$!
  pids+=("$LATTICE_HOST_PID")
}

# wait_for_line FILE PATTERN SECONDS: returns once FILE has a line matching PATTERN; after
# SECONDS, says so and exits 1.
wait_for_line() {
  for _ in $(seq $(($3 * 50))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.02; done
  echo "$(basename "$0"): timed out waiting for '$2' in $1" >&2
  exit 1
}
