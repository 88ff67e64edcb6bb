// Theater: a WebAssembly actor runtime.
//
// CompileWatchers: the watchers of one engine's compiles (Engine::WatchCompiles). A compile's
// ProgressLine reports to Tell(); every watcher registered at that moment hears it.
//
// Thread-safety: every method may be called from any thread. Tell() calls the watchers under the
// registry's lock, so a watch that ends (Remove) waits for a call in progress; a watcher must not
// add or remove watches from inside its function.
// Ownership: shared (shared_ptr) by the engine, its compilers' options and each CompileWatch, so
// a watch may outlive the engine.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "theater/compile_progress.h"

namespace theater::engine {

class CompileWatchers : public std::enable_shared_from_this<CompileWatchers> {
 public:
  // Registers `observer` until the returned watch is destroyed.
  CompileWatch Add(CompileObserver observer);
  // Whether anyone watches: a compile with nobody to tell builds no reports.
  bool any() const { return count_.load(std::memory_order_relaxed) > 0; }
  void Tell(const CompileProgress& progress);
  // A new compile's id (CompileProgress::compile_id).
  uint64_t NextCompileId() { return next_compile_id_.fetch_add(1, std::memory_order_relaxed) + 1; }

 private:
  void Remove(uint64_t id);

  std::mutex mutex_;
  std::map<uint64_t, CompileObserver> observers_;  // guarded by mutex_
  uint64_t next_id_ = 0;                           // guarded by mutex_
  std::atomic<size_t> count_{0};
  std::atomic<uint64_t> next_compile_id_{0};
};

}  // namespace theater::engine
