// Theater: a WebAssembly actor runtime.
//
// Helpers the management server's tests share: a runtime and a server on a free loopback port
// (TestServer), and a raw TCP connection (RawSocket) for bytes no well-behaved client sends —
// from a chosen loopback source address, so that tests can play several peers.
//
// Thread-safety: test helpers, used from one thread each.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "testing/runtime_test_util.h"
#include "server/client.h"
#include "server/framing.h"
#include "server/management_server.h"
#include "server/protocol.h"
#include "theater/builtins.h"

namespace theater::server::server_testing {

// A runtime in a fresh home (chains saved, no fsync) and a server on it.
class TestServer {
 public:
  explicit TestServer(ServerOptions options = {}, bool persist = true) {
    home_ = testing_util::NewTestHome("theater-server");
    RuntimeOptions runtime_options = testing_util::TestRuntimeOptions(home_);
    runtime_options.durability = chain::Durability::kNone;
    runtime_options.save_all_chains = persist;
    runtime_options.persist = persist;
    auto rt = TheaterRuntime::Create(runtime_options, BuiltinHandlers());
    EXPECT_TRUE(rt.ok()) << rt.status().ToString();
    if (!rt.ok()) return;
    runtime_ = std::move(rt).value();
    if (options.address == ServerOptions{}.address) options.address = "127.0.0.1:0";
    token_ = options.token;
    auto server = ManagementServer::Start(*runtime_, std::move(options));
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    if (server.ok()) server_ = std::move(server).value();
  }
  ~TestServer() {
    if (server_) server_->Stop();
    server_.reset();
    if (runtime_) testing_util::ExpectEveryChainReplays(*runtime_);
    runtime_.reset();
    std::error_code ec;
    std::filesystem::remove_all(home_, ec);
  }
  bool ok() const { return server_ != nullptr; }
  TheaterRuntime& runtime() { return *runtime_; }
  ManagementServer& server() { return *server_; }
  std::string address() const { return server_->address(); }
  const std::filesystem::path& home() const { return home_; }

  // A client (authenticated with the server's token, if it has one); null on failure.
  std::unique_ptr<ManagementClient> Connect(std::optional<std::string> address = std::nullopt) {
    ManagementClient::Options options;
    options.address = address ? *address : server_->address();
    options.token = token_;
    auto client = ManagementClient::Connect(options);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

 private:
  std::filesystem::path home_;
  std::optional<std::string> token_;
  std::unique_ptr<TheaterRuntime> runtime_;
  std::unique_ptr<ManagementServer> server_;
};

// A raw TCP connection, for bytes no well-behaved client sends. `source` (an IPv4 address such
// as "127.0.0.7") binds the local end first: every 127.x.y.z is this host, and a distinct peer
// address to the server.
class RawSocket {
 public:
  explicit RawSocket(const std::string& address, const std::string& source = "",
                     int receive_buffer = 0) {
    auto hp = SplitAddress(address);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    }
    if (!source.empty()) {
      sockaddr_in local{};
      local.sin_family = AF_INET;
      ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
      if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) return;
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(hp->second);
    ::inet_pton(AF_INET, hp->first.c_str(), &sa.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
    SetTimeout(std::chrono::seconds(10));
  }
  ~RawSocket() { ::close(fd_); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }
  void SetTimeout(std::chrono::milliseconds timeout) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }
  // Sends every byte; false when the connection refused them.
  bool TrySend(std::string_view bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  void Send(std::string_view bytes) { ASSERT_TRUE(TrySend(bytes)); }
  // The frame (length prefix included) holding `json_text`.
  static std::string Frame(std::string_view json_text) {
    std::string frame(4, '\0');
    uint32_t n = static_cast<uint32_t>(json_text.size());
    frame[0] = static_cast<char>(n >> 24);
    frame[1] = static_cast<char>(n >> 16);
    frame[2] = static_cast<char>(n >> 8);
    frame[3] = static_cast<char>(n);
    frame += json_text;
    return frame;
  }
  void SendFrame(std::string_view json_text) { Send(Frame(json_text)); }
  // The frames of a message as the original's clients send it: one Complete frame.
  std::string MessageFrames(std::string_view message) {
    std::string out;
    for (auto& frame :
         encoder_.Encode({reinterpret_cast<const uint8_t*>(message.data()), message.size()})) {
      out.append(reinterpret_cast<const char*>(frame.data()), frame.size());
    }
    return out;
  }
  void SendMessage(std::string_view message) { Send(MessageFrames(message)); }
  // The next message, or nullopt when the server closed the connection (or the timeout passed).
  std::optional<nlohmann::json> Receive() {
    std::vector<std::vector<uint8_t>> messages;
    while (pending_.empty()) {
      uint8_t buffer[65536];
      ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) return std::nullopt;
      messages.clear();
      if (!decoder_.Feed({buffer, static_cast<size_t>(n)}, messages).ok()) return std::nullopt;
      for (auto& m : messages) pending_.push_back(nlohmann::json::parse(m.begin(), m.end()));
    }
    nlohmann::json front = pending_.front();
    pending_.erase(pending_.begin());
    return front;
  }
  // Whether the server closed the connection (reads EOF before the timeout).
  bool ClosedByServer() {
    for (;;) {
      uint8_t buffer[4096];
      ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
      if (n == 0) return true;
      if (n < 0) return false;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  FrameEncoder encoder_;
  FrameDecoder decoder_;
  std::vector<nlohmann::json> pending_;
};

// Raises this process's soft limit on open files to its hard limit (tests that open thousands
// of connections hold both ends). Returns the limit now in force.
inline rlim_t RaiseFileLimit() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return 0;
  if (files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    getrlimit(RLIMIT_NOFILE, &files);
  }
  return files.rlim_cur;
}

// An IPv4 address of this host that is not loopback (a connection to it has a non-loopback peer
// address), or nullopt when the host has none.
inline std::optional<std::string> NonLoopbackAddress() {
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (ifaddrs* a = all; a && !found; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET) continue;
    if ((a->ifa_flags & IFF_UP) == 0 || (a->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char text[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text))) found = text;
  }
  freeifaddrs(all);
  return found;
}

}  // namespace theater::server::server_testing
