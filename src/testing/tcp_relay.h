// Theater: a WebAssembly actor runtime.
//
// TcpRelay: a loopback TCP relay for tests of what a client does when its connection drops:
// it listens on a free loopback port and relays each connection it accepts to `target_port`,
// both ways, until Cut() closes every connection it relays and refuses (accepts and closes at
// once) the new ones, as a network that fails would; Mend() lets them through again. A client
// pointed at the relay sees its server go and come back while the server and every other client
// go on undisturbed.
//
// Thread-safety: Cut and Mend may be called from any thread; one thread of its own relays.
// Ownership: owns its sockets and its thread; destroying it closes every connection.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace theater::testing_util {

class TcpRelay {
 public:
  explicit TcpRelay(int target_port) : target_port_(target_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = Loopback(0);
    socklen_t length = sizeof(address);
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~TcpRelay() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (auto& [client, server] : pairs_) {
      ::close(client);
      ::close(server);
    }
    if (listener_ >= 0) ::close(listener_);
  }
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  // Closes every relayed connection and refuses new ones until Mend().
  void Cut() { cut_ = true; }
  void Mend() { cut_ = false; }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    return address;
  }

  void CloseAll() {
    for (auto& [client, server] : pairs_) {
      ::close(client);
      ::close(server);
    }
    pairs_.clear();
  }

  void Accept() {
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    if (cut_) {
      ::close(client);
      return;
    }
    const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_in target = Loopback(target_port_);
    if (server < 0 ||
        ::connect(server, reinterpret_cast<const sockaddr*>(&target), sizeof(target)) != 0) {
      ::close(client);
      if (server >= 0) ::close(server);
      return;
    }
    pairs_.emplace_back(client, server);
  }

  // Copies what `from` has to `to`; false when `from` ended or either failed.
  static bool Copy(int from, int to) {
    char buffer[16384];
    const ssize_t got = ::recv(from, buffer, sizeof(buffer), 0);
    if (got <= 0) return false;
    for (ssize_t sent = 0; sent < got;) {
      const ssize_t n = ::send(to, buffer + sent, static_cast<size_t>(got - sent), MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += n;
    }
    return true;
  }

  void Run() {
    while (!stop_) {
      if (cut_ && !pairs_.empty()) CloseAll();
      std::vector<pollfd> fds{{listener_, POLLIN, 0}};
      for (const auto& [client, server] : pairs_) {
        fds.push_back({client, POLLIN, 0});
        fds.push_back({server, POLLIN, 0});
      }
      // A short timeout, so that Cut and the destructor are seen within 10 ms.
      if (::poll(fds.data(), fds.size(), 10) <= 0) continue;
      if ((fds[0].revents & POLLIN) != 0) Accept();
      std::vector<std::pair<int, int>> kept;
      for (size_t i = 0; i < (fds.size() - 1) / 2; ++i) {
        const auto [client, server] = pairs_[i];
        const short from_client = fds[1 + 2 * i].revents;
        const short from_server = fds[2 + 2 * i].revents;
        bool alive = true;
        if (from_client != 0) alive = Copy(client, server);
        if (alive && from_server != 0) alive = Copy(server, client);
        if (alive) {
          kept.emplace_back(client, server);
        } else {
          ::close(client);
          ::close(server);
        }
      }
      // Connections accepted this turn were not polled yet: they stay.
      for (size_t i = (fds.size() - 1) / 2; i < pairs_.size(); ++i) kept.push_back(pairs_[i]);
      pairs_ = std::move(kept);
    }
  }

  const int target_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> cut_{false};
  std::atomic<bool> stop_{false};
  std::vector<std::pair<int, int>> pairs_;  // (client, server), the relay thread's only
  std::thread thread_;
};

}  // namespace theater::testing_util
