// Theater: a WebAssembly actor runtime.
//
// FetchUrl against a real HTTP server on loopback, and against sockets that refuse or never
// answer; ResolveUrl's relative-reference rules.
#include "common/fetch.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "common/silent_listener.h"
#include "common/test_http_server.h"
#include "common/uuid.h"

namespace theater {
namespace {

using ::testing::HasSubstr;

class FetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("theater-fetch-" + NewUuid());
    std::filesystem::create_directories(root_ / "sub");
    std::ofstream(root_ / "hello.txt") << "hello, world";
    std::ofstream(root_ / "sub" / "big.bin") << std::string(100'000, 'x');
    server_ = std::make_unique<testing::TestHttpServer>(root_);
    ASSERT_TRUE(server_->ok()) << server_->error();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(root_);
  }

  std::filesystem::path root_;
  std::unique_ptr<testing::TestHttpServer> server_;
};

// A port on loopback nothing listens on: bound, then closed.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST_F(FetchTest, FetchesTheBody) {
  Result<std::vector<uint8_t>> body = FetchUrl(server_->Url("hello.txt"));
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(std::string(body->begin(), body->end()), "hello, world");
  Result<std::vector<uint8_t>> big = FetchUrl(server_->Url("sub/big.bin"));
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(big->size(), 100'000u);
}

TEST_F(FetchTest, MissingResourceIsNotFound) {
  Result<std::vector<uint8_t>> body = FetchUrl(server_->Url("nope.txt"));
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(body.status().message(), HasSubstr("HTTP status 404"));
}

TEST_F(FetchTest, BodyOverTheLimitIsRefused) {
  FetchOptions options;
  options.max_bytes = 1000;
  Result<std::vector<uint8_t>> body = FetchUrl(server_->Url("sub/big.bin"), options);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(body.status().message(), HasSubstr("larger than the limit of 1000 bytes"));
}

TEST(FetchErrorsTest, ConnectionRefusedIsUnavailable) {
  Result<std::vector<uint8_t>> body =
      FetchUrl("http://127.0.0.1:" + std::to_string(ClosedPort()) + "/x");
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(body.status().message(), HasSubstr("connection failed"));
}

// A server that accepts the connection (the kernel does, from its backlog) and never answers.
TEST(FetchErrorsTest, SilentServerTimesOut) {
  testing::SilentListener silent;
  ASSERT_TRUE(silent.ok());
  FetchOptions options;
  options.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  Result<std::vector<uint8_t>> body =
      FetchUrl("http://127.0.0.1:" + std::to_string(silent.port()) + "/x", options);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(body.status().message(), HasSubstr("timed out after 300 ms"));
  EXPECT_LT(took, std::chrono::seconds(15));  // the server never answers: only the timeout ends it
}

TEST(FetchErrorsTest, OnlyHttpSchemesAndResolvableHosts) {
  EXPECT_EQ(FetchUrl("file:///etc/passwd").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FetchUrl("ftp://example.com/x").status().code(), StatusCode::kInvalidArgument);
  FetchOptions patient;  // a resolver that cannot be reached takes its own timeouts to say so
  patient.timeout = std::chrono::seconds(25);
  Result<std::vector<uint8_t>> body = FetchUrl("http://no-such-host.invalid/x", patient);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(body.status().message(), HasSubstr("DNS lookup failed"));
}

TEST(ResolveUrlTest, RelativeReferences) {
  const std::string base = "https://example.com/actors/hello/manifest.toml";
  EXPECT_EQ(ResolveUrl(base, "hello.wasm").value(), "https://example.com/actors/hello/hello.wasm");
  EXPECT_EQ(ResolveUrl(base, "../shared/state.json").value(),
            "https://example.com/actors/shared/state.json");
  EXPECT_EQ(ResolveUrl(base, "/root.wasm").value(), "https://example.com/root.wasm");
  EXPECT_EQ(ResolveUrl(base, "http://other.org/x.wasm").value(), "http://other.org/x.wasm");
  EXPECT_FALSE(ResolveUrl("not a url", "x").ok());
}

// A reference that cannot be resolved is quoted in the error, escaped and shortened: a manifest
// fetched from a hostile server once had its raw bytes (terminal escapes, newlines, kilobytes)
// shown by the CLI (found by fuzz/reference_fuzz; fuzz/regressions/reference_fuzz/
// error-quotes-reference-raw).
TEST(ResolveUrlTest, AnErrorQuotesTheReferenceEscapedAndShort) {
  const std::string reference = "a b\x1b[31m\nforged line" + std::string(5000, 'x');
  Result<std::string> resolved = ResolveUrl("https://example.com/a/manifest.toml", reference);
  ASSERT_FALSE(resolved.ok());
  const std::string& message = resolved.status().message();
  EXPECT_EQ(message.find('\x1b'), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_THAT(message, ::testing::HasSubstr("\\x1b[31m"));
  EXPECT_LT(message.size(), 600u) << message;
  Result<std::string> bad_base = ResolveUrl("\x1b]0;title\x07", "x");
  ASSERT_FALSE(bad_base.ok());
  EXPECT_EQ(bad_base.status().message().find('\x07'), std::string::npos);
}

}  // namespace
}  // namespace theater
