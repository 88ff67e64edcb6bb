// Theater: a WebAssembly actor runtime.
//
// Tests of the http-client handler's parts without wasm, against a real HTTP server on
// 127.0.0.1 (test_http_server.h): config parsing, request checks (method, URL, headers,
// permissions — refused before any connection), and the curl engine: every method with headers
// and body, redirects within and beyond the limit and to a denied host, timeouts, the response
// size limit, connection refused, DNS failure, TLS verification against a self-signed
// certificate, cancellation and shutdown. End to end with a real actor:
// http_client_runtime_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <thread>
#include <openssl/ssl.h>

#include <chrono>
#include <filesystem>
#include <future>

#include "common/curl_engine.h"
#include "common/uuid.h"
#include "handlers/http-client/http_client_handler.h"
#include "handlers/http-client/http_config.h"
#include "handlers/http-client/test_http_server.h"
#include "testing/runtime_test_util.h"

namespace theater::handlers {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;
using testing_util::TestHttpServer;
using namespace std::chrono_literals;
using abi::Value;

// ---- helpers ----------------------------------------------------------------------------------

Value Request(const std::string& method, const std::string& url,
              std::vector<std::pair<std::string, std::string>> headers = {},
              std::optional<std::string> body = std::nullopt) {
  std::vector<Value> hs;
  for (auto& [n, v] : headers) hs.push_back(Value::Tuple({Value::String(n), Value::String(v)}));
  Value b = body ? Value::Some(Value::Bytes(std::vector<uint8_t>(body->begin(), body->end())))
                 : Value::None();
  return Value::Record(
      {Value::String(method), Value::String(url), Value::List(std::move(hs)), std::move(b)});
}

// Permissions with http-client as given (everything else: none, which BuildTransferSpec does not
// read).
EffectivePermissions WithHttp(HttpClientPermissions http) {
  EffectivePermissions p;
  p.Set(kHttpClientHandler, std::make_shared<const PermissionOf<HttpClientPermissions>>(http));
  return p;
}

EffectivePermissions RootPermissions() {
  return WithHttp(HttpClientPermissions{});
}

EffectivePermissions HttpPerms(AllowList hosts = std::nullopt, AllowList methods = std::nullopt) {
  HttpClientPermissions http;
  http.allowed_hosts = std::move(hosts);
  http.allowed_methods = std::move(methods);
  return WithHttp(http);
}

std::string Body(const TransferOutcome& o) {
  return std::string(o.response.body.begin(), o.response.body.end());
}
std::string HeaderOf(const TransferOutcome& o, const std::string& name) {
  for (const auto& [n, v] : o.response.headers) {
    if (strcasecmp(n.c_str(), name.c_str()) == 0) return v;
  }
  return "<none>";
}

// The engine on a loop of the test's own: an io_context run by one thread, as the runtime's
// IoLoop runs it.
class HttpEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto e = CurlEngine::Of(*io_);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = *e;
    loop_ = std::thread([this] { io_->run(); });
  }
  ~HttpEngineTest() override { ShutDownLoop(); }
  // Stops the loop's thread (what is queued on the loop stays queued).
  void StopLoop() {
    work_.reset();
    if (io_) io_->stop();
    if (loop_.joinable()) loop_.join();
  }
  // Stops the loop and destroys its context, and with it the engine.
  void ShutDownLoop() {
    StopLoop();
    engine_ = nullptr;
    io_.reset();
  }
  // Builds the request as the handler does and runs it to the end.
  TransferOutcome Send(const Value& request, HttpClientConfig config = {},
                       const EffectivePermissions& perms = RootPermissions()) {
    Result<TransferSpec> spec = BuildTransferSpec(request, config, perms);
    if (!spec.ok()) {
      TransferOutcome o;
      o.error = HttpErrorKind::kInternal;
      o.message = "spec: " + spec.status().ToString();
      return o;
    }
    std::shared_ptr<Transfer> t = engine_->Start(std::move(spec).value(), nullptr);
    t->WaitDone();
    return t->TakeOutcome();
  }
  std::unique_ptr<boost::asio::io_context> io_ = std::make_unique<boost::asio::io_context>();
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      io_->get_executor()};
  std::thread loop_;
  CurlEngine* engine_ = nullptr;
};

