// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for the dashboard (src/dashboard/): what a hostile browser controls, the HTTP
// request bytes (the WebSocket upgrade included) and the WebSocket frames after it. The input
// drives the real sessions (ServeHttp, site.h): the HTTP parser and its limits, the Host and
// Origin checks, the file server, Beast's WebSocket accept and frame reader, the bridge's
// text-only rule, its message limit and its FrameEncoder.
//
// Everything runs on the fuzzer's own thread, on one io_context, with no listener thread:
//   - the browser's connection is one end of a socketpair, the other handed to ServeHttp (a
//     stream socket is all the sessions use, and a pair leaves no TIME_WAIT behind however many
//     inputs run);
//   - the management server is a sink on 127.0.0.1 (port 0, started once per process) that
//     decodes what the bridge sends with the real FrameDecoder and answers as the input's first
//     byte says (its low two bits): echo every message; push a message first, then echo; close
//     after the first message; answer with the message itself as a frame's JSON (malformed,
//     mostly). A fake is enough: the management
//     server itself is management_fuzz's.
// The site is a loopback dashboard that believes it listens on 127.0.0.1:9001, so the seeds and
// the fuzzer can name its Host and Origin; its WebSocket message limit is 4 KiB (not 4 MiB) so
// that inputs can reach it.
//
// Per input: the bytes after the first are written to the browser's end, in two writes (the
// request, then once its answer is in, the frames) unless the first byte's bit 2 asks for one;
// once the sessions are quiet the browser half-closes and reads until the dashboard closes.
// Invariants checked besides "no crash, no leak, no hang":
//   - the reply is empty or starts with an HTTP/1.x status line, and its first response carries
//     the Content-Security-Policy header (every response does); after a 101, the dashboard's
//     frames are unmasked and well formed, its text messages and close reason UTF-8;
//   - the upgrade is accepted (101) only when the input holds an Origin the dashboard allows
//     ("http://" and one of its loopback Host names);
//   - the sink gets messages only after an accepted upgrade, each of them valid UTF-8 and within
//     the message limit, and every frame the bridge sends decodes;
//   - the first frame after an accepted upgrade, when it is a whole text message, reaches the
//     sink (a client that did not wait for the answer is refused, never silently dropped);
//   - every session (the HTTP one, the bridge, the bridge's management connection) is gone once
//     the browser has left (within 5 s, else it is reported as a hang).
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/utf8.h"
#include "dashboard/site.h"
#include "server/framing.h"

namespace {

using namespace theater;
using namespace theater::dashboard;

constexpr size_t kMaxMessageBytes = 4096;
constexpr size_t kMaxPendingToBrowser = 64u << 10;

[[noreturn]] void Fail(const std::string& what) {
  fprintf(stderr, "dashboard_ws_fuzz: %s\n", what.c_str());
  __builtin_trap();
}

// What the sink does with the bridge's connection (the input's first byte, low two bits).
enum class SinkMode : uint8_t {
  kEcho = 0,
  kPushThenEcho = 1,
  kCloseAfterFirst = 2,
  kMalformed = 3
};

// The state one input shares with the sink, reset per input.
struct Input {
  SinkMode mode = SinkMode::kEcho;
  size_t sink_messages = 0;  // messages the sink decoded in this input
  size_t sink_sessions = 0;  // sink connections open
};
Input g_input;

// One connection of the bridge to the management server, as the sink sees it.
class SinkSession : public std::enable_shared_from_this<SinkSession> {
 public:
  explicit SinkSession(tcp::socket socket) : socket_(std::move(socket)) { ++g_input.sink_sessions; }
  ~SinkSession() { --g_input.sink_sessions; }

  void Start() {
    if (g_input.mode == SinkMode::kPushThenEcho) Send("{\"Pushed\":\"hello from the sink\"}");
    Read();
  }

 private:
  void Read() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (!ec) self->OnRead(n);
                            });
  }

  void OnRead(size_t n) {
    std::vector<std::vector<uint8_t>> messages;
    Status fed = decoder_.Feed(std::span<const uint8_t>(buffer_.data(), n), messages);
    if (!fed.ok()) Fail("a frame from the bridge does not decode: " + fed.ToString());
    for (const std::vector<uint8_t>& m : messages) {
      ++g_input.sink_messages;
      const std::string_view text(reinterpret_cast<const char*>(m.data()), m.size());
      if (m.size() > kMaxMessageBytes) {
        Fail("the bridge carried a message of " + std::to_string(m.size()) +
             " bytes, over the page's limit");
      }
      if (!IsValidUtf8(text)) Fail("the bridge carried a message that is not UTF-8");
      switch (g_input.mode) {
        case SinkMode::kEcho:
        case SinkMode::kPushThenEcho:
          Send(text);
          break;
        case SinkMode::kCloseAfterFirst:
          return;  // the session ends: the socket closes under the bridge
        case SinkMode::kMalformed: {
          // The page's text as a frame's JSON (rarely a frame the bridge accepts): what the
          // bridge's decoder refuses, and how it tells the page, is then the input's.
          const auto n = static_cast<uint32_t>(text.size());
          std::string frame{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                            static_cast<char>(n >> 8), static_cast<char>(n)};
          out_.push_back(frame.append(text));
          Write();
          break;
        }
      }
    }
    Read();
  }

  void Send(std::string_view message) {
    std::string frame;
    encoder_.EncodeTo(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(message.data()), message.size()),
        frame);
    out_.push_back(std::move(frame));
    Write();
  }

  void Write() {
    if (writing_ || out_.empty()) return;
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        self->writing_ = false;
                        self->out_.erase(self->out_.begin());
                        if (!ec) self->Write();
                      });
  }

  tcp::socket socket_;
  std::array<uint8_t, 16 << 10> buffer_{};
  server::FrameDecoder decoder_;
  server::FrameEncoder encoder_{server::kCompactCompleteMax};
  std::vector<std::string> out_;
  bool writing_ = false;
};

