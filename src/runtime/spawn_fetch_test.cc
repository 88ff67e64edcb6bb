// Theater: a WebAssembly actor runtime.
//
// Spawns that fetch (docs/runtime.md, "Spawning from URLs"), against a real runtime, the probe
// actor and a real loopback listener that accepts and never answers: the fetches run on the I/O
// loop, so however many hang, a spawn of something local answers at once; and the caps on
// fetches in flight (in all, per client, per actor and its descendants) refuse the one past
// them, by name and value, at once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "common/silent_listener.h"
#include "common/uuid.h"
#include "runtime/runtime_impl.h"
#include "testing/runtime_test_fixture.h"
#include "testing/wait_for.h"

namespace theater::runtime {
namespace {

using namespace std::chrono_literals;
using namespace testing_util;
using ::testing::HasSubstr;

class SpawnFetchTest : public RuntimeTest {
 protected:
  // Restarts the runtime with these caps and points url_ at a listener that never answers.
  void StartWithCaps(size_t total, size_t per_client, size_t per_actor) {
    RuntimeOptions options;
    options.max_spawn_fetches = total;
    options.max_spawn_fetches_per_client = per_client;
    options.max_spawn_fetches_per_actor = per_actor;
    Start(options);
    ASSERT_TRUE(silent_.ok());
    url_ = "http://127.0.0.1:" + std::to_string(silent_.port()) + "/m.toml";
  }
  RuntimeImpl& impl() { return static_cast<RuntimeImpl&>(*runtime_); }
  // A spawn of url_ for `client`, in flight until the listener closes.
  std::future<Result<std::string>> SpawnHung(const std::string& client = "") {
    auto promise = std::make_shared<std::promise<Result<std::string>>>();
    std::future<Result<std::string>> future = promise->get_future();
    SpawnRequest request;
    request.manifest = url_;
    request.client = client;
    runtime_->SpawnAsync(std::move(request),
                         [promise](Result<std::string> r) { promise->set_value(std::move(r)); });
    return future;
  }
  bool InFlight(size_t n) {
    return WaitFor([&] { return impl().spawn_fetches_in_flight() == n; }, 10s);
  }

  theater::testing::SilentListener silent_{256};
  std::string url_;
};

TEST_F(SpawnFetchTest, AHundredFetchesThatNeverAnswerDelayNoLocalSpawn) {
  StartWithCaps(128, 128, 8);
  ASSERT_TRUE(IsUuid(Spawn(ProbeManifest())));  // the probe compiled once, before the clock runs
  std::vector<std::future<Result<std::string>>> hung;
  for (int i = 0; i < 100; ++i) hung.push_back(SpawnHung());
  ASSERT_TRUE(InFlight(100)) << impl().spawn_fetches_in_flight();

  // Through the loader pool, as the management server's StartActor spawns (Spawn() would load
  // on this thread).
  auto started = std::chrono::steady_clock::now();
  std::promise<Result<std::string>> local;
  SpawnRequest request;
  request.manifest = ProbeManifest();
  runtime_->SpawnAsync(request, [&local](Result<std::string> r) { local.set_value(r); });
  auto spawned = local.get_future();
  ASSERT_EQ(spawned.wait_for(1s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  const Result<std::string> id_or = spawned.get();
  ASSERT_TRUE(id_or.ok()) << id_or.status().ToString();
  const std::string id = *id_or;
  ASSERT_TRUE(IsUuid(id));
  EXPECT_EQ(Response(Request(id, "count")), "1");
  // A guest's spawn of a local manifest, the same.
  started = std::chrono::steady_clock::now();
  EXPECT_TRUE(IsUuid(Response(Request(id, "spawn:" + ProbeManifest()))));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);

  for (auto& spawn : hung) EXPECT_EQ(spawn.wait_for(0s), std::future_status::timeout);
  silent_.Close();  // resets every waiting connection: each spawn fails, by its fetch
  for (auto& spawn : hung) {
    ASSERT_EQ(spawn.wait_for(20s), std::future_status::ready);
    Result<std::string> r = spawn.get();
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.status().ToString(), HasSubstr("fetching '" + url_ + "'"));
  }
  EXPECT_TRUE(InFlight(0));
}

TEST_F(SpawnFetchTest, TheOverallCapRefusesTheFetchPastIt) {
  StartWithCaps(2, 16, 8);
  auto first = SpawnHung();
  auto second = SpawnHung();
  ASSERT_TRUE(InFlight(2));
  SpawnRequest request;
  request.manifest = url_;
  const auto started = std::chrono::steady_clock::now();
  Result<std::string> refused = runtime_->Spawn(request);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status().ToString(), HasSubstr("(max_spawn_fetches = 2)"));
  EXPECT_TRUE(IsUuid(Spawn(ProbeManifest())));  // nothing local is capped
}

TEST_F(SpawnFetchTest, AClientPastItsCapIsRefusedAndOthersAreNot) {
  StartWithCaps(64, 3, 8);
  std::vector<std::future<Result<std::string>>> hung;
  for (int i = 0; i < 3; ++i) hung.push_back(SpawnHung("client a"));
  ASSERT_TRUE(InFlight(3));
  auto refused = SpawnHung("client a");
  ASSERT_EQ(refused.wait_for(5s), std::future_status::ready);
  Result<std::string> r = refused.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().ToString(), HasSubstr("'client a' has 3 fetches"));
  EXPECT_THAT(r.status().ToString(), HasSubstr("(max_spawn_fetches_per_client = 3)"));
  // Another client, and the embedder, still fetch.
  hung.push_back(SpawnHung("client b"));
  hung.push_back(SpawnHung());
  EXPECT_TRUE(InFlight(5));
}