TEST_F(HttpEngineTest, OneEnginePerLoop) {
  Result<CurlEngine*> again = CurlEngine::Of(*io_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, engine_);
  boost::asio::io_context other;
  Result<CurlEngine*> elsewhere = CurlEngine::Of(other);
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_NE(*elsewhere, engine_);
}

// ---- config -----------------------------------------------------------------------------------

Status CreateWith(json config) {
  HandlerConfig handler_config;
  handler_config.type = "http-client";
  handler_config.config = std::move(config);
  return NewHttpClientHandler()->CreateInstance(handler_config).status();
}

TEST(HttpClientConfigTest, PrototypeNamesItsInterfaceAndDefaultsAreSafe) {
  auto h = NewHttpClientHandler();
  EXPECT_EQ(h->name(), "http-client");
  EXPECT_EQ(h->imports(), "theater:simple/http-client");
  EXPECT_EQ(h->exports(), std::nullopt);
  auto d = ParseHttpClientConfig(json::object());
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->tls_verify);
  EXPECT_FALSE(d->ca_file);
  EXPECT_EQ(d->max_redirects, 10u);
  EXPECT_EQ(d->timeout_ms, 30'000u);
  EXPECT_TRUE(CreateWith(json::object()).ok());
}

TEST(HttpClientConfigTest, ParsesEveryKeyAndRejectsBadOnes) {
  auto c = ParseHttpClientConfig(json{{"max_redirects", 2},
                                      {"connect_timeout_ms", 100},
                                      {"timeout_ms", 200},
                                      {"max_response_bytes", 300},
                                      {"ca_file", "ca.pem"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->max_redirects, 2u);
  EXPECT_EQ(c->connect_timeout_ms, 100u);
  EXPECT_EQ(c->timeout_ms, 200u);
  EXPECT_EQ(c->max_response_bytes, 300u);
  EXPECT_EQ(c->ca_file, "ca.pem");
  auto off = ParseHttpClientConfig(json{{"tls_verify", false}});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->tls_verify);

  auto error = [](json j) {
    Status s = CreateWith(std::move(j));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    return s.message();
  };
  EXPECT_THAT(error(json{{"timeout", 5}}), HasSubstr("unknown key 'timeout'"));
  EXPECT_THAT(error(json{{"timeout_ms", 0}}), HasSubstr("timeout_ms: must be at least 1"));
  EXPECT_THAT(error(json{{"timeout_ms", -1}}), HasSubstr("non-negative"));
  EXPECT_THAT(error(json{{"timeout_ms", "5s"}}), HasSubstr("timeout_ms"));
  EXPECT_THAT(error(json{{"max_redirects", 51}}), HasSubstr("exceeds the maximum of 50"));
  EXPECT_THAT(error(json{{"max_response_bytes", 1ull << 40}}), HasSubstr("max_response_bytes"));
  EXPECT_THAT(error(json{{"tls_verify", "no"}}), HasSubstr("tls_verify: must be a boolean"));
  EXPECT_THAT(error(json{{"ca_file", ""}}), HasSubstr("ca_file"));
  EXPECT_THAT(error(json{{"ca_file", "x.pem"}, {"tls_verify", false}}), HasSubstr("no effect"));
  EXPECT_THAT(error(json::array()), HasSubstr("must be a table"));
}

// ---- request checks -----------------------------------------------------------------------------

TEST(HttpClientRequestTest, RefusesBadMethodsUrlsAndHeaders) {
  auto err = [](const Value& req) {
    Result<TransferSpec> s = BuildTransferSpec(req, {}, RootPermissions());
    EXPECT_FALSE(s.ok());
    return s.ok() ? std::string("ok") : s.status().ToString();
  };
  const std::string url = "http://127.0.0.1:1/x";
  EXPECT_THAT(err(Request("", url)), HasSubstr("Invalid HTTP method: ''"));
  EXPECT_THAT(err(Request("GE T", url)), HasSubstr("Invalid HTTP method: 'GE T'"));
  EXPECT_THAT(err(Request("GET\r\nX: y", url)),
              HasSubstr("Invalid HTTP method: 'GET\\x0d\\x0aX: y'"));
  EXPECT_THAT(err(Request(std::string(33, 'A'), url)), HasSubstr("Invalid HTTP method"));
  EXPECT_THAT(err(Request("GET", "not a url")), HasSubstr("invalid URL 'not a url'"));
  EXPECT_THAT(err(Request("GET", "/relative")), HasSubstr("invalid URL"));
  EXPECT_THAT(err(Request("GET", "ftp://127.0.0.1/x")), HasSubstr("scheme 'ftp' is not http"));
  EXPECT_THAT(err(Request("GET", "file:///etc/passwd")), HasSubstr("is not http or https"));
  EXPECT_THAT(err(Request("GET", std::string("http://a\0b/", 11))), HasSubstr("NUL"));
  EXPECT_THAT(err(Request("GET", "http://x/" + std::string(70'000, 'a'))),
              HasSubstr("more than the limit"));
  EXPECT_THAT(err(Request("GET", url, {{"X-A", "1\r\nX-Injected: 2"}})),
              HasSubstr("contains CR, LF or NUL"));
  EXPECT_THAT(err(Request("GET", url, {{"Bad Name", "1"}})), HasSubstr("invalid header name"));
  EXPECT_THAT(err(Request("GET", url, {{"", "1"}})), HasSubstr("invalid header name"));
  EXPECT_THAT(err(Request("GET", url, {{"host", "other.example"}})),
              HasSubstr("'host' is set by the host"));
  EXPECT_THAT(err(Request("POST", url, {{"Content-Length", "0"}})), HasSubstr("set by the host"));
  EXPECT_THAT(err(Request("POST", url, {{"Transfer-Encoding", "chunked"}})),
              HasSubstr("set by the host"));
  std::vector<std::pair<std::string, std::string>> many(257, {"X-A", "1"});
  EXPECT_THAT(err(Request("GET", url, many)), HasSubstr("more than the limit of 256"));

  auto ok =
      BuildTransferSpec(Request("patch", "HTTP://LocalHost:8/p?q=1#frag"), {}, RootPermissions());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->method, "PATCH");
  EXPECT_THAT(ok->url, StartsWith("http://LocalHost:8/p?q=1"));
}

TEST(HttpClientRequestTest, PermissionsRefuseWithTheOriginalsWordingAndNarrowLimits) {
  auto err = [](const Value& req, const EffectivePermissions& p) {
    Result<TransferSpec> s = BuildTransferSpec(req, {}, p);
    EXPECT_EQ(s.status().code(), StatusCode::kPermissionDenied) << s.status().ToString();
    return s.status().message();
  };
  EffectivePermissions hosts = HttpPerms(std::vector<std::string>{"api.example.com"});
  EXPECT_EQ(err(Request("GET", "http://evil.com/"), hosts),
            "Host 'evil.com' not in allowed hosts: [\"api.example.com\"]");
  EXPECT_TRUE(BuildTransferSpec(Request("GET", "https://API.Example.com/x"), {}, hosts).ok());
  EffectivePermissions methods = HttpPerms(std::nullopt, std::vector<std::string>{"GET"});
  EXPECT_EQ(err(Request("POST", "http://a.com/"), methods),
            "Method 'POST' not in allowed methods: [\"GET\"]");
  EXPECT_TRUE(BuildTransferSpec(Request("get", "http://a.com/"), {}, methods).ok());
  EffectivePermissions none;
  EXPECT_THAT(err(Request("GET", "http://a.com/"), none),
              HasSubstr("Operation denied: http-request not permitted by http-client"));
  EffectivePermissions v6 = HttpPerms(std::vector<std::string>{"::1"});
  EXPECT_TRUE(BuildTransferSpec(Request("GET", "http://[::1]:8/"), {}, v6).ok());
  EXPECT_THAT(err(Request("GET", "http://[::2]:8/"), v6), HasSubstr("Host '::2' not in"));
  EffectivePermissions empty = HttpPerms(std::vector<std::string>{});
  EXPECT_THAT(err(Request("GET", "http://a.com/"), empty), HasSubstr("not in allowed hosts"));

  HttpClientPermissions narrowed;
  narrowed.max_redirects = 1;
  narrowed.timeout_ms = 250;
  EffectivePermissions narrow = WithHttp(narrowed);
  HttpClientConfig config;
  config.max_redirects = 5;
  config.timeout_ms = 1000;
  auto spec = BuildTransferSpec(Request("GET", "http://a.com/"), config, narrow);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->max_redirects, 1u);
  EXPECT_EQ(spec->timeout_ms, 250u);
  EXPECT_LE(spec->connect_timeout_ms, 250u);
  // The redirect check carries the same permission.
  auto checked = BuildTransferSpec(Request("GET", "http://api.example.com/"), {}, hosts);
  ASSERT_TRUE(checked.ok());
  EXPECT_TRUE(checked->allow_redirect("GET", "api.example.com").ok());
  EXPECT_FALSE(checked->allow_redirect("GET", "evil.com").ok());
}

// ---- the engine against a real server ---------------------------------------------------------

TEST_F(HttpEngineTest, EveryMethodRoundTripsHeadersAndBody) {
  TestHttpServer server;
  for (const std::string method : {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    SCOPED_TRACE(method);
    std::string body = method + std::string(" body\0with a NUL", 16);
    TransferOutcome o = Send(
        Request(method, server.Url("/echo"), {{"X-Test", "v-" + method}, {"X-Empty", ""}}, body));
    ASSERT_TRUE(o.ok()) << o.ErrorString();
    EXPECT_EQ(o.response.status, 200);
    EXPECT_EQ(Body(o), body);
    EXPECT_EQ(HeaderOf(o, "X-Method"), method);
    EXPECT_EQ(HeaderOf(o, "X-Echo-Test"), "v-" + method);
    EXPECT_EQ(HeaderOf(o, "content-type"), "text/plain");
    TestHttpServer::Request seen = server.requests().back();
    EXPECT_EQ(seen.method, method);
    EXPECT_EQ(seen.body, body);
    EXPECT_EQ(seen.Header("X-Test"), "v-" + method);
    EXPECT_EQ(seen.Header("Content-Type"), "");  // libcurl adds no form type
    EXPECT_EQ(seen.Header("Expect"), "");
  }
  // HEAD: the headers, no body; GET without a body; POST without a body sends Content-Length 0.
  TransferOutcome head = Send(Request("HEAD", server.Url("/big/1234")));
  ASSERT_TRUE(head.ok()) << head.ErrorString();
  EXPECT_EQ(HeaderOf(head, "Content-Length"), "1234");
  EXPECT_TRUE(head.response.body.empty());
  EXPECT_EQ(server.requests().back().method, "HEAD");
  TransferOutcome get = Send(Request("GET", server.Url("/echo?q=1")));
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(server.requests().back().target, "/echo?q=1");
  EXPECT_EQ(server.requests().back().Header("Content-Length"), "");
  TransferOutcome post = Send(Request("POST", server.Url("/echo")));
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(server.requests().back().Header("Content-Length"), "0");
  EXPECT_EQ(server.requests().back().Header("Content-Type"), "");
  // A body given with HEAD is not sent.
  TransferOutcome head_body = Send(Request("HEAD", server.Url("/echo"), {}, "ignored"));
  ASSERT_TRUE(head_body.ok()) << head_body.ErrorString();
  EXPECT_EQ(server.requests().back().body, "");
  EXPECT_EQ(server.requests().back().Header("Content-Length"), "");
  // A non-2xx status is a response, not an error.
  TransferOutcome missing = Send(Request("GET", server.Url("/status/404")));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing.response.status, 404);
  EXPECT_EQ(Body(missing), "status");
}

TEST_F(HttpEngineTest, RedirectsAreFollowedUpToTheLimitAndRefusedBeyond) {
  TestHttpServer server;
  HttpClientConfig config;
  config.max_redirects = 3;
  TransferOutcome within = Send(Request("GET", server.Url("/redirect/3")), config);
  ASSERT_TRUE(within.ok()) << within.ErrorString();
  EXPECT_EQ(within.response.status, 200);
  EXPECT_EQ(Body(within), "landed");
  EXPECT_EQ(within.response.redirects, 3u);
  EXPECT_EQ(within.response.url, server.Url("/redirect/0"));

  int before = server.connections();
  TransferOutcome beyond = Send(Request("GET", server.Url("/redirect/4")), config);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error, HttpErrorKind::kLimit);
  EXPECT_THAT(beyond.ErrorString(), StartsWith("limit: too many redirects"));
  EXPECT_THAT(beyond.message, HasSubstr("at most 3 are followed (max_redirects)"));
  EXPECT_EQ(server.connections() - before, 4);  // the fifth hop is never requested

  config.max_redirects = 0;
  TransferOutcome none = Send(Request("GET", server.Url("/redirect/1")), config);
  EXPECT_EQ(none.error, HttpErrorKind::kLimit);
}

TEST_F(HttpEngineTest, RedirectMethodRulesAndDeniedRedirectTargets) {
  TestHttpServer server;
  // 303: the POST becomes a GET without the body; 307 keeps both.
  TransferOutcome other = Send(Request("POST", server.Url("/see-other"), {}, "payload"));
  ASSERT_TRUE(other.ok()) << other.ErrorString();
  EXPECT_EQ(HeaderOf(other, "X-Method"), "GET");
  EXPECT_EQ(server.requests().back().body, "");
  TransferOutcome temp = Send(Request("POST", server.Url("/temp"), {}, "payload"));
  ASSERT_TRUE(temp.ok()) << temp.ErrorString();
  EXPECT_EQ(HeaderOf(temp, "X-Method"), "POST");
  EXPECT_EQ(Body(temp), "payload");

  // Only 127.0.0.1 is allowed: a redirect to localhost (the same server) is refused before
  // anything connects to it.
  EffectivePermissions perms = HttpPerms(std::vector<std::string>{"127.0.0.1"});
  int before = server.connections();
  TransferOutcome denied =
      Send(Request("GET", server.Url("/to?" + server.Url("/echo", "localhost"))), {}, perms);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error, HttpErrorKind::kPermissionDenied);
  EXPECT_THAT(denied.ErrorString(), StartsWith("permission-denied: redirect from "));
  EXPECT_THAT(denied.message,
              HasSubstr("refused: Host 'localhost' not in allowed hosts: [\"127.0.0.1\"]"));
  EXPECT_EQ(server.connections() - before, 1);
  // A redirect to another scheme is refused as invalid.
  TransferOutcome ftp = Send(Request("GET", server.Url("/to?ftp://127.0.0.1/x")));
  EXPECT_EQ(ftp.error, HttpErrorKind::kTransfer);
  EXPECT_THAT(ftp.message, HasSubstr("redirects to an invalid URL"));
}

