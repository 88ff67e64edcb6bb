// Theater: a WebAssembly actor runtime.
//
// GroupCommit (common/group_commit.h): ticket order, batching, holding a partial batch, waiter
// commits, back-pressure, the two failure policies, closing. The stores' own tests cover it with
// SQLite underneath (src/chain/chain_store_test.cc, src/store/content_store_test.cc).
#include "common/group_commit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include "testing/wait_for.h"

namespace theater {
namespace {

using std::chrono::milliseconds;

// What a commit function saw: every item in commit order, and each batch's size.
struct Log {
  std::mutex mu;
  std::vector<int> items;
  std::vector<size_t> batches;
  std::vector<std::thread::id> threads;
};

GroupCommit<int>::CommitFn Recording(Log& log) {
  return [&log](std::span<int> batch) {
    std::lock_guard lock(log.mu);
    log.items.insert(log.items.end(), batch.begin(), batch.end());
    log.batches.push_back(batch.size());
    log.threads.push_back(std::this_thread::get_id());
    return Status();
  };
}

TEST(GroupCommitTest, CommitsInTicketOrderAndWaitersSeeTheirTicket) {
  Log log;
  GroupCommitOptions options;
  options.max_batch = 7;
  GroupCommit<int> writer(options, Recording(log));
  std::vector<uint64_t> tickets;
  for (int i = 0; i < 100; ++i) {
    Result<uint64_t> ticket = writer.Enqueue([&](int& slot) { slot = i; });
    ASSERT_TRUE(ticket.ok()) << ticket.status().ToString();
    tickets.push_back(*ticket);
  }
  for (size_t i = 1; i < tickets.size(); ++i) EXPECT_EQ(tickets[i], tickets[i - 1] + 1);
  ASSERT_TRUE(writer.WaitCommitted(tickets[49]).ok());
  EXPECT_GE(writer.committed(), tickets[49]);
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(writer.committed(), tickets.back());
  std::lock_guard lock(log.mu);
  ASSERT_EQ(log.items.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(log.items[i], i);
  for (size_t size : log.batches) EXPECT_LE(size, 7u);
  EXPECT_EQ(writer.stats().committed, 100u);
  EXPECT_EQ(writer.stats().batches, log.batches.size());
  // A ticket never issued is refused, not waited for.
  EXPECT_EQ(writer.WaitCommitted(tickets.back() + 1).code(), StatusCode::kInvalidArgument);
}

TEST(GroupCommitTest, HoldsAPartialBatchUntilSomeoneWaits) {
  Log log;
  GroupCommitOptions options;
  options.hold = std::chrono::hours(1);
  GroupCommit<int> writer(options, Recording(log));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer.Enqueue([&](int& slot) { slot = i; }).ok());
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(writer.committed(), 0u) << "a partial batch nobody waits for is held back";
  // A waiter ends the hold at once: one batch with everything.
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  std::lock_guard lock(log.mu);
  EXPECT_THAT(log.batches, ::testing::ElementsAre(10u));
}

TEST(GroupCommitTest, ACallbackAlsoEndsTheHoldAndRunsAfterItsCommit) {
  Log log;
  GroupCommitOptions options;
  options.hold = std::chrono::hours(1);
  GroupCommit<int> writer(options, Recording(log));
  Result<uint64_t> ticket = writer.Enqueue([](int& slot) { slot = 1; });
  ASSERT_TRUE(ticket.ok());
  std::promise<Status> called;
  writer.WhenCommitted(*ticket, [&](Status status) { called.set_value(status); });
  std::future<Status> result = called.get_future();
  ASSERT_EQ(result.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_TRUE(result.get().ok());
  EXPECT_GE(writer.committed(), *ticket);
  // Already committed: the callback runs at once, on this thread.
  bool ran = false;
  writer.WhenCommitted(*ticket, [&](Status status) { ran = status.ok(); });
  EXPECT_TRUE(ran);
}

TEST(GroupCommitTest, AFullQueueBlocksProducersUntilTheWriterTakesABatch) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> entered{0};
  std::atomic<int> commits{0};
  GroupCommitOptions options;
  options.max_queue = 2;
  options.max_batch = 1;
  GroupCommit<int> writer(options, [&](std::span<int>) {
    entered++;
    released.wait();
    commits++;
    return Status();
  });
  // The writer takes the first item and blocks in its commit; two more fill the queue.
  ASSERT_TRUE(writer.Enqueue([](int& slot) { slot = 1; }).ok());
  while (entered.load() < 1) std::this_thread::yield();
  ASSERT_TRUE(writer.Enqueue([](int& slot) { slot = 2; }).ok());
  ASSERT_TRUE(writer.Enqueue([](int& slot) { slot = 3; }).ok());
  std::atomic<bool> fourth_queued{false};
  std::thread producer([&] {
    EXPECT_TRUE(writer.Enqueue([](int& slot) { slot = 4; }).ok());
    fourth_queued = true;
  });
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(fourth_queued.load()) << "the producer must wait for room";
  release.set_value();
  producer.join();
  EXPECT_TRUE(fourth_queued.load());
  ASSERT_TRUE(writer.Flush().ok());
  EXPECT_EQ(commits.load(), 4);
}

TEST(GroupCommitTest, WithoutRetriesAFailureStopsTheWriterForGood) {
  std::atomic<int> calls{0};
  GroupCommitOptions options;
  options.name = "test store";
  options.item_noun = "rows";
  options.hold = std::chrono::hours(1);
  GroupCommit<int> writer(options, [&](std::span<int>) {
    calls++;
    return IOError("disk on fire");
  });
  Result<uint64_t> first = writer.Enqueue([](int& slot) { slot = 1; });
  ASSERT_TRUE(first.ok());
  Status failed = writer.WaitCommitted(*first);
  EXPECT_EQ(failed.code(), StatusCode::kIOError);
  EXPECT_THAT(failed.ToString(), ::testing::HasSubstr("disk on fire"));
  EXPECT_THAT(failed.ToString(), ::testing::HasSubstr("committing 1 rows (tickets 1..1)"));
  EXPECT_TRUE(writer.failing());
  // Nothing more is accepted, and callbacks learn the error at once.
  Result<uint64_t> later = writer.Enqueue([](int& slot) { slot = 2; });
  EXPECT_EQ(later.status().code(), StatusCode::kIOError);
  Status callback;
  writer.WhenCommitted(*first, [&](Status status) { callback = status; });
  EXPECT_EQ(callback.code(), StatusCode::kIOError);
  EXPECT_EQ(writer.Close().code(), StatusCode::kIOError);
  EXPECT_EQ(calls.load(), 1);
}

TEST(GroupCommitTest, WithRetriesTheSameBatchIsTriedAgainUntilItCommits) {
  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<std::vector<int>> attempts;
  GroupCommitOptions options;
  options.retry_after = milliseconds(5);
  GroupCommit<int> writer(options, [&](std::span<int> batch) {
    {
      std::lock_guard lock(mu);
      attempts.emplace_back(batch.begin(), batch.end());
    }
    return ++calls <= 2 ? Unavailable("database is locked") : Status();
  });
  Result<uint64_t> first = writer.Enqueue([](int& slot) { slot = 7; });
  ASSERT_TRUE(first.ok());
  // While failing, a waiter gets the error rather than waiting for ever (or, if the retries won
  // the race, the commit).
  Status waited = writer.WaitCommitted(*first);
  if (!waited.ok()) EXPECT_EQ(waited.code(), StatusCode::kUnavailable);
  // Items queued meanwhile are accepted and committed after the retried batch.
  Result<uint64_t> second = writer.Enqueue([](int& slot) { slot = 8; });
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(testing_util::WaitFor([&] { return writer.committed() >= *second; }));
  EXPECT_EQ(writer.committed(), *second);
  EXPECT_FALSE(writer.failing());
  EXPECT_TRUE(writer.error().ok());
  std::lock_guard lock(mu);
  ASSERT_GE(attempts.size(), 3u);
  EXPECT_THAT(attempts[0], ::testing::ElementsAre(7));
  EXPECT_THAT(attempts[1], ::testing::ElementsAre(7));
  EXPECT_THAT(attempts[2], ::testing::ElementsAre(7)) << "the failed batch is retried alone";
  EXPECT_EQ(writer.stats().failures, 2u);
}

TEST(GroupCommitTest, WaiterCommitsRunOnTheWaitersAndGroupConcurrentWriters) {
  Log log;
  GroupCommitOptions options;
  options.own_thread = false;
  options.waited_window = milliseconds(5);
  GroupCommit<int> writer(options, [&](std::span<int> batch) {
    std::this_thread::sleep_for(milliseconds(1));  // a commit takes a while: others queue up
    return Recording(log)(batch);
  });
  constexpr int kThreads = 8;
  constexpr int kEach = 50;
  std::vector<std::thread> threads;
  std::set<std::thread::id> writers;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        Result<uint64_t> ticket = writer.Enqueue([&](int& slot) { slot = t * kEach + i; });
        ASSERT_TRUE(ticket.ok());
        ASSERT_TRUE(writer.WaitCommitted(*ticket).ok());
      }
    });
    writers.insert(threads.back().get_id());
  }
  for (auto& thread : threads) thread.join();
  std::lock_guard lock(log.mu);
  EXPECT_EQ(log.items.size(), size_t{kThreads * kEach});
  for (std::thread::id id : log.threads) EXPECT_TRUE(writers.count(id)) << "no thread of its own";
  EXPECT_LT(log.batches.size(), size_t{kThreads * kEach}) << "concurrent writes share commits";
}

