#!/usr/bin/env bash
# `theater dev`'s loop as a developer meets it: a message-server project (C, or JavaScript with
# --lang js) run by `theater dev --server` against a local `theater server`, its source saved
# (written beside and renamed over, as editors do) with a new, longer reply, and the time from the save
# until a request answers with it: the rebuild, the compile of the new module, the update in
# place and the request's round trip. Each round changes the reply again; the state carries on.
# The first build, the npm packages (JavaScript) and the engine's compile are done before the
# rounds (untimed). Prints each round's seconds and the median. With --embedded, `theater dev`
# runs the actor in its own process instead (no server to ask): the time is then from the save to
# its "updated in place" line.
#
#   bench/dev_loop.sh --theater build/src/cli/theater [--lang c|js] [--rounds 5] [--embedded]
set -euo pipefail

theater=""
lang=c
rounds=5
embedded=""
while [ $# -gt 0 ]; do
  case "$1" in
    --theater) theater=$2; shift 2 ;;
    --lang) lang=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --embedded) embedded=yes; shift ;;
    --help|-h) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "dev_loop: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$theater" ] || { echo "dev_loop: --theater must name the theater binary" >&2; exit 2; }
case "$lang" in c) source_file=src/actor.c ;; js) source_file=src/actor.js ;;
  *) echo "dev_loop: --lang is c or js" >&2; exit 2 ;; esac
theater=$(realpath "$theater")
source "$(dirname "$0")/timing.sh"  # now, elapsed, median

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export THEATER_HOME=$work/home XDG_CONFIG_HOME=$work/config

"$theater" server --address 127.0.0.1:0 --home "$work/server" --durability none \
  --log-level warn >"$work/server.out" 2>"$work/server.err" &
pids+=($!)
for _ in $(seq 300); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.1; done
address=$(sed -n 's/^listening on //p' "$work/server.out" | head -1)
[ -n "$address" ] || { echo "dev_loop: the server did not start" >&2; cat "$work/server.err" >&2; exit 1; }
export THEATER_SERVER_ADDRESS=$address

"$theater" create devbench -t message-server --lang "$lang" -o "$work" >/dev/null
project=$work/devbench
echo "dev_loop: the first build and start (untimed)" >&2
if [ -n "$embedded" ]; then
  "$theater" dev "$project" >"$work/dev.out" 2>"$work/dev.err" &
else
  "$theater" dev --server "$address" "$project" >"$work/dev.out" 2>"$work/dev.err" &
fi
dev_pid=$!
pids+=($dev_pid)
for _ in $(seq 6000); do
  grep -q "theater dev: watching" "$work/dev.err" && break
  kill -0 "$dev_pid" 2>/dev/null || break
  sleep 0.1
done
grep -q "theater dev: watching" "$work/dev.err" || { echo "dev_loop: theater dev did not start" >&2; cat "$work/dev.err" >&2; exit 1; }
id=""
if [ -z "$embedded" ]; then
  id=$("$theater" list --json | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -1)
  [ -n "$id" ] || { echo "dev_loop: no actor is running" >&2; exit 1; }
fi

previous=pong
figures=()
for round in $(seq "$rounds"); do
  # One more character each round: the data after the string moves, so the code that refers to
  # it changes too and its units compile again (an edit of the same length may change only data).
  reply="pong$(printf '%*s' "$round" '' | tr ' ' '!')"
  sed "s/'$previous'/'$reply'/; s/\"$previous\"/\"$reply\"/" "$project/$source_file" >"$project/$source_file.saving"
  t0=$(now)
  mv "$project/$source_file.saving" "$project/$source_file"
  answered=""
  if [ -n "$embedded" ]; then
    for _ in $(seq 6000); do
      [ "$(grep -c "updated in place\|restarted" "$work/dev.err")" -ge "$round" ] && { answered=yes; break; }
      sleep 0.02
    done
  else
    for _ in $(seq 600); do
      if [ "$("$theater" message -r "$id" ping 2>/dev/null)" = "$reply" ]; then answered=yes; break; fi
    done
  fi
  [ -n "$answered" ] || { echo "dev_loop: round $round never answered $reply" >&2; tail -20 "$work/dev.err" >&2; exit 1; }
  t1=$(now)
  figures+=("$(printf '%.3f' "$(elapsed "$t0" "$t1")")")
  echo "round $round: ${figures[-1]} s from the save to the new reply" >&2
  previous=$reply
done
grep -c "updated in place" "$work/dev.err" | sed 's/^/dev_loop: updates in place: /' >&2
echo "dev_loop ($lang, $rounds rounds): save -> answering with the new code: median $(printf '%s\n' "${figures[@]}" | median) s"
