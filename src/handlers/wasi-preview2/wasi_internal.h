// Theater: a WebAssembly actor runtime.
//
// What the two halves of the WASI preview-2 host (wasi_preview2.cc: cli, io, clocks, random;
// wasi_filesystem.cc: filesystem) share. Private to src/component.
#pragma once

#include <cstdint>

#include "theater/handler.h"
#include "theater/abi/value.h"
#include "theater/status.h"

namespace theater::handlers::wasi_internal {

// Bytes one random, read or write call may move: more is a guest asking the host to allocate
// without bound.
inline constexpr uint64_t kMaxTransfer = 1u << 20;

// The single result type of `import`.
Result<const abi::Type*> ResultType(const ComponentImport& import);

// err(closed) of a result<_, stream-error>.
Result<abi::Value> StreamClosed(const ComponentImport& import);

}  // namespace theater::handlers::wasi_internal
