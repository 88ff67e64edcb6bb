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

inline Engine& SharedEngine(MemoryMode mode = MemoryMode::kGuardPages) {
  static std::map<MemoryMode, std::unique_ptr<Engine>> engines;
  auto& e = engines[mode];
  if (!e) {
    EngineOptions options;
    options.memory_mode = mode;
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

inline std::string ActorPath(const std::string& name) {
  return std::string(THEATER_TEST_ACTOR_DIR) + "/" + name + ".wasm";
}

inline std::shared_ptr<const Module> LoadActor(const std::string& name,
                                               MemoryMode mode = MemoryMode::kGuardPages) {
  auto module = SharedEngine(mode).LoadModuleFile(ActorPath(name));
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