TEST_F(HttpEngineTest, CredentialsAreNotForwardedToAnotherHost) {
  TestHttpServer server;
  TransferOutcome o = Send(Request("GET", server.Url("/to?" + server.Url("/echo", "localhost")),
                                   {{"Authorization", "Bearer secret"}, {"X-Test", "kept"}}));
  ASSERT_TRUE(o.ok()) << o.ErrorString();
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].Header("Authorization"), "Bearer secret");
  EXPECT_EQ(seen[1].Header("Authorization"), "");
  EXPECT_EQ(seen[1].Header("X-Test"), "kept");
}

TEST_F(HttpEngineTest, ASlowServerIsATimeout) {
  TestHttpServer server;
  HttpClientConfig config;
  config.timeout_ms = 300;
  auto start = std::chrono::steady_clock::now();
  TransferOutcome o = Send(Request("GET", server.Url("/slow/20000")), config);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error, HttpErrorKind::kTimeout);
  EXPECT_THAT(o.ErrorString(), StartsWith("timeout: "));
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 10s);  // the timeout, not the server's answer (20 s)
}

TEST_F(HttpEngineTest, AnOversizeBodyIsALimitError) {
  TestHttpServer server;
  HttpClientConfig config;
  config.max_response_bytes = 1000;
  TransferOutcome exact = Send(Request("GET", server.Url("/big/1000")), config);
  ASSERT_TRUE(exact.ok()) << exact.ErrorString();
  EXPECT_EQ(exact.response.body.size(), 1000u);
  // Announced by Content-Length: refused before the body is read.
  TransferOutcome announced = Send(Request("GET", server.Url("/big/1001")), config);
  EXPECT_EQ(announced.error, HttpErrorKind::kLimit);
  EXPECT_THAT(announced.ErrorString(), StartsWith("limit: "));
  EXPECT_THAT(announced.message, HasSubstr("exceeds 1000 bytes (max_response_bytes)"));
  // Not announced: aborted while streaming.
  TransferOutcome streamed = Send(Request("GET", server.Url("/stream/5000000")), config);
  EXPECT_EQ(streamed.error, HttpErrorKind::kLimit);
  EXPECT_THAT(streamed.message, HasSubstr("the transfer was aborted"));
  // Headers count too: a server cannot make the host buffer without bound through them.
  TransferOutcome some = Send(Request("GET", server.Url("/headers/50")), config);
  ASSERT_TRUE(some.ok()) << some.ErrorString();
  EXPECT_EQ(HeaderOf(some, "X-H49"), std::string(1024, 'h'));
  TransferOutcome many = Send(Request("GET", server.Url("/headers/300")), config);
  EXPECT_EQ(many.error, HttpErrorKind::kLimit) << many.ErrorString();
  EXPECT_THAT(many.message, HasSubstr("the response headers exceed 262144 bytes"));
}

