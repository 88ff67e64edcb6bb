// Theater: a WebAssembly actor runtime.
#include "common/blocking_pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>

namespace theater {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

TEST(BlockingPoolTest, ATaskThatBlocksDoesNotHoldUpTheNext) {
  BlockingPool pool;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ASSERT_TRUE(pool.Post([released] { released.wait(); }).ok());
  std::promise<void> ran;
  ASSERT_TRUE(pool.Post([&ran] { ran.set_value(); }).ok());
  EXPECT_EQ(ran.get_future().wait_for(5s), std::future_status::ready);
  release.set_value();
}

TEST(BlockingPoolTest, PastTheThreadCapTasksQueueAndPastTheQueueCapTheyAreRefused) {
  BlockingPool::Options options;
  options.max_threads = 2;
  options.max_queued = 3;
  BlockingPool pool(options);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> done{0};
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(pool.Post([released, &done] {
                      released.wait();
                      ++done;
                    })
                    .ok());
  }
  // Both threads are blocked: the next three wait in the queue, the fourth is refused.
  std::this_thread::sleep_for(50ms);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.Post([&done] { ++done; }).ok());
  Status refused = pool.Post([] {});
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("the limit is 3"));
  release.set_value();
  for (int i = 0; i < 500 && done < 5; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(done, 5);
}

TEST(BlockingPoolTest, IdleThreadsLeaveAndTheDestructorRunsWhatIsQueued) {
  std::atomic<int> done{0};
  {
    BlockingPool::Options options;
    options.idle = 20ms;
    BlockingPool pool(options);
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < 8; ++i) {
        ASSERT_TRUE(pool.Post([&done] {
                          std::this_thread::sleep_for(5ms);
                          ++done;
                        })
                        .ok());
      }
      std::this_thread::sleep_for(100ms);  // the extra threads go idle and leave
    }
    for (int i = 0; i < 8; ++i) ASSERT_TRUE(pool.Post([&done] { ++done; }).ok());
  }
  EXPECT_EQ(done, 32);
}

// A burst of short tasks runs on at most `concurrency` threads at once, each taking the next task
// when it finishes one (the point: no wake-up per task for cached spawns).
TEST(BlockingPoolTest, ABurstOfShortTasksRunsOnAtMostConcurrencyThreadsAtOnce) {
  BlockingPool::Options options;
  options.concurrency = 2;
  options.stall = 1000ms;  // none of these stalls
  BlockingPool pool(options);
  std::atomic<int> running{0}, most{0}, done{0};
  std::mutex threads_mu;
  std::set<std::thread::id> threads;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(pool.Post([&] {
                      {
                        std::lock_guard<std::mutex> lock(threads_mu);
                        threads.insert(std::this_thread::get_id());
                      }
                      int now = ++running;
                      int seen = most.load();
                      while (now > seen && !most.compare_exchange_weak(seen, now)) {
                      }
                      std::this_thread::sleep_for(200us);
                      --running;
                      ++done;
                    })
                    .ok());
  }
  for (int i = 0; i < 1000 && done < 200; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(done, 200);
  EXPECT_LE(most, 2);
  EXPECT_GE(most, 1);
  // The two that run and at most one standing by: a burst does not start a thread per post.
  std::lock_guard<std::mutex> lock(threads_mu);
  EXPECT_LE(threads.size(), 3u);
}

// A task that blocks after it started no longer counts once it has run for `stall`: the task
// queued behind it starts on another thread, although no further task is posted.
TEST(BlockingPoolTest, ATaskQueuedBehindOneThatStalledStartsAfterTheStallTime) {
  BlockingPool::Options options;
  options.concurrency = 1;
  options.stall = 20ms;
  BlockingPool pool(options);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> first_started;
  ASSERT_TRUE(pool.Post([&first_started, released] {
                    first_started.set_value();
                    released.wait();
                  })
                  .ok());
  first_started.get_future().wait();
  std::promise<void> ran;
  const auto posted = std::chrono::steady_clock::now();
  ASSERT_TRUE(pool.Post([&ran] { ran.set_value(); }).ok());
  EXPECT_EQ(ran.get_future().wait_for(5s), std::future_status::ready);
  // It waited for the first task to stall (20 ms after it started), not for its release.
  EXPECT_GE(std::chrono::steady_clock::now() - posted, 5ms);
  release.set_value();
}

// The same when both are posted at once, before any thread has started: the thread that takes
// the first task sees the second waiting and arranges for another thread to watch it.
TEST(BlockingPoolTest, ATaskPostedWithOneThatStallsStartsAfterTheStallTime) {
  BlockingPool::Options options;
  options.concurrency = 1;
  options.stall = 20ms;
  BlockingPool pool(options);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ASSERT_TRUE(pool.Post([released] { released.wait(); }).ok());
  std::promise<void> ran;
  ASSERT_TRUE(pool.Post([&ran] { ran.set_value(); }).ok());
  EXPECT_EQ(ran.get_future().wait_for(5s), std::future_status::ready);
  release.set_value();
}

}  // namespace
}  // namespace theater
