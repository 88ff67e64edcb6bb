// Theater: a WebAssembly actor runtime.
//
// The wasi-http handler end to end: a component of the wasi:http/proxy shape
// (tests/actors/components/wasi-http/proxy_echo.wat, assembled by the build) runs as an actor in a
// real TheaterRuntime behind the handler's listener on 127.0.0.1, and is sent real HTTP/1.1
// requests over a socket. Each request is one call of its incoming-handler in the chain, with the
// wasi:http calls it made; the fixture replays every chain at the end and expects it identical.
// The failure paths: a component that returns without answering (500), one that traps (500, and
// the actor fails), a missing export, a bad config key, and a proxy component without the
// handler.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <string>

#include "testing/actor_test_fixture.h"
#include "testing/wait_for.h"
#include "theater/chain.h"

namespace theater {
namespace {

using ::testing::HasSubstr;

const std::string kProxy = std::string(THEATER_TEST_ACTOR_DIR) + "/proxy_echo.component.wasm";
const std::string kForward = std::string(THEATER_TEST_ACTOR_DIR) + "/proxy_forward.component.wasm";

struct HttpReply {
  int status = -1;                             // -1: no response (connection refused or closed)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// One request over a new connection to 127.0.0.1:port (Connection: close), read to the end.
HttpReply Exchange(int port, const std::string& method, const std::string& target,
                   const std::string& body = "", const std::string& extra_headers = "") {
  HttpReply reply;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return reply;
  }
  std::string request =
      method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" +
      extra_headers + "Connection: close\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string raw;
  char buffer[4096];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof buffer, 0)) > 0) raw.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  const size_t head_end = raw.find("\r\n\r\n");
  if (!raw.starts_with("HTTP/1.1 ") || head_end == std::string::npos) return reply;
  reply.status = std::stoi(raw.substr(9, 3));
  size_t line = raw.find("\r\n") + 2;
  while (line < head_end) {
    const size_t next = raw.find("\r\n", line);
    const std::string field = raw.substr(line, next - line);
    const size_t colon = field.find(':');
    std::string name = field.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = field.substr(field.find_first_not_of(' ', colon + 1));
    line = next + 2;
  }
  reply.body = raw.substr(head_end + 4);
  return reply;
}

class WasiHttpRuntimeTest : public testing_util::ActorTestFixture {
 protected:
  WasiHttpRuntimeTest() : ActorTestFixture("theater-wasi-http") {}

  static std::string Manifest(const std::string& component, const std::string& config) {
    return "name = \"proxy\"\nversion = \"0.1.0\"\ncomponent = \"" + component +
           "\"\n\n[[handler]]\ntype = \"wasi-http\"\nconfig = { " + config + " }\n";
  }

  // Spawns a proxy component on a port of its own choosing and returns the port its log names
  // (the n-th such line: one per proxy spawned so far).
  int SpawnProxy(std::string* id, const std::string& component = kProxy,
                 const std::string& more = "") {
    const size_t before = ListeningLines().size();
    *id = Spawn(Manifest(component, "port = 0") + more);
    std::vector<int> ports;
    EXPECT_TRUE(testing_util::WaitFor([&] {
      ports = ListeningLines();
      return ports.size() > before;
    }));
    return ports.size() > before ? ports[before] : 0;
  }
  std::vector<int> ListeningLines() {
    const std::string marker = "wasi-http: listening on http://127.0.0.1:";
    std::vector<int> ports;
    for (const std::string& line : Log()) {
      if (size_t at = line.find(marker); at != std::string::npos) {
        ports.push_back(std::stoi(line.substr(at + marker.size())));
      }
    }
    return ports;
  }
  size_t HandledCalls(const std::string& id) {
    size_t handled = 0;
    for (const chain::ExportCall& call : RecordedInChain<chain::ExportCall>(id)) {
      if (call.function == "wasi:http/incoming-handler@0.2.0#handle") ++handled;
    }
    return handled;
  }
};

TEST_F(WasiHttpRuntimeTest, AProxyComponentAnswersEachRequestAsACallInItsChain) {
  std::string id;
  const int port = SpawnProxy(&id);
  ASSERT_GT(port, 0);

  HttpReply hello = Exchange(port, "GET", "/hello/world?x=1");
  EXPECT_EQ(hello.status, 201);
  EXPECT_EQ(hello.headers["x-path"], "/hello/world?x=1");
  EXPECT_EQ(hello.body, "");
  HttpReply posted = Exchange(port, "POST", "/other", "a body");
  EXPECT_EQ(posted.status, 201);
  EXPECT_EQ(posted.headers["x-path"], "/other");

  // One incoming-handler call per request, each after the wasi:http calls it made, and the
  // chain verifies (the fixture replays it at the end).
  auto calls = RecordedInChain<chain::ExportCall>(id);
  size_t handled = 0;
  for (const chain::ExportCall& call : calls) {
    if (call.function == "wasi:http/incoming-handler@0.2.0#handle") {
      ++handled;
      EXPECT_TRUE(call.result.ok()) << call.result.error.value_or("");
      EXPECT_EQ(call.params.size(), 2u);
    }
  }
  EXPECT_EQ(handled, 2u);
  auto host_calls = RecordedInChain<chain::HostCall>(id);
  size_t paths = 0;
  for (const chain::HostCall& call : host_calls) {
    if (call.function == "[method]incoming-request.path-with-query") ++paths;
  }
  EXPECT_EQ(paths, 2u);
  EXPECT_TRUE(runtime_->VerifyChain(id).ok());
  // Replayed from the chain alone: the same calls with the same answers, no socket touched.
  Result<ReplayReport> replayed = runtime_->Replay(id, {});
  ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
  EXPECT_TRUE(replayed->identical());
}

