#!/usr/bin/env bash
# Quick start: installs what the `theater` command needs, builds only the command (no tests,
# benchmarks or component tools; in build-run/) and runs the hello actor from the source tree,
# which builds examples/hello/hello.wasm on the way. Prints how long each step took.
#
# Afterwards: build-run/src/cli/theater, or scripts/install.sh to put `theater` on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { echo "run-example: $1 in $((SECONDS - started)) s" >&2; started=$SECONDS; }

scripts/install-deps.sh --run
step "dependencies"
if [ ! -f build-run/build.ninja ]; then
  # The command alone (no tests, benchmarks or test actors), its largest libraries as combined
  # translation units: the quickest build from scratch (docs/benchmarks.md, "The first command").
  cmake -S . -B build-run -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DTHEATER_BUILD_TESTS=OFF -DTHEATER_BUILD_BENCH=OFF -DTHEATER_BUILD_EXAMPLES=OFF \
    -DTHEATER_UNITY_BUILD=ON >/dev/null
fi
cmake --build build-run --target theater -j "$(nproc)"
step "build of the theater command"
build-run/src/cli/theater run examples/hello/manifest.toml
step "first run of the hello actor (its build and compile included)"
