#!/usr/bin/env bash
# Makes the Debian package of the `theater` command, theater_<version>_<arch>.deb: the command
# (/usr/bin/theater, without debug sections), its man page, its bash, zsh and fish completions
# and the docs (/usr/share/doc/theater: README.md and docs/), as the install rules of
# src/cli/CMakeLists.txt lay them out (`cmake --install`), packed with dpkg-deb. Its Depends are
# the libraries the command links (from dpkg-shlibdeps) and the tools it runs (wabt, tcc, gcc,
# clang-14, ...: docs/packaging.md says why each). Install the result with `apt-get install ./theater_*.deb`;
# tests/package/package_test.sh does that on a fresh Debian 12.
#
#   scripts/package.sh                    build the command alone (scripts/build-command.sh, in
#                                         build-run/) and package it into build-run/
#   scripts/package.sh --build-dir DIR    package the `theater` an existing CMake build directory
#                                         has built (any build type), into DIR
#   scripts/package.sh --out DIR          write the .deb into DIR instead
#   scripts/package.sh --help
#
# Needs dpkg-dev (dpkg-shlibdeps) and, without --build-dir, what scripts/install-deps.sh --run
# installs. Prints the .deb's path as its last line.
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "package: error: $*" >&2; exit 1; }

root="$(cd "$(dirname "$0")/.." && pwd)"
build_dir=""
out_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) [ $# -ge 2 ] || die "--build-dir needs a directory"; build_dir=$2; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out_dir=$2; shift 2 ;;
    --out=*) out_dir=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "package: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

for tool in dpkg-deb dpkg-shlibdeps cmake gzip strip; do
  command -v "$tool" >/dev/null ||
    die "$tool not found (Debian: apt-get install dpkg-dev cmake gzip binutils)"
done

if [ -z "$build_dir" ]; then
  "$root/scripts/build-command.sh"
  build_dir="$root/build-run"
fi
[ -d "$build_dir" ] || die "no build directory $build_dir"
build_dir="$(cd "$build_dir" && pwd)"
[ -f "$build_dir/CMakeCache.txt" ] || die "$build_dir is not a CMake build directory"
binary="$build_dir/src/cli/theater"
[ -x "$binary" ] ||
  die "$binary is not built (build it: cmake --build $build_dir --target theater)"
out_dir="${out_dir:-$build_dir}"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"

# A build directory configured before the install rules for the man page, completions and docs
# existed installs only the command: configure it again (this builds nothing).
if ! grep -q 'completions.cmake' "$build_dir/src/cli/cmake_install.cmake" 2>/dev/null; then
  echo "package: configuring $build_dir again for the install rules"
  cmake "$build_dir" >/dev/null
fi

# The man page must describe every command `theater --help` lists: each is the first word of
# the line after a .TP in it.
man_commands="$(awk 'tp {sub(/^\.[A-Z]+ /, ""); gsub(/"/, ""); gsub(/\\-/, "-"); print $1}
                     {tp = ($0 == ".TP")}' "$root/packaging/theater.1")"
missing=()
while read -r command; do
  grep -qx -- "$command" <<<"$man_commands" || missing+=("$command")
