// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for the http-framework's HTTP server (src/handlers/http-framework/
// http_server.cc): what any HTTP client sends to an actor's server. Beast's request parser is
// not callable without a stream, so the target talks to a real HttpServer on 127.0.0.1 (started
// once, reused by every input) over a loopback socket: it sends the input's bytes, half-closes,
// and reads until the server closes.
//
// The server's actor is a stand-in (an ActorPort) whose behaviour the first input byte picks:
// answer with a response built from the request (echoing its body and a header), fail, return
// a malformed result, not answer at all (the request timeout answers 504), refuse the call (503),
// and for middleware allow or forbid; WebSocket messages are echoed. Routes, middleware and a
// WebSocket endpoint cover every stage of the pipeline.
//
// Invariants: the server answers with HTTP/1.x status lines (or nothing), never crashes, and
// every connection it opened for an input is gone within a few seconds of the client leaving
// (no session outlives its client: a leak here is a slot lost for good).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/io_loop_threads.h"
#include "handlers/support/http-server/http_server.h"
#include "handlers/support/http-server/route_table.h"

namespace {

using namespace theater;
using namespace theater::handlers::http;
using abi::Value;

std::atomic<uint8_t> g_behaviour{0};

class FakeActor : public ActorPort {
 public:
  Status Call(std::string_view function, std::vector<Value> params, Done done) override {
    const uint8_t b = g_behaviour.load();
    if (function == "handle-middleware") {
      // (handler-id, request) -> (record {proceed, request},)
      bool proceed = (b & 0x10) == 0;
      done(std::vector<Value>{Value::Tuple({Value::Record({Value::Bool(proceed), params[1]})})});
      return Status();
    }
    if (function == "handle-websocket-connect") {
      done(std::vector<Value>{Value::Tuple({})});
      return Status();
    }
    if (function == "handle-websocket-message") {
      // Echo the message.
      done(std::vector<Value>{Value::Tuple({Value::List({params[2]})})});
      return Status();
    }
    switch (b & 7) {
      case 0:
      case 1:
      case 2: {
        const Value& request = params[1];  // {method, uri, headers, body}
        std::vector<Value> headers;
        headers.push_back(Value::Tuple({Value::String("X-Method"), request.items()[0]}));
        for (const Value& h : request.items()[2].items()) {
          if (headers.size() < 8) headers.push_back(h);  // echo some (framing ones are dropped)
        }
        uint16_t status = static_cast<uint16_t>((b & 2) ? 200 + (b >> 3) : 99 + (b >> 2));
        done(std::vector<Value>{Value::Tuple({Value::Record(
            {Value::U16(status), Value::List(std::move(headers)), request.items()[3]})})});
        return Status();
      }
      case 3:
        done(Status(StatusCode::kInternal, "the actor trapped"));
        return Status();
      case 4:
        done(std::vector<Value>{Value::U32(7)});  // malformed
        return Status();
      case 5:
        return Status();  // never answers: `done` is dropped, the request timeout fires
      case 6:
        return Status(StatusCode::kResourceExhausted, "mailbox full");
      default:
        return Status(StatusCode::kFailedPrecondition, "no such export");
    }
  }
};

HttpServer& Server() {
  static HttpServer* server = [] {
    auto routing = std::make_shared<Routing>();
    uint64_t id = 1;
    auto add = [&](const char* method, const char* pattern) {
      Route route{id++, *RoutePattern::Parse(pattern), method, id};
      if (!routing->routes.Add(route).ok()) __builtin_trap();
    };
    add("GET", "/");
    add("POST", "/echo");
    add("GET", "/users/{id}");
    add("DELETE", "/users/{id}");
    add("PUT", "/files/{*rest}");
    add("GET", "/files/{*rest}");
    routing->middleware.push_back({1, "/users", 50});
    routing->middleware.push_back({2, "/files/", 51});
    routing->websockets["/ws"] = WebSocketEndpoint{60, 61, 62};
    HttpServer::Options options;
    options.limits.max_body_bytes = 4096;
    options.limits.max_header_bytes = 2048;
    options.limits.request_timeout = std::chrono::milliseconds(100);
    options.limits.idle_timeout = std::chrono::milliseconds(1000);
    options.limits.shutdown_timeout = std::chrono::milliseconds(100);
    options.limits.max_connections = 64;
    // The server runs on a loop of its own, as a runtime's would run it (for the whole process).
    static theater::IoLoopThreads* loop = new theater::IoLoopThreads(1);
    Result<std::unique_ptr<HttpServer>> started =
        HttpServer::Start(loop->context(), options, std::make_shared<FakeActor>(), routing);
    if (!started.ok()) {
      fprintf(stderr, "cannot start the server: %s\n", started.status().ToString().c_str());
      abort();
    }
    return started->release();  // lives for the whole process
  }();
  return *server;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  HttpServer& server = Server();
  g_behaviour = data[0];
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = -1;
  // Tens of thousands of connections a minute can run the loopback's ephemeral ports short for
  // a moment (TIME_WAIT): retry for a while before calling it a failure.
  for (int attempt = 0; fd < 0; ++attempt) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      perror("socket");
      abort();
    }
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
    int err = errno;
    close(fd);
    fd = -1;
    if (attempt == 200) {
      fprintf(stderr, "cannot connect to the server: %s\n", strerror(err));
      abort();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Closing with a reset leaves no TIME_WAIT on the client's side.
  linger no_linger{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger);
  // Send while reading, so a large input cannot deadlock against a server that answers early.
  size_t sent = 0;
  std::string reply;
  bool write_closed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    if (sent == size - 1 && !write_closed) {
      shutdown(fd, SHUT_WR);
      write_closed = true;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (write_closed ? 0 : POLLOUT)), 0};
    if (poll(&p, 1, 100) <= 0) continue;
    if (p.revents & POLLIN) {
      char buf[4096];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;  // closed (or reset) by the server
      if (reply.size() < 65536) reply.append(buf, static_cast<size_t>(n));
    }
    if (!write_closed && (p.revents & POLLOUT)) {
      ssize_t n = send(fd, data + 1 + sent, size - 1 - sent, MSG_NOSIGNAL);
      if (n < 0) {
        shutdown(fd, SHUT_WR);
        write_closed = true;
      } else {
        sent += static_cast<size_t>(n);
      }
    }
  }
  close(fd);
  if (!reply.empty() && reply.rfind("HTTP/1.", 0) != 0) {
    fprintf(stderr, "the reply does not start with a status line: %s\n",
            reply.substr(0, 80).c_str());
    __builtin_trap();
  }
  // The session must go with its client.
  for (int i = 0; i < 500 && server.open_connections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (server.open_connections() > 0) {
    fprintf(stderr, "%zu connections still open 5 s after the client left\n",
            server.open_connections());
    __builtin_trap();
  }
  return 0;
}
