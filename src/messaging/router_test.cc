// Theater: a WebAssembly actor runtime.
//
// Router tests with in-process endpoints (bounded queues standing in for actor mailboxes; the
// actor side is tested through real actors in src/handlers/message-server/message_server_test.cc).
#include "theater/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <map>
#include <optional>
#include <thread>

namespace theater::messaging {
namespace {

using ::testing::HasSubstr;

// A bounded mailbox that records what it receives.
class QueueEndpoint final : public Endpoint {
 public:
  explicit QueueEndpoint(size_t capacity = 1000) : capacity_(capacity) {}
  Status Deliver(Envelope envelope) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) return FailedPrecondition("endpoint is shutting down");
    if (received_.size() >= capacity_) return ResourceExhausted("mailbox is full");
    received_.push_back(std::move(envelope));
    return Status();
  }
  std::vector<Envelope> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(received_, {});
  }
  void SetClosing() {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }

 private:
  std::mutex mu_;
  size_t capacity_;
  bool closing_ = false;
  std::vector<Envelope> received_;
};

std::vector<uint8_t> Bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(RouterTest, DeliversToTheRegisteredEndpoint) {
  Router router;
  auto a = std::make_shared<QueueEndpoint>();
  ASSERT_TRUE(router.Register("a", a).ok());
  ASSERT_TRUE(router.Send("a", Bytes("hello")).ok());
  std::vector<Envelope> got = a->Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Envelope::Kind::kSend);
  EXPECT_EQ(got[0].payload, Bytes("hello"));
  EXPECT_EQ(router.Register("a", a).code(), StatusCode::kAlreadyExists);
}

TEST(RouterTest, DistinctErrorsForUnknownStoppedClosingAndFullTargets) {
  Router router;
  EXPECT_EQ(router.Send("nobody", {}).code(), StatusCode::kNotFound);

  auto gone = std::make_shared<QueueEndpoint>();
  ASSERT_TRUE(router.Register("gone", gone).ok());
  router.Unregister("gone", gone.get());
  Status stopped = router.Send("gone", {});
  EXPECT_EQ(stopped.code(), StatusCode::kUnavailable);
  EXPECT_THAT(stopped.message(), HasSubstr("has stopped"));

  auto closing = std::make_shared<QueueEndpoint>();
  ASSERT_TRUE(router.Register("closing", closing).ok());
  closing->SetClosing();
  EXPECT_EQ(router.Send("closing", {}).code(), StatusCode::kFailedPrecondition);

  auto small = std::make_shared<QueueEndpoint>(2);
  ASSERT_TRUE(router.Register("small", small).ok());
  EXPECT_TRUE(router.Send("small", {}).ok());
  EXPECT_TRUE(router.Send("small", {}).ok());
  EXPECT_EQ(router.Send("small", {}).code(), StatusCode::kResourceExhausted);
}

TEST(RouterTest, ReRegisteringAStoppedIdMakesItReachableAgain) {
  Router router;
  auto first = std::make_shared<QueueEndpoint>();
  ASSERT_TRUE(router.Register("x", first).ok());
  router.Unregister("x", first.get());
  auto second = std::make_shared<QueueEndpoint>();
  ASSERT_TRUE(router.Register("x", second).ok());
  // A stale unregister of the first endpoint does not remove the second.
  router.Unregister("x", first.get());
  EXPECT_TRUE(router.Send("x", Bytes("again")).ok());
  EXPECT_EQ(second->Take().size(), 1u);
}

TEST(RouterTest, ForgetsStopsBeyondItsMemory) {
  Router router(/*remembered_stops=*/64);  // one per shard
  std::vector<std::shared_ptr<QueueEndpoint>> endpoints;
  for (int i = 0; i < 1000; ++i) {
    auto e = std::make_shared<QueueEndpoint>();
    ASSERT_TRUE(router.Register("id" + std::to_string(i), e).ok());
    router.Unregister("id" + std::to_string(i), e.get());
  }
  int unavailable = 0, not_found = 0;
  for (int i = 0; i < 1000; ++i) {
    StatusCode code = router.Send("id" + std::to_string(i), {}).code();
    unavailable += code == StatusCode::kUnavailable;
    not_found += code == StatusCode::kNotFound;
  }
  EXPECT_EQ(unavailable + not_found, 1000);
  EXPECT_LE(unavailable, 64);
  EXPECT_GT(unavailable, 0);
}

