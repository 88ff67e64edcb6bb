// Theater: a WebAssembly actor runtime.
//
// Messages between hosts of a lattice (lattice_messenger.h, docs/distribution.md): two runtimes
// in this process, each a host with its own LatticeMember and LatticeMessenger, joined through a
// real nats-server with JetStream (testing/nats_server.h), and real actors
// (tests/actors/messenger.c) on each. Sends, requests and channels cross hosts; per-pair order
// holds; a refusal at the target reaches the sender's next call; a spawn of an id another live
// host holds is refused; answers owed by a host that leaves fail naming it; a second lattice on
// the same NATS reaches nothing of the first.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "cluster/lattice_member.h"
#include "cluster/lattice_messenger.h"
#include "cluster/lattice_test_hosts.h"
#include "testing/nats_server.h"
#include "testing/runtime_test_util.h"
#include "testing/stress_count.h"
#include "testing/wait_for.h"
#include "theater/builtins.h"

namespace theater::cluster {
namespace {

using ::testing::HasSubstr;
using testing_util::Bytes;
using testing_util::NatsServer;
using testing_util::StressCount;
using testing_util::WaitFor;
using namespace std::chrono_literals;

const std::string kMessenger = std::string(THEATER_TEST_ACTOR_DIR) + "/messenger.wasm";

// The messenger's manifest; `extra` may configure the message-server handler itself.
std::string MessengerManifest(std::string_view extra = "") {
  std::string manifest =
      "name = \"m\"\nversion = \"0.1.0\"\ncomponent = \"" + kMessenger + "\"\n" + std::string(extra);
  if (extra.find("type = \"message-server\"") == std::string_view::npos) {
    manifest += "\n[[handler]]\ntype = \"message-server\"\n";
  }
  return manifest + "\n[[handler]]\ntype = \"timing\"\n";
}

std::string Text(const std::vector<uint8_t>& bytes) {
  return {bytes.begin(), bytes.end()};
}

using Host = LatticeTestHost;

class LatticeMessagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!NatsServer::Installed()) GTEST_SKIP() << "nats-server is not installed (install-deps.sh)";
    nats_ = std::make_unique<NatsServer>();
    ASSERT_TRUE(nats_->ok()) << "nats-server did not start; its log: " << nats_->log();
  }

  std::unique_ptr<Host> StartHost(const std::string& name, const std::string& lattice = "msg") {
    return StartLatticeTestHost(nats_->url(), name, lattice);
  }

  // Both hosts have heard each other's heartbeat (a lookup needs the holder to be live).
  void WaitUntilAcquainted(Host& a, const std::string& a_name, Host& b, const std::string& b_name) {
    ASSERT_TRUE(WaitFor([&] {
      return a.member->IsLive(b_name, 5s) && b.member->IsLive(a_name, 5s);
    }));
  }

  // Hosts "a" and "b" of lattice "msg", each having heard the other.
  void StartTwoHosts() {
    a_ = StartHost("a");
    b_ = StartHost("b");
    ASSERT_TRUE(a_ && b_);
    WaitUntilAcquainted(*a_, "a", *b_, "b");
  }
  // A request from host a's embedder that the actor `on_b` (on host b) leaves unanswered, once
  // the actor has it.
  std::future<std::string> OwedRequest(const std::string& on_b) {
    std::future<std::string> owed =
        std::async(std::launch::async, [this, on_b] { return Ask(*a_, on_b, "defer", 30s); });
    EXPECT_TRUE(WaitFor([&] { return Ask(*b_, on_b, "log").find("deferred:") != std::string::npos; }));
    return owed;
  }

  static std::string Spawn(Host& host, const std::string& manifest = MessengerManifest()) {
    SpawnRequest request;
    request.manifest = manifest;
    Result<std::string> id = host.runtime->Spawn(request);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }
  static std::string Ask(Host& host, const std::string& id, const std::string& command,
                         std::chrono::milliseconds timeout = 10s) {
    Result<std::vector<uint8_t>> answer = host.runtime->RequestMessage(id, Bytes(command), timeout);
    if (!answer.ok()) return "failed:" + answer.status().ToString();
    return Text(*answer);
  }

  std::unique_ptr<NatsServer> nats_;
  std::unique_ptr<Host> a_, b_;
};

