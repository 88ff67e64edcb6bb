// Theater: a WebAssembly actor runtime.
#include "abi/component/reader.h"

#include <gtest/gtest.h>

#include <vector>

namespace theater::component {
namespace {

Reader Over(const std::vector<uint8_t>& bytes) {
  return Reader(bytes, 0x100, "test");
}

TEST(ComponentReaderTest, U32Boundaries) {
  const std::vector<uint8_t> max = {0xff, 0xff, 0xff, 0xff, 0x0f};
  auto r = Over(max);
  auto v = r.ReadU32();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 0xffffffffu);
  EXPECT_TRUE(r.done());

  const std::vector<uint8_t> too_large = {0xff, 0xff, 0xff, 0xff, 0x1f};
  auto r2 = Over(too_large);
  EXPECT_EQ(r2.ReadU32().status().ToString(),
            "test at offset 0x100: LEB128 integer too large for 32 bits");
  const std::vector<uint8_t> too_long = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  auto r3 = Over(too_long);
  EXPECT_NE(r3.ReadU32().status().ToString().find("longer than 5 bytes"), std::string::npos);
  const std::vector<uint8_t> truncated = {0x80, 0x80};
  auto r4 = Over(truncated);
  EXPECT_EQ(r4.ReadU32().status().code(), StatusCode::kParseError);
  // A redundant but in-range encoding is allowed.
  const std::vector<uint8_t> padded = {0x85, 0x80, 0x00};
  auto r5 = Over(padded);
  EXPECT_EQ(*r5.ReadU32(), 5u);
}

TEST(ComponentReaderTest, U64AndS33) {
  const std::vector<uint8_t> max64 = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  auto r = Over(max64);
  EXPECT_EQ(*r.ReadU64(), UINT64_MAX);
  const std::vector<uint8_t> over64 = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  auto r2 = Over(over64);
  EXPECT_NE(r2.ReadU64().status().ToString().find("too large for 64 bits"), std::string::npos);

  const std::vector<uint8_t> minus_one = {0x7f};
  auto r3 = Over(minus_one);
  EXPECT_EQ(*r3.ReadS33(), -1);
  const std::vector<uint8_t> sixty_four = {0xc0, 0x00};
  auto r4 = Over(sixty_four);
  EXPECT_EQ(*r4.ReadS33(), 64);
  const std::vector<uint8_t> max_u32 = {0xff, 0xff, 0xff, 0xff, 0x0f};
  auto r5 = Over(max_u32);
  EXPECT_EQ(*r5.ReadS33(), int64_t{0xffffffff});
  const std::vector<uint8_t> over33 = {0xff, 0xff, 0xff, 0xff, 0x2f};
  auto r6 = Over(over33);
  EXPECT_NE(r6.ReadS33().status().ToString().find("too large for 33 bits"), std::string::npos);
}

TEST(ComponentReaderTest, CountsNamesAndSubReaders) {
  const std::vector<uint8_t> bytes = {0x03, 'a', 'b', 'c', 0x09};
  auto r = Over(bytes);
  EXPECT_EQ(*r.ReadName(), "abc");
  EXPECT_EQ(r.offset(), 0x104u);
  auto count = r.ReadCount("thing");
  EXPECT_EQ(count.status().ToString(),
            "test at offset 0x104: thing count 9 exceeds the 0 bytes left");

  const std::vector<uint8_t> two = {0x02, 0x00, 0x00};
  auto r2 = Over(two);
  EXPECT_EQ(r2.ReadCount("thing", 1).status().code(), StatusCode::kResourceExhausted);

  const std::vector<uint8_t> sub = {0x01, 0x02, 0x03};
  auto r3 = Over(sub);
  auto inner = r3.Sub(2, "inner");
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(inner->offset(), 0x100u);
  EXPECT_EQ(r3.offset(), 0x102u);
  EXPECT_FALSE(inner->ExpectDone().ok());
  EXPECT_EQ(r3.Sub(5, "x").status().code(), StatusCode::kParseError);
}

}  // namespace
}  // namespace theater::component