// A guest's spawns count against it and each of its ancestors: a parent whose children each
// fetch is bound as a whole.
TEST_F(SpawnFetchTest, AnActorAndItsDescendantsPastTheirCapAreRefused) {
  StartWithCaps(64, 16, 2);
  const std::string parent = Spawn(ProbeManifest());
  std::vector<std::string> children;
  for (int i = 0; i < 3; ++i) {
    children.push_back(Response(Request(parent, "spawn:" + ProbeManifest())));
    ASSERT_TRUE(IsUuid(children.back())) << children.back();
  }
  auto first = RequestAsync(children[0], "spawn:" + url_);
  auto second = RequestAsync(children[1], "spawn:" + url_);
  ASSERT_TRUE(InFlight(2));
  const auto started = std::chrono::steady_clock::now();
  const std::string refused = Response(Request(children[2], "spawn:" + url_));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_THAT(refused, HasSubstr("error:"));
  EXPECT_THAT(refused, HasSubstr("actor " + parent + " and its descendants have 2 fetches"));
  EXPECT_THAT(refused, HasSubstr("(max_spawn_fetches_per_actor = 2)"));
  EXPECT_THAT(Response(Request(parent, "spawn:" + url_)),
              HasSubstr("(max_spawn_fetches_per_actor = 2)"));
  // A child's spawn of something local is not capped.
  EXPECT_TRUE(IsUuid(Response(Request(children[2], "spawn:" + ProbeManifest()))));
  silent_.Close();
  ASSERT_EQ(first.wait_for(20s), std::future_status::ready);
  EXPECT_THAT(Response(first.get()), HasSubstr("error:"));
  ASSERT_EQ(second.wait_for(20s), std::future_status::ready);
}

// Shutdown cancels the fetches in flight instead of waiting out their timeouts.
TEST_F(SpawnFetchTest, ShutdownEndsTheFetchesInFlight) {
  StartWithCaps(64, 16, 8);
  std::vector<std::future<Result<std::string>>> hung;
  for (int i = 0; i < 5; ++i) hung.push_back(SpawnHung());
  ASSERT_TRUE(InFlight(5));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(runtime_->Shutdown().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  for (auto& spawn : hung) {
    ASSERT_EQ(spawn.wait_for(5s), std::future_status::ready);
    EXPECT_FALSE(spawn.get().ok());
  }
}

}  // namespace
}  // namespace theater::runtime