TEST_F(HttpEngineTest, ConnectionRefusedIsAConnectError) {
  uint16_t port;
  {
    TestHttpServer closed;  // a port that was just free; nothing listens on it afterwards
    port = closed.port();
  }
  TransferOutcome o = Send(Request("GET", "http://127.0.0.1:" + std::to_string(port) + "/echo"));
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error, HttpErrorKind::kConnect) << o.ErrorString();
  EXPECT_THAT(o.ErrorString(), StartsWith("connect: http://127.0.0.1:"));
}

TEST_F(HttpEngineTest, AnUnresolvableHostIsADnsError) {
  TransferOutcome o = Send(Request("GET", "http://nonexistent.invalid/"));
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error, HttpErrorKind::kDns) << o.ErrorString();
  EXPECT_THAT(o.ErrorString(), StartsWith("dns: "));
  EXPECT_THAT(o.message, HasSubstr("nonexistent.invalid"));
}

// A server with a self-signed certificate for "localhost" (test_http_server.h).
class HttpTlsTest : public HttpEngineTest {
 protected:
  void SetUp() override {
    HttpEngineTest::SetUp();
    dir_ = fs::temp_directory_path() / ("theater-http-tls-" + NewUuid());
    fs::create_directories(dir_);
    ctx_ = testing_util::MakeSelfSignedTls(dir_.string());
    if (ctx_ == nullptr) GTEST_SKIP() << "openssl could not make a certificate";
  }
  void TearDown() override {
    if (ctx_) SSL_CTX_free(ctx_);
    fs::remove_all(dir_);
  }
  fs::path dir_;
  SSL_CTX* ctx_ = nullptr;
};

