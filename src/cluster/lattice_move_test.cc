// Theater: a WebAssembly actor runtime.
//
// Moving an actor between hosts (docs/distribution.md, "Moving an actor"; runtime/move.cc,
// cluster/lattice_moves.cc): three persisting runtimes in this process, hosts a, b and c of one
// lattice over a real nats-server with JetStream, and the messenger actor
// (tests/actors/messenger.c), whose state is the log of what it was sent.
//
// An actor moved from b to c while senders on a, b and c send it numbered messages and a client
// asks it questions: every message arrives once and each sender's in order, every question is
// answered, its state (the log) goes with it, its chain on c is b's hash for hash and goes on
// with the move, verifying end to end, and it answers there from every host. It moves back
// again through the relay it left. A move that cannot happen says why and leaves the actor where
// it was, running.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "cluster/lattice_test_hosts.h"
#include "testing/nats_server.h"
#include "testing/runtime_test_util.h"
#include "testing/wait_for.h"
#include "theater/chain.h"

namespace theater::cluster {
namespace {

using ::testing::HasSubstr;
using testing_util::NatsServer;
using testing_util::WaitFor;
using namespace std::chrono_literals;

const std::string kMessenger = std::string(THEATER_TEST_ACTOR_DIR) + "/messenger.wasm";
const std::string kManifest = "name = \"m\"\nversion = \"0.1.0\"\ncomponent = \"" + kMessenger +
                              "\"\n\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\n"
                              "type = \"timing\"\n";

class LatticeMoveTest : public LatticeHostsTest {
 protected:
  LatticeMoveTest() : LatticeHostsTest({"a", "b", "c"}, "mv", /*persist=*/true) {}

