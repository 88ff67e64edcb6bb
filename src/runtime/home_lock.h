// Theater: a WebAssembly actor runtime.
//
// HomeLock: an exclusive advisory lock (flock) held for a runtime's lifetime, so that two
// servers never share one home: the second would find every chain write failing on the first
// one's database and run actors with nothing saved.
//
// The lock is on the home directory itself (opened O_DIRECTORY), not on a file in it: a file can
// be deleted or replaced while its holder runs, and a second server would then lock the new file
// and start; the directory cannot be swapped out from under the descriptor that holds it (the
// path renamed away takes the database with it). <home>/lock is still written with the holder's
// pid, and also locked, so that an older server (which locks only that file) and this one exclude
// each other too. The refusal names the holder from the kernel's table of locks (/proc/locks),
// which no one can delete, and from the file only when the table does not say.
// The kernel drops both locks when the holder exits, however it exits.
//
// Thread-safety: none needed; created once and destroyed once.
// Ownership: owns the descriptors of the home directory and of the lock file.
#pragma once

#include <filesystem>
#include <memory>

#include "theater/status.h"

namespace theater::runtime {

class HomeLock {
 public:
  // Takes the lock, creating <home> and <home>/lock as needed. kFailedPrecondition naming the
  // holder's pid when another process (or another runtime of this one) holds it.
  [[nodiscard]] static Result<std::unique_ptr<HomeLock>> Acquire(const std::filesystem::path& home);
  ~HomeLock();
  HomeLock(const HomeLock&) = delete;
  HomeLock& operator=(const HomeLock&) = delete;

 private:
  HomeLock(int dir_fd, int file_fd) : dir_fd_(dir_fd), file_fd_(file_fd) {}
  int dir_fd_;
  int file_fd_;
};

}  // namespace theater::runtime
