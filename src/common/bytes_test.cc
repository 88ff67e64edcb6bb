// Theater: a WebAssembly actor runtime.
//
// Base64 against the RFC 4648 test vectors and OpenSSL's encoder, and the inputs it must refuse;
// whole-file reads and what they refuse (FIFOs, devices, files over the limit).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
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

namespace theater {
namespace {

using ::testing::HasSubstr;

class ReadFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("theater-read-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ReadFileTest, ReadsRegularFilesWhole) {
  std::ofstream(dir_ / "a") << std::string(100000, 'x');
  Result<std::string> text = ReadFileText(dir_ / "a", "manifest");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, std::string(100000, 'x'));
  std::ofstream(dir_ / "empty");
  EXPECT_EQ(ReadFileBytes(dir_ / "empty").value().size(), 0u);
}

TEST_F(ReadFileTest, RefusesWhatIsNotARegularFileWithoutBlocking) {
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);
  Result<std::string> fifo = ReadFileText(dir_ / "fifo", "manifest");
  EXPECT_EQ(fifo.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fifo.status().message(), "manifest is not a regular file: " + (dir_ / "fifo").string());
  EXPECT_EQ(ReadFileText(dir_, "manifest").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadFileText("/dev/zero", "state").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadFileText(dir_ / "missing", "manifest").status().code(), StatusCode::kNotFound);
}

TEST_F(ReadFileTest, RefusesFilesOverTheLimitByName) {
  std::ofstream(dir_ / "big") << std::string(5000, 'x');
  Result<std::vector<uint8_t>> big = ReadFileBytes(dir_ / "big", "module", 4096);
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(big.status().message(), HasSubstr("is 5000 bytes, over the limit of 4096 bytes"));
  EXPECT_TRUE(ReadFileBytes(dir_ / "big", "module", 5000).ok());
}

}  // namespace
}  // namespace theater

namespace theater {
namespace {

TEST(HexNumberTest, PrefixedLowercaseDigitsPaddedToTheMinimum) {
  EXPECT_EQ(HexNumber(0), "0x0");
  EXPECT_EQ(HexNumber(0x1a3), "0x1a3");
  EXPECT_EQ(HexNumber(0xa, 2), "0x0a");
  EXPECT_EQ(HexNumber(0x1f, 2), "0x1f");
  EXPECT_EQ(HexNumber(0x123, 2), "0x123");
  EXPECT_EQ(HexNumber(UINT64_MAX), "0xffffffffffffffff");
}

}  // namespace
}  // namespace theater
