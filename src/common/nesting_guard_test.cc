// Theater: a WebAssembly actor runtime.
#include "common/nesting_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace theater {
namespace {

using ::testing::HasSubstr;

TEST(NestingGuardTest, JsonWithinTheLimitPasses) {
  EXPECT_TRUE(CheckJsonNesting(R"({"a":[1,{"b":[]}],"c":"x"})", 4, "state").ok());
  EXPECT_FALSE(CheckJsonNesting(R"({"a":[1,{"b":[]}],"c":"x"})", 3, "state").ok());
  EXPECT_TRUE(CheckJsonNesting("", 1, "state").ok());
  EXPECT_TRUE(CheckJsonNesting("not json at all ]]]", 1, "state").ok()) << "the parser judges it";
}

TEST(NestingGuardTest, JsonPastTheLimitIsRefusedWithWhereAndWhat) {
  Status s = CheckJsonNesting("[[[[1]]]]", 3, "the state");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("the state nests deeper than 3 levels (at byte 3"));
  // 100,000 levels: one pass, no recursion.
  EXPECT_FALSE(CheckJsonNesting(std::string(100000, '{'), 128, "s").ok());
}

TEST(NestingGuardTest, BracketsInsideJsonStringsDoNotCount) {
  EXPECT_TRUE(CheckJsonNesting(R"(["[[[[", "\"[[[[\\", {"k]]]]": "{{{{"}])", 2, "s").ok());
  // An escaped quote does not end the string early.
  EXPECT_TRUE(CheckJsonNesting(R"(["\"[[[[[["])", 1, "s").ok());
}

TEST(NestingGuardTest, TomlDottedKeysAndHeadersAreCounted) {
  EXPECT_TRUE(CheckTomlNesting("[a.b.c]\nx.y.z = 1.5\n", 3, "m").ok());
  Status header = CheckTomlNesting("[a.b.c.d]\n", 3, "m");
  EXPECT_THAT(header.message(), HasSubstr("m has a key or table header of more than 3 dotted"));
  EXPECT_FALSE(CheckTomlNesting("a.b.c.d = 1\n", 3, "m").ok());
  EXPECT_FALSE(CheckTomlNesting("[[a.b.c.d]]\n", 3, "m").ok());
  EXPECT_FALSE(CheckTomlNesting("x = { a.b.c.d = 1 }\n", 3, "m").ok());
  std::string deep = "[a";
  for (int i = 0; i < 100000; ++i) deep += ".a";
  EXPECT_FALSE(CheckTomlNesting(deep + "]\n", 64, "m").ok());
}

TEST(NestingGuardTest, TomlValuesWithDotsAreNotKeys) {
  // Floats, dates and times in arrays: each element's dots are counted apart.
  EXPECT_TRUE(CheckTomlNesting("x = [1.5, 2.5, 3.5, 4.5, 5.5, 6.5]\n", 2, "m").ok());
  EXPECT_TRUE(CheckTomlNesting("t = 1979-05-27T07:32:00.999\n", 2, "m").ok());
  EXPECT_TRUE(CheckTomlNesting("\"a.b.c.d.e\" = \"x.y.z.w\"\n", 2, "m").ok());
  EXPECT_TRUE(CheckTomlNesting("x = '''a.b.c.d.e\n[[[[[[''' # .....\n", 2, "m").ok());
}

TEST(NestingGuardTest, TomlArraysAndInlineTablesAreCounted) {
  EXPECT_TRUE(CheckTomlNesting("x = [[1], {a = [2]}]\n", 3, "m").ok());
  Status s = CheckTomlNesting("x = [[[[1]]]]\n", 3, "m");
  EXPECT_THAT(s.message(), HasSubstr("nests deeper than 3 levels"));
  EXPECT_TRUE(CheckTomlNesting("x = \"[[[[[[\" # [[[[[[\n", 1, "m").ok());
  EXPECT_FALSE(CheckTomlNesting(std::string(100000, '['), 64, "m").ok());
}

}  // namespace
}  // namespace theater
