// Theater: a WebAssembly actor runtime.
//
// LEB128 at its edges: the widths the wasm readers and the chain codec use, numbers that end in
// their last allowed byte, bits beyond the width, a sign that is not repeated, a continuation bit
// where none may be, and bytes that end too soon.
#include "common/leb128.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace theater {
namespace {

LebValue U(std::vector<uint8_t> bytes, unsigned bits) {
  return DecodeUleb(bytes, bits);
}
LebValue S(std::vector<uint8_t> bytes, unsigned bits) {
  return DecodeSleb(bytes, bits);
}

TEST(Leb128Test, UnsignedNumbersOfEveryWidthRoundTrip) {
  for (uint64_t value : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300},
                         uint64_t{0xffffffff}, uint64_t{1} << 35, ~uint64_t{0}}) {
    std::vector<uint8_t> bytes;
    AppendUleb(bytes, value);
    EXPECT_EQ(bytes.size(), UlebSize(value)) << value;
    const LebValue v = U(bytes, 64);
    ASSERT_TRUE(v.ok()) << value;
    EXPECT_EQ(v.value, value);
    EXPECT_EQ(v.length, bytes.size());
  }
  // Trailing bytes are not read.
  const LebValue v = U({0xe5, 0x8e, 0x26, 0xff}, 32);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value, 624485u);
  EXPECT_EQ(v.length, 3u);
}

TEST(Leb128Test, TheLastAllowedByteCarriesOnlyTheBitsLeft) {
  // u32: the fifth byte holds bits 28..31, so 0x0f is the most it may be.
  EXPECT_EQ(U({0xff, 0xff, 0xff, 0xff, 0x0f}, 32).value, 0xffffffffu);
  EXPECT_EQ(U({0xff, 0xff, 0xff, 0xff, 0x1f}, 32).problem, LebProblem::kTooLarge);
  EXPECT_EQ(U({0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 32).problem, LebProblem::kTooLong);
  // A redundant (not shortest) encoding within the width is a valid number.
  EXPECT_EQ(U({0x80, 0x80, 0x00}, 32).value, 0u);
  // u64: the tenth byte holds bit 63 only.
  std::vector<uint8_t> max64(9, 0xff);
  max64.push_back(0x01);
  EXPECT_EQ(U(max64, 64).value, ~uint64_t{0});
  max64.back() = 0x02;
  EXPECT_EQ(U(max64, 64).problem, LebProblem::kTooLarge);
  max64.back() = 0x81;
  EXPECT_EQ(U(max64, 64).problem, LebProblem::kTooLong);
  EXPECT_EQ(U(max64, 64).length, 10u);
}

TEST(Leb128Test, SignedNumbersExtendTheirSign) {
  EXPECT_EQ(static_cast<int64_t>(S({0x7f}, 32).value), -1);
  EXPECT_EQ(static_cast<int64_t>(S({0x3f}, 32).value), 63);
  EXPECT_EQ(static_cast<int64_t>(S({0x40}, 32).value), -64);
  EXPECT_EQ(static_cast<int64_t>(S({0x80, 0x7f}, 32).value), -128);
  EXPECT_EQ(static_cast<int32_t>(S({0x80, 0x80, 0x80, 0x80, 0x78}, 32).value), INT32_MIN);
  EXPECT_EQ(static_cast<int32_t>(S({0xff, 0xff, 0xff, 0xff, 0x07}, 32).value), INT32_MAX);
  // s33: a type index (non-negative) or a negative value-type code.
  EXPECT_EQ(static_cast<int64_t>(S({0xff, 0xff, 0xff, 0xff, 0x0f}, 33).value), 0xffffffff);
  EXPECT_EQ(static_cast<int64_t>(S({0x80, 0x80, 0x80, 0x80, 0x70}, 33).value), -(int64_t{1} << 32));
}

TEST(Leb128Test, TheUnusedBitsOfASignedNumberMustRepeatItsSign) {
  // s32: bit 31 is bit 3 of the fifth byte; bits 4..6 must equal it.
  EXPECT_EQ(S({0xff, 0xff, 0xff, 0xff, 0x77}, 32).problem, LebProblem::kTooLarge);
  EXPECT_EQ(S({0x80, 0x80, 0x80, 0x80, 0x08}, 32).problem, LebProblem::kTooLarge);
  EXPECT_EQ(S({0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 32).problem, LebProblem::kTooLong);
  // s33: bit 32 is bit 4 of the fifth byte.
  EXPECT_EQ(S({0x80, 0x80, 0x80, 0x80, 0x10}, 33).problem, LebProblem::kTooLarge);
  EXPECT_EQ(S({0x80, 0x80, 0x80, 0x80, 0x20}, 33).problem, LebProblem::kTooLarge);
}

TEST(Leb128Test, BytesThatEndTooSoonAreATruncation) {
  EXPECT_EQ(U({}, 32).problem, LebProblem::kTruncated);
  const LebValue v = U({0x80, 0x80}, 32);
  EXPECT_EQ(v.problem, LebProblem::kTruncated);
  EXPECT_EQ(v.length, 2u);
  EXPECT_EQ(S({0xff}, 64).problem, LebProblem::kTruncated);
}

}  // namespace
}  // namespace theater
