// Theater: a WebAssembly actor runtime.
//
// Storms a hostile guest (tests/actors/stormer.c) or client raises against a real runtime
// (issue 52, "a standing hostile suite"): channels opened and closed at a high rate or held by
// the thousand, messages of many MiB, timer calls by the hundred thousand, requests sent and
// never answered, and ids of a MiB quoted back in errors. Each is bounded, the refusal names the
// limit (include/theater/limits.h, docs/security.md), and another actor still answers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/admission.h"
#include "testing/runtime_test_fixture.h"
#include "testing/wait_for.h"
#include "theater/limits.h"

namespace theater {
namespace {

using namespace std::chrono_literals;
using namespace testing_util;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kStormer = std::string(THEATER_TEST_ACTOR_DIR) + "/stormer.wasm";

std::string StormerManifest(const std::string& name = "stormer") {
  return "name = \"" + name + "\"\nversion = \"0.1.0\"\ncomponent = \"" + kStormer +
         "\"\nauto_handlers = true\n";
}

class HostileStormTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    bystander_ = Spawn(ProbeManifest("", "bystander"));
    ASSERT_TRUE(IsUuid(bystander_));
  }

  // Another actor answers, promptly, and its count goes up by one each time.
  void ExpectServing(const std::string& context) {
    const auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(Response(Request(bystander_, "count")), std::to_string(++bystander_count_))
        << "after " << context;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s) << "after " << context;
  }

  std::string bystander_;
  int bystander_count_ = 0;
};

TEST_F(HostileStormTest, ChannelsOpenedAndClosedAtAHighRateNeverPassTheCap) {
  const std::string target = Spawn(StormerManifest("target"));
  const std::string opener = Spawn(StormerManifest("opener"));
  // Each channel is closed before the next opens: more openings than the cap all succeed.
  const size_t n = limits::kMaxChannelsPerActor + 200;
  EXPECT_EQ(Response(Request(opener, "churn:" + target + ":" + std::to_string(n))),
            std::to_string(n));
  EXPECT_EQ(Response(Request(target, "ping")), "pong");
  ExpectServing("a channel churn");
}

TEST_F(HostileStormTest, AnActorHoldsAtMostTheCapOfOpenChannels) {
  const std::string target = Spawn(StormerManifest("target"));
  const std::string opener = Spawn(StormerManifest("opener"));
  const std::string cap = std::to_string(limits::kMaxChannelsPerActor);
  const std::string held = Response(Request(opener, "hold:" + target + ":5000"));
  // It holds the cap's worth, and the next opening is refused by name.
  EXPECT_THAT(held, StartsWith(cap + ":resource-exhausted: the opener " + opener + " is in " +
                               cap + " channels already"));
  EXPECT_THAT(held, HasSubstr("the limit of open channels per actor (" + cap +
                              ", limits::kMaxChannelsPerActor)"));
  // The target is at the cap too: no one else can open one to it, and says so.
  const std::string other = Spawn(StormerManifest("other"));
  EXPECT_THAT(Response(Request(other, "hold:" + target + ":1")),
              StartsWith("0:resource-exhausted: the target " + target + " is in " + cap));
  // Everyone else is served: the target, and an actor nothing was asked of.
  EXPECT_EQ(Response(Request(target, "ping")), "pong");
  ExpectServing("an actor held the cap of channels");
  // The opener's channels end with it, and the target may take channels again.
  ASSERT_TRUE(runtime_->Stop(opener).ok());
  EXPECT_EQ(Response(Request(other, "hold:" + target + ":1")), "1");
}

TEST_F(HostileStormTest, MessagesOfManyMiBQueueOnlyUpToTheByteLimit) {
  const std::string target = Spawn(StormerManifest("target"));
  const std::string sender = Spawn(StormerManifest("sender"));
  // The target is busy until the test lets it go: it waits for an answer from an actor that
  // defers it, and what is sent to it meanwhile queues (operations run in order).
  const std::string holder = Spawn(StormerManifest("holder"));
  auto busy = RequestAsync(target, "request:" + holder + ":defer");
  constexpr size_t kMessage = 8u << 20;
  const size_t fit = limits::kMaxQueuedMessageBytesPerActor / kMessage;
  const std::string sent =
      Response(Request(sender, "big:" + target + ":" + std::to_string(fit + 4) + ":" +
                                   std::to_string(kMessage)));
  // Without the limit, 1,024 messages of 16 MiB (the mailbox's count) would queue 16 GiB.
  EXPECT_THAT(sent, StartsWith(std::to_string(fit) + ":resource-exhausted: actor " + target));
  EXPECT_THAT(sent, HasSubstr("the limit of " +
                              std::to_string(limits::kMaxQueuedMessageBytesPerActor) +
                              " queued message bytes per actor "
                              "(limits::kMaxQueuedMessageBytesPerActor)"));
  ExpectServing("a queue of large messages");
  // Once handled, the bytes are free again.
  ASSERT_TRUE(WaitFor([&] { return Response(Request(holder, "answer-all:go")) == "1"; }));
  ASSERT_EQ(busy.wait_for(30s), std::future_status::ready);
  EXPECT_EQ(Response(busy.get()), "go");
  EXPECT_TRUE(WaitFor([&] {
    return Response(Request(sender, "big:" + target + ":1:" + std::to_string(kMessage))) == "1";
  }));
}

