#!/usr/bin/env bash
# The Debian package's test (docs/packaging.md): makes the package with scripts/package.sh, a
# fresh Debian 12 root with `debootstrap --variant=minbase bookworm`, and in that root, as a user
# would, `apt-get install ./theater_*.deb`. It checks that the install pulled no -dev package
# but those the command uses at run time (each named below with why) and none of the command's
# own build's, then as a plain user creates, builds and runs a C and a C++ actor (their log lines
# and verified chains), checks the man page, the completions and the docs --help points to, and
# removes the package. Prints each step's time. Needs root, Debian's mirror and a few minutes,
# so it is not part of scripts/test.sh.
#
#   tests/package/package_test.sh                     package build-run/ (scripts/package.sh
#                                                     builds the command there first)
#   tests/package/package_test.sh --build-dir build   package an existing build ($BUILD_DIR too)
#   tests/package/package_test.sh --deb FILE          test this .deb instead of making one
#   KEEP=1 tests/package/package_test.sh              keep the root afterwards (path printed)
#   RECOMMENDS=1 tests/package/package_test.sh        install with apt's default, Recommends too
#                                                     (default: --no-install-recommends, the
#                                                     Depends alone; both are measured anyway)
#   MIRROR=URL                                        Debian mirror (default: the host's apt's)
set -euo pipefail

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
fail() { echo "package_test: FAIL: $*" >&2; exit 1; }

repo="$(cd "$(dirname "$0")/../.." && pwd)"
build_dir="${BUILD_DIR:-}"
deb=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) [ $# -ge 2 ] || fail "--build-dir needs a directory"; build_dir=$2; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    --deb) [ $# -ge 2 ] || fail "--deb needs a file"; deb=$2; shift 2 ;;
    --deb=*) deb=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "package_test: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot and mount)"
[ -z "$deb" ] || [ -f "$deb" ] || fail "no .deb at $deb"
[ -z "$deb" ] || deb="$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")"

# -dev packages a `theater` install may bring, and why. The command compiles at run time: wasm2c's
# C output with gcc or tcc (the C library's headers, libm and crt objects), and actors with
# clang-14 for wasm32-wasi (clang's headers, wasi-libc, compiler-rt's builtins, libc++).
declare -A allowed_dev=(
  [libc6-dev]="Depends: the headers, libm and crt objects gcc and tcc build wasm2c's output with"
  [libc-dev-bin]="libc6-dev's dependency"
  [linux-libc-dev]="libc6-dev's dependency (the kernel headers the C library's include)"
  [libcrypt-dev]="libc6-dev's dependency"
  [libnsl-dev]="libc6-dev's dependency"
  [libtirpc-dev]="libc6-dev's dependency"
  [libgcc-12-dev]="gcc-12's dependency: libgcc and the crtbegin/crtend objects of each module's .so"
  [libclang-common-14-dev]="clang-14's dependency: clang's own headers (stddef.h, ...) for actors"
  [libstdc++-12-dev]="clang-14's dependency (Debian's clang-14 needs it; theater does not use it)"
  [libobjc-12-dev]="clang-14's dependency (Debian's clang-14 needs it; theater does not use it)"
  [libclang-rt-14-dev-wasm32]="Depends: compiler-rt's builtins for wasm32, linked into every actor"
  [libc++-14-dev-wasm32]="Depends: the C++ library for wasm32, for C++ actors"
  [libc++abi-14-dev-wasm32]="Depends: the C++ ABI library for wasm32, for C++ actors"
)
# What only the build of the command itself needs (scripts/install-deps.sh's libraries and build
# tools): never to be installed with the package.
build_only='^(libboost.*-dev|libssl-dev|libsqlite3-dev|libtomlplusplus-dev|libcurl.*-dev'
build_only+='|nlohmann-json3-dev|libcli11-dev|libspdlog-dev|libfmt-dev|libnats-dev|libgtest-dev'
build_only+='|libgmock-dev|libbenchmark-dev|cmake|ninja-build|pkg-config|pkgconf)$'

