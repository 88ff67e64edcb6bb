// Theater: a WebAssembly actor runtime.
//
// Small helpers the benchmark programs share: wall time in seconds and the CPU time the whole
// process (every thread) has used, which moves less with the neighbours on a shared machine than
// wall time does.
#pragma once

#include <sys/resource.h>

#include <chrono>

namespace theater::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// User plus system CPU seconds of every thread of this process so far.
inline double ProcessCpuSeconds() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace theater::bench
