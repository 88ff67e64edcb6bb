// Theater: a WebAssembly actor runtime.
//
// RuntimeTest: the fixture of the runtime's end-to-end tests with the probe actor
// (tests/actors/runtime_probe.c): a runtime on two workers and a real database in a fresh
// temporary home, with its log lines and top-level child events collected, and helpers to spawn,
// send requests and read states.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "testing/runtime_test_util.h"
#include "theater/runtime.h"
#include "theater/builtins.h"

namespace theater::testing_util {

using abi::Value;

inline const std::string kProbe = std::string(THEATER_TEST_ACTOR_DIR) + "/runtime_probe.wasm";
inline const std::string kBenchActor = std::string(THEATER_TEST_ACTOR_DIR) + "/bench_actor.wasm";

// Inline manifest text for the probe actor with extra TOML appended. The probe imports nearly
// every handler's interface and tests add `[[handler]]` tables of their own, so its manifest
// lets the runtime add the handlers it does not declare (auto_handlers; the declared form is
// tested by RuntimeTest.AnActorDeclaresTheHandlersItUses and the design conformance tests).
inline std::string ProbeManifest(const std::string& extra = "", const std::string& name = "probe") {
  return "name = \"" + name + "\"\nversion = \"0.1.0\"\ncomponent = \"" + kProbe +
         "\"\nauto_handlers = true\n" + extra;
}

inline std::string Text(const std::optional<std::vector<uint8_t>>& b) {
  return b ? std::string(b->begin(), b->end()) : std::string("<none>");
}

// The response of handle-request, or "error: <status>".
inline std::string Response(const Result<std::vector<Value>>& r) {
  if (!r.ok()) return "error: " + r.status().ToString();
  if (r->size() != 1) return "malformed";
  const Value& tuple = (*r)[0];
  const Value& option = tuple.items()[0];
  if (!option.is_some()) return "<none>";
  const std::vector<uint8_t>& bytes = option.payload()->as_bytes();
  return std::string(bytes.begin(), bytes.end());
}

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = testing_util::NewTestHome("theater-rt");
    Start();
  }
  void TearDown() override {
    if (runtime_) testing_util::ExpectEveryChainReplays(*runtime_);
    runtime_.reset();
    std::filesystem::remove_all(home_);
  }

  // (Re)creates runtime_ with `options` over the test defaults, offering `handlers`.
  void Start(RuntimeOptions options = {}, HandlerRegistry handlers = BuiltinHandlers()) {
    runtime_.reset();
    RuntimeOptions defaults = testing_util::TestRuntimeOptions(home_);
    options.home = defaults.home;
    options.workers = defaults.workers;
    options.engine.cache_dir = defaults.engine.cache_dir;
    options.engine.progress = defaults.engine.progress;
    if (options.spawn_roots.empty()) options.spawn_roots = defaults.spawn_roots;
    options.log_sink = [this](std::string_view, std::string_view, std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.emplace_back(line);
    };
    auto rt = TheaterRuntime::Create(options, std::move(handlers));
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    runtime_ = std::move(rt).value();
    runtime_->SetTopLevelListener([this](const ChildEvent& e) {
      std::lock_guard<std::mutex> lock(log_mu_);
      top_level_.push_back(e);
    });
  }

  std::string Spawn(const std::string& manifest, std::optional<std::string> state = {},
                    std::optional<std::string> parent = {}) {
    SpawnRequest request;
    request.manifest = manifest;
    if (state) request.state = Bytes(*state);
    request.parent_id = parent;
    Result<std::string> id = runtime_->Spawn(request);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : "";
  }

  Result<std::vector<Value>> Request(const std::string& id, const std::string& command) {
    return runtime_->Call(id, "theater:simple/message-server-client", "handle-request",
                          {Value::String("req"), Value::Bytes(Bytes(command))});
  }

  std::future<Result<std::vector<Value>>> RequestAsync(const std::string& id,
                                                       const std::string& command) {
    auto promise = std::make_shared<std::promise<Result<std::vector<Value>>>>();
    auto future = promise->get_future();
    runtime_->CallAsync(id, "theater:simple/message-server-client", "handle-request",
                        {Value::String("req"), Value::Bytes(Bytes(command))},
                        [promise](Result<std::vector<Value>> r) { promise->set_value(r); });
    return future;
  }

  std::string State(const std::string& id) {
    auto s = runtime_->State(id);
    return s.ok() ? Text(*s) : "error: " + s.status().ToString();
  }

  bool Running(const std::string& id) { return runtime_->Phase(id).ok(); }

  // Whether a log line so far contains `text`.
  bool LogContains(std::string_view text) {
    std::lock_guard<std::mutex> lock(log_mu_);
    for (const std::string& line : log_) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

  std::vector<ChildEvent> TopLevel() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return top_level_;
  }

  std::filesystem::path home_;
  std::unique_ptr<TheaterRuntime> runtime_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
  std::vector<ChildEvent> top_level_;
};

}  // namespace theater::testing_util
