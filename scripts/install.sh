#!/usr/bin/env bash
# Installs the `theater` command: its packages (scripts/install-deps.sh --run), a release build
# of the command alone (in build-run/, shared with scripts/run-example.sh) and
# `cmake --install`, into PREFIX (default /usr/local, so /usr/local/bin/theater).
#
#   scripts/install.sh                  PREFIX=/usr/local
#   PREFIX=$HOME/.local scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
scripts/install-deps.sh --run
if [ ! -f build-run/build.ninja ]; then
  # The command alone (no tests, benchmarks or test actors), its largest libraries as combined
  # translation units: the quickest build from scratch (docs/benchmarks.md, "The first command").
  cmake -S . -B build-run -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DTHEATER_BUILD_TESTS=OFF -DTHEATER_BUILD_BENCH=OFF -DTHEATER_BUILD_EXAMPLES=OFF \
    -DTHEATER_UNITY_BUILD=ON >/dev/null
fi
cmake --build build-run --target theater -j "$(nproc)"
cmake --install build-run --prefix "$PREFIX"
echo "install: $PREFIX/bin/theater ($("$PREFIX/bin/theater" --version))"
case ":$PATH:" in
  *":$PREFIX/bin:"*) ;;
  *) echo "install: $PREFIX/bin is not on PATH; add it: export PATH=\"$PREFIX/bin:\$PATH\"" ;;
esac
