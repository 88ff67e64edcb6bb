// Theater: a WebAssembly actor runtime.
//
// Test hosts of a lattice in one process: each a runtime joined to a lattice through its own
// LatticeMember and LatticeMessenger over a real nats-server (testing/nats_server.h). Shared by
// the lattice's messaging, supervision, replication and move tests; LatticeHostsTest is their
// fixture of a nats-server and named hosts.
//
// Thread-safety: a LatticeTestHost is used by one test thread; what it holds is thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/lattice_member.h"
#include "cluster/lattice_messenger.h"
#include "testing/nats_server.h"
#include "testing/runtime_test_util.h"
#include "testing/wait_for.h"
#include "theater/builtins.h"

namespace theater::cluster {

struct LatticeTestHost {
  std::filesystem::path home;
  std::unique_ptr<TheaterRuntime> runtime;
  std::unique_ptr<LatticeMember> member;
  std::shared_ptr<LatticeMessenger> messenger;

  ~LatticeTestHost() { Leave(); }
  // Shuts the runtime down, then leaves the lattice (the others hear it leave).
  void Leave() {
    if (runtime) runtime->Shutdown().IgnoreError();
    if (messenger) messenger->Close();
    member.reset();
    runtime.reset();
    messenger.reset();
    if (!home.empty()) std::filesystem::remove_all(home);
    home.clear();
  }
};

// Host `name` of `lattice` through the NATS server at `url`, heartbeats every 100 ms, its chains
// in a database when `persist`, the buckets and streams it creates kept `jetstream_replicas`
// times; null (with the test failed) when any part does not start.
inline std::unique_ptr<LatticeTestHost> StartLatticeTestHost(const std::string& url,
                                                             const std::string& name,
                                                             const std::string& lattice,
                                                             bool persist = false,
                                                             int jetstream_replicas = 1) {
  using namespace std::chrono_literals;
  auto host = std::make_unique<LatticeTestHost>();
  host->home = testing_util::NewTestHome("theater-lattice-" + name);
  RuntimeOptions options = testing_util::TestRuntimeOptions(host->home);
  options.persist = persist;
  Result<std::unique_ptr<TheaterRuntime>> runtime = TheaterRuntime::Create(options, BuiltinHandlers());
  EXPECT_TRUE(runtime.ok()) << runtime.status().ToString();
  if (!runtime.ok()) return nullptr;
  host->runtime = std::move(runtime).value();
  ClusterOptions cluster;
  cluster.url = url;
  cluster.lattice = lattice;
  cluster.host_id = name;
  cluster.heartbeat_interval = 100ms;
  cluster.jetstream_replicas = jetstream_replicas;
  TheaterRuntime* rt = host->runtime.get();
  Result<std::unique_ptr<LatticeMember>> member =
      LatticeMember::Join(cluster, [rt] { return LatticeMember::Facts{rt->ActorCount(), ""}; });
  EXPECT_TRUE(member.ok()) << member.status().ToString();
  if (!member.ok()) return nullptr;
  host->member = std::move(member).value();
  Result<std::shared_ptr<LatticeMessenger>> messenger = LatticeMessenger::Start(*host->member);
  EXPECT_TRUE(messenger.ok()) << messenger.status().ToString();
  if (!messenger.ok()) return nullptr;
  host->messenger = std::move(messenger).value();
  EXPECT_TRUE(host->runtime->JoinLattice(host->messenger).ok());
  return host;
}

// Hosts `names` of `lattice` (StartLatticeTestHost each) into `hosts`, and waits until each has
// heard every other; false (with the test failed) when one does not start or they never meet.
inline bool StartAcquaintedLatticeTestHosts(
    const std::string& url, const std::vector<std::string>& names, const std::string& lattice,
    bool persist, std::map<std::string, std::unique_ptr<LatticeTestHost>>& hosts) {
  using namespace std::chrono_literals;
  for (const std::string& name : names) {
    hosts[name] = StartLatticeTestHost(url, name, lattice, persist);
    if (!hosts[name]) return false;
  }
  const bool met = testing_util::WaitFor([&] {
    for (auto& [name, host] : hosts) {
      for (const std::string& other : names) {
        if (!host->member->IsLive(other, 5s)) return false;
      }
    }
    return true;
  });
  EXPECT_TRUE(met) << "the hosts never heard each other";
  return met;
}

// A fixture: a nats-server with JetStream and hosts `names` of `lattice`, each having heard the
// others (skipped, saying why, where no nats-server is installed).
class LatticeHostsTest : public ::testing::Test {
 protected:
  LatticeHostsTest(std::vector<std::string> names, std::string lattice, bool persist)
      : names_(std::move(names)), lattice_(std::move(lattice)), persist_(persist) {}

  void SetUp() override {
    if (!testing_util::NatsServer::Installed()) {
      GTEST_SKIP() << "nats-server is not installed (install-deps.sh)";
    }
    nats_ = std::make_unique<testing_util::NatsServer>();
    ASSERT_TRUE(nats_->ok()) << "nats-server did not start; its log: " << nats_->log();
    ASSERT_TRUE(StartAcquaintedLatticeTestHosts(nats_->url(), names_, lattice_, persist_, hosts_));
  }

  LatticeTestHost& H(const std::string& name) { return *hosts_.at(name); }
  TheaterRuntime& R(const std::string& name) { return *hosts_.at(name)->runtime; }
  // Spawns `manifest` on `host`; its id, or "" (with the test failed).
  std::string Spawn(const std::string& host, const std::string& manifest) {
    SpawnRequest request;
    request.manifest = manifest;
    Result<std::string> id = R(host).Spawn(request);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }

  const std::vector<std::string> names_;
  const std::string lattice_;
  const bool persist_;
  std::unique_ptr<testing_util::NatsServer> nats_;
  std::map<std::string, std::unique_ptr<LatticeTestHost>> hosts_;
};

}  // namespace theater::cluster