TEST_F(HttpTlsTest, ASelfSignedCertificateFailsVerificationByDefault) {
  TestHttpServer server(ctx_);
  TransferOutcome o = Send(Request("GET", server.Url("/echo")));
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error, HttpErrorKind::kTls) << o.ErrorString();
  EXPECT_THAT(o.ErrorString(), StartsWith("tls: https://127.0.0.1:"));
  EXPECT_TRUE(server.requests().empty());

  // Trusted through ca_file, it works; and with verification explicitly off.
  HttpClientConfig trusted;
  trusted.ca_file = (dir_ / "cert.pem").string();
  TransferOutcome ok =
      Send(Request("POST", server.Url("/echo", "localhost"), {}, "over tls"), trusted);
  ASSERT_TRUE(ok.ok()) << ok.ErrorString();
  EXPECT_EQ(Body(ok), "over tls");
  HttpClientConfig insecure;
  insecure.tls_verify = false;
  EXPECT_TRUE(Send(Request("GET", server.Url("/echo")), insecure).ok());
  // The right CA, the wrong name (the certificate is for "localhost"): still refused.
  TransferOutcome wrong_name = Send(Request("GET", server.Url("/echo")), trusted);
  EXPECT_EQ(wrong_name.error, HttpErrorKind::kTls) << wrong_name.ErrorString();
}

