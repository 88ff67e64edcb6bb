// Theater: a WebAssembly actor runtime.
//
// The operating system's cryptographically secure random bytes (OpenSSL's OS-seeded CSPRNG):
// the one place the host draws unpredictable bytes from (UUIDs, WASI random, the random handler).
//
// Thread-safety: safe from any thread.
#pragma once

#include <cstdint>
#include <span>

#include "theater/status.h"

namespace theater {

// Fills `out`; kInternal when the generator fails (no entropy).
[[nodiscard]] Status FillOsEntropy(std::span<uint8_t> out);

}  // namespace theater
