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

struct HttpReply {
  int status = -1;                             // -1: no response (connection refused or closed)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// One request over a new connection to 127.0.0.1:port (Connection: close), read to the end.
HttpReply Exchange(int port, const std::string& method, const std::string& target,
                   const std::string& body = "") {
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
      method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
      "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
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

  // Spawns the proxy on a port of its own choosing and returns the port its log names.
  int SpawnProxy(std::string* id) {
    *id = Spawn(Manifest(kProxy, "port = 0"));
    const std::string marker = "wasi-http: listening on http://127.0.0.1:";
    int port = 0;
    EXPECT_TRUE(testing_util::WaitFor([&] {
      for (const std::string& line : Log()) {
        if (size_t at = line.find(marker); at != std::string::npos) {
          port = std::stoi(line.substr(at + marker.size()));
          return true;
        }
      }
      return false;
    }));
    return port;
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