TEST_F(LatticeMessagingTest, RequestsAndSendsReachAnActorOnAnotherHost) {
  StartTwoHosts();
  Host* a = a_.get();
  Host* b = b_.get();
  const std::string on_a = Spawn(*a);
  const std::string on_b = Spawn(*b);
  // The embedder of host a asks the actor on host b.
  EXPECT_EQ(Ask(*a, on_b, "echo:across"), "across");
  // An actor on a asks the actor on b, and sends to it.
  EXPECT_EQ(Ask(*a, on_a, "request:" + on_b + ":echo:hello"), "hello");
  EXPECT_EQ(Ask(*a, on_a, "send:" + on_b + ":one-way"), "ok");
  EXPECT_TRUE(WaitFor([&] { return Ask(*b, on_b, "log").find("send:one-way") != std::string::npos; }));
  // And the other way round.
  EXPECT_EQ(Ask(*b, on_b, "request:" + on_a + ":echo:back"), "back");
}

// 100,000 sends and 20 requests over four pairs across hosts, interleaved: each request's target
// (bench_actor, which counts what it handles and answers with the count) has handled exactly
// every message its sender sent before the request, no more and no fewer.
TEST_F(LatticeMessagingTest, AHundredThousandMixedSendsAndRequestsKeepEachPairsOrder) {
  StartTwoHosts();
  const std::string counter_manifest =
      "name = \"counter\"\nversion = \"0.1.0\"\ncomponent = \"" +
      std::string(THEATER_TEST_ACTOR_DIR) +
      "/bench_actor.wasm\"\n\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\n"
      "type = \"timing\"\n\n[limits]\nmailbox_capacity = 30000\n";
  // Four pairs, five rounds of 5,000: a hundred thousand (ten thousand under the sanitizers).
  constexpr int kPairs = 4, kRounds = 5, kBurst = StressCount(5000);
  std::vector<std::string> senders, targets;
  for (int p = 0; p < kPairs; ++p) {
    senders.push_back(Spawn(*a_));
    targets.push_back(Spawn(*b_, counter_manifest));
  }
  std::vector<std::future<std::string>> pairs;
  for (int p = 0; p < kPairs; ++p) {
    pairs.push_back(std::async(std::launch::async, [&, p] {
      std::string trail;
      for (int round = 1; round <= kRounds; ++round) {
        const std::string sent =
            Ask(*a_, senders[p], "burst:" + targets[p] + ":" + std::to_string(kBurst), 60s);
        if (sent != std::to_string(kBurst)) return "burst " + std::to_string(round) + ": " + sent;
        // The count includes this round's request itself.
        const std::string counted = Ask(*a_, senders[p], "request:" + targets[p] + ":count", 60s);
        const std::string expected = std::to_string(round * kBurst + round);
        if (counted != expected) {
          return "round " + std::to_string(round) + ": counted " + counted + ", expected " +
                 expected;
        }
      }
      return std::string("ok");
    }));
  }
  for (int p = 0; p < kPairs; ++p) EXPECT_EQ(pairs[p].get(), "ok") << "pair " << p;
}

// A request whose answer comes after the requester gave up: the requester's call fails with its
// timeout, the late answer is dropped when it arrives, and the next request works.
TEST_F(LatticeMessagingTest, ALateAnswerAcrossHostsIsDroppedAndTheNextRequestWorks) {
  StartTwoHosts();
  const std::string impatient =
      Spawn(*a_, MessengerManifest("[[handler]]\ntype = \"message-server\"\n"
                                   "request_timeout_ms = 200\n"));
  const std::string slow = Spawn(*b_);
  EXPECT_THAT(Ask(*a_, impatient, "request:" + slow + ":after:1000:echo:late"),
              HasSubstr("timed out after 200 ms"));
  // The slow actor finishes and answers late; the next request's answer travels after it.
  ASSERT_TRUE(WaitFor([&] {
    Result<ActorPhase> phase = b_->runtime->Phase(slow);
    return phase.ok() && *phase != ActorPhase::kProcessing;
  }));
  EXPECT_EQ(Ask(*a_, impatient, "request:" + slow + ":echo:on time"), "on time");
}

