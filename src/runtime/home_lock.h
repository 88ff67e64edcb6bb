// Theater: a WebAssembly actor runtime.
//
// HomeLock: an exclusive advisory lock (flock) on <home>/lock, held for a runtime's lifetime, so
// that two servers never share one home: the second would find every chain write failing on the
// first one's database and run actors with nothing saved. The file records the holder's pid for
// the refusal message; the kernel drops the lock when the holder exits, however it exits.
//
// Thread-safety: none needed; created once and destroyed once.
// Ownership: owns the lock file's descriptor.
#pragma once

#include <filesystem>
#include <memory>

#include "theater/status.h"

namespace theater::runtime {

class HomeLock {
 public:
  // Takes the lock, creating <home> and <home>/lock as needed. kFailedPrecondition naming the
  // holder's pid when another process holds it.
  [[nodiscard]] static Result<std::unique_ptr<HomeLock>> Acquire(const std::filesystem::path& home);
  ~HomeLock();
  HomeLock(const HomeLock&) = delete;
  HomeLock& operator=(const HomeLock&) = delete;

 private:
  explicit HomeLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace theater::runtime
