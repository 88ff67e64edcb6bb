// Theater: a WebAssembly actor runtime.
#include "common/blocking_pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
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

}  // namespace
}  // namespace theater
