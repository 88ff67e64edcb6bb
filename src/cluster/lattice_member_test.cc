// Theater: a WebAssembly actor runtime.
//
// A host's place in a lattice (lattice_member.h), against a real nats-server with JetStream on a
// free loopback port (testing/nats_server.h): hosts of one lattice hear each other's heartbeats,
// a second lattice on the same NATS hears nothing of the first, a name is held by one live host
// (of two racing for it exactly one wins), a host that leaves is gone at once, one whose
// connection is gone is declared lost within a second but one whose connection drops for a moment
// is not, and each way of failing to join says why.
#include "cluster/lattice_member.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "common/silent_listener.h"
#include "testing/nats_server.h"
#include "testing/tcp_relay.h"
#include "testing/wait_for.h"

namespace theater::cluster {
namespace {

using ::testing::HasSubstr;
using testing_util::NatsServer;
using testing_util::WaitFor;
using namespace std::chrono_literals;

class LatticeMemberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!NatsServer::Installed()) GTEST_SKIP() << "nats-server is not installed (install-deps.sh)";
    nats_ = std::make_unique<NatsServer>();
    ASSERT_TRUE(nats_->ok()) << "nats-server did not start; its log: " << nats_->log();
  }

  ClusterOptions Options(const std::string& host, const std::string& lattice = "test") {
    ClusterOptions options;
    options.url = nats_->url();
    options.lattice = lattice;
    options.host_id = host;
    options.heartbeat_interval = 100ms;
    return options;
  }

  std::unique_ptr<LatticeMember> Join(const std::string& host, const std::string& lattice = "test",
                                      uint64_t actors = 0) {
    Result<std::unique_ptr<LatticeMember>> member =
        LatticeMember::Join(Options(host, lattice), [host, actors] {
          return LatticeMember::Facts{actors, "127.0.0.1:" + host};
        });
    EXPECT_TRUE(member.ok()) << member.status().ToString();
    return member.ok() ? std::move(member).value() : nullptr;
  }

  // The NATS server's port, for a relay in front of it.
  int NatsPort() const {
    const std::string& url = nats_->url();
    return std::stoi(url.substr(url.rfind(':') + 1));
  }

  // Host `host` of lattice "test", reaching NATS through `relay`.
  std::unique_ptr<LatticeMember> JoinThrough(const testing_util::TcpRelay& relay,
                                             const std::string& host) {
    ClusterOptions options = Options(host);
    options.url = "nats://127.0.0.1:" + std::to_string(relay.port());
    Result<std::unique_ptr<LatticeMember>> member =
        LatticeMember::Join(options, [] { return LatticeMember::Facts{}; });
    EXPECT_TRUE(member.ok()) << member.status().ToString();
    return member.ok() ? std::move(member).value() : nullptr;
  }

  static const LatticeHost* Find(const std::vector<LatticeHost>& hosts, const std::string& id) {
    for (const LatticeHost& host : hosts) {
      if (host.host_id == id) return &host;
    }
    return nullptr;
  }
  static bool Hears(const LatticeMember& member, const std::string& id) {
    return Find(member.Hosts(), id) != nullptr;
  }

  std::unique_ptr<NatsServer> nats_;
};

TEST_F(LatticeMemberTest, HostsOfOneLatticeHearEachOther) {
  auto h1 = Join("h1", "test", 3);
  auto h2 = Join("h2", "test", 5);
  ASSERT_TRUE(h1 && h2);
  ASSERT_TRUE(WaitFor([&] { return Hears(*h1, "h2") && Hears(*h2, "h1"); }, 10s));
  const std::vector<LatticeHost> seen = h1->Hosts();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].host_id, "h1");
  EXPECT_TRUE(seen[0].self);
  const LatticeHost* other = Find(seen, "h2");
  EXPECT_FALSE(other->self);
  EXPECT_EQ(other->actors, 5u);
  EXPECT_EQ(other->management_address, "127.0.0.1:h2");
  EXPECT_EQ(other->incarnation, h2->incarnation());
  EXPECT_LT(other->heartbeat_age, 5s);
}

TEST_F(LatticeMemberTest, ASecondLatticeOnTheSameNatsHearsNothingOfTheFirst) {
  auto a1 = Join("h1", "alpha");
  auto a2 = Join("h2", "alpha");
  // The same host name in another lattice is another host.
  auto b1 = Join("h1", "beta");
  ASSERT_TRUE(a1 && a2 && b1);
  ASSERT_TRUE(WaitFor([&] { return Hears(*a1, "h2"); }, 10s));
  // Several heartbeats of the others have gone out by now.
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(b1->Hosts().size(), 1u);
  EXPECT_EQ(a1->Hosts().size(), 2u);
  EXPECT_NE(Find(a1->Hosts(), "h2"), nullptr);
}

