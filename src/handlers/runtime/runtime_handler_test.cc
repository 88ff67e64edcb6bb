// Theater: a WebAssembly actor runtime.
//
// The runtime handler end to end with a real actor (tests/actors/runtime_probe.c): what
// runtime-ext reports about the actor and its host. The rest of its functions are exercised
// wherever actors log, read their state or shut down (src/runtime/runtime_test.cc,
// actor_host_test.cc, hostile_host_calls_test.cc).
#include <gtest/gtest.h>

#include <unistd.h>

#include <string>

#include "testing/runtime_test_fixture.h"
#include "theater/version.h"

namespace theater {
namespace {

using namespace testing_util;  // the fixture and its helpers

TEST_F(RuntimeTest, RuntimeExtReportsIdentityAndHost) {
  std::string id = Spawn(ProbeManifest());
  EXPECT_EQ(Response(Request(id, "actor-id")), id);
  std::string host = Response(Request(id, "host-info"));
  char hostname[256] = {};
  gethostname(hostname, sizeof hostname - 1);
  EXPECT_EQ(host.substr(host.find(' ') + 1), hostname) << host;
  EXPECT_GE(std::stoi(host), 1);
  // The version the command reports (`theater --version`), which is the one CMakeLists.txt
  // declares (src/version_check.cc).
  EXPECT_EQ(Response(Request(id, "theater-version")), std::string(kVersion));
}

}  // namespace
}  // namespace theater