work=""
root=""
cleanup() {
  local rc=$?
  if [ -n "$root" ]; then
    local m
    for m in $(awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/mounts |
               sort -r); do
      umount "$m" 2>/dev/null || umount -l "$m" || echo "package_test: could not unmount $m" >&2
    done
  fi
  if [ -n "$work" ] && [ -d "$work" ]; then
    if [ "${KEEP:-0}" = 1 ]; then
      echo "package_test: kept $work (the root: $root; mount proc and dev again to chroot)"
    elif awk -v w="$work" 'index($2, w "/") == 1 {found = 1} END {exit !found}' /proc/mounts; then
      echo "package_test: something is still mounted under $work; not deleting it" >&2
    else
      local t0=$SECONDS
      rm -rf --one-file-system "$work"
      echo "package_test: removed the root ($((SECONDS - t0)) s)"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

names=()
times=()
step_name=""
step_start=0
step() {  # step NAME: ends the step before, if any, and begins NAME
  local now
  now=$(date +%s.%N)
  if [ -n "$step_name" ]; then
    local took
    took=$(awk -v a="$step_start" -v b="$now" 'BEGIN {printf "%.1f", b - a}')
    names+=("$step_name")
    times+=("$took")
    echo "package_test: ok: $step_name (${took} s)"
  fi
  step_name="${1:-}"
  step_start=$now
  [ -z "$step_name" ] || echo "package_test: == $step_name"
}

# The URI the host's apt fetches suite $1 from (deb822 .sources, then one-line .list files).
host_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v s="$1" 'BEGIN {RS = ""}
      { types = ""; uris = ""; suites = ""
        n = split($0, lines, "\n")
        for (i = 1; i <= n; i++) {
          l = lines[i]
          if (l ~ /^Types:/) types = " " substr(l, 7) " "
          else if (l ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", l); uris = l }
          else if (l ~ /^Suites:/) suites = " " substr(l, 8) " "
        }
        if (types ~ /[ \t]deb[ \t]/ && index(suites, " " s " ")) { split(uris, u, " "); print u[1] }
      }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v s="$1" '$1 == "deb" {
        i = 2
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == s) print $i
      }' "$f"
  done
}

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
              DEBIAN_FRONTEND=noninteractive HOME=/root "$@"; }
as_user() { chroot --userspec=tester:tester "$root" env -i HOME=/home/tester USER=tester \
              LOGNAME=tester PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 bash -c "$1"; }
packages() { in_root dpkg-query -W -f='${Package}\n' | sort; }
dev_of() { grep -E -- '-dev($|-)' || true; }

work="$(mktemp -d "${TMPDIR:-/var/tmp}/theater-package-test.XXXXXX")"

# 1. The package.
step "1 package (scripts/package.sh)"
if [ -z "$deb" ]; then
  args=(--out "$work")
  [ -z "$build_dir" ] || args+=(--build-dir "$build_dir")
  "$repo/scripts/package.sh" "${args[@]}" >"$work/package.log" 2>&1 ||
    { cat "$work/package.log" >&2; fail "scripts/package.sh failed (above)"; }
  deb="$(tail -n1 "$work/package.log")"
  [ -f "$deb" ] || { cat "$work/package.log" >&2; fail "scripts/package.sh made no .deb"; }
fi
deb_name="$(basename "$deb")"
echo "package_test: $deb_name, $(du -h "$deb" | cut -f1)"
dpkg-deb -f "$deb" Recommends | grep -q . &&
  fail "the package has Recommends; the test's -dev check assumes it has none"

# 2. A fresh Debian 12.
step "2 debootstrap --variant=minbase bookworm"
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap \
    >/dev/null || fail "could not install debootstrap"
fi
mirror="${MIRROR:-$(host_mirror bookworm | sed -n 1p)}"
mirror="${mirror:-http://deb.debian.org/debian}"
security="$(host_mirror bookworm-security | sed -n 1p)"
security="${security:-http://deb.debian.org/debian-security}"
root="$work/root"
echo "package_test: mirror $mirror, security $security"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; fail "debootstrap failed (above)"; }
# What an installed Debian 12 fetches from: the release, its updates and security updates.
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp "$deb" "$root/tmp/$deb_name"

# 3. What the install would bring, with Recommends and without.
step "3 apt-get update, and what the install would pull"
in_root apt-get update -qq >"$work/update.log" 2>&1 ||
  { cat "$work/update.log" >&2; fail "apt-get update failed in the root"; }
