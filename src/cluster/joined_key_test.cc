// Theater: a WebAssembly actor runtime.
//
// JoinedKey tests: a key stored joined is found by its parts, with the same hash, and parts that
// join to a different string are not.
#include "cluster/joined_key.h"

#include <gtest/gtest.h>

#include <unordered_map>

namespace theater::cluster {
namespace {

TEST(JoinedKeyTest, AKeyIsFoundByItsPartsAndOnlyByThem) {
  std::unordered_map<std::string, int, JoinedKeyHash, JoinedKeyEqual> table;
  table.emplace(KeyParts("h1", "sender", "target").Join(), 1);
  table.emplace(KeyParts("sender", "target").Join(), 2);
  EXPECT_EQ(KeyParts("h1", "sender", "target").Join(), "h1\nsender\ntarget");
  EXPECT_EQ(JoinedKeyHash{}(KeyParts("a", "b", "c")), JoinedKeyHash{}(std::string_view("a\nb\nc")));
  EXPECT_EQ(JoinedKeyHash{}(KeyParts("", "b")), JoinedKeyHash{}(std::string_view("\nb")));

  auto found = table.find(KeyParts("h1", "sender", "target"));
  ASSERT_NE(found, table.end());
  EXPECT_EQ(found->second, 1);
  found = table.find(KeyParts("sender", "target"));
  ASSERT_NE(found, table.end());
  EXPECT_EQ(found->second, 2);
  EXPECT_EQ(table.find(KeyParts("h1", "sende", "rtarget")), table.end());
  EXPECT_EQ(table.find(KeyParts("h1", "sender", "targe")), table.end());
  EXPECT_EQ(table.find(KeyParts("h2", "sender", "target")), table.end());
  EXPECT_FALSE(JoinedKeyEqual{}(KeyParts("a", "b"), std::string_view("a\nb\nc")));
  EXPECT_FALSE(JoinedKeyEqual{}(KeyParts("a", "b", "c"), std::string_view("a\nb")));
  EXPECT_TRUE(JoinedKeyEqual{}(std::string_view("a\nb"), KeyParts("a", "b")));
}

}  // namespace
}  // namespace theater::cluster
