// Theater: a WebAssembly actor runtime.
#include "common/blocking_pool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "testing/wait_for.h"

namespace theater {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using testing_util::WaitFor;

TEST(BlockingPoolTest, ATaskThatBlocksDoesNotHoldUpTheNext) {
  BlockingPool pool;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ASSERT_TRUE(pool.Post([released] { released.wait(); }).ok());
  std::promise<void> ran;
  ASSERT_TRUE(pool.Post([&ran] { ran.set_value(); }).ok());
  EXPECT_EQ(ran.get_future().wait_for(30s), std::future_status::ready);
  release.set_value();
}

TEST(BlockingPoolTest, PastTheThreadCapTasksQueueAndPastTheQueueCapTheyAreRefused) {
  BlockingPool::Options options;
  options.max_threads = 2;
  options.max_queued = 3;
  BlockingPool pool(options);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started{0}, done{0};
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(pool.Post([released, &started, &done] {
                      ++started;
                      released.wait();
                      ++done;
                    })
                    .ok());
  }
  // Once both threads are blocked (their tasks taken off the queue), the next three wait in the
  // queue, the fourth is refused.
  ASSERT_TRUE(WaitFor([&] { return started.load() == 2; }));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pool.Post([&done] { ++done; }).ok());
  Status refused = pool.Post([] {});
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("the limit is 3"));
  release.set_value();
  EXPECT_TRUE(WaitFor([&] { return done.load() == 5; }));
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