packages >"$work/before.txt"
for mode in default no-recommends; do
  opt=()
  [ "$mode" = default ] || opt=(--no-install-recommends)
  in_root sh -c "cd /tmp && apt-get install -s ${opt[*]:-} ./$deb_name" \
    >"$work/sim-$mode.txt" 2>&1 ||
    { cat "$work/sim-$mode.txt" >&2; fail "apt-get cannot install $deb_name (simulated, $mode)"; }
  awk '/^Inst / {print $2}' "$work/sim-$mode.txt" | sort >"$work/pull-$mode.txt"
  in_root sh -c "cd /tmp && apt-get install --assume-no ${opt[*]:-} ./$deb_name" \
    >"$work/size-$mode.txt" 2>&1 || true
  echo "package_test: apt-get install ${opt[*]:+${opt[*]} }./$deb_name:" \
    "$(grep -c . "$work/pull-$mode.txt") packages," \
    "$(sed -n 's/^Need to get \([^ ]* [kMG]*B\).*/\1 to fetch/p' "$work/size-$mode.txt")," \
    "$(sed -n 's/^After this operation, \([^ ]* [kMG]*B\).*/\1 installed/p' "$work/size-$mode.txt")"
  bad="$(grep -E "$build_only" "$work/pull-$mode.txt" || true)"
  [ -z "$bad" ] ||
    fail "apt-get install ($mode) would pull what only the command's build needs: $bad"
done
recommended_only="$(comm -23 "$work/pull-default.txt" "$work/pull-no-recommends.txt")"
others="$(grep -vcE -- '-dev($|-)|^$' <<<"$recommended_only" || true)"
echo "package_test: only through Recommends of the Depends (not the package's own):" \
  "$(dev_of <<<"$recommended_only" | tr '\n' ' ')(and $others others)"

# 4. The install, as the issue's user types it.
if [ "${RECOMMENDS:-0}" = 1 ]; then opt=(); else opt=(--no-install-recommends); fi
step "4 apt-get install -y ${opt[*]:+${opt[*]} }./$deb_name"
in_root sh -c "cd /tmp && apt-get install -y ${opt[*]:-} ./$deb_name" >"$work/install.log" 2>&1 ||
  { tail -n 40 "$work/install.log" >&2; fail "apt-get install failed (above)"; }
packages >"$work/after.txt"
comm -13 "$work/before.txt" "$work/after.txt" >"$work/new.txt"
echo "package_test: $(grep -c . "$work/new.txt") packages installed"
while read -r p; do
  if [ -n "${allowed_dev[$p]:-}" ]; then
    echo "package_test:   $p: ${allowed_dev[$p]}"
  elif [ "${RECOMMENDS:-0}" = 1 ] && grep -qx -- "$p" <<<"$recommended_only"; then
    echo "package_test:   $p: recommended by a dependency (not needed)"
  else
    fail "the install pulled $p, a -dev package the command does not need at run time"
  fi
done < <(dev_of <"$work/new.txt")
bad="$(grep -E "$build_only" "$work/new.txt" || true)"
[ -z "$bad" ] || fail "the install pulled what only the command's build needs: $bad"
in_root dpkg-query -W -f='${Status} ${Version}\n' theater | grep -q "install ok installed" ||
  fail "theater is not installed"
missing_libs="$(in_root ldd /usr/bin/theater | grep 'not found' || true)"
[ -z "$missing_libs" ] || fail "libraries missing for /usr/bin/theater: $missing_libs"
version="$(in_root theater --version)" || fail "theater --version failed"
echo "package_test: $version"

# 5. A C actor, as a plain user: create, build, run.
step "5 theater create + build + run of a C actor (as a plain user)"
in_root useradd -m -s /bin/bash tester
as_user 'cd ~ && theater create hello-c --lang c' >"$work/create-c.log" 2>&1 ||
  { cat "$work/create-c.log" >&2; fail "theater create hello-c --lang c failed"; }
as_user 'cd ~/hello-c && theater build' >"$work/build-c.log" 2>&1 ||
  { cat "$work/build-c.log" >&2; fail "theater build of hello-c failed"; }
[ -s "$root/home/tester/hello-c/hello-c.wasm" ] ||
  { cat "$work/build-c.log" >&2; fail "theater build wrote no hello-c.wasm"; }
as_user 'cd ~/hello-c && theater run manifest.toml' >"$work/run-c.log" 2>&1 ||
  { cat "$work/run-c.log" >&2; fail "theater run of hello-c failed"; }