TEST_F(LatticeMemberTest, ANameIsHeldByOneLiveHostAndFreedWhenItLeaves) {
  auto first = Join("h1");
  ASSERT_TRUE(first);
  Result<std::unique_ptr<LatticeMember>> second = LatticeMember::Join(Options("h1"), nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(second.status().message(), HasSubstr("a running host answers to it"));
  EXPECT_THAT(second.status().message(), HasSubstr("--host-id"));
  const uint64_t first_epoch = first->epoch();
  first->Leave();
  auto again = Join("h1");
  ASSERT_TRUE(again);
  EXPECT_GT(again->epoch(), first_epoch) << "the name's revision is the host's epoch";
}

TEST_F(LatticeMemberTest, OfTwoHostsRacingForOneNameExactlyOneWins) {
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(round);
    std::promise<void> go;
    std::shared_future<void> start = go.get_future().share();
    auto racer = [&] {
      start.wait();
      return LatticeMember::Join(Options("contested"), nullptr);
    };
    auto a = std::async(std::launch::async, racer);
    auto b = std::async(std::launch::async, racer);
    go.set_value();
    Result<std::unique_ptr<LatticeMember>> ra = a.get();
    Result<std::unique_ptr<LatticeMember>> rb = b.get();
    ASSERT_NE(ra.ok(), rb.ok()) << (ra.ok() ? rb.status() : ra.status()).ToString();
    const Status& lost = ra.ok() ? rb.status() : ra.status();
    EXPECT_EQ(lost.code(), StatusCode::kAlreadyExists) << lost.ToString();
  }
}

TEST_F(LatticeMemberTest, AHostThatLeavesIsGoneAtOnce) {
  auto h1 = Join("h1");
  auto h2 = Join("h2");
  ASSERT_TRUE(h1 && h2);
  ASSERT_TRUE(WaitFor([&] { return Hears(*h1, "h2"); }, 10s));
  h2->Leave();
  // Well before a missed heartbeat could tell: the leaving host says so.
  EXPECT_TRUE(WaitFor([&] { return !Hears(*h1, "h2"); }, 5s));
}

TEST_F(LatticeMemberTest, EachWayOfFailingToJoinSaysWhy) {
  ClusterOptions bad_name = Options("h1", "no.dots");
  Result<std::unique_ptr<LatticeMember>> refused = LatticeMember::Join(bad_name, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("the lattice 'no.dots' is not a lattice name"));

  ClusterOptions bad_host = Options(std::string(65, 'h'));
  refused = LatticeMember::Join(bad_host, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("the host id"));

  ClusterOptions two_credentials = Options("h1");
  two_credentials.token = "t";
  two_credentials.user = "u";
  refused = LatticeMember::Join(two_credentials, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("give one of a token, a user"));

  // Nobody speaks NATS there: a listener that accepts and never answers.
  testing::SilentListener silent;
  ASSERT_TRUE(silent.ok());
  ClusterOptions nobody = Options("h1");
  nobody.url = "nats://127.0.0.1:" + std::to_string(silent.port());
  nobody.connect_timeout = 500ms;
  const auto started = std::chrono::steady_clock::now();
  refused = LatticeMember::Join(nobody, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("connecting to NATS at nats://127.0.0.1:"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);

  NatsServer plain(/*jetstream=*/false);
  ASSERT_TRUE(plain.ok());
  ClusterOptions no_jetstream = Options("h1");
  no_jetstream.url = plain.url();
  refused = LatticeMember::Join(no_jetstream, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition)
      << refused.status().ToString();
  EXPECT_THAT(refused.status().message(), HasSubstr("nats-server -js"));
}

TEST_F(LatticeMemberTest, AHostCutOffFromNatsLosesItsLeaseAndHoldsItAgainWhenItHearsIt) {
  ClusterOptions options = Options("a");
  options.lease = 400ms;
  // What the listener writes is declared before the member, so that it outlives the member's
  // heartbeat thread even when an assertion below returns early.
  std::mutex mu;
  std::vector<std::pair<bool, std::string>> heard;
  Result<std::unique_ptr<LatticeMember>> joined =
      LatticeMember::Join(options, [] { return LatticeMember::Facts{}; });
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  std::unique_ptr<LatticeMember> member = std::move(joined).value();
  member->SetLeaseListener([&](bool held, const std::string& why) {
    std::lock_guard<std::mutex> lock(mu);
    heard.emplace_back(held, why);
  });
  const auto events = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return heard;
  };
  // Its own heartbeats come back every 100 ms: the lease holds.
  std::this_thread::sleep_for(600ms);
  EXPECT_TRUE(member->HoldsLease());
  EXPECT_TRUE(events().empty());

  nats_->Freeze();
  const auto frozen = std::chrono::steady_clock::now();
  // The member's state turns before its listener is called: wait for what the listener heard.
  ASSERT_TRUE(WaitFor([&] { return !events().empty(); }, 5s));
  const auto took = std::chrono::steady_clock::now() - frozen;
  EXPECT_FALSE(member->HoldsLease());
  EXPECT_GE(took, 300ms) << "not before the lease ran out";
  EXPECT_LE(took, 1500ms) << "within the lease and a couple of heartbeats";
  ASSERT_EQ(events().size(), 1u);
  EXPECT_FALSE(events()[0].first);
  EXPECT_THAT(events()[0].second, HasSubstr("host a has not heard its own heartbeat"));

  nats_->Thaw();
  ASSERT_TRUE(WaitFor([&] { return events().size() >= 2; }, 15s));
  EXPECT_TRUE(member->HoldsLease());
  ASSERT_EQ(events().size(), 2u);
  EXPECT_TRUE(events()[1].first);

  // Cleared, the listener is not called again.
  member->SetLeaseListener(nullptr);
  nats_->Freeze();
  ASSERT_TRUE(WaitFor([&] { return !member->HoldsLease(); }, 5s));
  nats_->Thaw();
  EXPECT_EQ(events().size(), 2u);
}

