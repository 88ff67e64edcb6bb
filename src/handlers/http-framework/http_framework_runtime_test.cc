// Theater: a WebAssembly actor runtime.
//
// The http-framework handler end to end: real actors (tests/actors/http_server_probe.c) in a
// real TheaterRuntime serving real HTTP, WebSocket and HTTPS over 127.0.0.1 to a Beast client —
// routing with parameters, 404/405, middleware order and refusal, limits, keep-alive, a stuck
// actor call timing out while other connections are served, route changes on a running server,
// isolation between actors (one traps, the other serves), draining on stop, WebSocket both
// ways, and TLS with a certificate generated here.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "testing/actor_test_fixture.h"
#include "theater/chain.h"

namespace theater {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

const std::string kProbe = std::string(THEATER_TEST_ACTOR_DIR) + "/http_server_probe.wasm";

struct Reply {
  int status = -1;  // -1: the exchange failed (see error)
  std::string body;
  std::map<std::string, std::string> headers;
  std::string error;
};

Reply FromResponse(const bhttp::response<bhttp::string_body>& res) {
  Reply r;
  r.status = static_cast<int>(res.result_int());
  r.body = res.body();
  for (const auto& f : res) r.headers[std::string(f.name_string())] = std::string(f.value());
  return r;
}

bhttp::request<bhttp::string_body> MakeRequest(const std::string& method, const std::string& target,
                                               const std::string& body = "",
                                               std::map<std::string, std::string> headers = {}) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, "127.0.0.1");
  for (auto& [k, v] : headers) req.set(k, v);
  if (!body.empty()) req.body() = body;
  req.prepare_payload();
  return req;
}

// A keep-alive connection to 127.0.0.1:port.
class Client {
 public:
  explicit Client(uint16_t port) : stream_(ioc_) {
    beast::error_code ec;
    stream_.expires_after(10s);
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    connected_ = !ec;
  }
  bool connected() const { return connected_; }
  Reply Send(const bhttp::request<bhttp::string_body>& req) {
    Reply r;
    try {
      stream_.expires_after(10s);
      bhttp::write(stream_, req);
      bhttp::response<bhttp::string_body> res;
      bhttp::read(stream_, buffer_, res);
      return FromResponse(res);
    } catch (const std::exception& e) {
      r.error = e.what();
      return r;
    }
  }
  Reply Get(const std::string& target) { return Send(MakeRequest("GET", target)); }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
};

Reply Fetch(uint16_t port, const bhttp::request<bhttp::string_body>& req) {
  Client c(port);
  if (!c.connected()) return Reply{-1, "", {}, "connect failed"};
  return c.Send(req);
}
Reply Get(uint16_t port, const std::string& target) {
  return Fetch(port, MakeRequest("GET", target));
}

bool Refuses(uint16_t port) {
  Client c(port);
  if (!c.connected()) return true;
  return c.Get("/users/1").status == -1;
}

class HttpFrameworkRuntimeTest : public testing_util::ActorTestFixture {
 protected:
  HttpFrameworkRuntimeTest() : ActorTestFixture("theater-httpfw") {}

