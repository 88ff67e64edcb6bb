// Theater: a WebAssembly actor runtime.
//
// The dashboard's web files (src/dashboard/web) as they were at build time, so that the server
// serves them without a source tree, a network fetch or a CDN.
//
// Thread-safety: immutable static data.
#pragma once

#include <span>
#include <string_view>

#include "common/embedded_file.h"

namespace theater::dashboard {

// One flat folder: a file is found by its name alone (FindEmbeddedFile).
std::span<const EmbeddedFile> EmbeddedDashboardFiles();

}  // namespace theater::dashboard
