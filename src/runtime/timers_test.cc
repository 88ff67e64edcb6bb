// Theater: a WebAssembly actor runtime.
//
// TimerService: order, cancellation (including of the timer the thread is waiting for), and
// what the destructor runs.
#include "runtime/timers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "testing/wait_for.h"

namespace theater::runtime {
namespace {

using namespace std::chrono_literals;
using Clock = TimerService::Clock;

TEST(TimerServiceTest, RunsInDeadlineOrderAndCancelledTimersNever) {
  TimerService timers;
  std::mutex mu;
  std::vector<int> order;
  auto at = Clock::now() + 30ms;
  auto record = [&](int n) {
    return [&, n] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(n);
    };
  };
  timers.Schedule(at + 20ms, record(3));
  timers.Schedule(at, record(1));
  auto cancelled = timers.Schedule(at + 10ms, record(99));
  timers.Schedule(at + 10ms, record(2));
  EXPECT_TRUE(timers.Cancel(cancelled));
  EXPECT_FALSE(timers.Cancel(cancelled)) << "a timer is cancelled once";
  // Once 3 (the last due) has run, the cancelled timer, due before it, would have run too.
  EXPECT_TRUE(testing_util::WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return order.size() >= 3;
  }));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

// The timer thread waits for the earliest timer; cancelling exactly that one must be safe (it
// once waited on a reference into the erased entry: a use-after-free under AddressSanitizer).
TEST(TimerServiceTest, CancellingTheTimerBeingWaitedForIsSafe) {
  TimerService timers;
  std::atomic<int> ran{0};
  for (int i = 0; i < 300; ++i) {
    auto id = timers.Schedule(Clock::now() + 1s, [&] { ++ran; });
    std::this_thread::sleep_for(50us);  // let the thread start waiting on it
    EXPECT_TRUE(timers.Cancel(id));
  }
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(TimerServiceTest, DestructorRunsDueTimersAndDropsFutureOnes) {
  std::atomic<int> due{0}, future{0};
  {
    TimerService timers;
    timers.Schedule(Clock::now() + 1h, [&] { ++future; });
    timers.Schedule(Clock::now(), [&] { ++due; });
  }
  EXPECT_EQ(due.load(), 1);
  EXPECT_EQ(future.load(), 0);
}

}  // namespace
}  // namespace theater::runtime