  std::string Manifest(const std::string& config) {
    return "name = \"web\"\nversion = \"0.1.0\"\ncomponent = \"" + kProbe +
           "\"\n\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\ntype = \"timing\"\n\n"
           "[[handler]]\ntype = \"http-framework\"\n" +
           config;
  }
  static std::string Limits(uint64_t timeout_ms = 400) {
    return "request_timeout_ms = " + std::to_string(timeout_ms) +
           "\nmax_body_bytes = 1024\nmax_header_bytes = 2048\nshutdown_timeout_ms = 3000\n";
  }
  // Spawns a probe and returns (id, port). Tests unpack it with structured bindings, which a
  // lambda names through an init-capture (`[port = port]`): clang 14, the sanitizer build's
  // compiler, cannot capture a structured binding itself.
  std::pair<std::string, uint16_t> Spawn(const std::string& config = Limits(),
                                         std::optional<std::string> state = {}) {
    SpawnRequest request;
    request.manifest = Manifest(config);
    if (state) request.state = testing_util::Bytes(*state);
    Result<std::string> id = runtime_->Spawn(request);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    if (!id.ok()) return {"", 0};
    Result<std::vector<uint8_t>> port =
        runtime_->RequestMessage(*id, testing_util::Bytes("port"), 10s);
    EXPECT_TRUE(port.ok()) << port.status().ToString();
    if (!port.ok()) return {*id, 0};
    return {*id, static_cast<uint16_t>(std::stoi(std::string(port->begin(), port->end())))};
  }
  // Whether the actor is running a call now.
  bool Processing(const std::string& id) {
    Result<ActorPhase> phase = runtime_->Phase(id);
    return phase.ok() && *phase == ActorPhase::kProcessing;
  }
  // How many operations wait in the actor's mailbox.
  uint64_t Queued(const std::string& id) {
    Result<ActorMetrics> metrics = runtime_->Metrics(id);
    return metrics.ok() ? metrics->mailbox_depth : 0;
  }
};

TEST_F(HttpFrameworkRuntimeTest, RoutesParamsNotFoundAndMethodNotAllowed) {
  auto [id, port] = Spawn();
  ASSERT_NE(port, 0);
  Reply r = Get(port, "/users/42");
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_THAT(r.body, HasSubstr("method=GET\nuri=/users/42\n"));
  EXPECT_THAT(r.body, HasSubstr("h:X-Route-Param-id=42\n"));
  EXPECT_EQ(r.headers["X-Probe"], "yes");
  EXPECT_EQ(r.headers["Server"], "theater");

  r = Get(port, "/users/42/posts/7");
  EXPECT_THAT(r.body, HasSubstr("h:X-Route-Param-id=42\nh:X-Route-Param-post=7\n"));

  // {*rest}: slashes and percent-decoding; the query stays in the uri only.
  r = Get(port, "/echo/a/b%20c?q=1");
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("uri=/echo/a/b%20c?q=1\n"));
  EXPECT_THAT(r.body, HasSubstr("h:X-Route-Param-rest=a/b c\n"));

  // A client cannot forge a route parameter.
  r = Fetch(port, MakeRequest("GET", "/users/1", "",
                              {{"X-Route-Param-id", "evil"}, {"x-route-param-admin", "1"}}));
  EXPECT_THAT(r.body, HasSubstr("h:X-Route-Param-id=1\n"));
  EXPECT_THAT(r.body, Not(HasSubstr("evil")));
  EXPECT_THAT(r.body, Not(HasSubstr("admin")));

  // A body reaches the actor.
  r = Fetch(port, MakeRequest("POST", "/echo/x", "hello body"));
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("method=POST\n"));
  EXPECT_THAT(r.body, HasSubstr("body=hello body"));

  EXPECT_EQ(Get(port, "/nope").status, 404);
  EXPECT_EQ(Get(port, "/users").status, 404);
  EXPECT_EQ(Get(port, "/users/").status, 404);
  EXPECT_EQ(Get(port, "/users/1/posts/2/3").status, 404);
  EXPECT_EQ(Get(port, "/users/../echo/x").status, 404);  // no dot-segment normalisation

  r = Fetch(port, MakeRequest("DELETE", "/users/1"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["Allow"], "GET");
  r = Fetch(port, MakeRequest("PUT", "/echo/x"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["Allow"], "GET, POST");

  // What cannot be a WIT string is refused, not altered.
  EXPECT_EQ(Get(port, "/users/%FF").status, 400);
  EXPECT_EQ(Fetch(port, MakeRequest("GET", "/users/1", "", {{"X-Bad", "\xff\xfe"}})).status, 400);

  r = Get(port, "/admin/info/x");
  EXPECT_THAT(r.body, HasSubstr(";running=1;routes=7;mw=0;ws=1"));
}

TEST_F(HttpFrameworkRuntimeTest, MiddlewareRunsInOrderAddedAndCanRefuse) {
  auto [id, port] = Spawn();
  ASSERT_NE(port, 0);
  Reply m2 = Get(port, "/admin/mw/tag2/echo");
  ASSERT_EQ(m2.status, 200) << m2.body;
  Reply m1 = Get(port, "/admin/mw/tag1/echo");
  ASSERT_EQ(m1.status, 200) << m1.body;
  Reply r = Get(port, "/echo/x");
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("h:X-Mw=tag2\nh:X-Mw=tag1\n"));
  // By path segment: /users is not below /echo; /echox neither (404 anyway, no middleware).
  r = Get(port, "/users/1");
  EXPECT_THAT(r.body, Not(HasSubstr("X-Mw")));

  ASSERT_EQ(Get(port, "/admin/mw/deny/users").status, 200);
  r = Get(port, "/users/1");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Get(port, "/echo/x").status, 200);
  EXPECT_THAT(Get(port, "/admin/info/x").body, HasSubstr(";mw=3;"));

  ASSERT_EQ(Get(port, "/admin/remove-mw/" + m2.body).status, 200);
  r = Get(port, "/echo/x");
  EXPECT_THAT(r.body, HasSubstr("h:X-Mw=tag1\nbody="));
  EXPECT_EQ(Get(port, "/admin/remove-mw/" + m2.body).status, 400);  // already gone
  EXPECT_THAT(Get(port, "/admin/mw/tag1/no%20space").body, HasSubstr("error"));
}