TEST_F(LatticeMessagingTest, EachPairKeepsItsOrderAcrossHostsSendsAndRequestsInterleaved) {
  StartTwoHosts();
  Host* a = a_.get();
  Host* b = b_.get();
  const std::string sender = Spawn(*a);
  const std::string target = Spawn(*b);
  // 300 sends in one call, then a request, then 300 more: the target's log has them in order,
  // the request's own entry between the two bursts.
  EXPECT_EQ(Ask(*a, sender, "burst:" + target + ":300"), "300");
  EXPECT_EQ(Ask(*a, sender, "request:" + target + ":echo:middle"), "middle");
  EXPECT_EQ(Ask(*a, sender, "burst:" + target + ":300"), "300");
  std::string log;
  ASSERT_TRUE(WaitFor([&] {
    log = Ask(*b, target, "log");
    size_t n = 0;
    for (size_t at = log.find("send:"); at != std::string::npos; at = log.find("send:", at + 1)) ++n;
    return n == 600;
  })) << log;
  std::vector<std::string> seen;
  size_t at = 0;
  while ((at = log.find("send:", at)) != std::string::npos) {
    size_t end = log.find('|', at);
    seen.push_back(log.substr(at + 5, end == std::string::npos ? std::string::npos : end - at - 5));
    at += 5;
  }
  ASSERT_EQ(seen.size(), 600u);
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(seen[i], std::to_string(i)) << "message " << i;
    EXPECT_EQ(seen[300 + i], std::to_string(i)) << "message " << 300 + i;
  }
}

TEST_F(LatticeMessagingTest, AChannelBetweenHostsOpensCarriesBothWaysAndCloses) {
  StartTwoHosts();
  Host* a = a_.get();
  Host* b = b_.get();
  const std::string opener = Spawn(*a);
  const std::string target = Spawn(*b);
  const std::string channel = Ask(*a, opener, "open:" + target + ":accept:welcome");
  ASSERT_THAT(channel, ::testing::StartsWith("ch_"));
  // The accept message reaches the opener; the target echoes on the channel.
  EXPECT_EQ(Ask(*a, opener, "chsend:" + channel + ":echo:ping"), "ok");
  EXPECT_TRUE(WaitFor([&] {
    std::string log = Ask(*a, opener, "log");
    return log.find("chmsg:" + channel + ":welcome") != std::string::npos &&
           log.find("chmsg:" + channel + ":re:ping") != std::string::npos;
  })) << Ask(*a, opener, "log");
  EXPECT_THAT(Ask(*b, target, "log"), HasSubstr("chmsg:" + channel + ":echo:ping"));
  EXPECT_EQ(Ask(*a, opener, "chclose:" + channel), "ok");
  EXPECT_TRUE(WaitFor([&] {
    return Ask(*b, target, "log").find("chclose:" + channel) != std::string::npos;
  }));
  // Closed on both hosts: the target's send on it fails there.
  EXPECT_THAT(Ask(*b, target, "chsend:" + channel + ":late"), HasSubstr("is not open"));
  // A refusal comes back with the target's words.
  EXPECT_THAT(Ask(*a, opener, "open:" + target + ":reject:not now"),
              HasSubstr("rejected by " + target + ": not now"));
}

TEST_F(LatticeMessagingTest, ARefusalAtTheTargetFailsTheSendersNextCallAndFailuresFailRequests) {
  StartTwoHosts();
  Host* a = a_.get();
  Host* b = b_.get();
  const std::string sender = Spawn(*a);
  // A mailbox of one message on b, held by a sleeping call: the second send is refused there.
  const std::string target = Spawn(*b, MessengerManifest("[limits]\nmailbox_capacity = 1\n"));
  std::future<std::string> sleeping =
      std::async(std::launch::async, [&] { return Ask(*b, target, "sleep:1500"); });
  ASSERT_TRUE(WaitFor([&] {
    Result<ActorPhase> phase = b->runtime->Phase(target);
    return phase.ok() && *phase == ActorPhase::kProcessing;
  }));
  // The sends go out at once; the refusal of the one that did not fit comes back, and the
  // sender's next send to that target fails with it (the burst's own third send, when the
  // refusal of the second is back by then).
  std::string told = Ask(*a, sender, "burst:" + target + ":3");
  if (told == "3") {
    ASSERT_TRUE(WaitFor([&] {
      told = Ask(*a, sender, "send:" + target + ":after");
      return told != "ok";
    })) << told;
  }
  EXPECT_THAT(told, HasSubstr("an earlier message to actor " + target + " on host b was refused"));
  EXPECT_THAT(told, HasSubstr("is full"));
  EXPECT_EQ(sleeping.get(), "ok");
  // A request whose target fails gets the failure, with its cause.
  EXPECT_THAT(Ask(*a, sender, "request:" + target + ":trap"), HasSubstr("error:"));
}

