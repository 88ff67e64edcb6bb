// Theater: a WebAssembly actor runtime.
//
// The location directory (actor_directory.h) against a real nats-server with JetStream
// (testing/nats_server.h): a claim is put-if-absent, a live holder keeps its actor, a lost one's
// actor is taken by compare-and-set, and of hosts racing to take one actor exactly one wins,
// every time; a release leaves alone a claim another host has taken since.
#include "cluster/actor_directory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>

#include "common/uuid.h"
#include "testing/nats_server.h"

namespace theater::cluster {
namespace {

using ::testing::HasSubstr;
using testing_util::NatsServer;

class ActorDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!NatsServer::Installed()) GTEST_SKIP() << "nats-server is not installed (install-deps.sh)";
    nats_server_ = std::make_unique<NatsServer>();
    ASSERT_TRUE(nats_server_->ok()) << "nats-server did not start; its log: " << nats_server_->log();
  }

  // A host's directory on a connection of its own; `live` says which other hosts are live.
  std::unique_ptr<ActorDirectory> Open(const std::string& host, uint64_t epoch,
                                       ActorDirectory::LiveFn live) {
    ClusterOptions options;
    options.url = nats_server_->url();
    Result<std::unique_ptr<NatsConnection>> nats = NatsConnection::Open(options, host);
    EXPECT_TRUE(nats.ok()) << nats.status().ToString();
    if (!nats.ok()) return nullptr;
    connections_.push_back(std::move(nats).value());
    Result<std::unique_ptr<ActorDirectory>> directory = ActorDirectory::Open(
        *connections_.back(), LatticeNames("dirtest"), host, epoch, std::move(live));
    EXPECT_TRUE(directory.ok()) << directory.status().ToString();
    return directory.ok() ? std::move(directory).value() : nullptr;
  }

  std::unique_ptr<NatsServer> nats_server_;
  std::vector<std::unique_ptr<NatsConnection>> connections_;
};

TEST_F(ActorDirectoryTest, ALiveHolderKeepsItsActorAndALostOnesIsTaken) {
  bool ghost_live = true;
  auto live = [&](const std::string& host) { return host == "ghost" ? ghost_live : true; };
  auto ghost = Open("ghost", 1, live);
  auto a = Open("a", 1, live);
  ASSERT_TRUE(ghost && a);
  const std::string id = NewUuid();
  ASSERT_TRUE(ghost->Claim(id).ok());
  EXPECT_TRUE(ghost->Claim(id).ok()) << "a host claims again what it holds (a restart)";
  Status refused = a->Claim(id);
  EXPECT_EQ(refused.code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(refused.message(), HasSubstr("runs on host ghost"));
  Result<ActorDirectory::Location> where = a->Find(id);
  ASSERT_TRUE(where.ok());
  EXPECT_EQ(where->host, "ghost");
  const uint64_t before = where->revision;
  ghost_live = false;
  ASSERT_TRUE(a->Claim(id).ok()) << "the holder is lost: its actor is taken";
  where = a->Find(id);
  ASSERT_TRUE(where.ok());
  EXPECT_EQ(where->host, "a");
  EXPECT_GT(where->revision, before) << "the revision, the fencing token, only grows";
  // The lost host's late release leaves the new holder's claim alone.
  ghost->Release(id);
  ghost->Flush();
  where = a->Find(id);
  ASSERT_TRUE(where.ok());
  EXPECT_EQ(where->host, "a");
  // Its own release frees the id.
  a->Release(id);
  a->Flush();
  EXPECT_EQ(a->Find(id).status().code(), StatusCode::kNotFound);
}

TEST_F(ActorDirectoryTest, OfHostsRacingToTakeALostHostsActorExactlyOneWins) {
  auto nobody_live = [](const std::string& host) { return host != "ghost"; };
  auto ghost = Open("ghost", 1, nobody_live);
  std::vector<std::unique_ptr<ActorDirectory>> racers;
  for (const char* host : {"a", "b", "c"}) racers.push_back(Open(host, 1, nobody_live));
  ASSERT_TRUE(ghost);
  for (int round = 0; round < 20; ++round) {
    const std::string id = NewUuid();
    ASSERT_TRUE(ghost->Claim(id).ok());
    std::atomic<int> go{0};
    std::vector<std::future<Status>> claims;
    for (auto& racer : racers) {
      claims.push_back(std::async(std::launch::async, [&, d = racer.get()] {
        go.fetch_add(1);
        while (go.load() < 3) {
        }
        return d->Claim(id);
      }));
    }
    int won = 0;
    for (auto& claim : claims) {
      Status claimed = claim.get();
      if (claimed.ok()) {
        ++won;
      } else {
        EXPECT_EQ(claimed.code(), StatusCode::kAlreadyExists) << claimed.ToString();
      }
    }
    EXPECT_EQ(won, 1) << "round " << round;
    Result<ActorDirectory::Location> where = ghost->Find(id);
    ASSERT_TRUE(where.ok());
    EXPECT_NE(where->host, "ghost");
  }
}

}  // namespace
}  // namespace theater::cluster
