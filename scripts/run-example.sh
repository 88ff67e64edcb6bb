#!/usr/bin/env bash
# Quick start: installs what the `theater` command needs, builds only the command
# (scripts/build-command.sh: no tests, benchmarks or component tools; in build-run/) and runs the
# hello actor from the source tree, which builds examples/hello/hello.wasm on the way. Prints how
# long each step took.
#
# Afterwards: build-run/src/cli/theater, or scripts/install.sh to put `theater` on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { echo "run-example: $1 in $((SECONDS - started)) s" >&2; started=$SECONDS; }

scripts/install-deps.sh --run
step "dependencies"
scripts/build-command.sh
step "build of the theater command"
build-run/src/cli/theater run examples/hello/manifest.toml
step "first run of the hello actor (its build and compile included)"
