// Theater: a WebAssembly actor runtime.
//
// The generic permission machinery (theater/permissions.h) with handlers it has never heard of:
// one with rules of its own (a quota that narrows to the minimum) and one with a yes/no
// permission. The built-in handlers' rules are tested in
// src/handlers/builtins/builtin_permissions_test.cc.
#include "theater/permissions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace theater {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

struct Quota {
  uint64_t max = kUnlimited;
  bool share = true;
  friend bool operator==(const Quota&, const Quota&) = default;
};
Status ReadPermissionConfig(PermissionConfigReader& r, Quota* q) {
  THEATER_RETURN_IF_ERROR(r.U64("max", &q->max));
  return r.Bool("share", &q->share);
}
Quota NarrowPermission(const Quota& parent, const Quota& r) {
  return Quota{std::min(parent.max, r.max), parent.share && r.share};
}

class QuotaRules final : public PermissionRulesFor<Quota> {
 public:
  Status CheckAccess(const Permission& p, std::string_view resource) const override {
    const auto* q = dynamic_cast<const PermissionOf<Quota>*>(&p);
    if (q == nullptr || !q->value.share) return PermissionDenied("no sharing of " + std::string(resource));
    return Status();
  }
};
const QuotaRules kQuotaRules;

const std::vector<PolicyHandler>& Handlers() {
  static const std::vector<PolicyHandler> handlers = {
      {"quota-keeper", HandlerPolicyKey("quota-keeper"), &kQuotaRules},
      {"bell", HandlerPolicyKey("bell"), nullptr},
  };
  return handlers;
}

EffectivePermissions Root() {
  EffectivePermissions root;
  root.Set("quota-keeper", kQuotaRules.Root());
  root.Set("bell", PlainPermission());
  return root;
}

PermissionPolicy MustParse(const json& policy) {
  Result<PermissionPolicy> p = ParsePermissionPolicy(policy, Handlers());
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : PermissionPolicy{};
}

std::string ParseError(const json& policy) {
  Result<PermissionPolicy> p = ParsePermissionPolicy(policy, Handlers());
  EXPECT_FALSE(p.ok()) << policy.dump();
  return p.ok() ? "" : p.status().message();
}

TEST(GenericPermissionsTest, PolicyKeysComeFromHandlerNames) {
  EXPECT_EQ(HandlerPolicyKey("quota-keeper"), "quota_keeper");
  EXPECT_EQ(HandlerPolicyKey("message-server"), "message_server");
  EXPECT_EQ(HandlerPolicyKey("filesystem"), "file_system");
  EXPECT_EQ(ParseError({{"quota-keeper", {{"type", "inherit"}}}}),
            "permission_policy.quota-keeper: unknown handler (expected quota_keeper or bell)");
}

TEST(GenericPermissionsTest, RulesOfTheHandlerParseAndNarrow) {
  PermissionPolicy policy =
      MustParse({{"quota_keeper", {{"type", "restrict"}, {"config", {{"max", 5}}}}}});
  EffectivePermissions child = ComputeEffectivePermissions(Root(), policy);
  ASSERT_NE(child.Get<Quota>("quota-keeper"), nullptr);
  EXPECT_EQ(*child.Get<Quota>("quota-keeper"), (Quota{5, true}));
  EXPECT_TRUE(child.Permits("bell"));  // untouched: inherited
  // A grandchild asking for more keeps the minimum; the parent's sharing off stays off.
  PermissionPolicy wider =
      MustParse({{"quota_keeper", {{"type", "restrict"}, {"config", {{"max", 50}}}}}});
  EXPECT_EQ(*ComputeEffectivePermissions(child, wider).Get<Quota>("quota-keeper"),
            (Quota{5, true}));
  EXPECT_EQ(ParseError({{"quota_keeper", {{"type", "restrict"}, {"config", {{"max", "x"}}}}}}),
            "permission_policy.quota_keeper.config.max: must be a non-negative integer, not a "
            "string");
  EXPECT_EQ(ParseError({{"quota_keeper", {{"type", "restrict"}, {"config", {{"maximum", 1}}}}}}),
            "permission_policy.quota_keeper.config.maximum: unknown permission field");
  // CheckAccess is the handler's.
  EXPECT_TRUE(kQuotaRules.CheckAccess(*child.Find("quota-keeper"), "x").ok());
}

TEST(GenericPermissionsTest, AYesNoPermissionIsInheritedOrDisallowed) {
  EffectivePermissions child =
      ComputeEffectivePermissions(Root(), MustParse({{"bell", {{"type", "disallow"}}}}));
  EXPECT_FALSE(child.Permits("bell"));
  EXPECT_EQ(CheckHandlerPermitted(child, "bell").message(),
            "Handler type 'bell' not permitted by effective permissions");
  // Restrict keeps it and takes no config.
  EXPECT_TRUE(ComputeEffectivePermissions(Root(), MustParse({{"bell", {{"type", "restrict"}}}}))
                  .Permits("bell"));
  EXPECT_EQ(ParseError({{"bell", {{"type", "restrict"}, {"config", {{"loud", true}}}}}}),
            "permission_policy.bell.config.loud: unknown permission field");
  // What a parent lacks, a child cannot get back.
  EffectivePermissions grandchild =
      ComputeEffectivePermissions(child, MustParse({{"bell", {{"type", "inherit"}}}}));
  EXPECT_FALSE(grandchild.Permits("bell"));
  EXPECT_TRUE(CheckHandlerPermitted(grandchild, "quota-keeper").ok());
  EXPECT_FALSE(CheckHandlerPermitted(EffectivePermissions{}, "quota-keeper").ok());
}

TEST(GenericPermissionsTest, EqualityComparesEveryGrant) {
  EXPECT_EQ(Root(), Root());
  EffectivePermissions other = Root();
  other.Set("quota-keeper", std::make_shared<const PermissionOf<Quota>>(Quota{1, true}));
  EXPECT_FALSE(other == Root());
  other.Remove("quota-keeper");
  EXPECT_FALSE(other == Root());
  EXPECT_EQ(other.Handlers(), std::vector<std::string>{"bell"});
}

}  // namespace
}  // namespace theater