  std::string Spawn(const std::string& host) { return LatticeHostsTest::Spawn(host, kManifest); }
  std::string Ask(const std::string& host, const std::string& id, const std::string& command) {
    Result<std::vector<uint8_t>> answer =
        R(host).RequestMessage(id, testing_util::Bytes(command), 30s);
    if (!answer.ok()) return "failed:" + answer.status().ToString();
    return {answer->begin(), answer->end()};
  }

};

// The numbers a log holds after `tag`, in the order it holds them ("send:a12|send:b3|...").
std::vector<int> Numbered(const std::string& log, const std::string& tag) {
  std::vector<int> out;
  const std::string marker = "send:" + tag;
  for (size_t at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) {
    size_t end = at + marker.size();
    while (end < log.size() && std::isdigit(static_cast<unsigned char>(log[end]))) ++end;
    if (end > at + marker.size()) out.push_back(std::stoi(log.substr(at + marker.size())));
  }
  return out;
}

TEST_F(LatticeMoveTest, AnActorMovesWithItsStateAndNothingSentMeanwhileIsLostOrReordered) {
  const std::string x = Spawn("b");
  // A sender on each host; each has reached x once, so a's and c's have the way to b cached.
  std::map<std::string, std::string> senders;
  for (const std::string host : {"a", "b", "c"}) {
    senders[host] = Spawn(host);
    ASSERT_EQ(Ask(host, senders[host], "send:" + x + ":hello-" + host), "ok");
  }
  ASSERT_TRUE(WaitFor([&] { return Ask("b", x, "log").find("hello-c") != std::string::npos; }));
  const std::vector<chain::Event> on_b = R("b").Events(x).value();

  // Each sender sends rounds of numbered messages while x moves; a client of a asks it
  // questions meanwhile.
  constexpr int kRounds = 12, kPerRound = 25;
  std::atomic<bool> moved{false};
  std::vector<std::future<std::string>> sending;
  for (const auto& [host, sender] : senders) {
    sending.push_back(std::async(std::launch::async, [&, host = host, sender = sender] {
      for (int round = 0; round < kRounds; ++round) {
        const std::string sent =
            Ask(host, sender, "burst:" + x + ":" + std::to_string(kPerRound) + ":" + host + ":" +
                                  std::to_string(round * kPerRound));
        if (sent != std::to_string(kPerRound)) return host + " round " + std::to_string(round) + ": " + sent;
        std::this_thread::sleep_for(5ms);
      }
      return std::string("ok");
    }));
  }
  std::future<std::string> asking = std::async(std::launch::async, [&] {
    for (int i = 0; !moved || i < 5; ++i) {
      const std::string answer = Ask("a", x, "echo:q" + std::to_string(i));
      if (answer != "q" + std::to_string(i)) return "question " + std::to_string(i) + ": " + answer;
    }
    return std::string("ok");
  });
  std::this_thread::sleep_for(20ms);
  Status move = R("b").Move(x, "c");
  moved = true;
  ASSERT_TRUE(move.ok()) << move.ToString();
  for (auto& s : sending) EXPECT_EQ(s.get(), "ok");
  EXPECT_EQ(asking.get(), "ok");

  // It runs on c alone, and answers there from every host.
  EXPECT_FALSE(R("b").Phase(x).ok());
  EXPECT_TRUE(R("c").Phase(x).ok());
  for (const std::string host : {"a", "b", "c"}) EXPECT_EQ(Ask(host, x, "echo:here"), "here");

  // Every message arrived once, each sender's in order; what it had before is still its state.
  std::string log;
  ASSERT_TRUE(WaitFor([&] {
    log = Ask("c", x, "log");
    for (const std::string host : {"a", "b", "c"}) {
      if (Numbered(log, host).size() < kRounds * kPerRound) return false;
    }
    return true;
  }, 20s)) << log;
  for (const std::string host : {"a", "b", "c"}) {
    const std::vector<int> got = Numbered(log, host);
    ASSERT_EQ(got.size(), static_cast<size_t>(kRounds * kPerRound)) << "sender on " << host;
    for (int i = 0; i < kRounds * kPerRound; ++i) {
      ASSERT_EQ(got[i], i) << "sender on " << host << ", message " << i;
    }
    EXPECT_THAT(log, HasSubstr("send:hello-" + host));
  }

  // One chain: b's events hash for hash, then the move, verifying end to end.
  Result<std::vector<chain::Event>> events = R("c").Events(x);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_GT(events->size(), on_b.size());
  for (size_t i = 0; i < on_b.size(); ++i) {
    ASSERT_EQ(chain::ToHex((*events)[i].hash), chain::ToHex(on_b[i].hash)) << "event " << i;
  }
  bool recorded = false;
  for (const chain::Event& e : *events) {
    const std::string payload(e.payload.begin(), e.payload.end());
    if (payload.find("from host b to host c") != std::string::npos) recorded = true;
  }
  EXPECT_TRUE(recorded) << "its chain says it moved";
  EXPECT_TRUE(R("c").VerifyChain(x).ok());

  // And back: the relay b kept steps aside for it, and a's sender (which still reaches b)
  // reaches it.
  ASSERT_TRUE(R("c").Move(x, "b").ok());
  EXPECT_TRUE(R("b").Phase(x).ok());
  EXPECT_EQ(Ask("a", senders["a"], "send:" + x + ":back"), "ok");
  ASSERT_TRUE(WaitFor([&] { return Ask("b", x, "log").find("send:back") != std::string::npos; }));
  EXPECT_TRUE(R("b").VerifyChain(x).ok());
}

TEST_F(LatticeMoveTest, AMoveThatCannotHappenSaysWhyAndTheActorStaysWhereItWas) {
  const std::string x = Spawn("b");
  ASSERT_EQ(Ask("b", x, "send:" + x + ":before"), "ok");

  Status nowhere = R("b").Move(x, "nowhere");
  EXPECT_FALSE(nowhere.ok());
  EXPECT_THAT(nowhere.ToString(), HasSubstr("nowhere"));
  Status here = R("b").Move(x, "b");
  EXPECT_EQ(here.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(here.ToString(), HasSubstr("already"));
  Status not_here = R("a").Move(x, "c");
  EXPECT_EQ(not_here.code(), StatusCode::kNotFound);

  // A paused actor is resumed first.
  ASSERT_TRUE(R("b").Pause(x, TheaterRuntime::PauseWhen::kWhenIdle).ok());
  ASSERT_TRUE(WaitFor([&] { return R("b").Phase(x).value_or(ActorPhase::kIdle) == ActorPhase::kPaused; }));
  Status paused = R("b").Move(x, "c");
  EXPECT_THAT(paused.ToString(), HasSubstr("paused"));
  ASSERT_TRUE(R("b").Resume(x).ok());

  // It still runs on b, with what it had.
  EXPECT_TRUE(R("b").Phase(x).ok());
  EXPECT_THAT(Ask("a", x, "log"), HasSubstr("send:before"));
}

// The move lets an operation in progress finish (its answer still comes) before the actor
// leaves. (One busy past the move's 30 s patience stays where it is: not tested, it would cost
// the test 30 s.)
TEST_F(LatticeMoveTest, AMoveWaitsForTheOperationInProgressAndItsAnswerComes) {
  const std::string x = Spawn("b");
  std::future<std::string> slow =
      std::async(std::launch::async, [&] { return Ask("a", x, "after:800:echo:slow"); });
  ASSERT_TRUE(WaitFor([&] { return R("b").Phase(x).value_or(ActorPhase::kIdle) == ActorPhase::kProcessing; }));
  EXPECT_FALSE(R("b").Moving(x));
  std::future<Status> move = std::async(std::launch::async, [&] { return R("b").Move(x, "c"); });
  // Between the hosts it is moving, not stopped (GetActorStatus answers phase "Moving", and a
  // follower of its events keeps following).
  EXPECT_TRUE(WaitFor([&] { return R("b").Moving(x); }, 5s));
  ASSERT_TRUE(move.get().ok());
  EXPECT_EQ(slow.get(), "slow");
  EXPECT_TRUE(R("c").Phase(x).ok());
  EXPECT_FALSE(R("b").Moving(x));
  EXPECT_FALSE(R("c").Moving(x));
}

// An actor that arrived by a move (recovered there) and is then restarted starts afresh: its init
// runs, its state is new, and it can move on again (a restart of a recovered actor used to skip
// init, and the chain it left could not be resumed).
TEST_F(LatticeMoveTest, AMovedActorRestartedThereStartsAfreshAndMovesOn) {
  const std::string x = Spawn("b");
  ASSERT_EQ(Ask("b", x, "send:" + x + ":before"), "ok");
  ASSERT_TRUE(WaitFor([&] { return Ask("b", x, "log").find("send:before") != std::string::npos; }));
  ASSERT_TRUE(R("b").Move(x, "c").ok());
  Status restarted = R("c").Restart(x);
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  EXPECT_EQ(Ask("c", x, "log"), "log") << "a fresh state, its init's";
  Status again = R("c").Move(x, "a");
  ASSERT_TRUE(again.ok()) << again.ToString();
  EXPECT_EQ(Ask("a", x, "log"), "log");
  EXPECT_TRUE(R("a").VerifyChain(x).ok());
}

// A subscription on one host to an actor on another (what `theater events -f` and the dashboard
// use through any host): the events come as the actor appends them, and keep coming when it
// moves.
TEST_F(LatticeMoveTest, ASubscriberOnAnotherHostSeesItsEventsAndFollowsItsMove) {
  const std::string x = Spawn("b");
  EXPECT_EQ(R("a").Subscribe("00000000-0000-4000-8000-000000000000", 16,
                             chain::OverflowPolicy::kLossy)
                .status()
                .code(),
            StatusCode::kNotFound);
  Result<TheaterRuntime::Subscription> sub = R("a").Subscribe(x, 4096, chain::OverflowPolicy::kLossy);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  std::vector<chain::Delivery> seen;
  auto saw = [&](const std::string& text) {
    while (std::optional<chain::Delivery> d = sub->TryNext()) seen.push_back(std::move(*d));
    for (const chain::Delivery& d : seen) {
      const std::string payload(d.event.payload.begin(), d.event.payload.end());
      if (payload.find(text) != std::string::npos) return true;
    }
    return false;
  };
  // The watch reaches b a moment after the subscription: ask until an answer's events arrive.
  int asked = 0;
  ASSERT_TRUE(WaitFor([&] {
    Ask("b", x, "echo:before-" + std::to_string(++asked));
    return saw("before-");
  }, 10s));
  ASSERT_TRUE(R("b").Move(x, "c").ok());
  ASSERT_TRUE(WaitFor([&] {
    Ask("c", x, "echo:after-" + std::to_string(++asked));
    return saw("after-");
  }, 15s)) << "the watch follows the actor to host c";
  EXPECT_TRUE(saw("from host b to host c")) << "the move itself is among its events";
  // One chain's events, in its order.
  for (size_t i = 1; i < seen.size(); ++i) {
    if (seen[i].is_gap() || seen[i - 1].is_gap()) continue;
    EXPECT_GT(seen[i].index, seen[i - 1].index) << "delivery " << i;
    EXPECT_EQ(seen[i].actor_id, x);
  }
}

}  // namespace
}  // namespace theater::cluster
