#!/usr/bin/env bash
# Prints the compiler flags that give GCC a large first heap, or nothing. GCC collects the
# garbage of its own heap as it grows; a large first heap skips most of those collections: 0.86x
# the build's time, for up to 3.5 GB per compiler (the Boost.Beast file) instead of 2.3
# (docs/benchmarks.md, "The first command"). Only when `c++` is GCC, and with 4 GiB of memory per
# core. Used by scripts/build-command.sh and scripts/test.sh.
set -euo pipefail
mem_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null || echo 0)
if c++ --version 2>/dev/null | grep -q 'Free Software Foundation' &&
  [ "${mem_kib:-0}" -ge $((4 * 1024 * 1024 * $(nproc))) ]; then
  echo "--param ggc-min-expand=400 --param ggc-min-heapsize=2097152"
fi
