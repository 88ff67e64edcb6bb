// Theater: a WebAssembly actor runtime.
//
// The in-process SHA-256 against the FIPS 180-4 example digests and against OpenSSL on random
// inputs, through both compression paths and every way of splitting the input into updates.
#include "common/sha256.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>
#include <vector>

#include "common/bytes.h"

namespace theater {
namespace {

std::string HexOf(std::string_view text) {
  return HexEncode(Sha256({reinterpret_cast<const uint8_t*>(text.data()), text.size()}));
}

Sha256Digest OpenSslDigest(std::span<const uint8_t> data) {
  Sha256Digest out{};
  unsigned size = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha256(), nullptr);
  return out;
}

TEST(Sha256Test, KnownDigests) {
  EXPECT_EQ(HexOf(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexOf("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexOf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string million(1'000'000, 'a');
  EXPECT_EQ(HexOf(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, MatchesOpenSslOnEveryLengthAndSplit) {
  std::mt19937_64 rng(42);
  std::vector<uint8_t> data(700);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t length = 0; length <= data.size(); ++length) {
    std::span<const uint8_t> input(data.data(), length);
    const Sha256Digest expected = OpenSslDigest(input);
    ASSERT_EQ(Sha256(input), expected) << "length " << length;
    // The same bytes fed in three pieces at random cut points.
    size_t a = length ? rng() % (length + 1) : 0;
    size_t b = a + (length - a ? rng() % (length - a + 1) : 0);
    Sha256Hasher hasher;
    hasher.Update(input.subspan(0, a));
    hasher.Update(input.subspan(a, b - a));
    hasher.Update(input.subspan(b));
    ASSERT_EQ(hasher.Final(), expected) << "length " << length << " cut at " << a << "," << b;
  }
}

TEST(Sha256Test, EmptyPiecesChangeNothing) {
  Sha256Hasher hasher;
  hasher.Update(std::span<const uint8_t>());  // null data pointer
  hasher.Update(std::string_view("abc"));
  hasher.Update(std::span<const uint8_t>());
  EXPECT_EQ(HexEncode(hasher.Final()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, ByteAtATimeMatchesOneShot) {
  std::vector<uint8_t> data(300);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  Sha256Hasher hasher;
  for (uint8_t b : data) hasher.Update(std::span<const uint8_t>(&b, 1));
  EXPECT_EQ(hasher.Final(), OpenSslDigest(data));
}

// Both compression functions give the same state for the same blocks (the extension path only
// where the CPU has it; the portable one always, since the others above may have used either).
TEST(Sha256Test, PortableAndExtensionCompressionAgree) {
  std::mt19937_64 rng(7);
  std::vector<uint8_t> blocks(64 * 9);
  for (auto& b : blocks) b = static_cast<uint8_t>(rng());
  const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  for (size_t n = 1; n <= 9; ++n) {
    uint32_t portable[8], extensions[8];
    std::copy(initial, initial + 8, portable);
    std::copy(initial, initial + 8, extensions);
    sha256_internal::CompressPortable(portable, blocks.data(), n);
    if (!sha256_internal::HasShaExtensions()) continue;
    sha256_internal::CompressWithShaExtensions(extensions, blocks.data(), n);
    EXPECT_TRUE(std::equal(portable, portable + 8, extensions)) << n << " blocks";
  }
  // The portable path alone, finished by hand, against OpenSSL: one block of "abc" padded.
  uint8_t block[64] = {'a', 'b', 'c', 0x80};
  block[63] = 24;  // the length in bits
  uint32_t state[8];
  std::copy(initial, initial + 8, state);
  sha256_internal::CompressPortable(state, block, 1);
  EXPECT_EQ(state[0], 0xba7816bfu);
  EXPECT_EQ(state[7], 0xf20015adu);
}

}  // namespace
}  // namespace theater
