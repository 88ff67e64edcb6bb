// Theater: a WebAssembly actor runtime.
//
// Small helpers the benchmark programs share: their command line, wall time in seconds, the CPU
// time the whole process (every thread) has used, which moves less with the neighbours on a
// shared machine than wall time does, and the bytes the allocator has handed out.
#pragma once

#include <dlfcn.h>
#include <malloc.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace theater::bench {

using Clock = std::chrono::steady_clock;

// Parses a benchmark's command line with CLI11, the parser the `theater` command uses: --help
// lists the options; an unknown option or a bad value prints what is wrong and exits with 2.
inline void ParseCommandLine(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e) == 0 ? 0 : 2);
  }
}

// An argument the parser accepted but the benchmark cannot use: says so and exits with 2.
[[noreturn]] inline void UsageError(const std::string& program, const std::string& why) {
  std::fprintf(stderr, "%s: %s (try --help)\n", program.c_str(), why.c_str());
  std::exit(2);
}

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

// Bytes the allocator has handed out and not had back: tcmalloc's own count when the program
// runs on it (THEATER_MALLOC; its malloc replaces glibc's, whose mallinfo2 would then report an
// unused arena), glibc's otherwise.
inline size_t HeapBytesInUse() {
  using GetProperty = int (*)(const char*, size_t*);
  static const auto get_property =
      reinterpret_cast<GetProperty>(::dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty"));
  size_t bytes = 0;
  if (get_property != nullptr && get_property("generic.current_allocated_bytes", &bytes) != 0) {
    return bytes;
  }
  return mallinfo2().uordblks;
}

}  // namespace theater::bench