// A sleep holds the calling actor (never a worker, never a second timer): the cap on outstanding
// timers is one per actor by construction. A tight loop of them neither grows memory without
// bound nor holds up anyone else.
TEST_F(HostileStormTest, TimerCallsInATightLoopNeitherGrowMemoryNorStarveOthers) {
  const std::string sleeper = Spawn(StormerManifest("sleeper"));
  const size_t before = runtime::ResidentBytes();
  auto loop = RequestAsync(sleeper, "sleep-loop:100000");
  // Served while the loop runs.
  for (int i = 0; i < 3; ++i) ExpectServing("during a timer loop");
  ASSERT_EQ(loop.wait_for(60s), std::future_status::ready);
  EXPECT_EQ(Response(loop.get()), "100000");
  EXPECT_LT(runtime::ResidentBytes(), before + (256u << 20));
  ExpectServing("a timer loop");
}

TEST_F(HostileStormTest, RequestsNeverAnsweredAreCappedPerActor) {
  const std::string target = Spawn(StormerManifest("target"));
  const size_t cap = limits::kMaxOutstandingRequestsPerActor;
  const size_t storm = cap + 100;
  std::atomic<size_t> refused{0}, answered{0}, other{0};
  std::mutex mu;
  std::string refusal;
  // An external client sends requests the target never answers, and never waits for them.
  for (size_t i = 0; i < storm; ++i) {
    runtime_->RequestMessageAsync(target, Bytes("defer"), 60s,
                                  [&](Result<std::vector<uint8_t>> r) {
                                    if (r.ok()) {
                                      ++answered;
                                    } else if (r.status().code() ==
                                               StatusCode::kResourceExhausted) {
                                      std::lock_guard<std::mutex> lock(mu);
                                      if (refusal.empty()) refusal = r.status().ToString();
                                      ++refused;
                                    } else {
                                      ++other;
                                    }
                                  });
  }
  ASSERT_TRUE(WaitFor([&] { return refused.load() == storm - cap; }, 20s)) << refused.load();
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_THAT(refusal, HasSubstr("requests outstanding (received and not answered), the "
                                   "limit of outstanding requests per actor (" +
                                   std::to_string(cap) +
                                   ", limits::kMaxOutstandingRequestsPerActor)"));
  }
  // A guest's request to it is refused the same way, at once.
  const std::string requester = Spawn(StormerManifest("requester"));
  EXPECT_THAT(Response(Request(requester, "request:" + target + ":x")),
              HasSubstr("limits::kMaxOutstandingRequestsPerActor"));
  ExpectServing("a storm of unanswered requests");
  // The target itself still runs: asked directly, it answers all it had left.
  EXPECT_EQ(Response(Request(target, "answer-all:done")), std::to_string(cap));
  EXPECT_TRUE(WaitFor([&] { return answered.load() == cap; }, 20s)) << answered.load();
  EXPECT_EQ(other.load(), 0u);
  EXPECT_EQ(Response(Request(requester, "request:" + target + ":ping")), "pong");
}

// Errors quote at most a few hundred bytes of a guest's id, once, and say how long it was.
TEST_F(HostileStormTest, ErrorsQuoteAFewHundredBytesOfAMiBLongId) {
  const std::string guest = Spawn(StormerManifest());
  for (const char* op : {"send", "request", "open", "chsend", "chclose", "respond", "cancel",
                         "stop-child", "child-state"}) {
    SCOPED_TRACE(op);
    const std::string error =
        Response(Request(guest, std::string("long-id:") + op + ":" + std::to_string(1 << 20)));
    EXPECT_LT(error.size(), 1024u) << error.substr(0, 400);
    EXPECT_THAT(error, HasSubstr("' (1048576 bytes)")) << error.substr(0, 400);
    EXPECT_THAT(error, Not(HasSubstr("cut at the limit"))) << error.substr(0, 400);
  }
  ExpectServing("errors about ids of a MiB");
}

}  // namespace
}  // namespace theater
