// Theater: a WebAssembly actor runtime.
//
// The theater:simple WIT files (the repository's wit/ directory) as they were at build time. The
// host types every import it serves and every export it calls from this package, so the
// signatures the runtime enforces are exactly the published ones.
//
// Thread-safety: immutable static data.
#pragma once

#include <span>
#include <string_view>

#include "common/embedded_file.h"

namespace theater::runtime {

std::span<const EmbeddedFile> EmbeddedTheaterWit();

}  // namespace theater::runtime
