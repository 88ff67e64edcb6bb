// Theater: a WebAssembly actor runtime.
//
// GroupCommit<Item>: the one group-commit writer of the runtime's SQLite stores (the chain store's
// events, the content store's synchronous writes and its pack index). Producers queue items and
// get a ticket, a strictly increasing number; a committer takes the oldest queued items as one
// batch and hands them to the store's commit function (one transaction, typically), in ticket
// order, so "ticket t is committed" implies every earlier ticket is too. Waiters learn that
// through WaitCommitted(t), Flush() or a WhenCommitted(t) callback.
//
// Why one: a commit costs mostly per page and per sync, not per row, so every store batches; and
// the rules around a batch (how long to hold a partial one, who commits, what a failure does to
// the waiters, how a close drains) are where such code goes wrong. Here they are written once.
//
// Who commits (Options::own_thread):
//   * a thread of its own (the chain store, the content store's index): producers do not wait,
//     and the thread commits what they queued;
//   * the waiters themselves (the content store's labels and stores): every producer waits for
//     its write, and whichever waiter finds nobody committing commits the oldest queued items,
//     its own among them. No thread hand-off per write.
//
// How long a partial batch waits for more:
//   * nobody waits for it: up to Options::hold after its oldest item arrived (a full batch, or
//     someone starting to wait, ends the hold at once);
//   * someone waits (always so for waiter-committed items): for up to Options::waited_window,
//     and only to reach as many items as the previous batch had plus one when items arrived
//     during that commit. So a lone writer never waits, and the batch grows only while
//     concurrent writers keep showing up.
//
// What a failed batch does (the commit function returns an error):
//   * Options::retry_after == 0: the writer stops for good. The error is kept, every queued item
//     is dropped, waiters and callbacks get the error, Enqueue fails from then on (the chain
//     store: nothing after a lost event can link to the chain any more).
//   * otherwise: the same batch is tried again after retry_after, alone; waiters meanwhile get
//     the error (error() reports it) until a retry succeeds (the content store's index: the
//     records are safe in their packs).
// A commit function that can settle each item's outcome itself (the content store's writes)
// records it in the item and returns OK.
//
// Queue entries are reused: a committed batch's entries go back to the queue as spent slots that
// Enqueue's `fill` overwrites, so an item type with buffers (an event's payload) stops
// allocating in the steady state. The commit function may shrink them (it gets them mutable).
//
// Thread-safety: every method may be called from any thread. `commit` runs on one committer at a
// time, without the queue's lock; `fill` runs under it (keep it to a copy); callbacks run on the
// committer after the batch, outside the lock, in ticket order, and must be quick.
//
// Ownership: owns its queue and, with own_thread, its thread; Close() (or the destructor) commits
// what is queued (unless the writer has failed) and stops the thread. The commit function's
// state (a connection, statements) belongs to the caller and must outlive Close().
#pragma once

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "theater/status.h"

namespace theater {

struct GroupCommitOptions {
  // What the store is called in errors ("chain store": "chain store is closed").
  std::string name = "store";
  std::string item_noun = "items";  // what an item is, in errors ("committing 3 events")
  // Items queued and not yet taken before Enqueue blocks (at least 1). Blocking slows producers
  // down instead of letting memory grow without bound.
  size_t max_queue = std::numeric_limits<size_t>::max();
  size_t max_batch = 1024;  // items per commit at most (at least 1)
  // Bytes per commit at most, by `weigh` (a batch always takes at least one item).
  size_t max_batch_bytes = std::numeric_limits<size_t>::max();
  std::chrono::microseconds hold{0};           // see the header comment
  std::chrono::microseconds waited_window{0};  // see the header comment
  std::chrono::milliseconds retry_after{0};    // 0: a failed batch stops the writer (own_thread only)
  bool own_thread = true;                      // false: waiters commit
  const char* thread_name = "theater-commit";  // at most 15 characters
  // Spent entries kept beyond the last batch for their buffers.
  size_t spare_entries = 1024;
};

template <typename Item>
class GroupCommit {
 public:
  // Commits `batch` (the oldest queued items, in ticket order); OK or the batch's error.
  using CommitFn = std::function<Status(std::span<Item> batch)>;
  // An item's weight against max_batch_bytes.
  using WeighFn = std::function<size_t(const Item&)>;

  struct Stats {
    uint64_t enqueued = 0;
    uint64_t committed = 0;  // items in committed batches
    uint64_t batches = 0;    // batches committed
    uint64_t failures = 0;   // batches whose commit failed
  };

