// Theater: a WebAssembly actor runtime.
//
// The http-client handler end to end: a real actor (tests/actors/http_probe.c) in a real
// TheaterRuntime sending requests to a real HTTP server on 127.0.0.1 — a round trip, permissions
// from a parent's policy (refused before any connection, redirects included), error kinds as the
// actor sees them, config errors, what the chain records, slow requests not holding a worker,
// and terminating an actor aborting its request.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "handlers/http-client/test_http_server.h"
#include "testing/actor_test_fixture.h"
#include "theater/chain.h"

namespace theater {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing_util::TestHttpServer;
using namespace std::chrono_literals;

const std::string kProbe = std::string(THEATER_TEST_ACTOR_DIR) + "/http_probe.wasm";

class HttpClientRuntimeTest : public testing_util::ActorTestFixture {
 protected:
  HttpClientRuntimeTest() : ActorTestFixture("theater-http") {}

  // A manifest for http_probe; `handler` (TOML lines) goes into an http-client handler table.
  std::string Manifest(const std::string& handler = "", const std::string& extra = "") {
    return "name = \"http\"\nversion = \"0.1.0\"\ncomponent = \"" + kProbe + "\"\n" + extra +
           "\n[[handler]]\ntype = \"message-server\"\n\n[[handler]]\ntype = \"http-client\"\n" + handler;
  }
};

TEST_F(HttpClientRuntimeTest, AnActorSendsARequestAndGetsTheResponse) {
  TestHttpServer server;
  std::string a = Spawn(Manifest());
  std::string reply =
      Command(a, "PUT " + server.Url("/echo") + "\nX-Test: from-wasm\n\nthe body\nline two");
  EXPECT_THAT(reply, StartsWith("status=200\n"));
  EXPECT_THAT(reply, HasSubstr("\nX-Method: PUT\n"));
  EXPECT_THAT(reply, HasSubstr("\nX-Echo-Test: from-wasm\n"));
  EXPECT_THAT(reply, testing::EndsWith("\n\nthe body\nline two"));
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].body, "the body\nline two");
  // No blank line: no body.
  EXPECT_THAT(Command(a, "DELETE " + server.Url("/echo")), StartsWith("status=200\n"));
  EXPECT_EQ(server.requests()[1].method, "DELETE");
  EXPECT_EQ(server.requests()[1].Header("Content-Length"), "");
}

TEST_F(HttpClientRuntimeTest, ErrorKindsReachTheActor) {
  TestHttpServer server;
  std::string a = Spawn(Manifest("timeout_ms = 300\nmax_response_bytes = 100\n"));
  EXPECT_THAT(Command(a, "GET " + server.Url("/slow/3000")), StartsWith("error:timeout: "));
  EXPECT_THAT(Command(a, "GET " + server.Url("/big/101")), StartsWith("error:limit: "));
  EXPECT_THAT(Command(a, "GET http://nonexistent.invalid/"), StartsWith("error:dns: "));
  EXPECT_THAT(Command(a, "GET ftp://127.0.0.1/"),
              StartsWith("error:invalid-argument: invalid URL 'ftp://127.0.0.1/'"));
  EXPECT_THAT(Command(a, "G(T " + server.Url("/echo")),
              StartsWith("error:invalid-argument: Invalid HTTP method: 'G(T'"));
  uint16_t port;
  {
    TestHttpServer gone;
    port = gone.port();
  }
  EXPECT_THAT(Command(a, "GET http://127.0.0.1:" + std::to_string(port) + "/"),
              StartsWith("error:connect: "));
}

// Permissions come from a parent's policy; refusals happen before any connection.
TEST_F(HttpClientRuntimeTest, DeniedHostsAndMethodsAreRefusedWithoutAConnection) {
  TestHttpServer server;
  std::string parent = Spawn(Manifest());
  std::string child =
      Spawn(Manifest("",
                     "[permission_policy.http_client]\ntype = \"restrict\"\n"
                     "[permission_policy.http_client.config]\n"
                     "allowed_hosts = [\"127.0.0.1\"]\nallowed_methods = [\"GET\"]\n"
                     "max_redirects = 2\n"),
            parent);
  EXPECT_EQ(Command(child, "GET " + server.Url("/echo", "localhost")),
            "error:permission-denied: Host 'localhost' not in allowed hosts: [\"127.0.0.1\"]");
  EXPECT_EQ(Command(child, "POST " + server.Url("/echo") + "\n\nx"),
            "error:permission-denied: Method 'POST' not in allowed methods: [\"GET\"]");
  EXPECT_EQ(server.connections(), 0);
  EXPECT_TRUE(server.requests().empty());

  // Allowed: works; a redirect to the denied host is refused before it is followed.
  EXPECT_THAT(Command(child, "GET " + server.Url("/echo")), StartsWith("status=200"));
  EXPECT_THAT(Command(child, "GET " + server.Url("/to?" + server.Url("/echo", "localhost"))),
              StartsWith("error:permission-denied: redirect from http://127.0.0.1:"));
  EXPECT_EQ(server.requests().size(), 2u);
  // The permission's max_redirects (2) narrows the config's default (10).
  EXPECT_THAT(Command(child, "GET " + server.Url("/redirect/2")), StartsWith("status=200"));
  EXPECT_THAT(Command(child, "GET " + server.Url("/redirect/3")),
              StartsWith("error:limit: too many redirects"));

  // Without the permission at all the actor host refuses the call.
  std::string none =
      Spawn(Manifest("", "[permission_policy.http_client]\ntype = \"disallow\"\n"), parent);
  int before = server.connections();
  EXPECT_THAT(Command(none, "GET " + server.Url("/echo")),
              HasSubstr("not permitted by effective permissions"));
  EXPECT_EQ(server.connections(), before);
}

