# Sourced by the lattice's benchmarks (host_loss.sh, takeover.sh, lattice.sh): starts
# `nats-server -js` on a free loopback port with its store under $1 (a directory), and sets
# NATS_URL to it and NATS_PID to its process. Waits until it says it is ready (at most 5 s).
start_nats_server() {
  local dir=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  nats-server -js -a 127.0.0.1 -p "$port" -sd "$dir/js" > "$dir/nats.log" 2>&1 &
  NATS_PID=$!
  for _ in $(seq 50); do grep -q "Server is ready" "$dir/nats.log" && break; sleep 0.1; done
  NATS_URL="nats://127.0.0.1:$port"
}
