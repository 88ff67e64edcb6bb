#include "theater/status.h"

#include <gtest/gtest.h>

namespace theater {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, ContextChainKeepsCodeAndCauses) {
  Status root = NotFound("file not found: hello.wasm");
  Status outer = root.WithContext("field 'component'").WithContext("loading manifest m.toml");
  EXPECT_EQ(outer.code(), StatusCode::kNotFound);
  EXPECT_EQ(outer.ToString(),
            "loading manifest m.toml: field 'component': file not found: hello.wasm");
  EXPECT_TRUE(outer.has_cause());
  EXPECT_EQ(outer.root().message(), "file not found: hello.wasm");
  EXPECT_EQ(outer.cause().message(), "field 'component'");
}

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  THEATER_ASSIGN_OR_RETURN(int h, Half(x));
  THEATER_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

TEST(StatusTest, ResultPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  Result<int> bad{Status()};
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace theater