// What lives for the whole process: the loop and the sink.
struct World {
  asio::io_context io;
  tcp::acceptor sink{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};

  World() { Accept(); }

  void Accept() {
    sink.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (!ec) std::make_shared<SinkSession>(std::move(socket))->Start();
      Accept();
    });
  }

  // Whether a connection waits in the sink's backlog (the bridge connected; the accept has not
  // run yet).
  bool SinkBacklog() {
    pollfd p{sink.native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }
};

World& TheWorld() {
  static World* world = new World();  // for the whole process
  return *world;
}

std::shared_ptr<Site> MakeSite(const World& world) {
  auto site = std::make_shared<Site>();
  site->options.address = "127.0.0.1:9001";
  site->options.max_ws_message_bytes = kMaxMessageBytes;
  site->options.max_pending_to_browser = kMaxPendingToBrowser;
  site->bound = "127.0.0.1:9001";
  site->port = 9001;
  site->loopback = true;
  site->management = world.sink.local_endpoint();
  return site;
}

// Runs ready handlers until a few polls in a row find none (on a socketpair and on loopback, a
// write is in the peer's buffer when it returns, so this is "everyone has reacted").
void RunUntilQuiet(asio::io_context& io) {
  for (int idle = 0, rounds = 0; idle < 3 && rounds < 100000; ++rounds) {
    idle = io.poll() == 0 ? idle + 1 : 0;
  }
  io.restart();
}

// The frames the dashboard sent after its 101: never masked (RFC 6455, 5.1), each message whole
// before another starts, text messages and close reasons valid UTF-8, a close reason at most 123
// bytes. Stops at the first frame the reply holds only part of.
void CheckServerFrames(std::string_view bytes) {
  std::string message;
  bool in_message = false;
  while (bytes.size() >= 2) {
    const auto b0 = static_cast<uint8_t>(bytes[0]);
    const auto b1 = static_cast<uint8_t>(bytes[1]);
    if (b1 & 0x80) Fail("the dashboard sent a masked frame");
    if (b0 & 0x70) Fail("the dashboard sent a frame with reserved bits set");
    size_t length = b1 & 0x7f;
    size_t header = 2;
    if (length == 126) {
      if (bytes.size() < 4) return;
      length = (static_cast<uint8_t>(bytes[2]) << 8) | static_cast<uint8_t>(bytes[3]);
      header = 4;
    } else if (length == 127) {
      if (bytes.size() < 10) return;
      length = 0;
      for (int i = 2; i < 10; ++i) length = (length << 8) | static_cast<uint8_t>(bytes[i]);
      header = 10;
    }
    if (bytes.size() - header < length) return;
    const std::string_view payload = bytes.substr(header, length);
    bytes.remove_prefix(header + length);
    const bool fin = (b0 & 0x80) != 0;
    switch (b0 & 0x0f) {
      case 0x0:  // continuation
        if (!in_message) Fail("a continuation frame with no message begun");
        message.append(payload);
        break;
      case 0x1:  // text
        if (in_message) Fail("a text frame inside another message");
        message.assign(payload);
        in_message = true;
        break;
      case 0x8:  // close
        if (payload.size() == 1 || payload.size() > 125) Fail("a malformed close frame");
        if (payload.size() > 2 && !IsValidUtf8(payload.substr(2))) {
          Fail("a close reason that is not UTF-8");
        }
        return;  // nothing follows a close
      case 0x9:
      case 0xa:
        if (!fin || payload.size() > 125) Fail("a malformed control frame");
        continue;
      default:
        Fail("the dashboard sent a frame of opcode " + std::to_string(b0 & 0x0f));
    }
    if (fin) {
      if (!IsValidUtf8(message)) Fail("the dashboard sent a text message that is not UTF-8");
      in_message = false;
    }
  }
}

// Whether `bytes` begin with a whole, masked, unfragmented text frame (no reserved bits, a
// 7-bit length) whose payload is UTF-8 within the message limit: a message the bridge must carry.
bool StartsWithCarriableText(std::string_view bytes) {
  if (bytes.size() < 6) return false;
  const auto b0 = static_cast<uint8_t>(bytes[0]);
  const auto b1 = static_cast<uint8_t>(bytes[1]);
  if (b0 != 0x81 || (b1 & 0x80) == 0) return false;
  const size_t length = b1 & 0x7f;
  if (length >= 126 || bytes.size() < 6 + length) return false;
  std::string payload(bytes.substr(6, length));
  for (size_t i = 0; i < payload.size(); ++i) payload[i] ^= bytes[2 + i % 4];
  return IsValidUtf8(payload);
}

