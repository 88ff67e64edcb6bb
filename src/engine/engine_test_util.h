// Theater: a WebAssembly actor runtime.
//
// Helpers for engine tests: a shared Engine per memory mode (compiled modules are cached under
// the test THEATER_HOME, so only the first run pays for compilation), loading test actors from
// the build tree, and an ImportResolver built from a table of host functions.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "theater/engine.h"

namespace theater::engine::testing {

// Optimized code unless asked: what a test compiles does not depend on its size or $THEATER_TIER.
inline Engine& SharedEngine(MemoryMode mode = MemoryMode::kGuardPages,
                            TierPolicy tier = TierPolicy::kOptimized) {
  static std::map<std::pair<MemoryMode, TierPolicy>, std::unique_ptr<Engine>> engines;
  auto& e = engines[{mode, tier}];
  if (!e) {
    EngineOptions options;
    options.memory_mode = mode;
    options.tier = tier;
    options.progress = EngineOptions::Progress::kOff;
    auto created = Engine::Create(options);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    e = std::move(created).value();
  }
  return *e;
}

// For a suite run in both memory modes:
//   INSTANTIATE_TEST_SUITE_P(BothMemoryModes, FiberTest, testing::BothMemoryModes(),
//                            testing::MemoryModeTestName);
inline auto BothMemoryModes() {
  return ::testing::Values(MemoryMode::kGuardPages, MemoryMode::kBoundsChecks);
}
inline std::string MemoryModeTestName(const ::testing::TestParamInfo<MemoryMode>& info) {
  return info.param == MemoryMode::kGuardPages ? "GuardPages" : "BoundsChecks";
}

// For a suite whose guests must behave alike whichever tier compiled them (the fast tier's code
// reaches the runtime's thread-locals through calls, and counts bits without builtins).
struct EngineKind {
  MemoryMode mode;
  TierPolicy tier;
};
inline auto BothMemoryModesAndTiers() {
  return ::testing::Values(EngineKind{MemoryMode::kGuardPages, TierPolicy::kOptimized},
                           EngineKind{MemoryMode::kBoundsChecks, TierPolicy::kOptimized},
                           EngineKind{MemoryMode::kGuardPages, TierPolicy::kFast},
                           EngineKind{MemoryMode::kBoundsChecks, TierPolicy::kFast});
}
inline std::string EngineKindTestName(const ::testing::TestParamInfo<EngineKind>& info) {
  return std::string(info.param.mode == MemoryMode::kGuardPages ? "GuardPages" : "BoundsChecks") +
         (info.param.tier == TierPolicy::kFast ? "FastTier" : "");
}

inline std::string ActorPath(const std::string& name) {
  return std::string(THEATER_TEST_ACTOR_DIR) + "/" + name + ".wasm";
}

inline std::shared_ptr<const Module> LoadActor(const std::string& name,
                                               MemoryMode mode = MemoryMode::kGuardPages,
                                               TierPolicy tier = TierPolicy::kOptimized) {
  auto module = SharedEngine(mode, tier).LoadModuleFile(ActorPath(name));
  EXPECT_TRUE(module.ok()) << module.status().ToString();
  return module.ok() ? *module : nullptr;
}

// Resolves imports by "module.name" from a table; unknown imports fail instantiation.
class TableResolver : public ImportResolver {
 public:
  void Add(const std::string& module, const std::string& name, HostFunction fn,
           void* data = nullptr) {
    table_[module + "." + name] = HostBinding{fn, data};
  }
  // Binds every import not in the table to a function that traps (for modules whose other
  // imports a test never reaches).
  void set_default(HostFunction fn) { default_ = fn; }
  Result<HostBinding> Resolve(const ImportInfo& import) override {
    auto it = table_.find(import.module + "." + import.name);
    if (it != table_.end()) return it->second;
    if (default_) return HostBinding{default_, nullptr};
    return NotFound("test resolver has no '" + import.module + "." + import.name + "'");
  }

 private:
  std::map<std::string, HostBinding> table_;
  HostFunction default_ = nullptr;
};

inline int TrappingImport(Instance& caller, void*, const uint64_t*, uint64_t*) {
  return caller.Fail(InternalError("import not provided by this test"));
}

}  // namespace theater::engine::testing
