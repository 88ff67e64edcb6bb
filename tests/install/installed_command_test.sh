#!/usr/bin/env bash
# The `theater` command as a user meets it once installed: `cmake --install` of a build into a
# fresh prefix (what scripts/install.sh does, and what the Debian package holds), then with that
# command alone, from outside the source tree:
#   - `--help` names the installed reference (PREFIX/share/doc/theater/docs/cli.md), which exists,
#     and the man page and completions are in place;
#   - `theater create` + `build` + `run` of a new C actor;
#   - each example that is an actor project (examples/hello, examples/hello-cpp, and
#     examples/agent's three), copied as a user would copy it, built with `theater build` and run
#     with `theater run`.
#   - examples/custom-handler's handler compiled as a plug-in against the installed headers
#     (PREFIX/include/theater) with the system's compiler, and known to `theater validate
#     --handler` (which loads it into the installed command).
# Exits non-zero, naming the step, at the first thing that does not hold.
#
#   tests/install/installed_command_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail

if [ "${1:-}" = "--help" ] || [ $# -ne 2 ]; then
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  [ "${1:-}" = "--help" ] && exit 0 || exit 2
fi
build=$(cd "$1" && pwd)
source=$(cd "$2" && pwd)
work=$(mktemp -d /tmp/theater-installed-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "installed_command_test: $*" >&2; exit 1; }

prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "cmake --install failed"; }
theater="$prefix/bin/theater"
[ -x "$theater" ] || fail "no $theater"
export THEATER_HOME="$work/home"
cd "$work"  # nothing of the source tree is found by accident

reference="$prefix/share/doc/theater/docs/cli.md"
help=$("$theater" --help)
grep -qF "$reference has the whole reference" <<<"$help" ||
  fail "--help does not name $reference: $(head -2 <<<"$help")"
[ -f "$reference" ] || fail "$reference is not installed"
[ -f "$prefix/share/man/man1/theater.1" ] || fail "no man page"
for completion in share/bash-completion/completions/theater share/zsh/site-functions/_theater \
                  share/fish/vendor_completions.d/theater.fish; do
  [ -f "$prefix/$completion" ] || fail "no $completion"
done

# A new C actor.
"$theater" create hello-c --lang c > create.log 2>&1 || { cat create.log >&2; fail "create"; }
"$theater" build hello-c > build.log 2>&1 || { cat build.log >&2; fail "build of a new C actor"; }
"$theater" run hello-c/manifest.toml > run.log 2>&1 || { cat run.log >&2; fail "run of a new C actor"; }
grep -q "chain verified" run.log || { cat run.log >&2; fail "the new actor's chain was not verified"; }

# The examples that are actor projects, built and run from their sources.
for example in hello hello-cpp; do
  cp -r "$source/examples/$example" "$work/$example"
  rm -f "$work/$example"/*.wasm
  "$theater" build "$work/$example" > "$example-build.log" 2>&1 ||
    { cat "$example-build.log" >&2; fail "theater build of examples/$example"; }
  "$theater" run "$work/$example/manifest.toml" > "$example-run.log" 2>&1 ||
    { cat "$example-run.log" >&2; fail "theater run of examples/$example"; }
  grep -q "Hello from " "$example-run.log" || { cat "$example-run.log" >&2; fail "examples/$example did not greet"; }
  grep -q "chain verified" "$example-run.log" || fail "examples/$example: no verified chain"
done

# The agent: three projects (the agent and its tools below it), each built with `theater build`;
# the run starts both tools from the manifests its init.json names relative to its own. Its
# read_file tool serves ../../../../docs from its manifest: the copy keeps that layout.
mkdir -p "$work/examples" "$work/docs"
cp -r "$source/examples/agent" "$work/examples/agent"
rm -rf "$work/examples/agent/test"
find "$work/examples/agent" -name '*.wasm' -delete
for project in tools/read-file tools/fetch-url .; do
  "$theater" build "$work/examples/agent/$project" > agent-build.log 2>&1 ||
    { cat agent-build.log >&2; fail "theater build of examples/agent/$project"; }
done
"$theater" run "$work/examples/agent/manifest.toml" > agent-run.log 2>&1 ||
  { cat agent-run.log >&2; fail "theater run of examples/agent"; }
for tool in read_file fetch_url; do
  grep -q "tool $tool runs as actor" agent-run.log ||
    { cat agent-run.log >&2; fail "examples/agent did not start its $tool tool"; }
done
grep -q "chain verified" agent-run.log || fail "examples/agent: no verified chain"
# A handler plug-in built against the installed host API and loaded by the installed command.
[ -f "$prefix/include/theater/plugin.h" ] || fail "no $prefix/include/theater/plugin.h"
c++ -std=c++20 -shared -fPIC -I"$prefix/include" -o "$work/counter_handler.so" \
  "$source/examples/custom-handler/counter_plugin.cc" \
  "$source/examples/custom-handler/counter_handler.cc" > plugin-build.log 2>&1 ||
  { cat plugin-build.log >&2; fail "compiling examples/custom-handler as a plug-in"; }
cat > counter.toml <<EOF_MANIFEST
name = "counter"
version = "0.1.0"
component = "$build/examples/custom-handler/counter_actor.wasm"

[[handler]]
type = "counter"
EOF_MANIFEST
"$theater" validate --handler "$work/counter_handler.so" counter.toml > plugin-validate.log 2>&1 ||
  { cat plugin-validate.log >&2; fail "theater validate --handler of the plug-in"; }
# The handler list ("ok (2 handlers: counter, runtime)"), not the manifest's name.
grep -qE "ok \([0-9]+ handlers?: (.*, )?counter(,|\))" plugin-validate.log ||
  { cat plugin-validate.log >&2; fail "the plug-in's handler is not among the actor's"; }

echo "installed_command_test: the installed command's help, man page, completions, a new C actor," \
     "examples/hello, examples/hello-cpp and examples/agent, and a handler plug-in: ok"
