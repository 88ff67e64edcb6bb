// Theater: a WebAssembly actor runtime.
//
// Base64 against the RFC 4648 test vectors and OpenSSL's encoder, and the inputs it must refuse.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>

#include "common/bytes.h"

namespace theater {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {{"", ""},
                                                                   {"f", "Zg=="},
                                                                   {"fo", "Zm8="},
                                                                   {"foo", "Zm9v"},
                                                                   {"foob", "Zm9vYg=="},
                                                                   {"fooba", "Zm9vYmE="},
                                                                   {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(Bytes(plain)), encoded);
    std::vector<uint8_t> decoded;
    ASSERT_TRUE(Base64Decode(encoded, &decoded)) << encoded;
    EXPECT_EQ(decoded, Bytes(plain));
  }
}

TEST(Base64Test, MatchesOpenSslForEveryLengthAndRoundTrips) {
  std::mt19937 rng(7);
  for (size_t n = 0; n < 300; ++n) {
    std::vector<uint8_t> data(n);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    std::string expected((n + 2) / 3 * 4, '\0');
    EVP_EncodeBlock(reinterpret_cast<unsigned char*>(expected.data()), data.data(),
                    static_cast<int>(n));
    std::string prefix = "x";
    Base64Append(data, prefix);
    EXPECT_EQ(prefix, "x" + expected) << n;
    std::vector<uint8_t> decoded = {1, 2, 3};
    ASSERT_TRUE(Base64Decode(expected, &decoded)) << n;
    EXPECT_EQ(decoded, data) << n;
  }
}

TEST(Base64Test, RefusesWhatIsNotStrictBase64) {
  std::vector<uint8_t> out;
  for (std::string_view bad : {"Zg=", "Zg", "Z===", "====", "Zm9v\n", "Zm-v",
                               "Zm9v Zg==", "Zg==Zg==", "Z=g=", "Zm9\x80"}) {
    EXPECT_FALSE(Base64Decode(bad, &out)) << bad;
  }
}

TEST(CStringLiteralTest, EscapesEverythingUnsafe) {
  EXPECT_EQ(CStringLiteral("theater:simple/actor#init"), "\"theater:simple/actor#init\"");
  EXPECT_EQ(CStringLiteral(""), "\"\"");
  EXPECT_EQ(CStringLiteral("a\"b\\c?d"), R"("a\042b\134c\077d")");
  EXPECT_EQ(CStringLiteral(std::string_view("\0"
                                            "1\n*/",
                                            5)),
            R"("\0001\012*/")");
  EXPECT_EQ(CStringLiteral("\xff"), R"("\377")");
}

}  // namespace
}  // namespace theater
