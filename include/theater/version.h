// Theater: a WebAssembly actor runtime.
//
// The release version of this build and the commit it was built from.
#pragma once

#include <string_view>

namespace theater {

inline constexpr std::string_view kVersion = "0.1.0";

// The git commit of the source tree this binary was built from (12 hex digits, "-dirty" when
// tracked files had changes), or "unknown" when it was not built from a git checkout. Defined in
// the library theater_build_info, generated at each build (cmake/BuildInfo.cmake).
std::string_view BuildCommit();

}  // namespace theater
