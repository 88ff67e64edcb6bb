// Theater: a WebAssembly actor runtime.
//
// The dashboard's server (dashboard_server.h) in front of a real management server and runtime
// on loopback ports: its files and their security headers, the checks on Host and Origin that
// keep other sites out, the limits on requests, and the bridge that carries management
// messages between a WebSocket and the server (an actor started, listed and verified through
// it; the server's token still required), and — in a network namespace of the test's own, on an
// address other than loopback — a browser beyond loopback refused what any client beyond
// loopback is refused.
#include "dashboard/dashboard_server.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "server/server_test_util.h"
#include "testing/network_namespace.h"

namespace theater::dashboard {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

const std::string kProbe = std::string(THEATER_TEST_ACTOR_DIR) + "/runtime_probe.wasm";
constexpr const char* kBridgeKey = "a-test-bridge-key";

class DashboardServerTest : public ::testing::Test {
 protected:
  void StartWith(server::ServerOptions server_options = {},
                 const std::string& address = "127.0.0.1:0") {
    server_options.bridge_key = kBridgeKey;
    management_ = std::make_unique<server::server_testing::TestServer>(std::move(server_options));
    ASSERT_TRUE(management_->ok());
    dashboard_ = StartDashboard(address);
    ASSERT_TRUE(dashboard_);
    auto colon = dashboard_->address().rfind(':');
    host_ = dashboard_->address().substr(0, colon);
    port_ = dashboard_->address().substr(colon + 1);
  }
  // Another dashboard in front of the same management server.
  std::unique_ptr<DashboardServer> StartDashboard(const std::string& address) {
    DashboardOptions options;
    options.address = address;
    const std::string management = management_->address();
    options.management_address = "127.0.0.1" + management.substr(management.rfind(':'));
    options.token_required = token_.has_value();
    options.bridge_key = kBridgeKey;
    Result<std::unique_ptr<DashboardServer>> started = DashboardServer::Start(options);
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    return started.ok() ? std::move(started).value() : nullptr;
  }
  void TearDown() override {
    if (dashboard_) dashboard_->Stop();
    dashboard_.reset();
    management_.reset();
  }

  tcp::socket Connect() {
    tcp::socket socket(io_);
    socket.connect(tcp::endpoint(asio::ip::make_address(host_),
                                 static_cast<uint16_t>(std::stoi(port_))));
    return socket;
  }