TEST_F(LatticeMemberTest, ALeaseThatOutlastsLostAfterIsRefused) {
  ClusterOptions options = Options("a");
  options.lease = options.lost_after;
  Result<std::unique_ptr<LatticeMember>> joined =
      LatticeMember::Join(options, [] { return LatticeMember::Facts{}; });
  ASSERT_FALSE(joined.ok());
  EXPECT_EQ(joined.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(joined.status().message(), HasSubstr("lease < lost_after"));
  options.lease = 0ms;  // never pauses: allowed
  EXPECT_TRUE(LatticeMember::Join(options, [] { return LatticeMember::Facts{}; }).ok());
}

// What another host hears, each host it declared gone with why (the host-gone listener).
class GoneLog {
 public:
  void Listen(LatticeMember& member) {
    member.SetHostGoneListener([this](const std::string& host, const std::string& why) {
      std::lock_guard<std::mutex> lock(mu_);
      heard_.push_back(host + " " + why);
    });
  }
  std::vector<std::string> heard() const {
    std::lock_guard<std::mutex> lock(mu_);
    return heard_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> heard_;
};

// A process that goes without leaving, as far as NATS can tell (its connection cut, and every
// new one refused, as when a killed process's sockets close): NATS has no responder on its ping
// subject any more, and the others declare it lost within a second, saying its process is gone.
// (Its connection comes back before it leaves, so that it can leave cleanly.)
TEST_F(LatticeMemberTest, AHostWhoseConnectionIsGoneIsDeclaredLostWithinASecond) {
  GoneLog gone;  // first: it outlives the members, whose listener it is
  testing_util::TcpRelay relay(NatsPort());
  ASSERT_TRUE(relay.ok());
  auto h1 = Join("h1");
  std::unique_ptr<LatticeMember> h2 = JoinThrough(relay, "h2");
  ASSERT_TRUE(h1 && h2);
  gone.Listen(*h1);
  ASSERT_TRUE(WaitFor([&] { return Hears(*h1, "h2"); }, 10s));
  const auto cut = std::chrono::steady_clock::now();
  relay.Cut();
  ASSERT_TRUE(WaitFor([&] { return !gone.heard().empty(); }, 5s));
  const auto took = std::chrono::steady_clock::now() - cut;
  EXPECT_THAT(gone.heard()[0], HasSubstr("h2 lost: its process is gone"));
  EXPECT_LT(took, 1500ms) << "a probe within 250 ms, confirmed 500 ms after it";
  EXPECT_GE(took, 400ms) << "declared on the first \"no responders\", unconfirmed";
  relay.Mend();
  EXPECT_TRUE(WaitFor([&] { return !h2->nats().connected_url().empty(); }, 10s));
}

// A host whose connection drops for a moment (its network failed, or its NATS server went and
// it moved to another) has no subscription anywhere until its client reconnects, 250 ms later
// or so: the others' probes of it meanwhile find no responder. It was never dead, and nobody may
// declare it lost (its actors would be taken over beside it). h2 reaches NATS through a relay
// that cuts its connection and refuses it for 50 ms, so that its first reconnection fails and it
// is away for one reconnection wait.
TEST_F(LatticeMemberTest, AHostWhoseConnectionDropsForAMomentIsNotTakenForDead) {
  GoneLog gone;  // first: it outlives the members, whose listener it is
  testing_util::TcpRelay relay(NatsPort());
  ASSERT_TRUE(relay.ok());
  auto h1 = Join("h1");
  std::unique_ptr<LatticeMember> h2 = JoinThrough(relay, "h2");
  ASSERT_TRUE(h1 && h2);
  gone.Listen(*h1);
  ASSERT_TRUE(WaitFor([&] { return Hears(*h1, "h2"); }, 10s));

  relay.Cut();
  ASSERT_TRUE(WaitFor([&] { return h2->nats().connected_url().empty(); }, 5s))
      << "the cut never reached h2's client";
  std::this_thread::sleep_for(50ms);
  relay.Mend();
  ASSERT_TRUE(WaitFor([&] { return !h2->nats().connected_url().empty(); }, 10s))
      << "h2 never reconnected";
  // Long enough for any probe that found no responder to have been confirmed.
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(gone.heard().empty()) << gone.heard()[0];
  EXPECT_TRUE(h1->IsLive("h2", 500ms));
}

}  // namespace
}  // namespace theater::cluster
