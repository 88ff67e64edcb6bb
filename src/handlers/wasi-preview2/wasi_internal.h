// Theater: a WebAssembly actor runtime.
//
// What the parts of the WASI preview-2 host (wasi_preview2.cc: cli, io, clocks, random;
// wasi_filesystem.cc: filesystem; wasi_http_*.cc: http) share. Private to this folder.
#pragma once

#include <cstdint>
#include <string_view>

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

// The index of the case named `name` (ASCII case ignored) of a variant type: wasi:http's
// variants are answered in the component's own numbering (wasi_http_types.cc).
Result<uint32_t> CaseIndex(const abi::Type* variant, std::string_view name);

}  // namespace theater::handlers::wasi_internal
