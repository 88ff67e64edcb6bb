// Theater: a WebAssembly actor runtime.
//
// `theater server` told to stop while actors spin inside calls (issue 52, item 7), with the real
// binary: SIGTERM lets the calls run for --shutdown-grace seconds, then terminates them and exits
// 0 (not after the 300 s call deadline), each chain saying why, and the next start brings the
// actors back; a second SIGTERM or Ctrl-C during the grace exits at once; a grace out of bounds
// is a usage error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli_test_child.h"
#include "testing/wait_for.h"
#include "testing/stopped_actors.h"
#include "theater/chain_store.h"

namespace theater {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using cli_testing::BaseEnv;
using cli_testing::Child;
using cli_testing::Finished;
using cli_testing::NewTempDir;
using ::testing::HasSubstr;
using testing_util::WaitFor;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kCacheDir = std::string(THEATER_BUILD_DIR) + "/test-home/cache";
const std::string kSpinner = std::string(THEATER_TEST_ACTOR_DIR) + "/spinner.wasm";

class ServerShutdownTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = NewTempDir("theater-shutdown-e2e");
    manifest_ = (home_ / "spinner.toml").string();
    std::ofstream(manifest_) << "name = \"spinner\"\nversion = \"0.1.0\"\ncomponent = \""
                             << kSpinner << "\"\n[[handler]]\ntype = \"message-server\"\n";
  }
  void TearDown() override {
    for (auto& client : clients_) client->Finish(30s);
    if (server_) {
      server_->Signal(SIGTERM);
      Finished f = server_->Finish(60s);
      EXPECT_EQ(f.code, 0) << "server stderr:\n" << f.err;
    }
    fs::remove_all(home_);
  }

  // `theater server` on a free port with `grace` (seconds), logging at info so that the test
  // sees when the first signal was taken.
  void StartServer(const std::string& grace) {
    server_ = std::make_unique<Child>(
        std::vector<std::string>{"server", "--address", "127.0.0.1:0", "--home", home_.string(),
                                 "--cache-dir", kCacheDir, "--durability", "none", "--workers", "2",
                                 "--log-level", "info", "--shutdown-grace", grace},
        BaseEnv(home_, ""), "", /*keep_stdin_open=*/true);
    ASSERT_TRUE(server_->WaitForOutput(
        [](const std::string& out) { return out.find("listening on ") != std::string::npos; }, 60s))
        << "the server did not say it was listening";
    const std::string& out = server_->out();
    const size_t at = out.find("listening on ") + 13;
    address_ = out.substr(at, out.find('\n', at) - at);
  }
  Finished Run(const std::vector<std::string>& args) {
    return Child(args, BaseEnv(home_, address_), "").Finish(120s);
  }
  std::string StartSpinner() {
    Finished r = Run({"start", manifest_});
    EXPECT_EQ(r.code, 0) << r.err;
    std::string id = r.out.substr(0, r.out.find('\n'));
    EXPECT_EQ(id.size(), 36u) << r.out;
    return id;
  }
  // Sends "loop" to `id` from a client left waiting for the reply, and waits until the actor runs
  // the call.
  void Spin(const std::string& id) {
    clients_.push_back(
        std::make_unique<Child>(std::vector<std::string>{"message", "--request", id, "loop"},
                                BaseEnv(home_, address_), ""));
    EXPECT_TRUE(WaitFor(
        [&] {
          Finished listed = Run({"list", "--json"});
          json actors = json::parse(listed.out, nullptr, false);
          if (!actors.is_array()) return false;
          for (const json& actor : actors) {
            if (actor.value("id", "") == id) return actor.value("phase", "") == "Processing";
          }
          return false;
        },
        60s))
        << id << " did not start spinning";
  }

  // What the stopped server left in its home.
  testing_util::StoppedActors WhatTheServerLeft() { return testing_util::WhatTheHomeHolds(home_); }

  fs::path home_;
  std::string manifest_;
  std::unique_ptr<Child> server_;
  std::string address_;
  std::vector<std::unique_ptr<Child>> clients_;
};