TEST(GroupCommitTest, ALoneWaiterCommitsAtOnceWithoutTheWindow) {
  Log log;
  GroupCommitOptions options;
  options.own_thread = false;
  options.waited_window = std::chrono::hours(1);
  GroupCommit<int> writer(options, Recording(log));
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    Result<uint64_t> ticket = writer.Enqueue([&](int& slot) { slot = i; });
    ASSERT_TRUE(ticket.ok());
    ASSERT_TRUE(writer.WaitCommitted(*ticket).ok());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  EXPECT_EQ(writer.stats().batches, 20u);
}

TEST(GroupCommitTest, BatchesStopAtTheByteLimitButTakeAtLeastOneItem) {
  Log log;
  GroupCommitOptions options;
  options.hold = std::chrono::hours(1);
  options.max_batch_bytes = 100;
  GroupCommit<int> writer(options, Recording(log), [](const int& item) {
    return static_cast<size_t>(item);
  });
  for (int size : {60, 30, 20, 500, 10}) {
    ASSERT_TRUE(writer.Enqueue([&](int& slot) { slot = size; }).ok());
  }
  ASSERT_TRUE(writer.Flush().ok());
  std::lock_guard lock(log.mu);
  // 60+30 | 20 (20+500 is over) | 500 (alone: a batch takes at least one) | 10
  EXPECT_THAT(log.batches, ::testing::ElementsAre(2u, 1u, 1u, 1u));
}

