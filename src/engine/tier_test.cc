// Theater: a WebAssembly actor runtime.
//
// The two compile tiers (docs/compile-cache.md, "Tiers"): code tcc compiled computes what gcc's
// computes, instruction by instruction where the C leans on builtins, libm or trap checks; a
// tiered module runs from the fast tier at once and its later instances from the optimized
// object once the background compile has made it; a module already compiled optimized never
// goes through the fast tier; an engine that goes stops its background compile at once;
// $THEATER_TIER is read and checked.
#include <gtest/gtest.h>

#include <bit>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <limits>
#include <vector>

#include "common/test_dir.h"
#include "engine/engine_test_util.h"
#include "theater/engine.h"

namespace theater::engine {
namespace {

using testing::ActorPath;
using testing::TableResolver;
using testing_util::TestDir;

std::unique_ptr<Engine> NewEngine(const std::filesystem::path& cache, TierPolicy tier,
                                  MemoryMode mode, size_t fast_min = 0) {
  EngineOptions options;
  options.cache_dir = cache;
  options.memory_mode = mode;
  options.progress = EngineOptions::Progress::kOff;
  options.tier = tier;
  options.fast_tier_min_code_bytes = fast_min;
  Result<std::unique_ptr<Engine>> engine = Engine::Create(options);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

std::unique_ptr<Instance> Instantiate(const Module& module) {
  TableResolver resolver;
  resolver.set_default(testing::TrappingImport);
  auto instance = module.Instantiate(resolver, InstanceOptions{});
  EXPECT_TRUE(instance.ok()) << instance.status().ToString();
  return instance.ok() ? std::move(instance).value() : nullptr;
}

// What one export returns for `arg`: its value, or the status of its trap.
struct Outcome {
  bool ok = false;
  uint64_t value = 0;
  StatusCode code = StatusCode::kOk;
  bool operator==(const Outcome&) const = default;
};

Outcome CallOne(Instance& instance, const std::string& name, uint64_t arg) {
  uint64_t args[1] = {arg};
  uint64_t results[1] = {0};
  Status status = instance.Call(name, args, results);
  if (!status.ok()) return Outcome{false, 0, status.code()};
  return Outcome{true, results[0], StatusCode::kOk};
}

uint64_t F64(double d) {
  return std::bit_cast<uint64_t>(d);
}
uint64_t F32(float f) {
  return std::bit_cast<uint32_t>(f);
}

class TierTest : public ::testing::TestWithParam<MemoryMode> {};

TEST_P(TierTest, FastTierCodeComputesWhatOptimizedCodeComputes) {
  TestDir dir("theater-tier");
  auto fast_engine = NewEngine(dir.path() / "cache", TierPolicy::kFast, GetParam());
  auto optimized_engine = NewEngine(dir.path() / "cache", TierPolicy::kOptimized, GetParam());
  ASSERT_NE(fast_engine, nullptr);
  ASSERT_NE(optimized_engine, nullptr);
  auto fast = fast_engine->LoadModuleFile(ActorPath("numeric_ops"));
  auto optimized = optimized_engine->LoadModuleFile(ActorPath("numeric_ops"));
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  ASSERT_TRUE(optimized.ok()) << optimized.status().ToString();
  EXPECT_EQ((*fast)->code_tier(), CodeTier::kFast);
  EXPECT_EQ((*optimized)->code_tier(), CodeTier::kOptimized);

  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<uint64_t> integers = {0,
                                          1,
                                          2,
                                          3,
                                          7,
                                          0x80,
                                          0xffffffffull,
                                          0x80000000ull,
                                          0x100000000ull,
                                          0x8000000000000000ull,
                                          0xffffffffffffffffull,
                                          0x0123456789abcdefull,
                                          0xfedcba9876543210ull,
                                          0x00f0000000000000ull};
  const std::vector<uint64_t> doubles = {
      F64(0.0),  F64(-0.0),  F64(0.5),        F64(1.5),       F64(2.5),        F64(-2.5),
      F64(3.7),  F64(-3.7),  F64(1e19),       F64(1.8e19),    F64(-1.0),       F64(9.2e18),
      F64(-9.3e18), F64(inf), F64(-inf),      F64(nan),       F64(4503599627370497.0),
      F64(1e-310), F64(3.4028235677973366e38)};
  const std::vector<uint64_t> floats = {F32(0.5f), F32(-0.5f), F32(1.5f),  F32(2.5f),
                                        F32(-2.5f), F32(8388609.0f), F32(1e-40f),
                                        F32(std::numeric_limits<float>::infinity())};
  const std::vector<std::pair<std::string, const std::vector<uint64_t>*>> cases = {
      {"i32.clz", &integers},          {"i32.ctz", &integers},
      {"i32.popcnt", &integers},       {"i64.clz", &integers},
      {"i64.ctz", &integers},          {"i64.popcnt", &integers},
      {"i32.rotl", &integers},         {"i64.rotr", &integers},
      {"i64.div_s", &integers},        {"f64.nearest", &doubles},
      {"f32.nearest", &floats},        {"f64.sqrt", &doubles},
      {"f64.min", &doubles},           {"f64.max", &doubles},
      {"f64.copysign", &doubles},      {"i64.trunc_f64_u", &doubles},
      {"i64.trunc_sat_f64_s", &doubles}, {"f64.convert_i64_u", &integers},
      {"f32.convert_i64_u", &integers}, {"f32.demote_f64", &doubles},
  };
  size_t compared = 0, traps = 0;
  for (const auto& [name, inputs] : cases) {
    for (uint64_t input : *inputs) {
      SCOPED_TRACE(name + "(" + std::to_string(input) + ")");
      // A trap poisons its instance: each call gets fresh ones.
      auto a = Instantiate(**fast);
      auto b = Instantiate(**optimized);
      ASSERT_NE(a, nullptr);
      ASSERT_NE(b, nullptr);
      EXPECT_EQ(a->code_tier(), CodeTier::kFast);
      const Outcome from_fast = CallOne(*a, name, input);
      const Outcome from_optimized = CallOne(*b, name, input);
      EXPECT_EQ(from_fast, from_optimized)
          << "fast " << from_fast.value << " (ok " << from_fast.ok << "), optimized "
          << from_optimized.value << " (ok " << from_optimized.ok << ")";
      ++compared;
      if (!from_optimized.ok) ++traps;
    }
  }
  // Spot checks of the builtins tcc has not (wasm-rt.h gives them), against known answers.
  auto probe = Instantiate(**fast);
  EXPECT_EQ(CallOne(*probe, "i32.clz", 1).value, 31u);
  EXPECT_EQ(CallOne(*probe, "i32.clz", 0).value, 32u);
  EXPECT_EQ(CallOne(*probe, "i64.ctz", 0x8000000000000000ull).value, 63u);
  EXPECT_EQ(CallOne(*probe, "i64.popcnt", 0xffffffffffffffffull).value, 64u);
  EXPECT_EQ(CallOne(*probe, "i32.popcnt", 0x0123456789abcdefull).value, 20u);
  EXPECT_GT(traps, 0u) << "the inputs reach the trapping conversions and divisions";
  EXPECT_GT(compared, 200u);
}

TEST_P(TierTest, ATieredModuleRunsFastAtOnceThenItsLaterInstancesRunTheOptimizedObject) {
  TestDir dir("theater-tier");
  auto engine = NewEngine(dir.path() / "cache", TierPolicy::kTiered, GetParam());
  ASSERT_NE(engine, nullptr);
  auto module = engine->LoadModuleFile(ActorPath("numeric_ops"));
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  EXPECT_EQ((*module)->code_tier(), CodeTier::kFast);
  auto early = Instantiate(**module);
  ASSERT_NE(early, nullptr);
  EXPECT_EQ(early->code_tier(), CodeTier::kFast);

  ASSERT_TRUE(engine->WaitForBackgroundCompiles(std::chrono::minutes(5)));
  EXPECT_EQ((*module)->code_tier(), CodeTier::kOptimized);
  auto late = Instantiate(**module);
  ASSERT_NE(late, nullptr);
  EXPECT_EQ(late->code_tier(), CodeTier::kOptimized);
  // The instance made before keeps its code, and both answer alike.
  EXPECT_EQ(early->code_tier(), CodeTier::kFast);
  EXPECT_EQ(CallOne(*early, "i64.popcnt", 0xff).value, 8u);
  EXPECT_EQ(CallOne(*late, "i64.popcnt", 0xff).value, 8u);

  // The next engine (the next process) finds the optimized object and never takes the fast tier.
  auto next = NewEngine(dir.path() / "cache", TierPolicy::kTiered, GetParam());
  ASSERT_NE(next, nullptr);
  auto again = next->LoadModuleFile(ActorPath("numeric_ops"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->code_tier(), CodeTier::kOptimized);
}

TEST_P(TierTest, ASmallModuleIsCompiledOptimizedAtOnce) {
  TestDir dir("theater-tier");
  auto engine =
      NewEngine(dir.path() / "cache", TierPolicy::kTiered, GetParam(), /*fast_min=*/1 << 20);
  ASSERT_NE(engine, nullptr);
  auto module = engine->LoadModuleFile(ActorPath("numeric_ops"));
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  EXPECT_EQ((*module)->code_tier(), CodeTier::kOptimized);
  EXPECT_TRUE(engine->WaitForBackgroundCompiles(std::chrono::milliseconds(0)))
      << "nothing was queued";
}

// Sets an environment variable for one scope (the engine reads $THEATER_CC, $THEATER_TIER and
// $THEATER_FAST_CC as it is created), and puts back what was there.
class ScopedEnvVar {
 public:
  ScopedEnvVar(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) saved_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnvVar() {
    if (saved_) {
      ::setenv(name_, saved_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnvVar(const ScopedEnvVar&) = delete;
  ScopedEnvVar& operator=(const ScopedEnvVar&) = delete;

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

TEST_P(TierTest, AnEngineDestroyedDuringABackgroundCompileStopsItAtOnce) {
  TestDir dir("theater-tier");
  // An optimizing "compiler" that would take a minute: the engine must not wait for it.
  const std::filesystem::path slow_cc = dir.path() / "slow-cc";
  {
    std::ofstream script(slow_cc);
    script << "#!/bin/sh\n[ \"$1\" = --version ] && { echo slow-cc 1; exit 0; }\nexec sleep 60\n";
  }
  std::filesystem::permissions(slow_cc, std::filesystem::perms::owner_all);
  std::unique_ptr<Engine> engine;
  {
    ScopedEnvVar cc("THEATER_CC", slow_cc.string());
    engine = NewEngine(dir.path() / "cache", TierPolicy::kTiered, GetParam());
  }
  ASSERT_NE(engine, nullptr);
  auto module = engine->LoadModuleFile(ActorPath("hostile"));
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  EXPECT_EQ((*module)->code_tier(), CodeTier::kFast);
  EXPECT_FALSE(engine->WaitForBackgroundCompiles(std::chrono::milliseconds(300)))
      << "the slow compile is running";
  const auto start = std::chrono::steady_clock::now();
  engine.reset();
  // Stopping kills the tools within 200 ms; a bound of many times that is a hang detector.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  // The module it handed out still runs, from the fast tier.
  auto instance = Instantiate(**module);
  ASSERT_NE(instance, nullptr);
  EXPECT_EQ(instance->code_tier(), CodeTier::kFast);
}

INSTANTIATE_TEST_SUITE_P(BothMemoryModes, TierTest, testing::BothMemoryModes(),
                         testing::MemoryModeTestName);

TEST(TierPolicyTest, TheaterTierChoosesThePolicyAndAnUnknownOneIsRefused) {
  TestDir dir("theater-tier");
  EngineOptions options;
  options.cache_dir = dir.path() / "cache";
  options.progress = EngineOptions::Progress::kOff;
  options.fast_tier_min_code_bytes = 0;

  std::optional<ScopedEnvVar> tier;
  tier.emplace("THEATER_TIER", "fast");
  auto fast = Engine::Create(options);
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  auto module = (*fast)->LoadModuleFile(ActorPath("numeric_ops"));
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  EXPECT_EQ((*module)->code_tier(), CodeTier::kFast);

  tier.reset();
  tier.emplace("THEATER_TIER", "quick");
  auto refused = Engine::Create(options);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("THEATER_TIER"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("quick"), std::string::npos);

  // Given in the options, the policy wins over the environment.
  options.tier = TierPolicy::kOptimized;
  auto optimized = Engine::Create(options);
  ASSERT_TRUE(optimized.ok()) << optimized.status().ToString();
  module = (*optimized)->LoadModuleFile(ActorPath("numeric_ops"));
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  EXPECT_EQ((*module)->code_tier(), CodeTier::kOptimized);
}

TEST(TierPolicyTest, AskingForTheFastTierWithoutItsCompilerSaysWhatToInstall) {
  TestDir dir("theater-tier");
  ScopedEnvVar fast_cc("THEATER_FAST_CC", "no-such-tcc");
  EngineOptions options;
  options.cache_dir = dir.path() / "cache";
  options.tier = TierPolicy::kFast;
  auto refused = Engine::Create(options);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("apt-get install tcc"), std::string::npos)
      << refused.status().ToString();
  // Tiered, the same machine compiles everything optimized instead.
  options.tier = TierPolicy::kTiered;
  options.fast_tier_min_code_bytes = 0;
  options.progress = EngineOptions::Progress::kOff;
  auto tiered = Engine::Create(options);
  ASSERT_TRUE(tiered.ok()) << tiered.status().ToString();
  auto module = (*tiered)->LoadModuleFile(ActorPath("numeric_ops"));
  ASSERT_TRUE(module.ok()) << module.status().ToString();
  EXPECT_EQ((*module)->code_tier(), CodeTier::kOptimized);
}

}  // namespace
}  // namespace theater::engine
