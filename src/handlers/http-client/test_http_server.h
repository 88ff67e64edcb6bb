// Theater: a WebAssembly actor runtime.
//
// TestHttpServer: a small real HTTP/1.1 server on 127.0.0.1 for the http-client tests — plain
// sockets, one thread per connection, one request per connection (`Connection: close`), and
// optionally TLS through OpenSSL. It records every connection and request so that tests can
// assert what reached it (or that nothing did). Routes:
//   /echo...          200; body = the request body; X-Method = the method; X-Echo-Test = the
//                     request's X-Test header; HEAD gets the headers only
//   /redirect/<n>     302 to /redirect/<n-1>; /redirect/0 answers 200 "landed"
//   /to?<url>         302 to <url> (absolute)
//   /see-other, /temp 303 and 307 to /echo
//   /slow/<ms>        waits <ms> (noticing when the client goes away), then 200 "slow"
//   /big/<n>          200 with n bytes of 'x' and a Content-Length
//   /stream/<n>       the same without Content-Length (the body ends with the connection)
//   /status/<code>    that status, body "status"
//   /headers/<n>      200 with n headers of 1 KiB each
//
// Thread-safety: every public member may be called from any thread. Test-only code.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace theater::testing_util {

// Writes a self-signed certificate for "localhost" (only) and its key to dir/cert.pem and
// dir/key.pem with the openssl command line, and returns a server context using them, or null
// when openssl cannot make them. The caller frees the context (SSL_CTX_free).
inline SSL_CTX* MakeSelfSignedTls(const std::string& dir) {
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return nullptr;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (SSL_CTX_use_certificate_file(ctx, (dir + "/cert.pem").c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, (dir + "/key.pem").c_str(), SSL_FILETYPE_PEM) != 1) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

class TestHttpServer {
 public:
  struct Request {
    std::string method, target;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string Header(const std::string& name) const {
      for (const auto& [n, v] : headers) {
        if (strcasecmp(n.c_str(), name.c_str()) == 0) return v;
      }
      return "";
    }
  };

  // Listens on 127.0.0.1 on a free port; serves TLS with `tls` (not owned) when given.
  explicit TestHttpServer(SSL_CTX* tls = nullptr) : tls_(tls) {
    // OpenSSL writes with write(2): a client that hung up must not kill the test with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd_, 64) != 0) {
      std::abort();
    }
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~TestHttpServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(fd_);
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  uint16_t port() const { return port_; }
  std::string Url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return std::string(tls_ ? "https" : "http") + "://" + host + ":" + std::to_string(port_) + path;
  }
  int connections() const { return connections_; }
  // Connections whose client went away while a /slow answer was pending.
  int abandoned() const { return abandoned_; }
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  struct Conn {
    int fd;
    SSL* ssl = nullptr;
    ssize_t Read(char* buf, size_t n) {
      if (ssl) return SSL_read(ssl, buf, static_cast<int>(n));
      return ::recv(fd, buf, n, 0);
    }
    void Write(const std::string& data) {
      size_t at = 0;
      while (at < data.size()) {
        ssize_t w = ssl ? SSL_write(ssl, data.data() + at, static_cast<int>(data.size() - at))
                        : ::send(fd, data.data() + at, data.size() - at, MSG_NOSIGNAL);
        if (w <= 0) return;
        at += static_cast<size_t>(w);
      }
    }
  };

  void Accept() {
    while (!stop_) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        if (stop_) return;
        continue;
      }
      ++connections_;
      std::lock_guard<std::mutex> lock(mu_);
      threads_.emplace_back([this, c] { Serve(c); });
    }
  }

  void Serve(int fd) {
    Conn conn{fd};
    if (tls_) {
      conn.ssl = SSL_new(tls_);
      SSL_set_fd(conn.ssl, fd);
      if (SSL_accept(conn.ssl) <= 0) {
        SSL_free(conn.ssl);
        ::close(fd);
        return;
      }
    }
    Handle(conn);
    if (conn.ssl) {
      SSL_shutdown(conn.ssl);
      SSL_free(conn.ssl);
    }
    ::close(fd);
  }

  static std::string Reply(int status, const std::string& body,
                           const std::vector<std::string>& headers = {}, bool length = true,
                           bool head = false) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\nConnection: close\r\n";
    for (const std::string& h : headers) out += h + "\r\n";
    if (length) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += "\r\n";
    if (!head) out += body;
    return out;
  }

  void Handle(Conn& conn) {
    std::string data;
    char buf[16384];
    size_t end;
    while ((end = data.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = conn.Read(buf, sizeof(buf));
      if (n <= 0 || data.size() > (1 << 20)) return;
      data.append(buf, static_cast<size_t>(n));
    }
    Request req;
    std::string head = data.substr(0, end);
    std::string rest = data.substr(end + 4);
    size_t line_end = head.find("\r\n");
    std::string first = head.substr(0, line_end);
    size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
    req.method = first.substr(0, sp1);
    req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t content_length = 0;
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        req.headers.emplace_back(line.substr(0, colon), value);
        if (strcasecmp(line.substr(0, colon).c_str(), "content-length") == 0) {
          content_length = std::stoul(value);
        }
      }
      pos = e + 2;
    }
    while (rest.size() < content_length) {
      ssize_t n = conn.Read(buf, sizeof(buf));
      if (n <= 0) return;
      rest.append(buf, static_cast<size_t>(n));
    }
    req.body = rest.substr(0, content_length);
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(req);
    }
    const std::string& t = req.target;
    bool is_head = req.method == "HEAD";
    auto num = [&](size_t prefix) { return std::stoull(t.substr(prefix)); };
    if (t.rfind("/echo", 0) == 0) {
      conn.Write(Reply(200, req.body,
                       {"X-Method: " + req.method, "X-Echo-Test: " + req.Header("X-Test"),
                        "Content-Type: text/plain"},
                       true, is_head));
    } else if (t.rfind("/redirect/", 0) == 0) {
      uint64_t n = num(10);
      if (n == 0) {
        conn.Write(Reply(200, "landed", {}, true, is_head));
      } else {
        conn.Write(Reply(302, "", {"Location: /redirect/" + std::to_string(n - 1)}));
      }
    } else if (t.rfind("/to?", 0) == 0) {
      conn.Write(Reply(302, "", {"Location: " + t.substr(4)}));
    } else if (t == "/see-other") {
      conn.Write(Reply(303, "", {"Location: /echo"}));
    } else if (t == "/temp") {
      conn.Write(Reply(307, "", {"Location: /echo"}));
    } else if (t.rfind("/slow/", 0) == 0) {
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(num(6));
      while (std::chrono::steady_clock::now() < until && !stop_) {
        pollfd p{conn.fd, POLLIN, 0};
        if (::poll(&p, 1, 10) > 0) {
          char c;
          if (::recv(conn.fd, &c, 1, MSG_PEEK) <= 0) {
            ++abandoned_;
            return;
          }
        }
      }
      conn.Write(Reply(200, "slow"));
    } else if (t.rfind("/big/", 0) == 0) {
      conn.Write(Reply(200, std::string(num(5), 'x'), {}, true, is_head));
    } else if (t.rfind("/stream/", 0) == 0) {
      conn.Write(Reply(200, std::string(num(8), 'x'), {}, false, is_head));
    } else if (t.rfind("/headers/", 0) == 0) {
      std::vector<std::string> many;
      for (uint64_t i = 0; i < num(9); ++i) {
        many.push_back("X-H" + std::to_string(i) + ": " + std::string(1024, 'h'));
      }
      conn.Write(Reply(200, "many", many));
    } else if (t.rfind("/status/", 0) == 0) {
      conn.Write(Reply(static_cast<int>(num(8)), "status", {}, true, is_head));
    } else {
      conn.Write(Reply(404, "no such route"));
    }
  }

  SSL_CTX* tls_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> abandoned_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> threads_;  // guarded by mu_
  std::vector<Request> requests_;     // guarded by mu_
};

}  // namespace theater::testing_util
