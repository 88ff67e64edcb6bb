// Theater: a WebAssembly actor runtime.
//
// The random handler end to end with real actors (tests/actors/runtime_probe.c): a seeded
// stream repeats for one actor and differs between actors, since each has its own instance.
#include <gtest/gtest.h>

#include <string>

#include "testing/runtime_test_fixture.h"

namespace theater {
namespace {

using namespace testing_util;  // the fixture and its helpers

TEST_F(RuntimeTest, SeededRandomIsReproduciblePerActorAndDistinctBetweenActors) {
  std::string seeded = ProbeManifest("[[handler]]\ntype = \"random\"\nseed = 42\n");
  SpawnRequest request;
  request.manifest = seeded;
  request.actor_id = "11111111-1111-4111-8111-111111111111";
  std::string first = *runtime_->Spawn(request);
  std::string a = Response(Request(first, "random:16"));
  ASSERT_EQ(a.size(), 32u) << a;
  ASSERT_TRUE(runtime_->Stop(first).ok());
  std::string again = *runtime_->Spawn(request);  // same id, same seed: same sequence
  EXPECT_EQ(Response(Request(again, "random:16")), a);
  request.actor_id = "22222222-2222-4222-8222-222222222222";
  std::string other = *runtime_->Spawn(request);
  EXPECT_NE(Response(Request(other, "random:16")), a);
  std::string uuid = Response(Request(other, "uuid"));
  EXPECT_TRUE(IsUuid(uuid)) << uuid;
  std::string limited = Spawn(ProbeManifest("[[handler]]\ntype = \"random\"\nmax_bytes = 8\n"));
  EXPECT_NE(Response(Request(limited, "random:9")).find("error:"), std::string::npos);
  EXPECT_EQ(Response(Request(limited, "random:8")).size(), 16u);
}

}  // namespace
}  // namespace theater
