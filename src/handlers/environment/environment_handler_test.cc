// Theater: a WebAssembly actor runtime.
//
// Tests of the environment handler without wasm: its factory and config validation, and the
// variable rule (env_rules.h) its host functions apply. The tests set variables with unique
// THEATER_ENVTEST_ names in this process's environment.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>

#include "handlers/environment/environment_handler.h"
#include "handlers/environment/env_rules.h"

namespace theater::handlers {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

Result<std::unique_ptr<Handler>> Create(nlohmann::json config) {
  HandlerConfig handler_config;
  handler_config.type = "environment";
  handler_config.config = std::move(config);
  return NewEnvironmentHandler()->CreateInstance(handler_config);
}

EffectivePermissions WithEnvironment(EnvironmentPermissions env) {
  EffectivePermissions perms;
  perms.Set(kEnvironmentHandler,
            std::make_shared<const PermissionOf<EnvironmentPermissions>>(std::move(env)));
  return perms;
}

EnvironmentPermissions Own(nlohmann::json config) {
  auto parsed = ParseEnvironmentConfig(config);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? *parsed : EnvironmentPermissions{};
}

bool Has(const Pairs& pairs, const std::string& name) {
  return std::any_of(pairs.begin(), pairs.end(), [&](const auto& p) { return p.first == name; });
}

class EnvRulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("THEATER_ENVTEST_APP_NAME", "theater", 1);
    setenv("THEATER_ENVTEST_APP_SECRET", "hunter2", 1);
    setenv("THEATER_ENVTEST_OTHER", "x=y", 1);
  }
  void TearDown() override {
    unsetenv("THEATER_ENVTEST_APP_NAME");
    unsetenv("THEATER_ENVTEST_APP_SECRET");
    unsetenv("THEATER_ENVTEST_OTHER");
  }
  EffectivePermissions all_ = WithEnvironment(EnvironmentPermissions{});
};

TEST(EnvironmentHandlerTest, PrototypeNamesItsInterface) {
  auto handler = NewEnvironmentHandler();
  EXPECT_EQ(handler->name(), "environment");
  EXPECT_EQ(handler->imports(), "theater:simple/environment");
  EXPECT_EQ(handler->exports(), std::nullopt);
}

TEST(EnvironmentHandlerTest, CreateInstanceAcceptsValidConfigs) {
  EXPECT_TRUE(Create(nlohmann::json::object()).ok());
  EXPECT_TRUE(Create({{"allowed_vars", {"A", "B"}},
                      {"denied_vars", nlohmann::json::array()},
                      {"allowed_prefixes", {"APP_"}},
                      {"allow_list_all", true}})
                  .ok());
}

