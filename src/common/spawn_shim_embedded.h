// Theater: a WebAssembly actor runtime.
//
// The spawn shim's executable (common/spawn_shim.c), embedded at build time
// (cmake/EmbedFiles.cmake) so that the host can run it from a memfd without anything installed
// next to it. One entry: {"theater_spawn_shim", <the ELF file>}.
//
// Thread-safety: constant data.
#pragma once

#include <span>

#include "common/embedded_file.h"

namespace theater {

std::span<const EmbeddedFile> EmbeddedSpawnShim();

}  // namespace theater
