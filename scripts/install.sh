#!/usr/bin/env bash
# Installs the `theater` command: its packages (scripts/install-deps.sh --run), a release build
# of the command alone (scripts/build-command.sh, in build-run/, shared with
# scripts/run-example.sh) and `cmake --install`, into PREFIX (default /usr/local, so
# /usr/local/bin/theater).
#
#   scripts/install.sh                  PREFIX=/usr/local
#   PREFIX=$HOME/.local scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
scripts/install-deps.sh --run
scripts/build-command.sh
cmake --install build-run --prefix "$PREFIX"
echo "install: $PREFIX/bin/theater ($("$PREFIX/bin/theater" --version))"
case ":$PATH:" in
  *":$PREFIX/bin:"*) ;;
  *) echo "install: $PREFIX/bin is not on PATH; add it: export PATH=\"$PREFIX/bin:\$PATH\"" ;;
esac
