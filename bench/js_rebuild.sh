#!/usr/bin/env bash
# A JavaScript actor rebuilt after an edit: `theater build` of a `theater create --lang js`
# project whose src/actor.js changes before each build (one more character in a string), timed
# from the command's start to its end, with the pieces that do not depend on the actor's code kept
# in $THEATER_HOME/js-splice-cache ("kept") and, alternately in the same session, with
# THEATER_JS_BUILD_CACHE=off ("afresh", the baseline: every piece made again, as before the cache
# existed). The project's npm packages and the first build are done before the rounds (untimed).
# Prints each round's seconds and each way's median.
#
#   bench/js_rebuild.sh --theater build/src/cli/theater [--rounds 5] [--home DIR]
#
# --home reuses a THEATER_HOME that has the packages installed already (the default is a fresh
# one, so the first build runs npm ci).
set -euo pipefail

theater=""
rounds=5
home=""
while [ $# -gt 0 ]; do
  case "$1" in
    --theater) theater=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --home) home=$2; shift 2 ;;
    --help|-h) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "js_rebuild: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ -x "$theater" ] || { echo "js_rebuild: --theater must name the theater binary" >&2; exit 2; }
theater=$(realpath "$theater")
source "$(dirname "$0")/timing.sh"  # now, elapsed, median

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export THEATER_HOME=${home:-$work/home}
"$theater" create rebuild --lang js -o "$work" >/dev/null
project=$work/rebuild
echo "js_rebuild: the first build (untimed)" >&2
"$theater" build "$project" >/dev/null 2>"$work/first.err" ||
  { cat "$work/first.err" >&2; exit 1; }

edit=0
build_once() {  # $1: kept | afresh; prints the seconds
  edit=$((edit + 1))
  # One more character in the greeting each time: the bundle, and so the snapshot, change.
  sed -i "s/Hello!* from/Hello$(printf '%*s' "$edit" '' | tr ' ' '!') from/" "$project/src/actor.js"
  local t0 t1
  t0=$(now)
  if [ "$1" = afresh ]; then
    THEATER_JS_BUILD_CACHE=off "$theater" build "$project" >/dev/null 2>"$work/build.err" ||
      { cat "$work/build.err" >&2; exit 1; }
  else
    THEATER_JS_BUILD_CACHE_REPORT=1 "$theater" build "$project" >/dev/null 2>"$work/build.err" ||
      { cat "$work/build.err" >&2; exit 1; }
    grep -q "splice kept, component kept" "$work/build.err" ||
      { echo "js_rebuild: a rebuild did not reuse the kept pieces:" >&2; cat "$work/build.err" >&2; exit 1; }
  fi
  t1=$(now)
  elapsed "$t0" "$t1"
}

kept=()
afresh=()
for round in $(seq "$rounds"); do
  k=$(build_once kept)
  a=$(build_once afresh)
  kept+=("$k")
  afresh+=("$a")
  printf 'round %d: kept %.2f s, afresh %.2f s\n' "$round" "$k" "$a"
done
printf 'median: kept %.2f s, afresh %.2f s (%d rounds, alternating)\n' \
  "$(printf '%s\n' "${kept[@]}" | median)" "$(printf '%s\n' "${afresh[@]}" | median)" "$rounds"