TEST_F(HttpEngineTest, CancelAbortsTheTransferAndClosesItsConnection) {
  TestHttpServer server;
  std::promise<void> called;
  Result<TransferSpec> spec =
      BuildTransferSpec(Request("GET", server.Url("/slow/20000")), {}, RootPermissions());
  ASSERT_TRUE(spec.ok());
  auto t = engine_->Start(std::move(spec).value(), [&] { called.set_value(); });
  ASSERT_TRUE(testing_util::WaitFor([&] { return server.requests().size() == 1; }));
  engine_->Cancel(t);
  // Well before the server would answer (20 s).
  ASSERT_EQ(called.get_future().wait_for(10s), std::future_status::ready);
  TransferOutcome o = t->TakeOutcome();
  EXPECT_EQ(o.error, HttpErrorKind::kCancelled);
  EXPECT_TRUE(testing_util::WaitFor([&] { return server.abandoned() == 1; }));
  EXPECT_EQ(engine_->in_flight(), 0u);
}

TEST_F(HttpEngineTest, ManyTransfersRunConcurrentlyAndTheLoopsEndCancelsTheRest) {
  TestHttpServer server;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<Transfer>> slow;
  for (int i = 0; i < 8; ++i) {
    auto spec = BuildTransferSpec(Request("GET", server.Url("/slow/2000")), {}, RootPermissions());
    slow.push_back(engine_->Start(std::move(spec).value(), nullptr));
  }
  for (auto& t : slow) {
    t->WaitDone();
    TransferOutcome o = t->TakeOutcome();
    EXPECT_TRUE(o.ok()) << o.ErrorString();
  }
  // About one answer's 2 s (a busy machine adds to it), not 8 x 2 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);

  auto hanging = engine_->Start(
      BuildTransferSpec(Request("GET", server.Url("/slow/20000")), {}, RootPermissions()).value(),
      nullptr);
  ASSERT_TRUE(testing_util::WaitFor([&] { return server.requests().size() == 9; }));
  // A transfer queued on a loop that no longer runs never begins ...
  StopLoop();
  auto queued = engine_->Start(
      BuildTransferSpec(Request("GET", server.Url("/echo")), {}, RootPermissions()).value(),
      nullptr);
  EXPECT_FALSE(queued->done());
  EXPECT_EQ(engine_->in_flight(), 2u);
  // ... and the end of the loop's context finishes both, cancelled: no caller waits for ever.
  ShutDownLoop();
  ASSERT_TRUE(hanging->done());
  EXPECT_EQ(hanging->TakeOutcome().error, HttpErrorKind::kCancelled);
  ASSERT_TRUE(queued->done());
  EXPECT_EQ(queued->TakeOutcome().error, HttpErrorKind::kCancelled);
  EXPECT_TRUE(testing_util::WaitFor([&] { return server.abandoned() >= 1; }));
}

TEST(HttpClientResponseTest, HeadersBecomeValidUtf8) {
  HttpResponseData r;
  r.status = 201;
  r.headers = {{"X-Bin", std::string("a\xff"
                                     "b")},
               {"X-Ok", "fine"}};
  r.body = {1, 2, 3};
  Value v = ResponseValue(r);
  ASSERT_EQ(v.items().size(), 3u);
  EXPECT_EQ(v.items()[0].as_u64(), 201u);
  EXPECT_EQ(v.items()[1].items()[0].items()[1].as_string(),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(v.items()[1].items()[1].items()[1].as_string(), "fine");
  ASSERT_TRUE(v.items()[2].is_some());
  EXPECT_EQ(v.items()[2].payload()->as_bytes(), (std::vector<uint8_t>{1, 2, 3}));
}

}  // namespace
}  // namespace theater::handlers
