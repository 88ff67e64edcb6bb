// Theater: a WebAssembly actor runtime.
//
// WalCheckpointer: checkpoints a WAL-mode SQLite database in the background for one writing
// connection, so that the writer's commits only append to the log. Committing appends to the
// write-ahead log; copying the log back into the database (and, unless Durability::kNone, syncing
// both) is a checkpoint. SQLite's automatic checkpoint runs it inside the commit that crosses its
// threshold, so whoever waits for that commit waits for the syncs too. Here a thread of its own,
// on a connection of its own, runs a PASSIVE checkpoint (it waits for nobody) whenever a commit
// leaves more than Options::checkpoint_pages pages in the log. When the log still grows past
// Options::max_pages (readers keep old snapshots, the disk cannot keep up), the writer's
// AfterCommit() waits for a complete (RESTART) checkpoint instead: writers slow down rather than
// the log growing without bound.
//
// Used by both stores' group-commit writers (common/group_commit.h); docs/persistence.md.
//
// Thread-safety: AfterCommit() is called by the writing connection's one committer at a time;
// the hook runs on that committer inside its commits. Construction and destruction by the owner
// while the writer is idle.
//
// Ownership: owns its connection and thread; borrows the writing connection, whose hook it sets
// and clears, and which must outlive it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "common/sqlite_util.h"
#include "theater/status.h"

namespace theater::sqlite {

class WalCheckpointer {
 public:
  struct Options {
    int checkpoint_pages = 2048;  // log pages after a commit that ask for a background checkpoint
    int max_pages = 8000;         // log pages after a commit that make the writer checkpoint
    const char* thread_name = "theater-ckpt";  // at most 15 characters
  };

  // Opens a connection of its own to `path` (with `settings`: a checkpoint syncs as its
  // connection's `synchronous` says), installs the log hook on `writer` (replacing SQLite's
  // automatic checkpoints on that connection) and starts the thread.
  static Result<std::unique_ptr<WalCheckpointer>> Start(const std::filesystem::path& path,
                                                        Connection& writer,
                                                        const ConnectionSettings& settings,
                                                        Options options);
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;
  // Stops the thread and removes the hook.
  ~WalCheckpointer();

  // After each commit on the writing connection, by its committer, still holding the write path
  // (nothing else appends meanwhile): wakes the thread, or checkpoints itself when the log is
  // past max_pages. A failed checkpoint (its busy timeout expired) is tried again after the next
  // commit.
  void AfterCommit();

  uint64_t checkpoints() const { return checkpoints_.load(std::memory_order_relaxed); }
  uint64_t forced() const { return forced_.load(std::memory_order_relaxed); }

 private:
  WalCheckpointer(Connection& writer, Options options) : writer_(writer), options_(options) {}
  static int OnWalCommit(void* self, sqlite3* db, const char* name, int pages);
  void Loop();

  Connection& writer_;
  const Options options_;
  Connection own_;
  std::atomic<int> log_pages_{0};  // pages in the log after the writer's last commit
  std::atomic<uint64_t> checkpoints_{0};
  std::atomic<uint64_t> forced_{0};  // complete checkpoints the writer waited for
  std::mutex mu_;
  std::condition_variable wake_;
  bool wanted_ = false;  // guarded by mu_
  bool stop_ = false;    // guarded by mu_
  std::thread thread_;
};

}  // namespace theater::sqlite
