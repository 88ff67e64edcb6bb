// Theater: a WebAssembly actor runtime.
//
// kill -9 of a `theater server` process under load, five times over (docs/persistence.md,
// "Recovery"): 100 actors (probes counting, storers writing to a content store) receive requests
// from several connections while the server is killed; each restart must bring every actor back
// with the state of its last durable event, and, in strict durability, every reply a client was
// given must be in the recovered chain (the count it answered is at most the recovered count);
// every chain verifies and replays identical.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/cli_test_child.h"
#include "server/client.h"
#include "server/protocol.h"
#include "testing/runtime_test_util.h"

namespace theater {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using cli_testing::BaseEnv;
using cli_testing::Child;
using cli_testing::NewTempDir;
using server::MakeVariant;
using namespace std::chrono_literals;

constexpr int kRounds = 5;
constexpr int kProbes = 90;
constexpr int kStorers = 10;
constexpr int kLoadThreads = 4;
const std::string kCacheDir = std::string(THEATER_BUILD_DIR) + "/test-home/cache";

std::string TextOf(const json& bytes) {
  json fields{{"b", bytes}};
  Result<std::vector<uint8_t>> decoded = server::BytesField(fields, "b");
  return decoded.ok() ? std::string(decoded->begin(), decoded->end()) : "";
}

json BytesOf(const std::string& text) {
  return server::BytesToJson(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

class ServerCrashTest : public ::testing::Test {
 protected:
  void SetUp() override { home_ = NewTempDir("theater-crash"); }
  void TearDown() override {
    if (server_) {
      server_->Signal(SIGTERM);
      server_->Finish(30s);
    }
    fs::remove_all(home_);
  }

  void StartServer() {
    server_ = std::make_unique<Child>(
        std::vector<std::string>{"server", "--address", "127.0.0.1:0", "--home", home_.string(),
                                 "--cache-dir", kCacheDir, "--durability", "strict", "--workers",
                                 "2", "--log-level", "error"},
        BaseEnv(home_, ""), "", /*keep_stdin_open=*/true);
    ASSERT_TRUE(server_->WaitForOutput(
        [](const std::string& out) { return out.find('\n') != std::string::npos; }, 60s))
        << "the server did not say it was listening";
    const std::string& line = server_->out();
    ASSERT_EQ(line.rfind("listening on ", 0), 0u) << line;
    address_ = line.substr(13, line.find('\n') - 13);
  }

  std::unique_ptr<server::ManagementClient> Connect() {
    server::ManagementClient::Options options;
    options.address = address_;
    auto client = server::ManagementClient::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  std::string WriteManifest(const std::string& name, const std::string& wasm,
                            const std::string& handlers) {
    const std::string component = std::string(THEATER_TEST_ACTOR_DIR) + "/" + wasm;
    const fs::path path = home_ / (name + ".toml");
    std::ofstream(path) << "name = \"" << name << "\"\nversion = \"0.1.0\"\ncomponent = \""
                        << component << "\"\n"
                        << handlers;
    return path.string();
  }

  // The answer to a request, or nullopt when the server gave none (it was killed).
  static std::optional<std::string> Ask(server::ManagementClient& client, const std::string& id,
                                        const std::string& text) {
    auto reply = client.Call(
        MakeVariant("RequestActorMessage", json{{"id", id}, {"data", BytesOf(text)}}));
    if (!reply.ok() || reply->name != "RequestedMessage") return std::nullopt;
    return TextOf(reply->fields["message"]);
  }

  fs::path home_;
  std::unique_ptr<Child> server_;
  std::string address_;
};

TEST_F(ServerCrashTest, KillNineUnderLoadFiveTimesLosesNoAcknowledgedReply) {
  StartServer();
  auto setup = Connect();
  ASSERT_NE(setup, nullptr);
  const std::string probe = WriteManifest(
      "probe", "runtime_probe.wasm", testing_util::HandlersOf("runtime_probe.wasm"));
  const std::string storer =
      WriteManifest("storer", "storer.wasm",
                    "\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\ntype = \"store\"\n");
  std::vector<std::string> probes, storers;
  std::map<std::string, std::string> store_of;  // storer -> its content store
  for (int i = 0; i < kProbes + kStorers; ++i) {
    auto started =
        setup->Call(MakeVariant("StartActor", json{{"manifest", i < kProbes ? probe : storer}}));
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    ASSERT_EQ(started->name, "ActorStarted") << started->fields.dump();
    const std::string id = started->fields["id"].get<std::string>();
    if (i < kProbes) {
      probes.push_back(id);
    } else {
      storers.push_back(id);
      std::optional<std::string> store = Ask(*setup, id, "new");
      ASSERT_TRUE(store.has_value());
      store_of[id] = *store;
    }
  }
  setup.reset();
  // The highest count each probe acknowledged to a client, over every round.
  std::map<std::string, uint64_t> acknowledged;
  for (const std::string& id : probes) acknowledged[id] = 0;  // init leaves "0"

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::mutex mu;
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> answered{0};
    std::vector<std::thread> load;
    for (int t = 0; t < kLoadThreads; ++t) {
      load.emplace_back([&, t] {
        auto client = Connect();
        if (!client) return;
        for (uint64_t n = t; !stop; ++n) {
          if (n % 10 == 9) {
            const std::string& id = storers[(n / 10) % storers.size()];
            if (!Ask(*client, id, "put:" + store_of[id] + ":round" + std::to_string(round) + "-" +
                                      std::to_string(n))) {
              return;
            }
            continue;
          }
          const std::string& id = probes[n % probes.size()];
          std::optional<std::string> count = Ask(*client, id, "count");
          if (!count) return;  // the server is gone
          ++answered;
          std::lock_guard<std::mutex> lock(mu);
          acknowledged[id] = std::max<uint64_t>(acknowledged[id], std::stoull(*count));
        }
      });
    }
    // Let the load run, then kill the server in the middle of it.
    testing_util::WaitFor([&] { return answered >= 200; }, 60s);
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + std::rand() % 200));
    server_->Signal(SIGKILL);
    stop = true;
    for (std::thread& t : load) t.join();
    cli_testing::Finished killed = server_->Finish(30s);
    EXPECT_GE(answered.load(), 200u) << "the load did not get going";
    if (round > 0) {
      // The server killed in this round had brought every actor back when it started.
      EXPECT_THAT(killed.err, ::testing::HasSubstr("recovered 100 actors in")) << killed.err;
    }
    uint64_t total = 0;
    for (const auto& [id, count] : acknowledged) total += count;
    std::printf("round %d: %llu replies acknowledged in this round, %llu counts in all\n", round,
                static_cast<unsigned long long>(answered.load()),
                static_cast<unsigned long long>(total));

    StartServer();
    auto client = Connect();
    ASSERT_NE(client, nullptr);
    auto listed = client->Call(MakeVariant("ListActors"));
    ASSERT_TRUE(listed.ok());
    std::set<std::string> running;
    for (const json& a : listed->fields["details"]) running.insert(a["id"].get<std::string>());
    for (const std::string& id : probes) {
      ASSERT_TRUE(running.count(id)) << "probe " << id << " did not come back";
      auto state = client->Call(MakeVariant("GetActorState", json{{"id", id}}));
      ASSERT_TRUE(state.ok());
      const std::string text = TextOf(state->fields["state"]);
      // Strict durability: a reply leaves only once its event is durable, so the recovered
      // count is at least every count a client was told.
      EXPECT_GE(std::stoull(text), acknowledged[id]) << id;
    }
    for (const std::string& id : storers) {
      ASSERT_TRUE(running.count(id)) << "storer " << id << " did not come back";
    }
    // Every chain verifies and replays identical (a sample each round, all in the last).
    for (size_t i = 0; i < probes.size() + storers.size(); ++i) {
      if (round + 1 < kRounds && i % 10 != static_cast<size_t>(round)) continue;
      const std::string& id = i < probes.size() ? probes[i] : storers[i - probes.size()];
      auto verified = client->Call(MakeVariant("VerifyChain", json{{"id", id}}));
      ASSERT_TRUE(verified.ok());
      EXPECT_TRUE(verified->fields.value("valid", false)) << id << ": " << verified->fields.dump();
      auto replayed = client->Call(MakeVariant("ReplayActor", json{{"id", id}}));
      ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
      EXPECT_TRUE(replayed->fields.value("identical", false))
          << id << ": " << replayed->fields["divergence"].dump();
    }
  }
}

}  // namespace
}  // namespace theater
