// Theater: a WebAssembly actor runtime.
//
// Watching directories for files that change (Linux inotify): what `theater dev` rebuilds on.
// A directory is watched by itself, not its subdirectories (Watch each one wanted). What counts
// as a change is what an editor's save amounts to, however it saves: a file written and closed,
// created, deleted, or renamed into or out of the directory (many editors write a new file and
// rename it over the old one).
//
// Thread-safety: one thread uses a watcher at a time. Ownership: it owns its inotify descriptor,
// closed when it is destroyed.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include "theater/status.h"

namespace theater {

class FileWatcher {
 public:
  // Errors: the kernel refused an inotify instance (kUnavailable: too many, or not Linux).
  [[nodiscard]] static Result<std::unique_ptr<FileWatcher>> Create();
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Watches `dir` (a directory; watching one twice is one watch). Errors: it is not a readable
  // directory, or the user's inotify watch limit is reached (named, with the sysctl to raise).
  [[nodiscard]] Status Watch(const std::filesystem::path& dir);

  // Waits up to `timeout` for a change, then returns the paths that changed by then (each
  // once, in the order first seen; empty when none did). Errors: reading the descriptor failed,
  // or the kernel's queue overflowed (kResourceExhausted: changes were lost, so the caller
  // should treat everything as changed).
  [[nodiscard]] Result<std::vector<std::filesystem::path>> Wait(std::chrono::milliseconds timeout);

  // Forgets changes already queued (those a build just made, say).
  void Discard();

 private:
  explicit FileWatcher(int fd) : fd_(fd) {}
  int fd_;
  std::map<int, std::filesystem::path> dirs_;  // watch descriptor -> directory
};

}  // namespace theater