// Three actors spin inside calls whose deadline is 300 s: SIGTERM stops the server just after
// its 2 s grace, exit 0; each chain records the termination, each actor stays recorded as
// running, and the next start brings all three back, answering.
TEST_F(ServerShutdownTest, SigtermTerminatesCallsThatOutliveTheGraceAndTheActorsComeBack) {
  ASSERT_NO_FATAL_FAILURE(StartServer("2"));
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(StartSpinner());
  for (const std::string& id : ids) Spin(id);

  const auto signalled = Clock::now();
  server_->Signal(SIGTERM);
  Finished f = server_->Finish(60s);
  const auto took = Clock::now() - signalled;
  server_.reset();
  EXPECT_EQ(f.code, 0) << f.err;
  EXPECT_GE(took, 1900ms) << "the calls did not get their grace";
  EXPECT_LT(took, 2s + 8s) << "the server did not stop at the end of its grace";
  EXPECT_THAT(f.out, HasSubstr("the shutdown grace is over; terminating 3 operations"));

  const auto left = WhatTheServerLeft();
  for (const std::string& id : ids) {
    ASSERT_EQ(left.stopped_because.count(id), 1u) << id;
    EXPECT_EQ(left.stopped_because.at(id),
              "terminated: the host stopped and the call outlived the 2 s shutdown grace");
    EXPECT_EQ(left.status.at(id), "running");
  }

  ASSERT_NO_FATAL_FAILURE(StartServer("10"));
  EXPECT_TRUE(server_->WaitForErr(
      [](const std::string& err) { return err.find("recovered 3 actors") != std::string::npos; },
      30s));
  for (const std::string& id : ids) {
    Finished pong = Run({"message", "--request", id, "ping"});
    EXPECT_EQ(pong.code, 0) << pong.err;
    EXPECT_EQ(pong.out, "pong");
  }
}

// During a long grace a second SIGTERM, or a Ctrl-C, makes the server terminate the spinning
// call and exit at once.
TEST_F(ServerShutdownTest, ASecondSignalDuringTheGraceExitsAtOnce) {
  for (int second : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(second == SIGTERM ? "second SIGTERM" : "then SIGINT");
    ASSERT_NO_FATAL_FAILURE(StartServer("600"));
    const std::string id = StartSpinner();
    Spin(id);
    server_->Signal(SIGTERM);
    // The first signal was taken (standard signals do not queue: sent at once, two would be one).
    ASSERT_TRUE(server_->WaitForOutput(
        [](const std::string& out) { return out.find("received: stopping") != std::string::npos; },
        60s))
        << server_->out();
    const auto again = Clock::now();
    server_->Signal(second);
    Finished f = server_->Finish(60s);
    const auto took = Clock::now() - again;
    server_.reset();
    EXPECT_EQ(f.code, 0) << f.err;
    EXPECT_LT(took, 10s) << "the server waited for its 600 s grace";
    EXPECT_THAT(f.out, HasSubstr("received again: terminating what still runs"));
    const auto left = WhatTheServerLeft();
    ASSERT_EQ(left.stopped_because.count(id), 1u);
    EXPECT_THAT(left.stopped_because.at(id), HasSubstr("cutting its 600 s shutdown grace short"));
    EXPECT_EQ(left.status.at(id), "running");
    for (auto& client : clients_) client->Finish(30s);
    clients_.clear();
  }
}

TEST_F(ServerShutdownTest, AGraceOutOfBoundsIsAUsageError) {
  for (const char* grace : {"-1", "3601", "1e9"}) {
    Finished f = Run({"server", "--address", "127.0.0.1:0", "--home", home_.string(),
                      "--shutdown-grace", grace});
    EXPECT_EQ(f.code, 2) << grace << ": " << f.out << f.err;
    EXPECT_THAT(f.err, HasSubstr("--shutdown-grace must be between 0 (terminate at once) and "
                                 "3600 seconds"))
        << grace;
  }
  Finished help = Run({"server", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("--shutdown-grace"));
}

}  // namespace
}  // namespace theater
