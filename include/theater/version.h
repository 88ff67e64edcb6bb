// Theater: a WebAssembly actor runtime.
//
// The release version of this build.
#pragma once

#include <string_view>

namespace theater {

inline constexpr std::string_view kVersion = "0.1.0";

}  // namespace theater
