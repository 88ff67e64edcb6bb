// Theater: a WebAssembly actor runtime.
//
// Regressions of what fuzz/payload_fuzz found: a flags value whose count is near 2^64 passed the
// decoder's size check by wrapping it, and the bits were written past an empty allocation (a
// heap-buffer-overflow under ASan). Reproducer: fuzz/regressions/payload_fuzz/.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "common/leb128.h"
#include "theater/chain.h"

namespace theater::chain {
namespace {

// A flags value whose ULEB count is 2^64-1: `(n + 7) / 8 > remaining()` wrapped to 0 and passed,
// std::vector<bool>(n) wrapped to an empty allocation, and the bits were written past it
// (payload.cc, Reader::Val, kFlagsTag).
TEST(PayloadFuzzRegression, HugeFlagCountIsRefused) {
  const std::vector<uint8_t> value = {0x14, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0x01, 0x02, 0x10};
  Result<abi::Value> decoded = DecodeValue(value);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kParseError);
  EXPECT_THAT(decoded.status().message(), ::testing::HasSubstr("flag count"));
}

// The same inside a payload (a host call's input list), as read from a chain database.
TEST(PayloadFuzzRegression, FlagCountsNearTheLimitAreRefused) {
  for (uint64_t n : {~uint64_t{0}, ~uint64_t{0} - 6, ~uint64_t{0} - 7}) {
    std::vector<uint8_t> value = {0x14};
    AppendUleb(value, n);
    value.push_back(0x01);
    EXPECT_FALSE(DecodeValue(value).ok()) << n;
  }
}

}  // namespace
}  // namespace theater::chain