TEST_F(HttpFrameworkRuntimeTest, BodyAndHeaderLimits) {
  auto [id, port] = Spawn();
  ASSERT_NE(port, 0);
  EXPECT_EQ(Fetch(port, MakeRequest("POST", "/echo/x", std::string(1000, 'a'))).status, 200);
  Reply r = Fetch(port, MakeRequest("POST", "/echo/x", std::string(4000, 'a')));
  EXPECT_EQ(r.status, 413) << r.error;
  r = Fetch(port, MakeRequest("GET", "/users/1", "", {{"X-Big", std::string(4000, 'h')}}));
  EXPECT_EQ(r.status, 431) << r.error;
  // Still serving.
  EXPECT_EQ(Get(port, "/users/1").status, 200);
}

// curl and others send "Expect: 100-continue" before a large body and wait for the go-ahead.
TEST_F(HttpFrameworkRuntimeTest, ExpectContinueGetsAGoAheadOrAnEarly413) {
  auto [id, port] = Spawn();
  ASSERT_NE(port, 0);
  auto exchange = [port = port](const std::string& length, bool send_body) {
    asio::io_context ioc;
    beast::tcp_stream s(ioc);
    s.expires_after(10s);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    std::string head = "POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: " + length +
                       "\r\nExpect: 100-continue\r\n\r\n";
    asio::write(s, asio::buffer(head));
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> first;
    bhttp::read_header(s, buf, first);
    if (first.get().result_int() != 100 || !send_body) {
      bhttp::read(s, buf, first);
      return std::to_string(first.get().result_int()) + ":" + first.get().body();
    }
    asio::write(s, asio::buffer(std::string(std::stoul(length), 'b')));
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, buf, res);
    return "100 then " + std::to_string(res.result_int()) + ":" + res.body();
  };
  EXPECT_THAT(exchange("10", true), HasSubstr("100 then 200:method=POST"));
  EXPECT_THAT(exchange("5000", false), HasSubstr("413:request body larger than 1024 bytes"));
}

TEST_F(HttpFrameworkRuntimeTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto [id, port] = Spawn();
  ASSERT_NE(port, 0);
  Client c(port);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 5; ++i) {
    Reply r = c.Get("/users/" + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_THAT(r.body, HasSubstr("h:X-Route-Param-id=" + std::to_string(i) + "\n"));
    EXPECT_EQ(r.headers.count("Connection"), 0u);  // HTTP/1.1 keep-alive is the default
  }
  EXPECT_EQ(c.Get("/nope").status, 404);  // errors keep the connection too
  EXPECT_EQ(c.Get("/users/9").status, 200);
  Reply closing = c.Send(MakeRequest("GET", "/users/1", "", {{"Connection", "close"}}));
  EXPECT_EQ(closing.headers["Connection"], "close");
}

TEST_F(HttpFrameworkRuntimeTest, StuckCallTimesOutWhileOtherConnectionsAreServed) {
  auto [a, port_a] = Spawn(Limits(1000));
  auto [b, port_b] = Spawn();
  ASSERT_NE(port_a, 0);
  ASSERT_NE(port_b, 0);
  auto start = std::chrono::steady_clock::now();
  auto stuck = std::async(std::launch::async, [port = port_a] { return Get(port, "/sleep/3000"); });
  ASSERT_TRUE(testing_util::WaitFor([&, a = a] { return Processing(a); }));
  // While A's call is stuck: B answers, and A's server answers what needs no actor call, before
  // A's request times out.
  EXPECT_EQ(Get(port_b, "/users/1").status, 200);
  EXPECT_EQ(Get(port_a, "/nope").status, 404);
  EXPECT_EQ(stuck.wait_for(0ms), std::future_status::timeout);
  Reply r = stuck.get();
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 504) << r.error;
  EXPECT_GE(took, 980ms);
  // Answered at the timeout, not when the actor finished: it still runs the call.
  EXPECT_TRUE(Processing(a));
  // Once the actor is free again it serves (the late reply was dropped).
  EXPECT_TRUE(testing_util::WaitFor(
      [&, port_a = port_a] { return Get(port_a, "/users/3").status == 200; }));
}

TEST_F(HttpFrameworkRuntimeTest, RouteChangesApplyToARunningServer) {
  auto [id, port] = Spawn();
  ASSERT_NE(port, 0);
  EXPECT_EQ(Get(port, "/fresh/abc").status, 404);
  Reply added = Get(port, "/admin/add-route/fresh/%7Bname%7D");
  ASSERT_EQ(added.status, 200) << added.body;
  Reply r = Get(port, "/fresh/abc");
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("h:X-Route-Param-name=abc\n"));
  // The same shape again conflicts; a hostile pattern is refused with the reason.
  EXPECT_THAT(Get(port, "/admin/add-route/fresh/%7Bother%7D").body, HasSubstr("already-exists"));
  EXPECT_THAT(Get(port, "/admin/add-route/x/%7B*a%7D/b").body, HasSubstr("must be last"));
  EXPECT_THAT(Get(port, "/admin/add-route/x%7B").body, HasSubstr("invalid-argument"));
  ASSERT_EQ(Get(port, "/admin/remove-route/" + added.body).status, 200);
  EXPECT_EQ(Get(port, "/fresh/abc").status, 404);
  EXPECT_THAT(Get(port, "/admin/remove-route/" + added.body).body, HasSubstr("not-found"));
}

