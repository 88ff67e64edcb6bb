#!/usr/bin/env bash
# Counts the system calls of the whole process per spawn+stop of a small actor in steady state:
# runs `runtime_bench churn` under strace and counts only the calls made between its
# "theater-bench:begin" and "theater-bench:end" markers (after the warm-up rounds).
#
#   bench/spawn_syscalls.sh [--build DIR] [--n N] [--warm-up ROUNDS] [--max-page-table-calls X]
#                           [--wasm ACTOR.wasm]
#
# Prints one JSON line: the calls per spawn by name, and `page_table_calls_per_spawn` (mmap,
# munmap, mremap, mprotect, madvise, brk). With --max-page-table-calls X it exits 1 when that
# figure is above X. --warm-up: rounds of 64 spawns before the measured ones (default 3). The
# test `bench.spawn_syscalls` uses 100 rounds and 0.02: the linear-memory pool asks for nothing;
# what is left is malloc growing its arenas while it settles.
set -euo pipefail

BUILD=build
N=2000
WARM=3
MAX=""
WASM=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --n) N="$2"; shift 2 ;;
    --warm-up) WARM="$2"; shift 2 ;;
    --max-page-table-calls) MAX="$2"; shift 2 ;;
    --wasm) WASM=(--wasm "$2"); shift 2 ;;  # another actor than the bench actor (a component)
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "spawn_syscalls: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

command -v strace >/dev/null || { echo "spawn_syscalls: strace is missing (scripts/install-deps.sh installs it)" >&2; exit 2; }
BENCH="$BUILD/bench/runtime_bench"
[ -x "$BENCH" ] || { echo "spawn_syscalls: $BENCH is not built" >&2; exit 2; }

TRACE=$(mktemp /tmp/theater-spawn-syscalls.XXXXXX)
trap 'rm -f "$TRACE"' EXIT
export THEATER_HOME="${THEATER_HOME:-$BUILD/test-home}"
# Every thread (-f); all calls, so that the markers and everything between them are seen.
strace -f -qq -o "$TRACE" "$BENCH" churn --n "$N" --warm-up "$WARM" "${WASM[@]}" >/dev/null

python3 - "$TRACE" "$N" "$MAX" <<'EOF'
import collections, json, re, sys
path, n, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3]
counts = collections.Counter()
inside = seen_begin = seen_end = False
call = re.compile(r'^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]')
with open(path, errors='replace') as f:
    for line in f:
        if 'theater-bench:begin' in line:
            inside = seen_begin = True
            continue
        if 'theater-bench:end' in line:
            inside, seen_end = False, True
            continue
        if not inside or 'resumed>' in line:  # count a call once, where it starts
            continue
        m = call.match(line)
        if m:
            counts[m.group(1)] += 1
if not (seen_begin and seen_end):
    sys.exit('spawn_syscalls: the markers were not found in the trace')
page_table = ('mmap', 'munmap', 'mremap', 'mprotect', 'madvise', 'brk')
per_spawn = {k: round(v / n, 3) for k, v in sorted(counts.items())}
pt = sum(counts[k] for k in page_table) / n
print(json.dumps({'spawns': n, 'page_table_calls_per_spawn': round(pt, 4),
                  'calls_per_spawn': per_spawn}))
if limit and pt > float(limit):
    sys.exit('spawn_syscalls: %.4f page-table calls per spawn, more than %s' % (pt, limit))
EOF
