// Theater: a WebAssembly actor runtime.
#include "common/recent_ids.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace theater {
namespace {

std::string Id(int i) {
  return "actor-" + std::to_string(i);
}

TEST(RecentIdsTest, RemembersTheLastCapacityIdsAndForgetsTheOldest) {
  RecentIds ids(100);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(ids.Add(Id(i)));
    EXPECT_FALSE(ids.Add(Id(i))) << "added twice";
    // After every addition exactly the last 100 are remembered.
    if (i % 97 == 0) {
      for (int j = 0; j <= i; ++j) ASSERT_EQ(ids.Contains(Id(j)), j > i - 100) << i << " " << j;
    }
  }
  EXPECT_FALSE(ids.Contains("never added"));
}

TEST(RecentIdsTest, AForgottenIdIsGoneAndItsPlaceIsNotReusedEarly) {
  RecentIds ids(10);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(ids.Add(Id(i)));
  EXPECT_TRUE(ids.Forget(Id(3)));
  EXPECT_FALSE(ids.Forget(Id(3)));
  EXPECT_FALSE(ids.Contains(Id(3)));
  // Re-added, it is the newest: the next nine additions do not push it out.
  ASSERT_TRUE(ids.Add(Id(3)));
  for (int i = 10; i < 19; ++i) ASSERT_TRUE(ids.Add(Id(i)));
  EXPECT_TRUE(ids.Contains(Id(3)));
  for (int i = 10; i < 19; ++i) EXPECT_TRUE(ids.Contains(Id(i)));
}

// Removal by backward shift keeps every remaining id findable, whatever the probe runs look like.
// The model: an id is remembered while it is among the last 64 added and was not forgotten.
TEST(RecentIdsTest, LookupsStayExactThroughHeavyChurn) {
  RecentIds ids(64);
  std::set<int> forgotten;
  for (int i = 0; i < 20000; ++i) {
    ASSERT_TRUE(ids.Add(Id(i)));
    if (i % 7 == 0 && i >= 32) {
      ASSERT_TRUE(ids.Forget(Id(i - 32)) || forgotten.count(i - 32));
      forgotten.insert(i - 32);
    }
    if (i % 101 == 0) {
      for (int j = std::max(0, i - 200); j <= i; ++j) {
        ASSERT_EQ(ids.Contains(Id(j)), j > i - 64 && forgotten.count(j) == 0) << i << " " << j;
      }
    }
  }
}

}  // namespace
}  // namespace theater
