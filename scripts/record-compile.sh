#!/usr/bin/env bash
# A compiler launcher (CMAKE_<LANG>_COMPILER_LAUNCHER) that runs the compiler and appends a line
# to compile_units.tsv in the directory it runs in (the build directory, for Ninja):
#   peak resident KiB <TAB> CPU seconds (user + system) <TAB> wall seconds <TAB> output file
# scripts/test.sh builds through it, and scripts/compile-report.sh reads what it wrote. Without
# GNU time (/usr/bin/time, Debian's package `time`) it only runs the compiler.
output=""
previous=""
for arg in "$@"; do
  [ "$previous" = "-o" ] && output=$arg
  previous=$arg
done
# With THEATER_CCACHE=1 (scripts/test.sh, when ccache is installed) the compile goes through
# ccache: a unit it answers from its cache is recorded with ccache's own memory and time.
cache=()
if [ "${THEATER_CCACHE:-0}" = 1 ] && command -v ccache > /dev/null; then
  cache=(ccache)
fi
if [ ! -x /usr/bin/time ]; then
  exec "${cache[@]}" "$@"
fi
exec /usr/bin/time -a -o compile_units.tsv -f "%M	%U %S	%e	$output" "${cache[@]}" "$@"