TEST(RouterTest, MissExplainerNamesWhyATargetCannotReceive) {
  Router router;
  router.SetMissExplainer([](std::string_view id) -> Status {
    if (id == "mute") return FailedPrecondition("actor mute does not receive messages");
    return Status();
  });
  EXPECT_EQ(router.Send("mute", {}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(router.Send("other", {}).code(), StatusCode::kNotFound);
}

TEST(RouterTest, RequestsCarryTheirReply) {
  Router router;
  auto a = std::make_shared<QueueEndpoint>();
  ASSERT_TRUE(router.Register("a", a).ok());
  std::optional<Result<Reply>> answer;
  ASSERT_TRUE(
      router.Request("a", Bytes("q"), [&](Result<Reply> r) { answer = std::move(r); }).ok());
  std::vector<Envelope> got = a->Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Envelope::Kind::kRequest);
  got[0].reply(Reply{true, Bytes("answer")});
  ASSERT_TRUE(answer.has_value());
  ASSERT_TRUE(answer->ok());
  EXPECT_EQ((*answer)->message, Bytes("answer"));
  // A refused request never calls its reply.
  bool called = false;
  EXPECT_FALSE(router.Request("nobody", {}, [&](Result<Reply>) { called = true; }).ok());
  EXPECT_FALSE(called);
}

TEST(RouterTest, PerSenderOrderIsKeptUnderConcurrency) {
  Router router;
  auto target = std::make_shared<QueueEndpoint>(1'000'000);
  ASSERT_TRUE(router.Register("t", target).ok());
  constexpr int kSenders = 4, kEach = 20'000;
  std::vector<std::thread> threads;
  for (int s = 0; s < kSenders; ++s) {
    threads.emplace_back([&, s] {
      for (int i = 0; i < kEach; ++i) {
        std::vector<uint8_t> p(8);
        uint32_t seq = static_cast<uint32_t>(i);
        std::memcpy(p.data(), &s, 4);
        std::memcpy(p.data() + 4, &seq, 4);
        ASSERT_TRUE(router.Send("t", std::move(p)).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<Envelope> got = target->Take();
  ASSERT_EQ(got.size(), static_cast<size_t>(kSenders * kEach));
  std::vector<int64_t> last(kSenders, -1);
  for (const Envelope& e : got) {
    int s;
    uint32_t seq;
    std::memcpy(&s, e.payload.data(), 4);
    std::memcpy(&seq, e.payload.data() + 4, 4);
    ASSERT_EQ(static_cast<int64_t>(seq), last[s] + 1) << "sender " << s;
    last[s] = seq;
  }
}

// Opens a channel from a to b, with b's decision applied by the test.
struct ChannelFixture {
  Router router;
  std::shared_ptr<QueueEndpoint> a = std::make_shared<QueueEndpoint>();
  std::shared_ptr<QueueEndpoint> b = std::make_shared<QueueEndpoint>();
  ChannelFixture() {
    EXPECT_TRUE(router.Register("a", a).ok());
    EXPECT_TRUE(router.Register("b", b).ok());
  }
  // Opens and returns (result, the envelope b received).
  std::optional<Result<OpenedChannel>> Open(std::optional<Reply> decision) {
    std::optional<Result<OpenedChannel>> opened;
    router.OpenChannel("a", "b", Bytes("hi"), [&](Result<OpenedChannel> r) { opened = r; });
    std::vector<Envelope> got = b->Take();
    EXPECT_EQ(got.size(), 1u);
    if (got.size() != 1) return opened;
    EXPECT_EQ(got[0].kind, Envelope::Kind::kChannelOpen);
    EXPECT_EQ(got[0].sender, "a");
    EXPECT_EQ(got[0].payload, Bytes("hi"));
    EXPECT_FALSE(opened.has_value()) << "decided before the target answered";
    if (decision) got[0].reply(*decision);
    return opened;
  }
};

TEST(RouterTest, ChannelOpenMessageAndCloseInBothDirections) {
  ChannelFixture f;
  auto opened = f.Open(Reply{true, Bytes("welcome")});
  ASSERT_TRUE(opened && opened->ok());
  std::string ch = (*opened)->channel;
  EXPECT_EQ(ch.substr(0, 3), "ch_");
  EXPECT_EQ((*opened)->message, Bytes("welcome"));
  EXPECT_EQ(f.router.open_channels(), 1u);

  ASSERT_TRUE(f.router.SendOnChannel("a", ch, Bytes("to b")).ok());
  ASSERT_TRUE(f.router.SendOnChannel("b", ch, Bytes("to a")).ok());
  auto to_b = f.b->Take();
  auto to_a = f.a->Take();
  ASSERT_EQ(to_b.size(), 1u);
  ASSERT_EQ(to_a.size(), 1u);
  EXPECT_EQ(to_b[0].kind, Envelope::Kind::kChannelMessage);
  EXPECT_EQ(to_b[0].channel, ch);
  EXPECT_EQ(to_b[0].payload, Bytes("to b"));
  EXPECT_EQ(to_a[0].payload, Bytes("to a"));

  EXPECT_EQ(f.router.SendOnChannel("c", ch, {}).code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(f.router.CloseChannel("b", ch).ok());
  auto closed = f.a->Take();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].kind, Envelope::Kind::kChannelClose);
  EXPECT_EQ(f.router.SendOnChannel("a", ch, {}).code(), StatusCode::kNotFound);
  EXPECT_EQ(f.router.CloseChannel("a", ch).code(), StatusCode::kNotFound);
  EXPECT_EQ(f.router.open_channels(), 0u);
}

TEST(RouterTest, RejectedChannelCarriesTheTargetsWords) {
  ChannelFixture f;
  auto opened = f.Open(Reply{false, Bytes("busy right now")});
  ASSERT_TRUE(opened.has_value());
  ASSERT_FALSE(opened->ok());
  EXPECT_EQ(opened->status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(opened->status().message(), HasSubstr("rejected by b: busy right now"));
  EXPECT_EQ(f.router.open_channels(), 0u);
}

TEST(RouterTest, TargetFailingWhileDecidingReleasesTheOpener) {
  ChannelFixture f;
  auto opened = f.Open(std::nullopt);
  // The router holds no lock while b decides: other routing goes on.
  EXPECT_TRUE(f.router.Send("a", Bytes("meanwhile")).ok());
  EXPECT_EQ(f.a->Take().size(), 1u);
  // b's decision is lost when its endpoint fails the envelope's reply.
  std::optional<Result<OpenedChannel>> result;
  f.router.OpenChannel("a", "b", {}, [&](Result<OpenedChannel> r) { result = r; });
  auto got = f.b->Take();
  ASSERT_EQ(got.size(), 1u);
  got[0].reply(TrapError("b trapped"));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status().code(), StatusCode::kTrap);
  EXPECT_THAT(result->status().ToString(), HasSubstr("opening a channel to b"));
}

TEST(RouterTest, StoppingAParticipantClosesItsChannels) {
  ChannelFixture f;
  auto opened = f.Open(Reply{true, std::nullopt});
  ASSERT_TRUE(opened && opened->ok());
  std::string ch = (*opened)->channel;
  f.router.Unregister("b", f.b.get());
  auto got = f.a->Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Envelope::Kind::kChannelClose);
  EXPECT_EQ(got[0].channel, ch);
  EXPECT_EQ(f.router.open_channels(), 0u);
}

TEST(RouterTest, InitiatorStoppingWhileTargetDecides) {
  ChannelFixture f;
  std::optional<Result<OpenedChannel>> result;
  f.router.OpenChannel("a", "b", {}, [&](Result<OpenedChannel> r) { result = r; });
  auto got = f.b->Take();
  ASSERT_EQ(got.size(), 1u);
  f.router.Unregister("a", f.a.get());
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status().code(), StatusCode::kUnavailable);
  // b accepts anyway: it is told at once that the channel is over.
  got[0].reply(Reply{true, std::nullopt});
  auto close = f.b->Take();
  ASSERT_EQ(close.size(), 1u);
  EXPECT_EQ(close[0].kind, Envelope::Kind::kChannelClose);
  EXPECT_EQ(f.router.open_channels(), 0u);
}

TEST(RouterTest, ChannelToAFullMailboxFailsAtOnce) {
  Router router;
  auto a = std::make_shared<QueueEndpoint>();
  auto full = std::make_shared<QueueEndpoint>(0);
  ASSERT_TRUE(router.Register("a", a).ok());
  ASSERT_TRUE(router.Register("full", full).ok());
  std::optional<Result<OpenedChannel>> result;
  router.OpenChannel("a", "full", {}, [&](Result<OpenedChannel> r) { result = r; });
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status().code(), StatusCode::kResourceExhausted);
  router.OpenChannel("a", "nobody", {}, [&](Result<OpenedChannel> r) { result = r; });
  EXPECT_EQ(result->status().code(), StatusCode::kNotFound);
  EXPECT_EQ(router.open_channels(), 0u);
}

// The per-participant cap on channels (limits::kMaxChannelsPerActor, here 2) holds at both ends,
// counts channels still opening, and frees a place when a channel closes or is refused.
TEST(RouterTest, AParticipantIsInAtMostTheCapOfChannels) {
  Router router(/*remembered_stops=*/64, /*max_channels_per_participant=*/2);
  std::map<std::string, std::shared_ptr<QueueEndpoint>> endpoints;
  for (const char* id : {"a", "b", "c", "d"}) {
    endpoints[id] = std::make_shared<QueueEndpoint>();
    ASSERT_TRUE(router.Register(id, endpoints[id]).ok());
  }
  auto open = [&](const char* from, const char* to) {
    std::optional<Result<OpenedChannel>> result;
    router.OpenChannel(from, to, {}, [&](Result<OpenedChannel> r) { result = r; });
    for (Envelope& e : endpoints[to]->Take()) {
      if (e.kind == Envelope::Kind::kChannelOpen) e.reply(Reply{true, std::nullopt});
    }
    return result;
  };
  auto first = open("a", "b");
  ASSERT_TRUE(first && first->ok());
  // One still opening counts: b has not decided yet.
  std::optional<Result<OpenedChannel>> pending;
  router.OpenChannel("a", "c", {}, [&](Result<OpenedChannel> r) { pending = r; });
  EXPECT_FALSE(pending.has_value());
  auto over = open("a", "b");
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(over->status().message(),
              HasSubstr("the opener a is in 2 channels already, the limit of open channels per "
                        "actor (2, limits::kMaxChannelsPerActor)"));
  // The cap of the target: b is in one channel; c fills it, and then no one may open to b.
  ASSERT_TRUE(open("c", "b")->ok());
  auto to_full = open("d", "b");
  EXPECT_THAT(to_full->status().message(), HasSubstr("the target b is in 2 channels already"));
  // Closing frees the place.
  ASSERT_TRUE(router.CloseChannel("a", (*first)->channel).ok());
  for (Envelope& e : endpoints["c"]->Take()) {
    if (e.kind == Envelope::Kind::kChannelOpen) e.reply(Reply{false, std::nullopt});
  }
  ASSERT_TRUE(pending.has_value());  // refused by c: a's place is freed too
  EXPECT_TRUE(open("a", "b")->ok());
}

// A channel id of a MiB is quoted by its first bytes and its length, not echoed.
TEST(RouterTest, ErrorsQuoteALongChannelIdOnce) {
  Router router;
  const std::string id(1u << 20, 'x');
  Status s = router.SendOnChannel("a", id, {});
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_LT(s.ToString().size(), 400u);
  EXPECT_THAT(s.ToString(), HasSubstr("(1048576 bytes) is not open"));
}

// Participants of other hosts (RemoteRoutes), with an in-process stand-in for the lattice (the
// real one, over NATS, is tested in src/cluster/lattice_messaging_test.cc).
class FakeRemote final : public RemoteRoutes {
 public:
  class Proxy final : public Endpoint {
   public:
    Status Deliver(Envelope envelope) override {
      received.push_back(std::move(envelope));
      return Status();
    }
    bool wants_sender() const override { return true; }
    std::vector<Envelope> received;
  };
  Result<std::shared_ptr<Endpoint>> Find(std::string_view id) override {
    ++asked;
    auto it = proxies.find(std::string(id));
    if (it == proxies.end()) return NotFound("not on any host");
    return std::shared_ptr<Endpoint>(it->second);
  }
  std::map<std::string, std::shared_ptr<Proxy>> proxies;
  int asked = 0;
};

// A router with a participant "local" here and "far" on another host.
class RemoteRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.SetRemoteRoutes(&remote);
    ASSERT_TRUE(router.Register("local", local).ok());
    remote.proxies["far"] = far;
  }
  Router router;
  FakeRemote remote;
  std::shared_ptr<QueueEndpoint> local = std::make_shared<QueueEndpoint>();
  std::shared_ptr<FakeRemote::Proxy> far = std::make_shared<FakeRemote::Proxy>();
};