TEST(EnvironmentHandlerTest, CreateInstanceRejectsBadConfigs) {
  auto unknown = Create({{"allowed", {"A"}}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("'allowed'"), std::string::npos);

  for (const char* key : {"allowed_vars", "denied_vars", "allowed_prefixes"}) {
    auto not_array = Create({{key, "A"}});
    ASSERT_FALSE(not_array.ok()) << key;
    EXPECT_EQ(not_array.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(not_array.status().message().find(key), std::string::npos);
    auto not_strings = Create({{key, {"A", 1}}});
    ASSERT_FALSE(not_strings.ok()) << key;
    EXPECT_NE(not_strings.status().message().find(std::string(key) + "[1]"), std::string::npos);
  }
  auto not_bool = Create({{"allow_list_all", "yes"}});
  ASSERT_FALSE(not_bool.ok());
  EXPECT_NE(not_bool.status().message().find("allow_list_all"), std::string::npos);
}

TEST(EnvironmentConfigTest, ParsesEveryKeyAndDefaults) {
  EnvironmentPermissions own = Own({{"allowed_vars", {"A"}},
                                    {"denied_vars", {"B"}},
                                    {"allowed_prefixes", {"C_"}},
                                    {"allow_list_all", true}});
  EXPECT_EQ(own.allowed_vars, std::vector<std::string>{"A"});
  EXPECT_EQ(own.denied_vars, std::vector<std::string>{"B"});
  EXPECT_EQ(own.allowed_prefixes, std::vector<std::string>{"C_"});
  EXPECT_TRUE(own.allow_list_all);

  EnvironmentPermissions defaults = Own(nlohmann::json::object());
  EXPECT_EQ(defaults.allowed_vars, std::nullopt);
  EXPECT_TRUE(defaults.denied_vars.empty());
  EXPECT_EQ(defaults.allowed_prefixes, std::nullopt);
  EXPECT_FALSE(defaults.allow_list_all);  // listing everything is opt-in
}

TEST_F(EnvRulesTest, UnrestrictedReadsSetVariables) {
  EnvironmentPermissions own = Own(nlohmann::json::object());
  EXPECT_EQ(ReadEnvVar(all_, own, "THEATER_ENVTEST_APP_NAME"), "theater");
  EXPECT_EQ(ReadEnvVar(all_, own, "THEATER_ENVTEST_OTHER"), "x=y");
  EXPECT_EQ(ReadEnvVar(all_, own, "THEATER_ENVTEST_UNSET"), std::nullopt);
}

TEST_F(EnvRulesTest, HandlerConfigAllowList) {
  EnvironmentPermissions own = Own({{"allowed_vars", {"THEATER_ENVTEST_APP_NAME"}}});
  EXPECT_EQ(ReadEnvVar(all_, own, "THEATER_ENVTEST_APP_NAME"), "theater");
  EXPECT_EQ(ReadEnvVar(all_, own, "THEATER_ENVTEST_APP_SECRET"), std::nullopt);
  EXPECT_TRUE(EnvVarExposed(all_, own, "THEATER_ENVTEST_APP_NAME"));
  EXPECT_FALSE(EnvVarExposed(all_, own, "THEATER_ENVTEST_APP_SECRET"));
}

TEST_F(EnvRulesTest, HandlerConfigDenyListWins) {
  EnvironmentPermissions own = Own({{"allowed_prefixes", {"THEATER_ENVTEST_APP_"}},
                                    {"denied_vars", {"THEATER_ENVTEST_APP_SECRET"}}});
  EXPECT_EQ(ReadEnvVar(all_, own, "THEATER_ENVTEST_APP_NAME"), "theater");
  EXPECT_EQ(ReadEnvVar(all_, own, "THEATER_ENVTEST_APP_SECRET"), std::nullopt);
  EXPECT_EQ(ReadEnvVar(all_, own, "THEATER_ENVTEST_OTHER"), std::nullopt);  // prefix mismatch
}

TEST_F(EnvRulesTest, ActorPermissionAlsoApplies) {
  EnvironmentPermissions perm;
  perm.denied_vars = {"THEATER_ENVTEST_APP_NAME"};
  EnvironmentPermissions own = Own({{"allowed_vars", {"THEATER_ENVTEST_APP_NAME"}}});
  // The handler allows it but the actor's permission denies it.
  EXPECT_EQ(ReadEnvVar(WithEnvironment(perm), own, "THEATER_ENVTEST_APP_NAME"), std::nullopt);

  EnvironmentPermissions prefixed;
  prefixed.allowed_prefixes = std::vector<std::string>{"THEATER_ENVTEST_OTHER"};
  EXPECT_EQ(ReadEnvVar(WithEnvironment(prefixed), Own(nlohmann::json::object()),
                       "THEATER_ENVTEST_APP_NAME"),
            std::nullopt);
  EXPECT_EQ(
      ReadEnvVar(WithEnvironment(prefixed), Own(nlohmann::json::object()), "THEATER_ENVTEST_OTHER"),
      "x=y");

  // No environment permission at all: nothing is exposed.
  EXPECT_EQ(
      ReadEnvVar(EffectivePermissions{}, Own(nlohmann::json::object()), "THEATER_ENVTEST_APP_NAME"),
      std::nullopt);
}

TEST_F(EnvRulesTest, MalformedNamesAreNeverExposed) {
  EnvironmentPermissions own = Own({{"denied_vars", {"THEATER_ENVTEST_APP_SECRET"}}});
  // getenv would stop at the NUL or '=' and read the denied variable.
  EXPECT_EQ(ReadEnvVar(all_, own, std::string("THEATER_ENVTEST_APP_SECRET\0x", 28)), std::nullopt);
  EXPECT_FALSE(EnvVarExposed(all_, own, "THEATER_ENVTEST_APP_SECRET=hunter2"));
  EXPECT_FALSE(EnvVarExposed(all_, own, ""));
}

TEST_F(EnvRulesTest, ListAllOffGivesEmptyList) {
  EXPECT_TRUE(ListEnvVars(all_, Own(nlohmann::json::object()), environ).empty());

  EnvironmentPermissions no_list;
  no_list.allow_list_all = false;
  EXPECT_TRUE(
      ListEnvVars(WithEnvironment(no_list), Own({{"allow_list_all", true}}), environ).empty());
  EXPECT_TRUE(
      ListEnvVars(EffectivePermissions{}, Own({{"allow_list_all", true}}), environ).empty());
}

TEST_F(EnvRulesTest, ListAllAppliesTheRule) {
  EnvironmentPermissions own = Own({{"allow_list_all", true},
                                    {"allowed_prefixes", {"THEATER_ENVTEST_"}},
                                    {"denied_vars", {"THEATER_ENVTEST_APP_SECRET"}}});
  Pairs vars = ListEnvVars(all_, own, environ);
  EXPECT_TRUE(Has(vars, "THEATER_ENVTEST_APP_NAME"));
  EXPECT_TRUE(Has(vars, "THEATER_ENVTEST_OTHER"));
  EXPECT_FALSE(Has(vars, "THEATER_ENVTEST_APP_SECRET"));
  for (const auto& [name, value] : vars) EXPECT_TRUE(name.starts_with("THEATER_ENVTEST_"));
  auto other = std::find_if(vars.begin(), vars.end(),
                            [](const auto& p) { return p.first == "THEATER_ENVTEST_OTHER"; });
  ASSERT_NE(other, vars.end());
  EXPECT_EQ(other->second, "x=y");  // split at the first '=' only
}

TEST(EnvListTest, ReadsTheGivenEnvironmentBlock) {
  char a[] = "A=1";
  char b[] = "B=";
  char malformed[] = "NOEQUALS";
  char* env[] = {a, b, malformed, nullptr};
  EnvironmentPermissions own;  // allow_list_all defaults to true in the permission struct
  Pairs vars = ListEnvVars(WithEnvironment(EnvironmentPermissions{}), own, env);
  EXPECT_EQ(vars, (Pairs{{"A", "1"}, {"B", ""}}));
}

}  // namespace
}  // namespace theater::handlers
