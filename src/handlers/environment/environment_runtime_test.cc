// Theater: a WebAssembly actor runtime.
//
// The environment handler end to end with a real actor (tests/actors/runtime_probe.c): the
// variables it may read, list and not see, as its config and permission say.
#include <gtest/gtest.h>

#include <string>

#include "testing/runtime_test_fixture.h"

namespace theater {
namespace {

using namespace testing_util;  // the fixture and its helpers

TEST_F(RuntimeTest, EnvironmentVariablesFollowTheHandlerRules) {
  ::setenv("THEATER_TEST_VISIBLE", "yes", 1);
  ::setenv("THEATER_TEST_SECRET", "no", 1);
  std::string id = Spawn(
      ProbeManifest("[[handler]]\ntype = \"environment\"\nallowed_prefixes = [\"THEATER_TEST_\"]\n"
                    "denied_vars = [\"THEATER_TEST_SECRET\"]\n"));
  EXPECT_EQ(Response(Request(id, "env:THEATER_TEST_VISIBLE")), "yes");
  EXPECT_EQ(Response(Request(id, "env:THEATER_TEST_SECRET")), "none");
  EXPECT_EQ(Response(Request(id, "env:HOME")), "none");
  std::string parent = Spawn(ProbeManifest());
  std::string denied = Response(Request(
      parent, "spawn:" + ProbeManifest("[permission_policy.environment]\ntype = \"disallow\"\n")));
  ASSERT_TRUE(IsUuid(denied)) << denied;
  // get-var has no error case: without the permission the call traps, failing the child.
  EXPECT_EQ(Request(denied, "env:THEATER_TEST_VISIBLE").status().code(),
            StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace theater
