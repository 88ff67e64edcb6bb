// Theater: a WebAssembly actor runtime.
//
// StressCount: how many times a stress test repeats what it checks, in the build it runs in. A
// stress test's volume (a hundred thousand messages, ten thousand suspended calls) is what proves
// a release-build property: order under load, memory and speed bounds. Under the sanitizers each
// instruction costs several times as much and those bounds are not checked; what the sanitizer
// build is for is the code paths, and a tenth of the volume runs every one of them. So the
// sanitizer build runs a tenth (never less than one), and the release build the whole count.
// Test-only; header-only; a pure function.
#pragma once

#include "common/sanitizers.h"

namespace theater::testing_util {

// The count a stress test uses: `release_count` in a release build, a tenth of it (at least 1)
// under AddressSanitizer.
constexpr int StressCount(int release_count) {
  if (!THEATER_ADDRESS_SANITIZER) return release_count;
  return release_count >= 10 ? release_count / 10 : 1;
}

}  // namespace theater::testing_util
