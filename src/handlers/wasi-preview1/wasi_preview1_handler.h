// Theater: a WebAssembly actor runtime.
//
// The wasi-preview1 handler as a unit: the few `wasi_snapshot_preview1` functions wasi-libc
// reactors import (README.md lists them), served as core-ABI host functions. Everything else
// about it is private to its folder.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "theater/handler.h"

namespace theater::handlers {

// The handler's prototype; activated for every core module importing wasi_snapshot_preview1.
std::unique_ptr<Handler> NewWasiPreview1Handler();

// The functions it serves, by name: what a guest may import from wasi_snapshot_preview1.
std::vector<std::string> WasiPreview1Functions();

}  // namespace theater::handlers