TEST(GroupCommitTest, CloseCommitsWhatIsQueuedThenRefuses) {
  Log log;
  GroupCommitOptions options;
  options.name = "test store";
  options.hold = std::chrono::hours(1);
  GroupCommit<int> writer(options, Recording(log));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(writer.Enqueue([&](int& slot) { slot = i; }).ok());
  ASSERT_TRUE(writer.Close().ok());
  EXPECT_EQ(writer.committed(), 5u);
  Result<uint64_t> after = writer.Enqueue([](int& slot) { slot = 9; });
  EXPECT_EQ(after.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(after.status().ToString(), ::testing::HasSubstr("test store is closed"));
  EXPECT_TRUE(writer.Close().ok()) << "idempotent";
}

TEST(GroupCommitTest, SpentEntriesAreReusedWithTheirBuffers) {
  std::atomic<size_t> reused{0};
  GroupCommitOptions options;
  options.hold = std::chrono::hours(1);
  GroupCommit<std::vector<char>> writer(options, [](std::span<std::vector<char>>) {
    return Status();
  });
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(writer
                      .Enqueue([&](std::vector<char>& slot) {
                        if (slot.capacity() >= 1000) reused++;
                        slot.assign(1000, 'x');
                      })
                      .ok());
    }
    ASSERT_TRUE(writer.Flush().ok());
  }
  // Round one allocates; the later rounds fill spent entries (the queue and the batch swap).
  EXPECT_GE(reused.load(), 10u);
}

}  // namespace
}  // namespace theater
