// Theater: a WebAssembly actor runtime.
//
// Test support: SilentListener, a TCP listener on 127.0.0.1 that never accepts or answers. The
// kernel completes handshakes from its backlog, so a client connects and then waits for a reply
// that never comes: the shape of a server that hangs. Close() resets the waiting connections,
// so a client blocked on one fails at once. Header-only, for tests; not thread-safe.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace theater::testing {

class SilentListener {
 public:
  // `backlog`: how many connections the kernel completes and holds (beyond it, a client's
  // connect waits for a SYN that is never answered: as silent, but a different failure).
  explicit SilentListener(int backlog = 16) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, backlog) != 0) {
      Close();
      return;
    }
    socklen_t len = sizeof addr;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~SilentListener() { Close(); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool ok() const { return port_ != 0; }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace theater::testing