TEST_F(RemoteRouterTest, AMissAsksTheOtherHostsAndALocalRouteNever) {

  ASSERT_TRUE(router.Send("local", Bytes("x"), "sender-1").ok());
  EXPECT_EQ(remote.asked, 0) << "a local route never asks the lattice";
  EXPECT_TRUE(local->Take()[0].sender.empty()) << "a local delivery builds no sender";

  ASSERT_TRUE(router.Send("far", Bytes("y"), "sender-1").ok());
  ASSERT_EQ(far->received.size(), 1u);
  EXPECT_EQ(far->received[0].sender, "sender-1") << "a remote participant is told the sender";
  EXPECT_EQ(remote.asked, 1);

  // Nowhere: the usual miss.
  Status missing = router.Send("nowhere", Bytes("z"));
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
}

TEST_F(RemoteRouterTest, AChannelOpenedFromAnotherHostIsRecordedHereAndClosedWithItsHost) {

  std::optional<Result<Reply>> decided;
  router.OpenChannelFromRemote("ch_1", "far", "local", Bytes("hi"),
                               [&](Result<Reply> d) { decided = std::move(d); });
  std::vector<Envelope> got = local->Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Envelope::Kind::kChannelOpen);
  EXPECT_EQ(got[0].sender, "far");
  got[0].reply(Reply{true, std::nullopt});
  ASSERT_TRUE(decided && decided->ok());
  EXPECT_EQ(router.open_channels(), 1u);

  // The remote participant's messages reach the local one; the local one's reach the proxy.
  ASSERT_TRUE(router.SendOnChannel("far", "ch_1", Bytes("m1")).ok());
  ASSERT_EQ(local->Take().size(), 1u);
  ASSERT_TRUE(router.SendOnChannel("local", "ch_1", Bytes("m2")).ok());
  ASSERT_EQ(far->received.size(), 1u);
  EXPECT_EQ(far->received[0].kind, Envelope::Kind::kChannelMessage);

  // An opening for an id this host does not hold is never passed on.
  std::optional<Result<Reply>> elsewhere;
  router.OpenChannelFromRemote("ch_2", "far", "far", {},
                               [&](Result<Reply> d) { elsewhere = std::move(d); });
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ(elsewhere->status().code(), StatusCode::kNotFound);

  // The far host is lost: its channels close, and the local participant is told.
  router.DropParticipants([](std::string_view id) { return id == "far"; }, "host h2 lost");
  EXPECT_EQ(router.open_channels(), 0u);
  got = local->Take();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, Envelope::Kind::kChannelClose);
  EXPECT_EQ(got[0].channel, "ch_1");
}

}  // namespace
}  // namespace theater::messaging
