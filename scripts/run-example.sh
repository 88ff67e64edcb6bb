#!/usr/bin/env bash
# Quick start: installs dependencies, builds Theater and runs the hello actor.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
exec build/src/cli/theater run build/examples/hello/manifest.toml
