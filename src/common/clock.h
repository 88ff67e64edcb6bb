// Theater: a WebAssembly actor runtime.
//
// The two clocks every area reads: wall-clock milliseconds (what chains and guests see) and
// steady nanoseconds (deadlines and latencies). Stateless; safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace theater {

// Milliseconds since the Unix epoch.
inline uint64_t WallClockMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Nanoseconds since the Unix epoch (what WASI's wall clocks report).
inline uint64_t WallClockNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Steady-clock nanoseconds (monotonic; only differences mean anything).
inline int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace theater