  GroupCommit(GroupCommitOptions options, CommitFn commit, WeighFn weigh = nullptr)
      : options_(std::move(options)), commit_(std::move(commit)), weigh_(std::move(weigh)) {
    options_.max_queue = std::max<size_t>(options_.max_queue, 1);
    options_.max_batch = std::max<size_t>(options_.max_batch, 1);
    // Retries need a thread to run them: with waiter commits a failure is the waiters' to see.
    if (!options_.own_thread) options_.retry_after = std::chrono::milliseconds(0);
    if (options_.own_thread) {
      thread_ = std::thread([this] {
        pthread_setname_np(pthread_self(), options_.thread_name);
        ThreadLoop();
      });
    }
  }
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;
  ~GroupCommit() { Close().IgnoreError(); }

  // Queues one item, written by `fill(Item& slot)` into a reused entry (assign every field: the
  // slot holds a spent item), and returns its ticket. Blocks while the queue is full. Fails
  // once closed, or once a writer without retries has failed.
  template <typename Fill>
  [[nodiscard]] Result<uint64_t> Enqueue(Fill&& fill) {
    std::unique_lock lock(mu_);
    THEATER_RETURN_IF_ERROR(AcceptingLocked());
    if (QueuedLocked() >= options_.max_queue) {
      not_full_.wait(lock, [&] { return QueuedLocked() < options_.max_queue || !AcceptingLocked().ok(); });
      THEATER_RETURN_IF_ERROR(AcceptingLocked());
    }
    if (queue_end_ == queue_.size()) queue_.emplace_back();
    fill(queue_[queue_end_++]);
    const uint64_t ticket = next_ticket_++;
    if (QueuedLocked() == 1) oldest_arrival_ = std::chrono::steady_clock::now();
    stats_.enqueued++;
    // Waking the committer for every item would cost a context switch each: only its
    // conditions (a first item, a full batch, a gatherer counting arrivals) are worth one.
    const size_t queued = QueuedLocked();
    if (gathering_ || queued == 1 || queued >= BatchTarget()) work_cv_.notify_one();
    return ticket;
  }

  // Waits until `ticket` (and every earlier one) is committed. With waiter commits, the caller
  // may commit it itself. The writer's error when it failed first; kFailedPrecondition when the
  // store closed first or the ticket was never issued.
  [[nodiscard]] Status WaitCommitted(uint64_t ticket) {
    std::unique_lock lock(mu_);
    if (ticket >= next_ticket_) {
      return InvalidArgument("ticket " + std::to_string(ticket) + " has not been issued");
    }
    waiters_++;
    Status status;
    for (;;) {
      if (committed_ >= ticket) break;
      if (!error_.ok()) {
        status = error_;
        break;
      }
      if (closed_) {
        status = ClosedBefore(ticket);
        break;
      }
      if (!options_.own_thread && !committing_) {
        CommitOnceLocked(lock);
        continue;
      }
      work_cv_.notify_one();  // someone waits now: the committer stops holding the batch back
      done_cv_.wait(lock);
    }
    waiters_--;
    return status;
  }

  // Waits until every item queued before the call is committed.
  [[nodiscard]] Status Flush() {
    uint64_t last;
    {
      std::lock_guard lock(mu_);
      last = next_ticket_ - 1;
    }
    if (last == 0) return Status();
    return WaitCommitted(last);
  }

  // Calls `done(OK)` once `ticket` is committed (at once, on this thread, when it already is), or
  // `done(error)` when the writer fails or the store closes first. See the header comment for
  // where callbacks run.
  void WhenCommitted(uint64_t ticket, std::function<void(Status)> done) {
    Status now;
    {
      std::lock_guard lock(mu_);
      if (committed_ < ticket && !closed_ && (error_.ok() || options_.retry_after.count() > 0)) {
        callbacks_.emplace(ticket, std::move(done));
        work_cv_.notify_one();  // someone waits now
        return;
      }
      if (committed_ < ticket) now = !error_.ok() ? error_ : ClosedBefore(ticket);
    }
    done(now);
  }

  // The last ticket committed (0: none).
  uint64_t committed() const {
    std::lock_guard lock(mu_);
    return committed_;
  }
  // The last ticket issued (0: none).
  uint64_t last_ticket() const {
    std::lock_guard lock(mu_);
    return next_ticket_ - 1;
  }
  // The writer's error: sticky without retries; with retries, the last failure until a retry
  // succeeds. OK otherwise.
  Status error() const {
    std::lock_guard lock(mu_);
    return error_;
  }
  // Whether error() is set, without the lock (for a check on every write).
  bool failing() const { return failing_.load(std::memory_order_acquire); }
  Stats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

  // Wakes the committer and waits until a batch ends or `timeout` passes: for a producer that
  // holds itself back by a bound of its own (the content store's pending index).
  void AwaitProgress(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    waiters_++;
    work_cv_.notify_one();
    done_cv_.wait_for(lock, timeout);
    waiters_--;
  }