TEST_F(WasiHttpRuntimeTest, AComponentThatDoesNotAnswerOrTrapsGetsA500AndATrapFailsTheActor) {
  std::string id;
  const int port = SpawnProxy(&id);
  ASSERT_GT(port, 0);
  HttpReply silent = Exchange(port, "GET", "/noresp");
  EXPECT_EQ(silent.status, 500);
  EXPECT_THAT(silent.body, HasSubstr("without setting a response"));
  // Still serving.
  EXPECT_EQ(Exchange(port, "GET", "/after").status, 201);

  HttpReply trapped = Exchange(port, "GET", "/trap");
  EXPECT_EQ(trapped.status, 500);
  EXPECT_EQ(trapped.body, "the component failed handling the request")
      << "the trap's cause stays the actor's";
  // A trap poisons the instance: the actor fails, as it would on any call, and its listener
  // closes.
  EXPECT_TRUE(testing_util::WaitFor([&] { return !runtime_->Phase(id).ok(); }));
  EXPECT_TRUE(testing_util::WaitFor([&] { return Exchange(port, "GET", "/x").status == -1; }));
}

// proxy_forward.wat makes an outgoing request to the authority a header names: here the echo
// proxy, over real HTTP on 127.0.0.1. The http-client permission governs it: restricted to
// another host, the request never leaves (handle's own error, which the component answers 502).
TEST_F(WasiHttpRuntimeTest, AnOutgoingRequestGoesThroughTheHttpClientPermission) {
  std::string echo, forward, fenced;
  const int echo_port = SpawnProxy(&echo);
  const int forward_port = SpawnProxy(&forward, kForward);
  ASSERT_GT(echo_port, 0);
  ASSERT_GT(forward_port, 0);
  const std::string to = "x-forward-to: 127.0.0.1:" + std::to_string(echo_port) + "\r\n";

  EXPECT_EQ(Exchange(forward_port, "GET", "/", "", to).status, 201) << "the echo's status";
  EXPECT_EQ(HandledCalls(echo), 1u);
  EXPECT_EQ(Exchange(forward_port, "GET", "/").status, 400) << "no header";
  // Nobody listens on port 1: the request left and failed, the future's error.
  EXPECT_EQ(Exchange(forward_port, "GET", "/", "", "x-forward-to: 127.0.0.1:1\r\n").status, 503);
  bool sent = false;
  for (const chain::HostCall& call : RecordedInChain<chain::HostCall>(forward)) {
    if (call.interface == "wasi:http/outgoing-handler@0.2.0" && call.function == "handle") {
      sent = true;
    }
  }
  EXPECT_TRUE(sent) << "each outgoing request is in the chain";

  const int fenced_port =
      SpawnProxy(&fenced, kForward,
                 "[permission_policy.http_client]\ntype = \"restrict\"\n"
                 "[permission_policy.http_client.config]\nallowed_hosts = [\"example.org\"]\n");
  ASSERT_GT(fenced_port, 0);
  EXPECT_EQ(Exchange(fenced_port, "GET", "/", "", to).status, 502);
  EXPECT_EQ(HandledCalls(echo), 1u) << "the refused request never reached the echo";
}

TEST_F(WasiHttpRuntimeTest, MisconfigurationsAreRefusedWithTheirCause) {
  EXPECT_THAT(SpawnError(Manifest(kProxy, "port = 0, listen = \"x\"")),
              HasSubstr("unknown key 'listen'"));
  EXPECT_THAT(SpawnError(Manifest(kProxy, "port = 70000")), HasSubstr("port"));
  // A component without the export the handler calls.
  const std::string other = std::string(THEATER_TEST_ACTOR_DIR) + "/wasi_probe.component.wasm";
  EXPECT_THAT(SpawnError(Manifest(other, "port = 0")), HasSubstr("does not export it"));
  // The proxy without the handler: its wasi:http imports are named, with the handler to declare.
  EXPECT_THAT(SpawnError("name = \"proxy\"\nversion = \"0.1.0\"\ncomponent = \"" + kProxy + "\"\n"),
              HasSubstr("[[handler]] type = \"wasi-http\""));
}

}  // namespace
}  // namespace theater