TEST_F(HttpFrameworkRuntimeTest, OneActorCrashingOrStoppingNeverTouchesAnothersServers) {
  auto [a, port_a] = Spawn();
  auto [b, port_b] = Spawn();
  ASSERT_NE(port_a, 0);
  ASSERT_NE(port_b, 0);
  ASSERT_NE(port_a, port_b);
  Reply trapped = Get(port_a, "/trap");
  EXPECT_NE(trapped.status, 200);
  // A failed: its server closes with it. B is untouched.
  EXPECT_TRUE(testing_util::WaitFor([&, port_a = port_a] { return Refuses(port_a); }));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Get(port_b, "/users/1").status, 200);

  // B cannot reach A's (or anyone else's) server by its id.
  auto [d, port_d] = Spawn();
  ASSERT_NE(port_d, 0);
  Result<std::vector<uint8_t>> d_server =
      runtime_->RequestMessage(d, testing_util::Bytes("server"), 10s);
  ASSERT_TRUE(d_server.ok());
  Reply foreign = Get(port_b, "/admin/stop-id/" + std::string(d_server->begin(), d_server->end()));
  EXPECT_EQ(foreign.status, 400);
  EXPECT_THAT(foreign.body, HasSubstr("not-found: server"));
  EXPECT_THAT(foreign.body, HasSubstr("is not one of this actor's servers"));
  EXPECT_EQ(Get(port_d, "/users/1").status, 200);

  auto [c, port_c] = Spawn();
  ASSERT_NE(port_c, 0);
  ASSERT_TRUE(runtime_->Stop(c).ok());
  EXPECT_TRUE(Refuses(port_c));
  EXPECT_EQ(Get(port_b, "/users/2").status, 200);
}

TEST_F(HttpFrameworkRuntimeTest, StopServerDrainsRequestsInFlight) {
  auto [id, port] = Spawn(Limits(5000));
  ASSERT_NE(port, 0);
  auto slow = std::async(std::launch::async, [port = port] { return Get(port, "/sleep/3000"); });
  ASSERT_TRUE(testing_util::WaitFor([&, id = id] { return Processing(id); }));
  // Queued behind the sleep: the stop, then a request that will be in flight when it runs.
  auto stop = std::async(std::launch::async, [port = port] { return Get(port, "/admin/stop/x"); });
  ASSERT_TRUE(testing_util::WaitFor([&, id = id] { return Queued(id) >= 1; }));
  auto in_flight = std::async(std::launch::async, [port = port] { return Get(port, "/users/9"); });
  ASSERT_TRUE(testing_util::WaitFor([&, id = id] { return Queued(id) >= 2; }));
  EXPECT_EQ(slow.get().status, 200);
  Reply s = stop.get();
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.body, "stopping");
  Reply r = in_flight.get();
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_THAT(r.body, HasSubstr("h:X-Route-Param-id=9"));
  EXPECT_EQ(r.headers["Connection"], "close");
  EXPECT_TRUE(testing_util::WaitFor([&, port = port] { return Refuses(port); }));
}

TEST_F(HttpFrameworkRuntimeTest, AServerCanBeRestartedAndDestroyed) {
  auto [id, port] = Spawn();
  ASSERT_NE(port, 0);
  Reply restarted = Get(port, "/admin/restart/x");
  ASSERT_EQ(restarted.status, 200) << restarted.body;
  uint16_t port2 = static_cast<uint16_t>(std::stoi(restarted.body));
  ASSERT_NE(port2, 0);
  EXPECT_EQ(Get(port2, "/users/5").status, 200);
  EXPECT_TRUE(testing_util::WaitFor([&, port = port] { return Refuses(port); }));
  // Routes survive a restart; info reports the new port.
  EXPECT_THAT(Get(port2, "/admin/info/x").body,
              HasSubstr(";port=" + std::to_string(port2) + ";host=127.0.0.1;running=1;routes=7"));
  Reply destroyed = Get(port2, "/admin/destroy/x");
  EXPECT_EQ(destroyed.status, 200);
  EXPECT_THAT(destroyed.body, HasSubstr("destroyed=1;info=not-found: server"));
  EXPECT_TRUE(testing_util::WaitFor([&] { return Refuses(port2); }));
}

// A runtime with durable actors (as `theater server` runs) replaces the fixture's, on its home.
void StartDurable(std::unique_ptr<TheaterRuntime>& runtime, const fs::path& home) {
  runtime.reset();  // the old one shuts down first, keeping its actors for recovery
  RuntimeOptions options = testing_util::TestRuntimeOptions(home);
  options.durable_actors = true;
  Result<std::unique_ptr<TheaterRuntime>> created = TheaterRuntime::Create(options, BuiltinHandlers());
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  runtime = std::move(created).value();
}