TEST_F(LatticeMessagingTest, AnIdHeldByALiveHostIsNotSpawnedOnAnother) {
  StartTwoHosts();
  Host* a = a_.get();
  Host* b = b_.get();
  const std::string on_b = Spawn(*b);
  SpawnRequest twin;
  twin.manifest = MessengerManifest();
  twin.actor_id = on_b;
  Result<std::string> refused = a->runtime->Spawn(twin);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(refused.status().ToString(), HasSubstr("runs on host b"));
  // Stopped on b, the id is free: the directory forgets it, and a lookup says not found.
  ASSERT_TRUE(b->runtime->Stop(on_b).ok());
  b->messenger->directory()->Flush();
  EXPECT_THAT(Ask(*a, on_b, "echo:x", 2s), HasSubstr("not found"));
  Result<std::string> reborn = a->runtime->Spawn(twin);
  ASSERT_TRUE(reborn.ok()) << reborn.status().ToString();
  EXPECT_EQ(Ask(*b, on_b, "echo:here now"), "here now");
}

TEST_F(LatticeMessagingTest, AnswersOwedByAHostThatLeavesFailNamingIt) {
  StartTwoHosts();
  Host* a = a_.get();
  Host* b = b_.get();
  const std::string on_b = Spawn(*b);
  std::future<std::string> deferred = OwedRequest(on_b);
  // A host that leaves the lattice with the request still owed (its actors out of reach): the
  // requester hears it at once from the leaving heartbeat, not at its timeout.
  const auto left = std::chrono::steady_clock::now();
  b->messenger->Close();
  b->member.reset();
  std::string answer = deferred.get();
  EXPECT_THAT(answer, HasSubstr("host b left the lattice"));
  EXPECT_LT(std::chrono::steady_clock::now() - left, 10s) << answer;
  // Its actors are out of reach from then on, saying why.
  EXPECT_THAT(Ask(*a, on_b, "echo:x", 2s), HasSubstr("host b"));
}

TEST_F(LatticeMessagingTest, ARequestOwedByAnActorThatStopsWithItsHostFailsWithTheStop) {
  StartTwoHosts();
  Host* b = b_.get();
  const std::string on_b = Spawn(*b);
  // A host that shuts down stops its actors: a request they owe fails with the stop.
  std::future<std::string> deferred = OwedRequest(on_b);
  b->Leave();
  EXPECT_THAT(deferred.get(), HasSubstr("stopped before answering"));
}