void CheckReply(std::string_view input, std::string_view reply) {
  // An interim "100 Continue" (the request said "Expect: 100-continue" and has a body to come) is
  // no response of its own: it carries no headers, and the response that follows is checked.
  constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  while (reply.starts_with(kContinue)) reply.remove_prefix(kContinue.size());
  if (reply.empty()) return;
  if (!reply.starts_with("HTTP/1.")) {
    Fail("the reply does not start with a status line: " + std::string(reply.substr(0, 60)));
  }
  const size_t end = reply.find("\r\n\r\n");
  const std::string_view head = reply.substr(0, end);
  if (head.find("\r\nContent-Security-Policy: ") == std::string_view::npos) {
    Fail("a response without its Content-Security-Policy: " + std::string(head.substr(0, 200)));
  }
  if (reply.starts_with("HTTP/1.1 101")) {
    if (end != std::string_view::npos) CheckServerFrames(reply.substr(end + 4));
    bool origin = false;
    for (std::string_view host : {"127.0.0.1:9001", "localhost:9001", "[::1]:9001"}) {
      if (input.find("http://" + std::string(host)) != std::string_view::npos) origin = true;
    }
    if (!origin) Fail("the WebSocket was accepted without an Origin the dashboard allows");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  World& world = TheWorld();
  asio::io_context& io = world.io;
  g_input.mode = static_cast<SinkMode>(data[0] & 3);
  g_input.sink_messages = 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);

  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) Fail("socketpair failed");
  std::shared_ptr<Site> site = MakeSite(world);
  {
    tcp::socket served(io);
    served.assign(tcp::v4(), pair[0]);
    site->open.fetch_add(1);  // as the listener counts each connection it hands over
    ServeHttp(site, std::move(served));
  }
  tcp::socket browser(io);
  browser.assign(tcp::v4(), pair[1]);

  // The browser: writes the input while reading whatever comes back.
  std::string reply;
  std::array<char, 16 << 10> buffer{};
  bool written = false;
  bool left = false;  // the dashboard closed (or reset) the connection
  std::function<void()> read = [&] {
    browser.async_read_some(asio::buffer(buffer), [&](beast::error_code ec, size_t n) {
      if (ec) {
        left = true;
        return;
      }
      if (reply.size() < (1u << 20)) reply.append(buffer.data(), n);
      read();
    });
  };
  read();
  // As a browser does, the frames go once the upgrade's answer is in (RFC 6455, 4.1): the bytes
  // up to the end of the first header block, then, the sessions quiet, the rest. With the input's
  // bit 2 set, all at once, as a client that does not wait sends them.
  size_t first = input.size();
  if ((data[0] & 4) == 0) {
    if (const size_t end = input.find("\r\n\r\n"); end != std::string::npos) first = end + 4;
  }
  auto write = [&](std::string_view bytes) {
    written = false;
    asio::async_write(browser, asio::buffer(bytes.data(), bytes.size()),
                      [&](beast::error_code, size_t) { written = true; });
  };
  write(std::string_view(input).substr(0, first));

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto step = [&] {
    if (std::chrono::steady_clock::now() > deadline) {
      Fail("the dashboard's sessions outlived the browser by 5 s (open " +
           std::to_string(site->open.load()) + ", sink " + std::to_string(g_input.sink_sessions) +
           ")");
    }
    io.run_one_for(std::chrono::milliseconds(50));
  };
  while (!written) step();
  RunUntilQuiet(io);
  if (first < input.size()) {
    write(std::string_view(input).substr(first));
    while (!written) step();
    RunUntilQuiet(io);
  }
  beast::error_code ignored;
  browser.shutdown(tcp::socket::shutdown_send, ignored);
  for (;;) {
    while (!left || site->open.load() > 0 || g_input.sink_sessions > 0 || world.SinkBacklog()) {
      step();
    }
    RunUntilQuiet(io);  // an accept the reactor took but whose handler has not run
    if (g_input.sink_sessions == 0) break;
  }
  browser.close(ignored);
  io.restart();

  CheckReply(input, reply);
  if (g_input.sink_messages > 0 && !reply.starts_with("HTTP/1.1 101")) {
    Fail("the management server got messages without an accepted upgrade");
  }
  // The first frame after an accepted upgrade, when it is a whole text message, is never lost
  // (whether or not the client waited for the answer before sending it).
  if (const size_t end = input.find("\r\n\r\n");
      end != std::string::npos && reply.starts_with("HTTP/1.1 101") && g_input.sink_messages == 0 &&
      StartsWithCarriableText(std::string_view(input).substr(end + 4))) {
    Fail("the first message after the upgrade never reached the management server");
  }
  return 0;
}
