// Theater: a WebAssembly actor runtime.
#include "runtime/plan_cache.h"

#include <gtest/gtest.h>

#include "theater/abi/wit.h"

namespace theater::runtime {
namespace {

wit::Package Parse(const char* text) {
  Result<wit::Package> package = wit::ParseWitText(text, "plan-cache-test.wit");
  EXPECT_TRUE(package.ok()) << package.status().ToString();
  return std::move(package).value();
}

TEST(PlanCacheTest, BuildsEachFunctionAndContextOnceAndMatchesADirectBuild) {
  wit::Package package = Parse(
      "package test:plans;\n"
      "interface api {\n"
      "  greet: func(name: string, times: u32) -> result<list<u8>, string>;\n"
      "  count: func() -> u64;\n"
      "}\n");
  const wit::Interface* api = package.FindInterface("api");
  ASSERT_NE(api, nullptr);
  const abi::FunctionType* greet = api->FindFunction("greet");
  const abi::FunctionType* count = api->FindFunction("count");
  ASSERT_NE(greet, nullptr);
  ASSERT_NE(count, nullptr);

  PlanCache cache;
  for (int round = 0; round < 3; ++round) {
    for (abi::Context context : {abi::Context::kLift, abi::Context::kLower}) {
      Result<abi::FunctionPlan> cached = cache.Get(*greet, context);
      ASSERT_TRUE(cached.ok()) << cached.status().ToString();
      Result<abi::FunctionPlan> direct = abi::FunctionPlan::Build(*greet, context);
      ASSERT_TRUE(direct.ok());
      EXPECT_EQ(cached->context(), context);
      EXPECT_EQ(cached->signature().ParamLetters(), direct->signature().ParamLetters());
      EXPECT_EQ(cached->signature().ResultLetters(), direct->signature().ResultLetters());
    }
    ASSERT_TRUE(cache.Get(*count, abi::Context::kLower).ok());
  }
  // greet in both contexts and count in one: three plans however often they were asked for.
  EXPECT_EQ(cache.size(), 3u);
}

TEST(PlanCacheTest, AFunctionWhosePlanFailsIsReportedEveryTimeAndNotCached) {
  abi::FunctionType malformed;  // a parameter without a type
  malformed.params.push_back(abi::Field{"x", nullptr});
  PlanCache cache;
  for (int i = 0; i < 2; ++i) {
    Result<abi::FunctionPlan> plan = cache.Get(malformed, abi::Context::kLift);
    EXPECT_FALSE(plan.ok());
  }
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace theater::runtime