TEST_F(HttpFrameworkRuntimeTest, ARecoveredActorListensAgainWithItsRoutesAndIds) {
  StartDurable(runtime_, home_);
  auto [id, port] = Spawn();
  ASSERT_NE(port, 0);
  const std::string server = Command(id, "server");
  // Routing changed after init: one route added, one added and removed again.
  Reply added = Get(port, "/admin/add-route/later/%7Bname%7D");
  ASSERT_EQ(added.status, 200) << added.body;
  Reply gone = Get(port, "/admin/add-route/gone");
  ASSERT_EQ(gone.status, 200) << gone.body;
  ASSERT_EQ(Get(port, "/admin/remove-route/" + gone.body).status, 200);
  ASSERT_EQ(Get(port, "/later/x").status, 200);

  StartDurable(runtime_, home_);
  EXPECT_TRUE(Refuses(port));  // nothing listens while the host is down
  Result<RecoveryReport> report = runtime_->Recover();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->recovered, 1u);
  // The same server id and port, its routes and handlers as they were, the actor answering.
  EXPECT_EQ(Command(id, "server"), server);
  EXPECT_EQ(Command(id, "port"), std::to_string(port));
  Reply user = Get(port, "/users/7");
  ASSERT_EQ(user.status, 200) << user.error;
  EXPECT_THAT(user.body, HasSubstr("h:X-Route-Param-id=7\n"));
  Reply later = Get(port, "/later/abc");
  ASSERT_EQ(later.status, 200) << later.error;
  EXPECT_THAT(later.body, HasSubstr("h:X-Route-Param-name=abc\n"));
  EXPECT_EQ(Get(port, "/gone").status, 404);
  // The handler ids the guest holds name the same handlers (admin is one of them).
  EXPECT_THAT(Get(port, "/admin/info/x").body,
              HasSubstr("id=" + server + ";port=" + std::to_string(port) + ";host=127.0.0.1;running=1"));
  // Ids given out later do not collide with the restored ones.
  Reply newer = Get(port, "/admin/add-route/newer");
  ASSERT_EQ(newer.status, 200) << newer.body;
  EXPECT_GT(std::stoull(newer.body), std::stoull(added.body));
  // The chain says what was restored.
  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok());
  bool restored = false;
  for (const chain::Event& e : *events) {
    Result<chain::Payload> payload = chain::DecodePayload(e.payload);
    const auto* step = payload.ok() ? std::get_if<chain::Lifecycle>(&*payload) : nullptr;
    if (step != nullptr && step->kind == "handler-restored") {
      EXPECT_THAT(step->message, HasSubstr("http-framework: ok: 1 server(s) restored: server " +
                                           server + " listening on port " + std::to_string(port)));
      restored = true;
    }
  }
  EXPECT_TRUE(restored);

  // A second restart restores it again: through both recoveries, back to the spawn.
  StartDurable(runtime_, home_);
  report = runtime_->Recover();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->recovered, 1u);
  EXPECT_EQ(Get(port, "/later/abc").status, 200);
  EXPECT_EQ(Get(port, "/newer").status, 200);
  EXPECT_EQ(Get(port, "/gone").status, 404);
}

