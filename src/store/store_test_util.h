// Theater: a WebAssembly actor runtime.
//
// What the content store's tests share (content_store_test.cc, pack_test.cc): deterministic
// content, assertions on Status and Result, and a fresh directory per test. Test-only,
// header-only.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/status_test_util.h"
#include "common/test_dir.h"
#include "theater/status.h"

namespace theater::store::testing_util {

using theater::testing_util::TestDir;

inline std::vector<uint8_t> Bytes(std::string_view text) {
  return {text.begin(), text.end()};
}

// Deterministic pseudo-random bytes: different seeds give different content.
inline std::vector<uint8_t> Pattern(size_t size, uint64_t seed) {
  std::vector<uint8_t> out(size);
  uint64_t state = seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
  for (size_t i = 0; i < size; i += 8) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    std::memcpy(out.data() + i, &state, std::min<size_t>(8, size - i));
  }
  return out;
}

inline std::string HashOf(const std::vector<uint8_t>& bytes) {
  return Sha256Hex(bytes);
}

// A failed status of `code` whose text contains `fragment`.
inline void ExpectError(const Status& status, StatusCode code, std::string_view fragment) {
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), code) << status.ToString();
  EXPECT_THAT(status.ToString(), ::testing::HasSubstr(std::string(fragment)));
}

// The value of a result that must be OK (a test failure and T{} otherwise).
template <typename T>
T Value(Result<T> result) {
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) return T{};
  return std::move(result).value();
}

}  // namespace theater::store::testing_util