// The NATS server restarted between two bursts: the hosts reconnect and the directory
// (JetStream, on disk) still knows where the target is. What the second burst sent while the
// hosts reconnected arrives, in order, or is lost (core NATS drops what reaches a server before
// the receiving host has subscribed again) and then reported: the sender's next send fails
// naming the loss, found by the hosts' audit within seconds though nothing followed it. Nothing
// arrives twice or out of order.
TEST_F(LatticeMessagingTest, ANatsRestartMidRunReordersNothingAndReportsWhatItLost) {
  StartTwoHosts();
  const std::string sender = Spawn(*a_);
  const std::string target = Spawn(*b_);
  EXPECT_EQ(Ask(*a_, sender, "burst:" + target + ":200"), "200");
  ASSERT_TRUE(WaitFor([&] { return Ask(*b_, target, "log").find("send:199") != std::string::npos; }));
  nats_->Restart();
  ASSERT_TRUE(nats_->ok()) << nats_->log();
  // The second burst goes whole, or ends early: the sender hears of the loss at its first send
  // after the receiving host's report comes back, which may fall within the burst (it then ends
  // there, naming the loss) or after it (a probe hears it below).
  const std::string second = Ask(*a_, sender, "burst:" + target + ":200");
  std::string told;
  size_t sent_second = 200;
  const bool heard_in_burst = second != "200";
  if (heard_in_burst) {
    EXPECT_THAT(second, HasSubstr("lost between hosts a and b"));
    told = second;
    sent_second = std::stoul(second.substr(0, second.find(':')));
  }
  auto sends = [&] {
    std::vector<std::string> seen;  // the bursts' messages (not the probes)
    const std::string log = Ask(*b_, target, "log");
    for (size_t at = log.find("send:"); at != std::string::npos; at = log.find("send:", at + 1)) {
      const size_t end = log.find('|', at);
      std::string message =
          log.substr(at + 5, end == std::string::npos ? std::string::npos : end - at - 5);
      if (message != "probe") seen.push_back(std::move(message));
    }
    return seen;
  };
  ASSERT_TRUE(WaitFor([&] {
    if (heard_in_burst || sends().size() == 200 + sent_second) return true;
    told = Ask(*a_, sender, "send:" + target + ":probe");
    return told.find("lost between hosts a and b") != std::string::npos;
  }, 30s)) << sends().size() << " of " << 200 + sent_second
             << " arrived; the last send said: " << told;
  // Which way it went, for whoever reads the log.
  std::printf("after the restart: %zu of the second burst's %zu arrived%s%s\n",
              sends().size() - 200, sent_second, told.empty() ? "" : "; the sender was told: ",
              told.c_str());
  // The hosts talk again.
  EXPECT_TRUE(WaitFor([&] { return Ask(*a_, sender, "request:" + target + ":echo:back") == "back"; },
                      20s));
  // The first burst whole; what arrived of the second, in order and once.
  const std::vector<std::string> seen = sends();
  ASSERT_GE(seen.size(), 200u);
  for (size_t i = 0; i < 200; ++i) EXPECT_EQ(seen[i], std::to_string(i)) << "message " << i;
  int last = -1;
  for (size_t i = 200; i < seen.size(); ++i) {
    const int n = std::stoi(seen[i]);
    EXPECT_GT(n, last) << "message " << i << " out of order or twice";
    last = n;
  }
}

TEST_F(LatticeMessagingTest, ACutOffHostPausesItsActorsUntilItHearsNatsAgain) {
  StartTwoHosts();
  const std::string busy = Spawn(*a_);
  const std::string held = Spawn(*a_);  // paused by its operator before, and after
  ASSERT_TRUE(a_->runtime->Pause(held, TheaterRuntime::PauseWhen::kNow).ok());
  const auto phase = [&](const std::string& id) {
    for (const ActorSummary& actor : a_->runtime->List()) {
      if (actor.id == id) return actor.phase;
    }
    return ActorPhase::kStopped;
  };
  EXPECT_EQ(Ask(*a_, busy, "echo:before"), "before");

  // Cut off (the lease is 3 s by default): the actors pause; what is asked of them waits.
  nats_->Freeze();
  ASSERT_TRUE(WaitFor([&] { return phase(busy) == ActorPhase::kPaused; }, 10s));
  EXPECT_FALSE(a_->member->HoldsLease());
  std::future<std::string> asked =
      std::async(std::launch::async, [&] { return Ask(*a_, busy, "echo:during", 30s); });
  EXPECT_EQ(asked.wait_for(500ms), std::future_status::timeout) << "a paused actor acted";

  // Back: the lease holds again, the actor resumes and answers; the operator's pause stays.
  nats_->Thaw();
  ASSERT_TRUE(WaitFor([&] { return phase(busy) != ActorPhase::kPaused; }, 20s));
  EXPECT_EQ(asked.get(), "during");
  EXPECT_EQ(phase(held), ActorPhase::kPaused);
  EXPECT_TRUE(a_->runtime->Resume(held).ok());
}

TEST_F(LatticeMessagingTest, ASecondLatticeOnTheSameNatsReachesNothingOfTheFirst) {
  auto a = StartHost("a", "first");
  auto b = StartHost("b", "first");
  auto x = StartHost("a", "second");  // the same host name, another lattice
  ASSERT_TRUE(a && b && x);
  WaitUntilAcquainted(*a, "a", *b, "b");
  const std::string on_b = Spawn(*b);
  EXPECT_EQ(Ask(*a, on_b, "echo:same lattice"), "same lattice");
  EXPECT_THAT(Ask(*x, on_b, "echo:other lattice", 2s), HasSubstr("not found"));
}

}  // namespace
}  // namespace theater::cluster