TEST_F(HttpClientRuntimeTest, ConfigErrorsFailTheSpawn) {
  EXPECT_THAT(SpawnError(Manifest("timeout = 5\n")), HasSubstr("unknown key 'timeout'"));
  EXPECT_THAT(SpawnError(Manifest("ca_file = \"/nonexistent/ca.pem\"\n")),
              HasSubstr("ca_file: cannot read '/nonexistent/ca.pem'"));
  // Importing the interface without a [[handler]] table is refused, naming the table to add;
  // when the runtime adds the handler (auto_handlers), it works with the defaults.
  const std::string undeclared =
      "name = \"http\"\nversion = \"0.1.0\"\ncomponent = \"" + kProbe + "\"\n";
  EXPECT_THAT(SpawnError(undeclared), HasSubstr("does not declare the '"));
  SpawnRequest request;
  request.manifest = undeclared + "auto_handlers = true\n";
  EXPECT_TRUE(runtime_->Spawn(request).ok());
}

TEST_F(HttpClientRuntimeTest, TheChainRecordsTheCallWithItsInputsAndOutputs) {
  TestHttpServer server;
  std::string a = Spawn(Manifest());
  EXPECT_THAT(Command(a, "POST " + server.Url("/echo") + "\nX-Test: rec\n\nrecorded body"),
              StartsWith("status=200"));
  EXPECT_THAT(Command(a, "GET http://nonexistent.invalid/"), StartsWith("error:dns:"));
  ASSERT_TRUE(runtime_->VerifyChain(a).ok());
  std::vector<chain::HostCall> calls;
  for (const chain::HostCall& call : RecordedInChain<chain::HostCall>(a)) {
    if (call.interface == "theater:simple/http-client") calls.push_back(call);
  }
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].function, "send-http");
  std::string input = chain::ValueToJson(calls[0].input[0]).dump();
  EXPECT_THAT(input, HasSubstr("POST"));
  EXPECT_THAT(input, HasSubstr(server.Url("/echo")));
  EXPECT_THAT(input, HasSubstr("X-Test"));
  ASSERT_TRUE(calls[0].output.ok());
  std::string output = chain::ValueToJson(calls[0].output.values[0]).dump();
  EXPECT_THAT(output, HasSubstr("200"));
  EXPECT_THAT(output, HasSubstr("X-Echo-Test"));
  EXPECT_THAT(chain::ValueToJson(calls[1].output.values[0]).dump(), HasSubstr("dns: "));
}

// Requests suspend their actors, not the workers: with two workers, five actors' slow requests
// run at the same time (all done in about one server delay), and another actor still answers
// meanwhile.
TEST_F(HttpClientRuntimeTest, SlowRequestsDoNotHoldWorkers) {
  TestHttpServer server;
  std::vector<std::string> actors;
  for (int i = 0; i < 6; ++i) actors.push_back(Spawn(Manifest()));
  auto start = std::chrono::steady_clock::now();
  std::vector<std::future<std::string>> slow;
  for (int i = 0; i < 5; ++i) {
    slow.push_back(std::async(std::launch::async, [&, i] {
      return Command(actors[i], "GET " + server.Url("/slow/3000"));
    }));
  }
  ASSERT_TRUE(testing_util::WaitFor([&] { return server.requests().size() == 5; }));
  EXPECT_THAT(Command(actors[5], "GET " + server.Url("/echo")), StartsWith("status=200"));
  // Answered while all five still wait for theirs.
  for (auto& f : slow) EXPECT_EQ(f.wait_for(0ms), std::future_status::timeout);
  for (auto& f : slow) {
    std::string reply = f.get();
    EXPECT_THAT(reply, StartsWith("status=200\n"));
    EXPECT_THAT(reply, testing::EndsWith("\n\nslow"));
  }
  // About one server delay (a busy machine adds to it), not 3 x 3 s (5 requests, 2 workers).
  EXPECT_LT(std::chrono::steady_clock::now() - start, 6s);
}

// HTTPS: a self-signed certificate is refused by default and accepted through ca_file.
TEST_F(HttpClientRuntimeTest, TlsIsVerifiedByDefaultAndCaFileTrustsACertificate) {
  SSL_CTX* ctx = testing_util::MakeSelfSignedTls(home_.string());
  if (ctx == nullptr) GTEST_SKIP() << "openssl could not make a certificate";
  {
    TestHttpServer server(ctx);
    std::string strict = Spawn(Manifest());
    EXPECT_THAT(Command(strict, "GET " + server.Url("/echo", "localhost")),
                StartsWith("error:tls: https://localhost:"));
    std::string trusting = Spawn(Manifest("ca_file = \"" + (home_ / "cert.pem").string() + "\"\n"));
    EXPECT_THAT(Command(trusting, "POST " + server.Url("/echo", "localhost") + "\n\nsecret"),
                StartsWith("status=200\n"));
    EXPECT_EQ(server.requests().size(), 1u);
  }
  SSL_CTX_free(ctx);
}

// A forced stop cancels the suspended call, which must abort the transfer promptly.
TEST_F(HttpClientRuntimeTest, TerminatingAnActorAbortsItsRequest) {
  TestHttpServer server;
  std::string a = Spawn(Manifest());
  auto pending = std::async(std::launch::async,
                            [&] { return Command(a, "GET " + server.Url("/slow/20000")); });
  ASSERT_TRUE(testing_util::WaitFor([&] { return server.requests().size() == 1; }));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(runtime_->Terminate(a).ok());
  EXPECT_THAT(pending.get(), StartsWith("failed:"));
  EXPECT_TRUE(testing_util::WaitFor([&] { return server.abandoned() == 1; }));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);  // not the server's 20 s
}

}  // namespace
}  // namespace theater