TEST_F(HttpFrameworkRuntimeTest, ARecoveredServerWhosePortIsTakenListensOnAnother) {
  StartDurable(runtime_, home_);
  auto [id, port] = Spawn();
  ASSERT_NE(port, 0);
  runtime_.reset();
  // Someone else listens on the port while the host is down.
  asio::io_context ioc;
  tcp::acceptor squatter(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  StartDurable(runtime_, home_);
  Result<RecoveryReport> report = runtime_->Recover();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->recovered, 1u);
  // Its config said any port: it took another, and says which.
  Result<std::vector<chain::Event>> events = runtime_->Events(id);
  ASSERT_TRUE(events.ok());
  std::string message;
  for (const chain::Event& e : *events) {
    Result<chain::Payload> payload = chain::DecodePayload(e.payload);
    const auto* step = payload.ok() ? std::get_if<chain::Lifecycle>(&*payload) : nullptr;
    if (step != nullptr && step->kind == "handler-restored") message = step->message;
  }
  EXPECT_THAT(message, HasSubstr("(it had " + std::to_string(port) + ")"));
  const size_t at = message.find("listening on port ");
  ASSERT_NE(at, std::string::npos) << message;
  const uint16_t now = static_cast<uint16_t>(std::stoi(message.substr(at + 18)));
  EXPECT_NE(now, port);
  EXPECT_EQ(Get(now, "/users/1").status, 200);
}

TEST_F(HttpFrameworkRuntimeTest, WebSocketEchoesAndPushes) {
  auto [id, port] = Spawn();
  ASSERT_NE(port, 0);
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws(ioc);
  beast::get_lowest_layer(ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  ws.handshake("127.0.0.1", "/ws?room=1");
  beast::get_lowest_layer(ws).expires_after(10s);
  beast::flat_buffer buf;
  auto read = [&] {
    buf.consume(buf.size());
    ws.read(buf);
    return beast::buffers_to_string(buf.data());
  };
  ws.text(true);
  ws.write(asio::buffer(std::string("hi")));
  EXPECT_EQ(read(), "echo:hi");
  EXPECT_TRUE(ws.got_text());
  ws.binary(true);
  std::string bytes("\x00\x01\xff", 3);
  ws.write(asio::buffer(bytes));
  EXPECT_EQ(read(), bytes);
  EXPECT_TRUE(ws.got_binary());
  ws.text(true);
  ws.write(asio::buffer(std::string("push")));
  std::set<std::string> got = {read(), read()};
  EXPECT_EQ(got, (std::set<std::string>{"pushed", "echo:push"}));
  // The actor closes the connection.
  ws.write(asio::buffer(std::string("close")));
  beast::error_code ec;
  buf.consume(buf.size());
  ws.read(buf, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  // A plain GET on the WebSocket path is not routed.
  EXPECT_EQ(Get(port, "/ws").status, 404);
}

TEST_F(HttpFrameworkRuntimeTest, HttpsWithASelfSignedCertificate) {
  fs::path cert = home_ / "cert.pem";
  fs::path key = home_ / "key.pem";
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-keyout " +
      key.string() + " -out " + cert.string() + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto [id, port] =
      Spawn(Limits(), "{\"cert\":\"" + cert.string() + "\",\"key\":\"" + key.string() + "\"}");
  ASSERT_NE(port, 0);
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(cert.string());
  ctx.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  beast::get_lowest_layer(stream).expires_after(10s);
  beast::get_lowest_layer(stream).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  stream.handshake(ssl::stream_base::client);  // verifies the chain against our certificate
  beast::flat_buffer buf;
  for (int i = 0; i < 2; ++i) {  // keep-alive over TLS
    bhttp::write(stream, MakeRequest("GET", "/users/" + std::to_string(i)));
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buf, res);
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_THAT(res.body(), HasSubstr("h:X-Route-Param-id=" + std::to_string(i)));
  }
  // Plain HTTP to the HTTPS port gets no HTTP answer.
  EXPECT_NE(Get(port, "/users/1").status, 200);

  // Unloadable TLS files fail start-server, so the probe's init fails with the reason.
  SpawnRequest bad;
  bad.manifest = Manifest(Limits());
  bad.state = testing_util::Bytes("{\"cert\":\"" + (home_ / "missing.pem").string() +
                                  "\",\"key\":\"" + key.string() + "\"}");
  Result<std::string> failed = runtime_->Spawn(bad);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().ToString(), HasSubstr("cannot load the TLS certificate"));
}