done < <("$binary" --help | awk '/^[A-Z][a-z ]*:$/ && $0 != "Options:" {g = 1; next}
                                g && /^  [a-z]/ {print $1}')
[ ${#missing[@]} -eq 0 ] ||
  die "packaging/theater.1 does not describe: ${missing[*]} (add them as --help groups them)"

stage="$(mktemp -d "${TMPDIR:-/tmp}/theater-package.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
pkg="$stage/root"
DESTDIR="$pkg" cmake --install "$build_dir" --prefix /usr >"$stage/install.log" ||
  { cat "$stage/install.log" >&2; die "cmake --install failed"; }
# No debug sections or compiler notes, but the symbol table stays (6.5 MB installed, 0.4 MB in
# the .deb): a crash's stack lines (`theater(+0x1d2e4f)`) are named with `addr2line -f -C -e
# $(command -v theater) 0x1d2e4f` on the installed command, as docs/cli.md says.
strip --strip-debug --remove-section=.comment --remove-section=.note "$pkg/usr/bin/theater"

# Debian's places: man pages gzipped, zsh's completions where Debian's zsh looks for a package's.
gzip -9n "$pkg/usr/share/man/man1/theater.1"
mkdir -p "$pkg/usr/share/zsh/vendor-completions"
mv "$pkg/usr/share/zsh/site-functions/_theater" "$pkg/usr/share/zsh/vendor-completions/_theater"
rmdir "$pkg/usr/share/zsh/site-functions"
find "$pkg" -type d -exec chmod 0755 {} +
find "$pkg" -type f -exec chmod 0644 {} +
chmod 0755 "$pkg/usr/bin/theater"

version_line="$("$pkg/usr/bin/theater" --version)"  # theater 0.1.0 (commit 3ceabac53215)
version="$(echo "$version_line" | awk '{print $2}')"
commit="$(echo "$version_line" | sed -n 's/.*(commit \(.*\)).*/\1/p')"
[[ "$version" =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "no version in '$version_line'"
arch="$(dpkg --print-architecture)"

# The libraries the command links, with the versions its symbols need, from the packages that
# ship them on this machine (the one it was built on).
mkdir -p "$stage/debian"
printf 'Source: theater\n\nPackage: theater\nArchitecture: any\n' >"$stage/debian/control"
shlibs="$(cd "$stage" && dpkg-shlibdeps -O -e root/usr/bin/theater 2>"$stage/shlibdeps.log")" ||
  { cat "$stage/shlibdeps.log" >&2; die "dpkg-shlibdeps failed"; }
shlibs="${shlibs#shlibs:Depends=}"
[ -n "$shlibs" ] || die "dpkg-shlibdeps found no libraries"

# The tools the command runs (docs/packaging.md, "Dependencies"): wasm2c and the C compilers of
# the compile cache (with the C library's headers and libm the translated modules need), and
# clang-14 with the wasm32-wasi sysroot, compiler runtime and C++ library that `theater build`
# compiles C and C++ actors with.
tools="wabt, tcc, gcc, libc6-dev, clang-14, lld-14, wasi-libc, libclang-rt-14-dev-wasm32,"
tools+=" libc++-14-dev-wasm32, libc++abi-14-dev-wasm32"
# Only for other kinds of actor or deployment: JavaScript and TypeScript (Node.js), Rust
# (cargo, with wasm32's std), a lattice (a NATS server), `make bindings` in a C project.
suggests="nodejs, npm, cargo, rustc, libstd-rust-dev-wasm32, nats-server, make"

# The maintainer: $DEBFULLNAME <$DEBEMAIL>, else the repository's git identity.
name="${DEBFULLNAME:-$(git -C "$root" config user.name 2>/dev/null || echo Theater)}"
email="${DEBEMAIL:-$(git -C "$root" config user.email 2>/dev/null || echo theater@localhost)}"
maintainer="$name <$email>"
# A native package's changelog, as Debian's tools expect one: this build.
cat >"$stage/changelog" <<EOF
theater ($version) unstable; urgency=medium

  * Built from commit $commit.

 -- $maintainer  $(date -R)
EOF
gzip -9n <"$stage/changelog" >"$pkg/usr/share/doc/theater/changelog.gz"
chmod 0644 "$pkg/usr/share/doc/theater/changelog.gz"

installed_kb="$(du -sk --apparent-size "$pkg/usr" | cut -f1)"
mkdir -p "$pkg/DEBIAN"
cat >"$pkg/DEBIAN/control" <<EOF
Package: theater
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_kb
Depends: $shlibs, $tools
Suggests: $suggests
Section: devel
Priority: optional
Description: WebAssembly actor runtime and its command line
 Theater runs actors, WebAssembly components that each keep a verifiable,
 replayable chain of what they did. The theater command creates and builds
 actor projects (C and C++ with clang-14 for wasm32-wasi; JavaScript,
 TypeScript and Rust with the suggested tools), runs an actor in-process, and
 runs and drives the management server that hosts actors.
 .
 The package holds the command, its man page, bash, zsh and fish completions
 and the documentation (/usr/share/doc/theater).
 .
 Built from commit $commit.
EOF
(cd "$pkg" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/md5sums"

deb="$out_dir/theater_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "package: Depends: $shlibs, $tools"
files="$(dpkg-deb -c "$deb" | grep -vc '/$')"
echo "package: $(du -h "$deb" | cut -f1) ($files files, ${installed_kb} KiB installed)"
echo "$deb"