  // Stops accepting items, commits what is queued (not when the writer has failed: a failed
  // batch is not retried at close) and stops the thread; then fails whatever still waits.
  // Idempotent; returns the writer's error, if any.
  Status Close() {
    {
      std::unique_lock lock(mu_);
      if (closed_) return error_;
      closing_ = true;
      work_cv_.notify_all();
      not_full_.notify_all();
      if (!options_.own_thread) {
        // Waiters commit their own items: commit what nobody waits for, then let them finish.
        while (QueuedLocked() > 0 && error_.ok()) {
          if (committing_) {
            done_cv_.wait(lock);
          } else {
            CommitOnceLocked(lock);
          }
        }
        done_cv_.wait(lock, [&] { return !committing_; });
      }
    }
    if (thread_.joinable()) thread_.join();
    Status result;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      queue_head_ = queue_end_ = 0;  // what a failed writer left
      result = error_;
      done_cv_.notify_all();
      not_full_.notify_all();
    }
    RunCallbacks();  // everything committed has run; the rest learns the store closed
    return result;
  }

 private:
  size_t QueuedLocked() const { return queue_end_ - queue_head_; }
  size_t BatchTarget() const { return std::min(options_.max_batch, options_.max_queue); }
  bool Stopped() const { return !error_.ok() && options_.retry_after.count() == 0; }
  Status AcceptingLocked() const {
    if (closing_ || closed_) return FailedPrecondition(options_.name + " is closed");
    if (Stopped()) return error_;
    return Status();
  }
  Status ClosedBefore(uint64_t ticket) const {
    return FailedPrecondition(options_.name + " closed before ticket " + std::to_string(ticket) +
                              " was committed");
  }
  bool SomeoneWaitsLocked() const { return waiters_ > 0 || !callbacks_.empty() || closing_; }

  void ThreadLoop() {
    std::unique_lock lock(mu_);
    for (;;) {
      if (retry_pending_) {
        if (closing_) break;  // a failing writer gives up at close
        if (std::chrono::steady_clock::now() < retry_at_) {
          work_cv_.wait_until(lock, retry_at_);
          continue;
        }
        CommitOnceLocked(lock);
        continue;
      }
      if (QueuedLocked() == 0) {
        if (closing_ || Stopped()) break;
        work_cv_.wait(lock);
        continue;
      }
      if (Stopped()) break;
      CommitOnceLocked(lock);
    }
  }

  // Waits (per the header comment) for a batch worth committing, takes it, commits it without
  // the lock, publishes the outcome and runs the callbacks. Called with `lock` held and no other
  // committer active; returns with it held.
  void CommitOnceLocked(std::unique_lock<std::mutex>& lock) {
    committing_ = true;
    if (retry_pending_) {
      retry_pending_ = false;  // batch_ still holds it
    } else {
      Gather(lock);
      TakeBatchLocked();
    }
    const size_t size = batch_size_;
    if (size == 0) {
      committing_ = false;
      done_cv_.notify_all();
      return;
    }
    lock.unlock();
    const std::span<Item> taken(batch_.data(), size);
    Status status = commit_(taken);
    if (batch_.size() > size + options_.spare_entries) {
      batch_.erase(batch_.begin() + static_cast<std::ptrdiff_t>(size + options_.spare_entries),
                   batch_.end());
    }
    lock.lock();
    const uint64_t last = batch_last_ticket_;
    last_batch_ = size;
    arrived_during_commit_ = QueuedLocked() > 0;
    if (status.ok()) {
      committed_ = last;
      error_ = Status();
      failing_.store(false, std::memory_order_release);
      stats_.committed += size;
      stats_.batches++;
    } else {
      stats_.failures++;
      failing_.store(true, std::memory_order_release);
      error_ = status.WithContext("committing " + std::to_string(size) + " " + options_.item_noun +
                                  " (tickets " +
                                  std::to_string(last - size + 1) + ".." + std::to_string(last) +
                                  ")");
      if (options_.retry_after.count() > 0) {
        retry_pending_ = true;  // batch_ is tried again, alone, later
        retry_at_ = std::chrono::steady_clock::now() + options_.retry_after;
      } else {
        queue_head_ = queue_end_ = 0;  // nothing queued after it can commit any more
        not_full_.notify_all();
      }
    }
    committing_ = false;
    done_cv_.notify_all();
    lock.unlock();
    RunCallbacks();  // outside the lock: a callback may queue again
    lock.lock();
  }

