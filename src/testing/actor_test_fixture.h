// Theater: a WebAssembly actor runtime.
//
// ActorTestFixture: the part every runtime-level handler test repeats. Each test gets a fresh
// runtime in a fresh home (removed afterwards), spawns probe actors (tests/actors/*.c) from
// inline manifests, drives them with text commands sent as message-server requests, and reads
// the lines they logged and what their chains recorded.
//
// Thread-safety: as a gtest fixture, used from the test's thread. Ownership: the fixture owns
// the runtime; the runtime is destroyed (its actors stopped) before the home is removed.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "testing/runtime_test_util.h"
#include "theater/builtins.h"
#include "theater/chain.h"

namespace theater::testing_util {

class ActorTestFixture : public ::testing::Test {
 protected:
  // `home_prefix` names the test's home directory (under the system temp directory).
  explicit ActorTestFixture(std::string home_prefix) : home_prefix_(std::move(home_prefix)) {}

  void SetUp() override {
    home_ = NewTestHome(home_prefix_);
    RuntimeOptions options = TestRuntimeOptions(home_);
    options.log_sink = [this](std::string_view, std::string_view, std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.emplace_back(line);
    };
    Result<std::unique_ptr<TheaterRuntime>> runtime =
        TheaterRuntime::Create(options, BuiltinHandlers());
    ASSERT_TRUE(runtime.ok()) << runtime.status().ToString();
    runtime_ = std::move(runtime).value();
  }
  void TearDown() override {
    if (runtime_) testing_util::ExpectEveryChainReplays(*runtime_);
    runtime_.reset();
    std::filesystem::remove_all(home_);
  }

  // The new actor's id, or "" (and a test failure) when the spawn fails.
  std::string Spawn(const std::string& manifest, std::optional<std::string> parent = {}) {
    SpawnRequest request;
    request.manifest = manifest;
    request.parent_id = std::move(parent);
    Result<std::string> id = runtime_->Spawn(request);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }

  // The error of a spawn that must fail, as text; "" (and a test failure) when it succeeds.
  std::string SpawnError(const std::string& manifest) {
    SpawnRequest request;
    request.manifest = manifest;
    Result<std::string> id = runtime_->Spawn(request);
    EXPECT_FALSE(id.ok()) << "the spawn succeeded: " << manifest;
    return id.ok() ? "" : id.status().ToString();
  }

  // The actor's reply to `command` followed by `binary`, or "failed: <status>".
  std::string Command(const std::string& id, std::string_view command,
                      std::span<const uint8_t> binary = {},
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    std::vector<uint8_t> message = Bytes(command);
    message.insert(message.end(), binary.begin(), binary.end());
    Result<std::vector<uint8_t>> reply = runtime_->RequestMessage(id, message, timeout);
    if (!reply.ok()) return "failed: " + reply.status().ToString();
    return std::string(reply->begin(), reply->end());
  }

  // What the chain of actor `id` recorded of one kind (chain::HostCall, chain::ExportCall, ...),
  // in order; a test failure when the chain cannot be read.
  template <typename Recorded>
  std::vector<Recorded> RecordedInChain(const std::string& id) {
    std::vector<Recorded> out;
    Result<std::vector<chain::Event>> events = runtime_->Events(id);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (!events.ok()) return out;
    for (const chain::Event& e : *events) {
      Result<chain::Payload> payload = chain::DecodePayload(e.payload);
      if (payload.ok() && std::holds_alternative<Recorded>(*payload)) {
        out.push_back(std::get<Recorded>(std::move(*payload)));
      }
    }
    return out;
  }

  // The log lines actors have written so far (runtime.log), from any actor, in order.
  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
  }

  std::filesystem::path home_;
  std::unique_ptr<TheaterRuntime> runtime_;

 private:
  std::string home_prefix_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

}  // namespace theater::testing_util
