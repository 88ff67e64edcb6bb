// Theater: a WebAssembly actor runtime.
//
// Test support: a real HTTP server on loopback serving a directory (Python's http.server, started
// as a child process on a port the kernel picks), for tests of URL references. Header-only, used
// by tests only. Not thread-safe; the destructor kills the server.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace theater::testing {

class TestHttpServer {
 public:
  // Serves `root` on 127.0.0.1; ok() is false (and error() says why) when it could not start.
  explicit TestHttpServer(const std::filesystem::path& root) {
    int out[2];
    if (::pipe(out) != 0) {
      error_ = "pipe failed";
      return;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      // Binds port 0, prints the port the kernel chose, then serves until killed.
      const char* script =
          "import functools, http.server, sys\n"
          "class Quiet(http.server.SimpleHTTPRequestHandler):\n"
          "    def log_message(self, *args): pass\n"
          "handler = functools.partial(Quiet, directory=sys.argv[1])\n"
          "server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)\n"
          "print(server.server_address[1], flush=True)\n"
          "server.serve_forever()\n";
      ::execlp("python3", "python3", "-c", script, root.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* from_child = ::fdopen(out[0], "r");
    if (pid_ < 0 || from_child == nullptr || std::fscanf(from_child, "%d", &port_) != 1) {
      error_ = "python3 http.server did not start";
      port_ = 0;
    }
    if (from_child != nullptr) std::fclose(from_child);
  }

  ~TestHttpServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  bool ok() const { return port_ > 0; }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  // "http://127.0.0.1:<port>/<path>"
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/" + path;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string error_;
};

}  // namespace theater::testing
