// Theater: a WebAssembly actor runtime.
//
// Fair scheduling through the whole runtime (issue 19, item 8): on a two-worker runtime, three
// actors spinning inside a request — two in loops, one in a recursion without loops
// (tests/actors/spinner.c) — do not keep an idle actor from answering: its requests complete long
// before any deadline (p99 ≤ 50 ms on an idle machine, printed), and the spinning requests still
// fail at their call deadline.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "testing/runtime_test_fixture.h"

namespace theater {
namespace {

using abi::Value;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kSpinner = std::string(THEATER_TEST_ACTOR_DIR) + "/spinner.wasm";

std::string Manifest(const std::string& name, int call_deadline_ms) {
  return "name = \"" + name + "\"\nversion = \"0.1.0\"\ncomponent = \"" + kSpinner +
         "\"\n[[handler]]\ntype = \"message-server\"\n[limits]\ncall_deadline_ms = " +
         std::to_string(call_deadline_ms) + "\n";
}

// The runtime tests' fixture, on a runtime without a database.
class FairSchedulingTest : public testing_util::RuntimeTest {
 protected:
  void SetUp() override {
    home_ = testing_util::NewTestHome("theater-fair");
    RuntimeOptions options;
    options.persist = false;
    Start(options);
  }
};

TEST_F(FairSchedulingTest, ThreeSpinningActorsDoNotStarveAnIdleOne) {
  constexpr int kDeadlineMs = 4000;
  std::vector<std::string> spinners = {Spawn(Manifest("loop-a", kDeadlineMs)),
                                       Spawn(Manifest("loop-b", kDeadlineMs)),
                                       Spawn(Manifest("recurse", kDeadlineMs))};
  const std::string idle = Spawn(Manifest("idle", kDeadlineMs));
  ASSERT_FALSE(idle.empty());
  const auto spin_start = Clock::now();
  std::vector<std::future<Result<std::vector<Value>>>> spinning;
  spinning.push_back(RequestAsync(spinners[0], "loop"));
  spinning.push_back(RequestAsync(spinners[1], "loop"));
  spinning.push_back(RequestAsync(spinners[2], "recurse"));
  for (const std::string& id : spinners) {
    ASSERT_TRUE(testing_util::WaitFor([&] {
      return runtime_->Phase(id).value_or(ActorPhase::kStopped) == ActorPhase::kProcessing;
    }));
  }

  // Up to 150 requests, for at most half the deadline: on a slow machine too, all of them while
  // the three spin.
  std::vector<double> latencies_ms;
  for (int i = 0;
       i < 150 && (i == 0 || Clock::now() - spin_start < std::chrono::milliseconds(kDeadlineMs / 2));
       ++i) {
    const auto start = Clock::now();
    auto reply = RequestAsync(idle, "ping");
    ASSERT_EQ(reply.wait_for(10s), std::future_status::ready) << "request " << i;
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    auto r = reply.get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::this_thread::sleep_for(2ms);
  }
  // All of it happened while the three spun.
  for (auto& f : spinning) EXPECT_EQ(f.wait_for(0s), std::future_status::timeout);
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double p50 = latencies_ms[latencies_ms.size() / 2];
  const double p99 = latencies_ms[latencies_ms.size() * 99 / 100];
  std::printf(
      "idle actor with 3 spinning actors on 2 workers: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
      p50, p99, latencies_ms.back());
  // Starved, the idle actor would wait for the spinners' deadlines (seconds): the slowest answer
  // came well before one. (The figures printed above, p99 under 50 ms on an idle machine, are
  // for the benchmarks: a busy machine's scheduling delays are not the runtime's.)
  EXPECT_LT(latencies_ms.back(), kDeadlineMs / 4.0);

  // The deadline still stops each spinning request for good.
  for (auto& f : spinning) {
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
    auto r = f.get();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  }
  const auto took = Clock::now() - spin_start;
  EXPECT_GE(took, std::chrono::milliseconds(kDeadlineMs) - 10ms);
  EXPECT_LT(took, std::chrono::milliseconds(kDeadlineMs) + 10s);
}

}  // namespace
}  // namespace theater
