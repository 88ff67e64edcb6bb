// Theater: a WebAssembly actor runtime.
//
// The spawn shim's executable (common/spawn_shim.c), embedded at build time
// (cmake/EmbedFiles.cmake) so that the host can run it from a memfd without anything installed
// next to it. One entry: {"theater_spawn_shim", <the ELF file>}.
//
// Thread-safety: constant data.
#pragma once

#include <span>
#include <string_view>

namespace theater {

struct EmbeddedShimFile {
  std::string_view name;
  std::string_view contents;
};

std::span<const EmbeddedShimFile> EmbeddedSpawnShim();

}  // namespace theater