  http::response<http::string_body> Get(const std::string& target, const std::string& host = "",
                                        http::verb verb = http::verb::get) {
    tcp::socket socket = Connect();
    http::request<http::string_body> request(verb, target, 11);
    request.set(http::field::host, host.empty() ? "127.0.0.1:" + port_ : host);
    http::write(socket, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.skip(verb == http::verb::head);  // a HEAD response has a length but no body
    http::read(socket, buffer, parser);
    return parser.release();
  }

  // A WebSocket to /ws with this Origin; throws (beast::system_error) when refused.
  std::unique_ptr<websocket::stream<tcp::socket>> OpenSocket(const std::string& origin) {
    auto ws = std::make_unique<websocket::stream<tcp::socket>>(Connect());
    ws->set_option(websocket::stream_base::decorator([origin](websocket::request_type& request) {
      if (!origin.empty()) request.set(http::field::origin, origin);
    }));
    ws->handshake(host_ + ":" + port_, "/ws");
    return ws;
  }

  static json Call(websocket::stream<tcp::socket>& ws, const json& command, int id,
                   std::optional<std::string> token = std::nullopt) {
    json envelope = {{"request_id", id}, {"command", command}};
    if (token) envelope["token"] = *token;
    ws.text(true);
    ws.write(asio::buffer(envelope.dump()));
    for (;;) {
      beast::flat_buffer buffer;
      ws.read(buffer);
      // One management message, or several together as an array.
      json received = json::parse(beast::buffers_to_string(buffer.data()));
      if (!received.is_array()) received = json::array({received});
      for (const json& message : received) {
        if (message.is_object() && message.contains("request_id") && message["request_id"] == id) {
          return message["response"];
        }
      }
    }
  }

  std::optional<std::string> token_;
  std::unique_ptr<server::server_testing::TestServer> management_;
  std::unique_ptr<DashboardServer> dashboard_;
  std::string host_ = "127.0.0.1";
  std::string port_;
  asio::io_context io_;
};

TEST_F(DashboardServerTest, ServesItsBuiltInPagesWithSecurityHeaders) {
  StartWith();
  http::response<http::string_body> index = Get("/");
  EXPECT_EQ(index.result(), http::status::ok);
  EXPECT_EQ(index[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(index.body().find("<script type=\"module\" src=\"/app.js\">"), std::string::npos);
  EXPECT_EQ(index.body().find("<script>"), std::string::npos) << "no inline script";
  const std::string csp(index["Content-Security-Policy"]);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(index[http::field::cache_control], "no-store");
  EXPECT_EQ(index["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(index["Referrer-Policy"], "no-referrer");

  http::response<http::string_body> script = Get("/app.js?v=1");
  EXPECT_EQ(script.result(), http::status::ok);
  EXPECT_EQ(script[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/style.css")[http::field::content_type], "text/css; charset=utf-8");

  EXPECT_EQ(Get("/nothing.js").result(), http::status::not_found);
  EXPECT_EQ(Get("/../../etc/passwd").result(), http::status::not_found);
  EXPECT_EQ(Get("/", "", http::verb::post).result(), http::status::method_not_allowed);
  http::response<http::string_body> head = Get("/app.js", "", http::verb::head);
  EXPECT_EQ(head.result(), http::status::ok);
}

TEST_F(DashboardServerTest, ALoopbackDashboardAnswersOnlyToLoopbackNames) {
  StartWith();
  EXPECT_EQ(Get("/", "localhost:" + port_).result(), http::status::ok);
  http::response<http::string_body> rebound = Get("/", "attacker.example:" + port_);
  EXPECT_EQ(rebound.result(), http::status::misdirected_request);
  EXPECT_NE(rebound.body().find("attacker.example"), std::string::npos) << rebound.body();
}

TEST_F(DashboardServerTest, OnlyItsOwnPagesMayOpenTheSocket) {
  StartWith();
  for (const std::string& origin :
       {std::string(), std::string("http://evil.example"), std::string("http://127.0.0.1:1")}) {
    SCOPED_TRACE(origin);
    try {
      OpenSocket(origin);
      ADD_FAILURE() << "the upgrade was accepted";
    } catch (const beast::system_error& e) {
      EXPECT_EQ(e.code(), websocket::error::upgrade_declined) << e.what();
    }
  }
  EXPECT_NO_THROW(OpenSocket("http://127.0.0.1:" + port_));
}

// Found by dashboard_ws_fuzz: a target without a path ("?ws") threw out of the file lookup and
// ended the process. Every target that is not a path is refused, and the server goes on.
TEST_F(DashboardServerTest, ATargetThatIsNotAPathIsRefusedAndTheServerGoesOn) {
  StartWith();
  for (const std::string& target : {std::string("?ws"), std::string("*"),
                                    std::string("http://127.0.0.1/index.html"), std::string("")}) {
    SCOPED_TRACE(target);
    tcp::socket socket = Connect();
    const std::string request =
        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + port_ + "\r\n\r\n";
    asio::write(socket, asio::buffer(request));
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    beast::error_code ec;
    http::read(socket, buffer, response, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(response.result(), http::status::bad_request) << response.body();
  }
  EXPECT_EQ(Get("/").result(), http::status::ok);
}

TEST_F(DashboardServerTest, RequestsWithABodyOrHugeHeadersAreRefused) {
  StartWith();
  tcp::socket socket = Connect();
  const std::string request = "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + port_ +
                              "\r\nX-Padding: " + std::string(10000, 'a') + "\r\n\r\n";
  asio::write(socket, asio::buffer(request));
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  EXPECT_EQ(response.result(), http::status::payload_too_large);
  EXPECT_NE(response.body().find("8 KiB"), std::string::npos) << response.body();
}

// A client that sends a frame with its upgrade request, before the answer, is refused: the
// frame's bytes, read with the request, would never reach the bridge (found by
// fuzz/dashboard_ws_fuzz, fuzz/regressions/dashboard_ws_fuzz/frame-pipelined-with-upgrade).
TEST_F(DashboardServerTest, AFrameSentWithTheUpgradeRequestIsRefusedNotLost) {
  StartWith();
  tcp::socket socket = Connect();
  const std::string host = "127.0.0.1:" + port_;
  // "hi", masked with the key 0 (so sent as it is).
  const std::string frame("\x81\x82\0\0\0\0hi", 8);
  const std::string request = "GET /ws HTTP/1.1\r\nHost: " + host +
                              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\nOrigin: http://" +
                              host + "\r\n\r\n";
  asio::write(socket, asio::buffer(request + frame));
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  EXPECT_EQ(response.result(), http::status::bad_request);
  EXPECT_NE(response.body().find("before the answer"), std::string::npos) << response.body();
  EXPECT_FALSE(response.keep_alive());
}

TEST_F(DashboardServerTest, TheSocketCarriesManagementCommandsToTheServer) {
  StartWith();
  auto ws = OpenSocket("http://127.0.0.1:" + port_);
  const std::string manifest = "name = \"probe\"\nversion = \"0.1.0\"\ncomponent = \"" + kProbe +
                               "\"\n" + testing_util::HandlersOf(kProbe);
  json started = Call(
      *ws, {{"StartActor", {{"manifest", manifest}, {"parent", false}, {"subscribe", false}}}}, 1);
  ASSERT_TRUE(started.contains("ActorStarted")) << started.dump();
  const std::string id = started["ActorStarted"]["id"];

  json list = Call(*ws, "ListActors", 2);
  ASSERT_TRUE(list.contains("ActorList")) << list.dump();
  ASSERT_EQ(list["ActorList"]["actors"].size(), 1u);
  EXPECT_EQ(list["ActorList"]["actors"][0][0], id);

  json verified = Call(*ws, {{"VerifyChain", {{"id", id}}}}, 3);
  ASSERT_TRUE(verified.contains("ChainVerified")) << verified.dump();
  EXPECT_TRUE(verified["ChainVerified"]["valid"]);

  // A message that is not a command is the server's to refuse; the bridge stays open.
  ws->text(true);
  ws->write(asio::buffer(std::string("{\"request_id\": 4, \"command\": {\"NoSuchCommand\": {}}}")));
  beast::flat_buffer buffer;
  ws->read(buffer);
  json refused = json::parse(beast::buffers_to_string(buffer.data()));
  EXPECT_TRUE(refused["response"].contains("Error")) << refused.dump();
  EXPECT_TRUE(Call(*ws, "ListActors", 5).contains("ActorList"));
}

TEST_F(DashboardServerTest, TheServersTokenIsStillRequiredThroughTheSocket) {
  token_ = "dashboard-secret";
  server::ServerOptions options;
  options.token = token_;
  StartWith(options);
  auto ws = OpenSocket("http://127.0.0.1:" + port_);
  json refused = Call(*ws, "ListActors", 1);
  ASSERT_TRUE(refused.contains("Error")) << refused.dump();
  EXPECT_EQ(refused["Error"]["error"], "Unauthorized");
  json listed = Call(*ws, "ListActors", 2, token_);
  EXPECT_TRUE(listed.contains("ActorList")) << listed.dump();
}

// Issue 52: the bridge talks to the management server from loopback, and the server used to judge
// every page's command as a loopback client's: a browser beyond loopback could read any file
// through StartActor. Now each answer to such a browser is the answer a protocol client at the
// same address gets.
TEST_F(DashboardServerTest, ABrowserBeyondLoopbackIsRefusedWhatAClientBeyondLoopbackIs) {
  if (!testing_util::InNetworkNamespace()) {
    testing_util::ExpectPassesInNetworkNamespace();
    return;
  }
  const std::string external = testing_util::kNamespaceAddress;
  const std::filesystem::path dir = testing_util::NewTestHome("theater-dashboard-remote");
  std::filesystem::create_directories(dir / "allowed");
  std::ofstream(dir / "secret.toml") << "password = \"hunter2\"\nnot toml [[[\n";
  token_ = "dashboard-secret";
  server::ServerOptions options;
  options.address = "0.0.0.0:0";
  options.token = token_;
  options.manifest_roots = {dir / "allowed"};
  StartWith(options, external + ":0");
  ASSERT_EQ(host_, external);
  const std::string management = management_->address();
  auto client = management_->Connect(external + management.substr(management.rfind(':')));
  ASSERT_TRUE(client);
  auto browser = OpenSocket("http://" + external + ":" + port_);

  const std::string probe_manifest =
      "name = \"probe\"\nversion = \"0.1.0\"\ncomponent = \"" + kProbe + "\"\n";
  int id = 0;
  for (const std::string& manifest :
       {std::string("/etc/passwd"), (dir / "secret.toml").string(), probe_manifest,
        std::string("name = \"broken\"\nversion = [\n")}) {
    SCOPED_TRACE(manifest);
    Result<server::Variant> direct =
        client->CallRaw(server::MakeVariant("StartActor", json{{"manifest", manifest}}));
    ASSERT_TRUE(direct.ok()) << direct.status().ToString();
    ASSERT_EQ(direct->name, "Error");
    json through_dashboard = Call(*browser, {{"StartActor", {{"manifest", manifest}}}}, ++id, token_);
    EXPECT_EQ(through_dashboard, server::MakeVariant(direct->name, direct->fields));
    const std::string message = through_dashboard.dump();
    EXPECT_EQ(message.find("hunter2"), std::string::npos) << message;
    EXPECT_EQ(message.find("root:"), std::string::npos) << message;
  }
  json passwd = Call(*browser, {{"StartActor", {{"manifest", "/etc/passwd"}}}}, ++id, token_);
  EXPECT_EQ(passwd["Error"]["error"], "Unauthorized") << passwd.dump();
  EXPECT_NE(passwd.dump().find("manifest roots (--manifest-root)"), std::string::npos);

  // The same server's dashboard on loopback: its browser is a loopback client, as before (the
  // file is read, and its parse error given), so the difference above is the browser's address.
  std::unique_ptr<DashboardServer> local = StartDashboard("127.0.0.1:0");
  ASSERT_TRUE(local);
  host_ = "127.0.0.1";
  port_ = local->address().substr(local->address().rfind(':') + 1);
  auto local_browser = OpenSocket("http://127.0.0.1:" + port_);
  json read = Call(*local_browser, {{"StartActor", {{"manifest", (dir / "secret.toml").string()}}}},
                   ++id, token_);
  EXPECT_NE(read.dump().find("TOML"), std::string::npos) << read.dump();
  local->Stop();
  std::filesystem::remove_all(dir);
}

// A connection may name its client (BridgedClient) only with the server's bridge key, only as its
// first message; anything else closes it, and a refused claim changes nothing.
TEST_F(DashboardServerTest, OnlyTheServersOwnDashboardMayNameItsClient) {
  StartWith();
  using server::server_testing::RawSocket;
  const std::string claim_remote =
      server::MakeVariant("BridgedClient", json{{"key", "guess"}, {"address", "192.0.2.7"}}).dump();
  RawSocket guesser(management_->address());
  ASSERT_TRUE(guesser.connected());
  guesser.SendMessage(claim_remote);
  std::optional<json> refused = guesser.Receive();
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->dump().find("only this server's own dashboard"), std::string::npos)
      << refused->dump();
  EXPECT_TRUE(guesser.ClosedByServer());

  RawSocket late(management_->address());
  ASSERT_TRUE(late.connected());
  late.SendMessage(server::MakeVariant("ListActors").dump());
  ASSERT_TRUE(late.Receive());
  late.SendMessage(
      server::MakeVariant("BridgedClient", json{{"key", kBridgeKey}, {"address", "192.0.2.7"}})
          .dump());
  std::optional<json> too_late = late.Receive();
  ASSERT_TRUE(too_late);
  EXPECT_NE(too_late->dump().find("must be the first message"), std::string::npos)
      << too_late->dump();
  EXPECT_TRUE(late.ClosedByServer());

  // With the key, first: accepted, and the connection is now the named client's.
  RawSocket bridged(management_->address());
  ASSERT_TRUE(bridged.connected());
  bridged.SendMessage(
      server::MakeVariant("BridgedClient", json{{"key", kBridgeKey}, {"address", "192.0.2.7"}})
          .dump());
  std::optional<json> accepted = bridged.Receive();
  ASSERT_TRUE(accepted);
  EXPECT_EQ(*accepted, server::MakeVariant("BridgedClientAccepted", json{{"address", "192.0.2.7"}}));
  bridged.SendMessage(
      server::MakeVariant("StartActor", json{{"manifest", "/etc/passwd"}}).dump());
  std::optional<json> as_remote = bridged.Receive();
  ASSERT_TRUE(as_remote);
  EXPECT_NE(as_remote->dump().find("a client beyond loopback may not name a manifest file"),
            std::string::npos)
      << as_remote->dump();
}

TEST(DashboardServerStartTest, BeyondLoopbackItNeedsTheServersToken) {
  DashboardOptions options;
  options.address = "0.0.0.0:0";
  options.management_address = "127.0.0.1:9";
  Result<std::unique_ptr<DashboardServer>> refused = DashboardServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("without a token"), std::string::npos);
  options.token_required = true;
  // ... and the bridge key, without which its browsers would pass for loopback clients.
  refused = DashboardServer::Start(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("bridge key"), std::string::npos)
      << refused.status().ToString();
  options.bridge_key = kBridgeKey;
  Result<std::unique_ptr<DashboardServer>> started = DashboardServer::Start(options);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  (*started)->Stop();
}

}  // namespace
}  // namespace theater::dashboard