  void Gather(std::unique_lock<std::mutex>& lock) {
    if (QueuedLocked() == 0) return;
    if (!SomeoneWaitsLocked()) {
      if (options_.hold.count() > 0) {
        work_cv_.wait_until(lock, oldest_arrival_ + options_.hold, [&] {
          return QueuedLocked() >= BatchTarget() || SomeoneWaitsLocked();
        });
      }
      if (!SomeoneWaitsLocked() || options_.waited_window.count() == 0) return;
    }
    if (options_.waited_window.count() == 0) return;
    const size_t target = std::min(options_.max_batch, last_batch_ + (arrived_during_commit_ ? 1 : 0));
    if (target > 1 && QueuedLocked() < target) {
      gathering_ = true;
      work_cv_.wait_for(lock, options_.waited_window,
                        [&] { return QueuedLocked() >= target || closing_; });
      gathering_ = false;
    }
  }

  // Moves the oldest queued items into batch_[0, batch_size_).
  void TakeBatchLocked() {
    const size_t queued = QueuedLocked();
    size_t count = std::min(queued, options_.max_batch);
    if (weigh_) {
      size_t bytes = 0;
      for (size_t i = 0; i < count; ++i) {
        const size_t next = weigh_(queue_[queue_head_ + i]);
        if (i > 0 && bytes + next > options_.max_batch_bytes) {
          count = i;
          break;
        }
        bytes += next;
      }
    }
    batch_size_ = count;
    batch_last_ticket_ = next_ticket_ - 1 - (queued - count);
    if (queue_head_ == 0 && count == queued) {
      // The usual case: take everything by swapping the vectors; the queue gets the previous
      // batch's entries, all spent.
      batch_.swap(queue_);
      queue_end_ = 0;
    } else {
      if (batch_.size() < count) batch_.resize(count);
      for (size_t i = 0; i < count; ++i) std::swap(batch_[i], queue_[queue_head_ + i]);
      queue_head_ += count;
      if (queue_head_ == queue_end_) {
        queue_head_ = queue_end_ = 0;
      } else if (queue_head_ >= queue_end_ / 2) {
        // Move the queued entries to the front now and then: amortised O(1) per item.
        std::rotate(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(queue_head_),
                    queue_.begin() + static_cast<std::ptrdiff_t>(queue_end_));
        queue_end_ -= queue_head_;
        queue_head_ = 0;
      }
      oldest_arrival_ = std::chrono::steady_clock::now();  // close enough for what remains
    }
    not_full_.notify_all();
  }

  // Runs the callbacks whose tickets are committed; fails the rest once the writer has stopped
  // or the store is closed.
  void RunCallbacks() {
    std::vector<std::function<void(Status)>> ready;
    std::vector<std::function<void(Status)>> failed;
    Status failure;
    {
      std::lock_guard lock(mu_);
      auto end = callbacks_.upper_bound(committed_);
      for (auto it = callbacks_.begin(); it != end; ++it) ready.push_back(std::move(it->second));
      callbacks_.erase(callbacks_.begin(), end);
      if (Stopped() || closed_) {
        failure = !error_.ok() ? error_ : FailedPrecondition(options_.name + " closed");
        for (auto& [ticket, fn] : callbacks_) failed.push_back(std::move(fn));
        callbacks_.clear();
      }
    }
    for (auto& fn : ready) fn(Status());
    for (auto& fn : failed) fn(failure);
  }

  GroupCommitOptions options_;
  const CommitFn commit_;
  const WeighFn weigh_;

  mutable std::mutex mu_;  // guards everything below but batch_ (the active committer's)
  std::condition_variable work_cv_;   // to the committer: items queued, a waiter, close
  std::condition_variable done_cv_;   // from the committer: a batch committed or failed
  std::condition_variable not_full_;  // room in the queue
  // Queued items are queue_[queue_head_, queue_end_); entries outside that range are spent.
  std::vector<Item> queue_;
  size_t queue_head_ = 0;
  size_t queue_end_ = 0;
  std::chrono::steady_clock::time_point oldest_arrival_;
  uint64_t next_ticket_ = 1;
  uint64_t committed_ = 0;
  Status error_;
  std::atomic<bool> failing_{false};  // !error_.ok(), readable without mu_
  std::multimap<uint64_t, std::function<void(Status)>> callbacks_;
  size_t waiters_ = 0;       // threads in WaitCommitted()
  bool committing_ = false;  // a committer has taken (or is gathering) a batch
  bool gathering_ = false;   // the committer waits for more items (waited_window)
  size_t last_batch_ = 1;
  bool arrived_during_commit_ = false;
  bool closing_ = false;
  bool closed_ = false;
  Stats stats_;
  // The committer's: batch_[0, batch_size_) is being committed, the rest spent entries; a failed
  // batch waiting for its retry (still in batch_); the ticket of the batch's last item.
  std::vector<Item> batch_;
  size_t batch_size_ = 0;
  uint64_t batch_last_ticket_ = 0;
  bool retry_pending_ = false;  // guarded by mu_
  std::chrono::steady_clock::time_point retry_at_;

  std::thread thread_;  // last: started after everything above exists
};

}  // namespace theater