// Permissions come from a parent's policy: add-route checks the method and the pattern.
TEST_F(HttpFrameworkRuntimeTest, PermissionsRestrictRoutesAndMethods) {
  auto [parent, parent_port] = Spawn();
  ASSERT_NE(parent_port, 0);
  auto child = [&, parent = parent](const std::string& policy) {
    SpawnRequest request;
    request.manifest = Manifest(Limits()) + "\n" + policy;
    request.parent_id = parent;
    return runtime_->Spawn(request);
  };
  // The probe's init adds GET /users/{id} among others: a narrower list refuses it.
  Result<std::string> narrow = child(
      "[permission_policy.http_framework]\ntype = \"restrict\"\n"
      "[permission_policy.http_framework.config]\nallowed_routes = [\"/echo/{*rest}\"]\n");
  ASSERT_FALSE(narrow.ok());
  EXPECT_THAT(narrow.status().ToString(),
              HasSubstr("Route '/users/{id}' not in allowed routes: [\"/echo/{*rest}\"]"));
  Result<std::string> get_only = child(
      "[permission_policy.http_framework]\ntype = \"restrict\"\n"
      "[permission_policy.http_framework.config]\nallowed_methods = [\"GET\"]\n");
  ASSERT_FALSE(get_only.ok());
  EXPECT_THAT(get_only.status().ToString(), HasSubstr("Method 'POST' not in allowed methods"));
  Result<std::string> none = child("[permission_policy.http_framework]\ntype = \"disallow\"\n");
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none.status().ToString(), HasSubstr("not permitted"));
}

TEST_F(HttpFrameworkRuntimeTest, TheChainRecordsHostCallsAndCallbacks) {
  auto [id, port] = Spawn();
  ASSERT_NE(port, 0);
  ASSERT_EQ(Get(port, "/users/77").status, 200);
  ASSERT_TRUE(testing_util::WaitFor([&, id = id] {
    Result<std::vector<chain::Event>> events = runtime_->Events(id);
    if (!events.ok()) return false;
    for (const chain::Event& e : *events) {
      auto p = chain::DecodePayload(e.payload);
      if (p.ok() && std::holds_alternative<chain::ExportCall>(*p) &&
          std::get<chain::ExportCall>(*p).function ==
              "theater:simple/http-handlers#handle-request") {
        return true;
      }
    }
    return false;
  }));
  ASSERT_TRUE(runtime_->VerifyChain(id).ok());
  std::map<std::string, int> host_calls;
  std::string request_json;
  for (const chain::HostCall& call : RecordedInChain<chain::HostCall>(id)) {
    if (call.interface == "theater:simple/http-framework") host_calls[call.function]++;
  }
  for (const chain::ExportCall& call : RecordedInChain<chain::ExportCall>(id)) {
    if (call.function == "theater:simple/http-handlers#handle-request") {
      for (const auto& v : call.params) request_json += chain::ValueToJson(v).dump();
      request_json += chain::ValueToJson(call.result.values.empty() ? abi::Value::None()
                                                                    : call.result.values[0])
                          .dump();
    }
  }
  EXPECT_EQ(host_calls["create-server"], 1);
  EXPECT_EQ(host_calls["start-server"], 1);
  EXPECT_EQ(host_calls["add-route"], 7);
  EXPECT_EQ(host_calls["register-handler"], 10);
  EXPECT_THAT(request_json, HasSubstr("/users/77"));
  EXPECT_THAT(request_json, HasSubstr("X-Route-Param-id"));
}

TEST_F(HttpFrameworkRuntimeTest, ConfigErrorsFailTheSpawn) {
  EXPECT_THAT(SpawnError(Manifest("max_body = 3\n")), HasSubstr("unknown key 'max_body'"));
}

}  // namespace
}  // namespace theater