grep -q '^\[hello-c\] Hello from hello-c (' "$work/run-c.log" ||
  { cat "$work/run-c.log" >&2; fail "theater run did not print the actor's log line"; }
grep -q '^chain verified: [0-9]* events, head [0-9a-f]*$' "$work/run-c.log" ||
  { cat "$work/run-c.log" >&2; fail "theater run did not print a verified chain"; }
grep -E '^(built|compiled|\[hello-c\]|chain verified)' "$work/build-c.log" "$work/run-c.log" |
  sed 's/^[^:]*:/package_test:   /'

# 6. A C++ actor (the wasm32 C++ library), and the fast tier (tcc).
step "6 a C++ actor, and the fast tier (tcc)"
as_user 'cd ~ && theater create hello-cpp --lang cpp && cd hello-cpp && theater build &&
         theater run manifest.toml' >"$work/run-cpp.log" 2>&1 ||
  { cat "$work/run-cpp.log" >&2; fail "create, build or run of a C++ actor failed"; }
grep -q '^\[hello-cpp\] Hello from hello-cpp (' "$work/run-cpp.log" &&
  grep -q '^chain verified: ' "$work/run-cpp.log" ||
  { cat "$work/run-cpp.log" >&2; fail "the C++ actor's run printed no log line or verified chain"; }
as_user 'cd ~/hello-c && theater compile --tier fast hello-c.wasm' >"$work/fast.log" 2>&1 ||
  { cat "$work/fast.log" >&2; fail "theater compile --tier fast (tcc) failed"; }
grep -q 'tcc' "$work/fast.log" ||
  { cat "$work/fast.log" >&2; fail "the fast tier did not use tcc"; }

# 7. The man page, the completions, the docs.
step "7 man page, completions, docs"
man_page="$root/usr/share/man/man1/theater.1.gz"
[ -f "$man_page" ] || fail "no man page at /usr/share/man/man1/theater.1.gz"
zcat "$man_page" | grep -q '^\.TH THEATER 1' || fail "theater.1.gz is not the theater man page"
in_root bash -c 'source /usr/share/bash-completion/completions/theater && complete -p theater' |
  grep -q '_theater' || fail "the bash completion does not define theater's completion"
head -n1 "$root/usr/share/zsh/vendor-completions/_theater" | grep -qx '#compdef theater' ||
  fail "no zsh completion at /usr/share/zsh/vendor-completions/_theater"
grep -q '^complete -c theater' "$root/usr/share/fish/vendor_completions.d/theater.fish" ||
  fail "no fish completion at /usr/share/fish/vendor_completions.d/theater.fish"
for f in README.md docs/cli.md docs/writing-actors.md docs/packaging.md; do
  [ -s "$root/usr/share/doc/theater/$f" ] || fail "no /usr/share/doc/theater/$f"
done
# --help's pointer to the reference: an absolute path it names must exist.
help_paths="$(in_root theater --help | grep -oE '(^|[[:space:]`"(])/[^[:space:]`"(),;]*\.md' |
              sed 's|^[^/]*||' || true)"
if [ -n "$help_paths" ]; then
  for p in $help_paths; do
    [ -f "$root$p" ] || fail "theater --help names $p, which the package does not install"
    echo "package_test: --help names $p: present"
  done
else
  echo "package_test: note: theater --help names no installed docs path yet" \
    "(the package's is /usr/share/doc/theater/docs/cli.md)"
fi

# 8. Removing it leaves nothing of it.
step "8 apt-get purge theater"
in_root apt-get purge -y theater >"$work/purge.log" 2>&1 ||
  { cat "$work/purge.log" >&2; fail "apt-get purge theater failed"; }
for p in /usr/bin/theater /usr/share/doc/theater /usr/share/man/man1/theater.1.gz; do
  [ ! -e "$root$p" ] || fail "$p is left after apt-get purge"
done

step ""
echo "package_test: PASS ($deb_name). Times:"
total=0
for i in "${!names[@]}"; do
  printf 'package_test:   %6s s  %s\n' "${times[$i]}" "${names[$i]}"
  total=$(awk -v a="$total" -v b="${times[$i]}" 'BEGIN {print a + b}')
done
printf 'package_test:   %6s s  in all\n' "$total"
