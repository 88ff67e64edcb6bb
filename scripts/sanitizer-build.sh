#!/usr/bin/env bash
# Configures and builds the sanitizer build in build-asan: clang-14 at -O0 with AddressSanitizer,
# UndefinedBehaviorSanitizer and libFuzzer's coverage, the test suite, and the fuzz targets
# (fuzz/, put in build-asan/fuzz/). scripts/test.sh runs its tests; scripts/fuzz.sh its targets.
# Usage: scripts/sanitizer-build.sh [target...]   (default: theater_test_needs, what the tests and
#        the fuzz targets run or load: every executable and guest module, not the header check;
#        cmake/TheaterHelpers.cmake, theater_add_test_needs)
#
# Why one build for both: the fuzz targets link the project's own libraries (manifest, runtime,
# server, ...), which must carry the sanitizers and the coverage; compiling the project a second
# time with clang for them would double the longest part of the test run. Clang at -O0 compiles
# this build in half the time GCC takes with the sanitizers on, and the sanitizers, not speed, are
# the point of it (longer fuzz campaigns: see docs/security.md). Line tables are all the
# sanitizers' reports need, and lld links the instrumented executables several times faster.
# The project's libraries are shared objects here: statically linked, each of the ~80 test and
# fuzz executables carried its own instrumented copy of them (about 190 MB each, 17 GB in all,
# which ran a CI machine out of disk); shared, the whole build takes about 3 GB. The libraries
# compile as a few combined files each (THEATER_UNITY_BUILD, as the release build of
# scripts/test.sh); the few files whose loops the tests run over megabytes compile at -O1
# (theater_hot_under_sanitizers in cmake/TheaterHelpers.cmake). The tests of the command's own
# commands (THEATER_CLI_COMMAND_TESTS) are left out: they run `theater` in child processes, and
# what they reach beyond the command's own code the in-process tests cover (docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build-asan
if [ ! -f "$BUILD_DIR/build.ninja" ] || ! grep -q '^THEATER_BUILD_FUZZ:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" ||
   ! grep -q '^BUILD_SHARED_LIBS:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" ||
   ! grep -q '^THEATER_CLI_COMMAND_TESTS:BOOL=OFF' "$BUILD_DIR/CMakeCache.txt"; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD_DIR" -G Ninja -DTHEATER_SANITIZE=ON \
    -DTHEATER_BUILD_FUZZ=ON -DTHEATER_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only -DCMAKE_C_FLAGS_DEBUG=-gline-tables-only \
    -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld \
    -DBUILD_SHARED_LIBS=ON -DTHEATER_UNITY_BUILD=ON -DTHEATER_CLI_COMMAND_TESTS=OFF
fi
targets=()
[ $# -gt 0 ] || set -- theater_test_needs
for target in "$@"; do targets+=(--target "$target"); done
cmake --build "$BUILD_DIR" -j "$(nproc)" "${targets[@]}"
