// Theater: a WebAssembly actor runtime.
#include "common/wal_checkpointer.h"

#include <pthread.h>
#include <sqlite3.h>
#include <algorithm>

namespace theater::sqlite {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(
    const std::filesystem::path& path, Connection& writer, const ConnectionSettings& settings,
    Options options) {
  options.checkpoint_pages = std::max(options.checkpoint_pages, 1);
  options.max_pages = std::max(options.max_pages, options.checkpoint_pages);
  std::unique_ptr<WalCheckpointer> checkpointer(new WalCheckpointer(writer, options));
  THEATER_RETURN_IF_ERROR(checkpointer->own_.Open(path, settings.busy_timeout_ms));
  THEATER_RETURN_IF_ERROR(checkpointer->own_.Exec(SynchronousPragma(settings.durability)));
  sqlite3_wal_hook(writer.get(), &WalCheckpointer::OnWalCommit, checkpointer.get());
  WalCheckpointer* self = checkpointer.get();
  checkpointer->thread_ = std::thread([self] {
    pthread_setname_np(pthread_self(), self->options_.thread_name);
    self->Loop();
  });
  return checkpointer;
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (writer_.get() != nullptr) sqlite3_wal_hook(writer_.get(), nullptr, nullptr);
}

int WalCheckpointer::OnWalCommit(void* self, sqlite3* /*db*/, const char* /*name*/, int pages) {
  static_cast<WalCheckpointer*>(self)->log_pages_.store(pages, std::memory_order_relaxed);
  return SQLITE_OK;
}

void WalCheckpointer::AfterCommit() {
  const int pages = log_pages_.load(std::memory_order_relaxed);
  if (pages >= options_.max_pages) {
    // RESTART waits (busy timeout) for a running checkpoint and for readers of older snapshots;
    // after it the next commit starts the log from its beginning again.
    int log = 0;
    int copied = 0;
    if (sqlite3_wal_checkpoint_v2(writer_.get(), nullptr, SQLITE_CHECKPOINT_RESTART, &log,
                                  &copied) == SQLITE_OK) {
      log_pages_.store(0, std::memory_order_relaxed);
      forced_.fetch_add(1, std::memory_order_relaxed);
      checkpoints_.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
  if (pages >= options_.checkpoint_pages) {
    {
      std::lock_guard lock(mu_);
      wanted_ = true;
    }
    wake_.notify_one();
  }
}

void WalCheckpointer::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return wanted_ || stop_; });
    if (stop_) return;
    wanted_ = false;
    lock.unlock();
    // PASSIVE copies what it can without waiting for readers or writers. An error (SQLITE_BUSY
    // while another checkpoint runs) only postpones the work to the next request.
    int log = 0;
    int copied = 0;
    if (sqlite3_wal_checkpoint_v2(own_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log,
                                  &copied) == SQLITE_OK) {
      checkpoints_.fetch_add(1, std::memory_order_relaxed);
    }
    lock.lock();
  }
}

}  // namespace theater::sqlite
