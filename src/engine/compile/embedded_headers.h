// Theater: a WebAssembly actor runtime.
//
// The wasm2c runtime headers (wasm-rt.h, shim_abi.h) as they were when Theater was built.
// Generated C is compiled against exactly these bytes, and they are part of the compile cache
// key, so a compiled module always matches the runtime linked into the host binary; the source
// tree is never read at run time. The contents are generated into the build tree by
// cmake/EmbedFiles.cmake whenever the headers change.
//
// Thread-safety: immutable static data, readable from any thread.
#pragma once

#include <span>
#include <string_view>

#include "common/embedded_file.h"

namespace theater::engine {

// The runtime headers, in a fixed order.
std::span<const EmbeddedFile> EmbeddedRuntimeHeaders();

}  // namespace theater::engine
