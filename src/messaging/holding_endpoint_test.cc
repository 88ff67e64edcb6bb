// Theater: a WebAssembly actor runtime.
//
// HoldingEndpoint tests: a router's id held while its actor moves, then forwarded (the host it
// left) or handed to the arrival (the host it comes to), in order, lane 0 first.
#include "theater/holding_endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace theater::messaging {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Records the payloads it receives, as text.
class Recorder final : public Endpoint {
 public:
  Status Deliver(Envelope envelope) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (refuse_) return ResourceExhausted("mailbox is full");
    got_.emplace_back(envelope.payload.begin(), envelope.payload.end());
    return Status();
  }
  std::vector<std::string> got() {
    std::lock_guard<std::mutex> lock(mu_);
    return got_;
  }
  void Refuse() {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_ = true;
  }

 private:
  std::mutex mu_;
  bool refuse_ = false;
  std::vector<std::string> got_;
};

std::vector<uint8_t> Bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(HoldingEndpointTest, WhatArrivesWhileHeldReachesTheArrivalFirstAndInOrder) {
  Router router;
  auto hold = std::make_shared<HoldingEndpoint>(router, "x", /*gate_open=*/true);
  router.Install("x", hold);
  ASSERT_TRUE(router.Send("x", Bytes("1")).ok());
  ASSERT_TRUE(router.Send("x", Bytes("2")).ok());
  EXPECT_EQ(hold->held(), 2u);
  auto actor = std::make_shared<Recorder>();
  // The actor's registration finds the hold: it arrives there, and the hold steps aside.
  ASSERT_TRUE(router.Register("x", actor).ok());
  ASSERT_TRUE(router.Send("x", Bytes("3")).ok());
  EXPECT_THAT(actor->got(), ElementsAre("1", "2", "3"));
  EXPECT_EQ(hold->held(), 0u);
  // The router's entry is the actor now: a second registration is refused as ever.
  EXPECT_EQ(router.Register("x", std::make_shared<Recorder>()).code(),
            StatusCode::kAlreadyExists);
}

TEST(HoldingEndpointTest, AClosedGateHoldsTheArrivalBackAndLaneZeroGoesFirst) {
  Router router;
  int lane = 1;
  auto hold = std::make_shared<HoldingEndpoint>(router, "x", /*gate_open=*/false,
                                                [&lane] { return lane; });
  router.Install("x", hold);
  ASSERT_TRUE(router.Send("x", Bytes("local-1")).ok());
  lane = 0;
  ASSERT_TRUE(router.Send("x", Bytes("relayed-1")).ok());
  auto actor = std::make_shared<Recorder>();
  ASSERT_TRUE(router.Register("x", actor).ok());
  EXPECT_TRUE(actor->got().empty()) << "the gate is closed until the relay is drained";
  ASSERT_TRUE(router.Send("x", Bytes("relayed-2")).ok());
  lane = 1;
  ASSERT_TRUE(router.Send("x", Bytes("local-2")).ok());
  hold->OpenGate();
  EXPECT_THAT(actor->got(), ElementsAre("relayed-1", "relayed-2", "local-1", "local-2"));
  ASSERT_TRUE(router.Send("x", Bytes("after")).ok());
  EXPECT_EQ(actor->got().back(), "after");
}

TEST(HoldingEndpointTest, ForwardingSendsWhatWasHeldThenEverythingLater) {
  Router router;
  auto hold = std::make_shared<HoldingEndpoint>(router, "x", /*gate_open=*/true);
  router.Install("x", hold);
  ASSERT_TRUE(router.Send("x", Bytes("1")).ok());
  auto elsewhere = std::make_shared<Recorder>();
  hold->Forward([elsewhere](Envelope e) { return elsewhere->Deliver(std::move(e)); });
  ASSERT_TRUE(router.Send("x", Bytes("2")).ok());
  EXPECT_THAT(elsewhere->got(), ElementsAre("1", "2"));
  // Still the router's entry: the relay stays for senders that reach this host.
  EXPECT_EQ(router.Register("x", std::make_shared<Recorder>()).ok(), true)
      << "an actor coming back arrives at the relay";
}

TEST(HoldingEndpointTest, AHeldRequestRefusedOnForwardingHearsWhy) {
  Router router;
  auto hold = std::make_shared<HoldingEndpoint>(router, "x", /*gate_open=*/true);
  router.Install("x", hold);
  std::optional<Status> answer;
  ASSERT_TRUE(router
                  .Request("x", Bytes("q"),
                           [&answer](Result<Reply> reply) { answer = reply.status(); })
                  .ok());
  auto full = std::make_shared<Recorder>();
  full->Refuse();
  hold->Forward([full](Envelope e) { return full->Deliver(std::move(e)); });
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->code(), StatusCode::kResourceExhausted);
}

TEST(HoldingEndpointTest, ChannelOpeningsAreRefusedWhileHeldAndTheLimitIsNamed) {
  Router router;
  auto hold = std::make_shared<HoldingEndpoint>(router, "x", /*gate_open=*/true);
  router.Install("x", hold);
  Envelope open;
  open.kind = Envelope::Kind::kChannelOpen;
  Status opened = hold->Deliver(std::move(open));
  EXPECT_EQ(opened.code(), StatusCode::kUnavailable);
  EXPECT_THAT(opened.message(), HasSubstr("moving"));
  for (size_t i = 0; i < HoldingEndpoint::kMaxHeld; ++i) {
    ASSERT_TRUE(hold->Deliver(Envelope{}).ok());
  }
  Status full = hold->Deliver(Envelope{});
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr(std::to_string(HoldingEndpoint::kMaxHeld)));
}

TEST(HoldingEndpointTest, DeliveriesRacingTheHandOverKeepEachSendersOrder) {
  Router router;
  auto hold = std::make_shared<HoldingEndpoint>(router, "x", /*gate_open=*/true);
  router.Install("x", hold);
  auto actor = std::make_shared<Recorder>();
  std::atomic<int> sent{0};
  std::thread sender([&router, &sent] {
    for (int i = 0; i < 20000; ++i) {
      ASSERT_TRUE(router.Send("x", Bytes(std::to_string(i))).ok());
      sent.store(i + 1, std::memory_order_release);
    }
  });
  // The arrival comes while the sender is mid-way: some were held, the rest race the hand-over.
  while (sent.load(std::memory_order_acquire) < 5000) std::this_thread::yield();
  ASSERT_TRUE(router.Register("x", actor).ok());
  sender.join();
  std::vector<std::string> got = actor->got();
  ASSERT_EQ(got.size(), 20000u);
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(got[i], std::to_string(i)) << "at " << i;
}

}  // namespace
}  // namespace theater::messaging
