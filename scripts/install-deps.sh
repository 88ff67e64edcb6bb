#!/usr/bin/env bash
# Installs every Debian 12 package Theater needs to build, test and run actors.
# Safe to run repeatedly: does nothing when everything is already installed.
#
#   scripts/install-deps.sh           what building, testing and running need
#   scripts/install-deps.sh --run     only what building the `theater` command and building and
#                                     running C and C++ actors need (scripts/run-example.sh,
#                                     scripts/install.sh): no test, benchmark or component tools
#   scripts/install-deps.sh --bench   everything, and Erlang/OTP (erlang-base), the peer that
#                                     bench/peers/run.sh measures this project against
set -euo pipefail

bench=0
run_only=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    --run) run_only=1 ;;
    --help|-h) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

PACKAGES=(
  # host toolchain and build
  g++ cmake ninja-build pkg-config make
  # wasm engine: wasm2c (wabt), the fast tier's compiler (tcc) and the guest toolchain
  # (clang-14 for wasm32-wasi, C and C++)
  wabt tcc clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32
  libc++abi-14-dev-wasm32
  # libraries
  libboost-context1.81-dev libboost1.81-dev libssl-dev libsqlite3-dev libtomlplusplus-dev libcurl4-openssl-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libtcmalloc-minimal4  # the allocator the theater command links (THEATER_MALLOC)
  libnats-dev  # the NATS client a lattice's hosts speak through (theater server --cluster)
)
if [ "$run_only" -eq 0 ]; then
  PACKAGES+=(
    binutils python3
    libclang-rt-14-dev  # the sanitizer build's runtime
    # Rust actors (`theater create --lang rust`, tests/bindgen): rustc 1.63 with std for wasm32-wasi
    rustc cargo libstd-rust-dev-wasm32
    # tests and benchmarks
    libgtest-dev libgmock-dev libbenchmark-dev
    openssl  # the command line: the http-client tests make a self-signed certificate
    wrk curl  # HTTP load generator and client (bench/http_bench, bench/http_churn.sh)
    strace  # counts the system calls of a spawn (bench/spawn_syscalls.sh, test bench.spawn_syscalls)
    time  # GNU time: each compile unit's memory and CPU time in a test run (scripts/record-compile.sh)
    ccache  # the test run's compiler cache, kept between runs on one machine (scripts/test.sh)
    dpkg-dev  # dpkg-shlibdeps: scripts/package.sh's Depends on the libraries the command links
    nats-server  # the lattice's tests start a real one (src/testing/nats_server.h)
    chromium fonts-dejavu-core  # the dashboard's browser test drives it headless (tests/dashboard)
  )
fi
if [ "$bench" -eq 1 ]; then
  PACKAGES+=(erlang-base)  # escript and the Erlang VM for bench/peers
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done
# Node.js runs the component tools (tools/jco). Debian's nodejs 18 is enough; a newer one
# already installed (e.g. NodeSource's) is used as it is.
if [ "$run_only" -eq 0 ] && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root (missing: ${missing[*]})" >&2; exit 1; }
    SUDO=sudo
  fi
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ "$run_only" -eq 1 ] && exit 0

# From the npm registry, each pinned by its package-lock.json and reinstalled only when that
# changes: the component tools (tools/jco) and the dashboard's browser-test driver
# (tests/dashboard, puppeteer-core).
root="$(cd "$(dirname "$0")/.." && pwd)"
for dir in tools/jco tests/dashboard; do
  cd "$root/$dir"
  if ! cmp -s package-lock.json node_modules/.theater-lock 2>/dev/null; then
    echo "install-deps: installing $dir's packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.theater-lock
  else
    echo "install-deps: $dir's packages present"
  fi
done
