// Theater: a WebAssembly actor runtime.
#include "common/nearest_name.h"

#include <gtest/gtest.h>

#include <string>

namespace theater {
namespace {

TEST(EditDistanceTest, CountsEachEditAndASwapOfNeighboursAsOne) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("list", "list"), 0u);
  EXPECT_EQ(EditDistance("lsit", "list"), 1u);   // a swap
  EXPECT_EQ(EditDistance("lis", "list"), 1u);    // an insertion
  EXPECT_EQ(EditDistance("lists", "list"), 1u);  // a deletion
  EXPECT_EQ(EditDistance("lost", "list"), 1u);   // a substitution
  EXPECT_EQ(EditDistance("", "list"), 4u);
  EXPECT_EQ(EditDistance("timming", "timing"), 1u);
}

TEST(NearestNameTest, SuggestsOnlyWhatIsNearEnough) {
  const std::vector<std::string> keys{"permission_policy", "placement", "name", "limits"};
  EXPECT_EQ(NearestName("permision_policy", keys), "permission_policy");
  EXPECT_EQ(NearestName("permissions_policy", keys), "permission_policy");
  EXPECT_EQ(NearestName("nmae", keys), "name");
  EXPECT_EQ(NearestName("perm", keys), "permission_policy");  // a prefix of one
  EXPECT_EQ(NearestName("author", keys), std::nullopt);
  EXPECT_EQ(NearestName("", keys), std::nullopt);
  EXPECT_EQ(NearestName(std::string(65, 'n'), keys), std::nullopt);  // too long to look at
  EXPECT_EQ(NearestName("anything", {}), std::nullopt);
}

}  // namespace
}  // namespace theater
