// Theater: a WebAssembly actor runtime.
//
// Runs one test of the current test binary again inside a network namespace of its own, where
// the loopback interface also carries an address that is not loopback (kNamespaceAddress). A
// test there can listen on, and connect from, an address the server must treat as "beyond
// loopback", without touching the host's interfaces and whatever the host's own addresses are.
//
// Usage, at the top of a test:
//   if (!testing_util::InNetworkNamespace()) {
//     testing_util::ExpectPassesInNetworkNamespace();
//     return;
//   }
//   ... the test proper, run in the namespace ...
//
// Making a network namespace needs CAP_SYS_ADMIN (root, as the project's CI runs); without it
// the test is skipped with that reason.
//
// Thread-safety: call from the test's thread. The child is forked and at once execs the test
// binary; between the two it makes only system calls (it may be forked from a threaded process).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace theater::testing_util {

// An address of no real network (TEST-NET-2 is reserved for documentation; this one is as good
// and never routed beyond the namespace), on the namespace's loopback interface.
inline constexpr const char* kNamespaceAddress = "10.251.0.1";
inline constexpr const char* kInNamespaceVariable = "THEATER_TEST_IN_NETWORK_NAMESPACE";
// The child's exit code when it could not make the namespace (no CAP_SYS_ADMIN).
inline constexpr int kNoNamespaceExit = 77;

inline bool InNetworkNamespace() {
  return std::getenv(kInNamespaceVariable) != nullptr;
}

namespace network_namespace_detail {

// In the forked child: brings `lo` up and adds kNamespaceAddress on it (as the alias lo:1).
inline bool ConfigureLoopback() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(fd, SIOCGIFFLAGS, &request) != 0) return false;
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(fd, SIOCSIFFLAGS, &request) != 0) return false;
  ifreq alias{};
  std::strncpy(alias.ifr_name, "lo:1", IFNAMSIZ - 1);
  auto* address = reinterpret_cast<sockaddr_in*>(&alias.ifr_addr);
  address->sin_family = AF_INET;
  if (::inet_pton(AF_INET, kNamespaceAddress, &address->sin_addr) != 1) return false;
  if (::ioctl(fd, SIOCSIFADDR, &alias) != 0) return false;
  ::close(fd);
  return true;
}

}  // namespace network_namespace_detail

// Runs the current test (its full name from gtest) alone in a new network namespace and expects
// it to pass there; its output is shown when it does not. Skips when no namespace can be made.
inline void ExpectPassesInNetworkNamespace(
    std::chrono::seconds timeout = std::chrono::seconds(180)) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string filter =
      std::string("--gtest_filter=") + test->test_suite_name() + "." + test->name();
  const std::filesystem::path log = std::filesystem::temp_directory_path() /
                                    ("theater-netns-" + std::to_string(::getpid()) + ".log");
  // Everything the child needs is built before the fork.
  std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.push_back(std::string(kInNamespaceVariable) + "=1");
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> argv = {exe.data(), const_cast<char*>(filter.c_str()), nullptr};
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(out, 0) << "cannot write " << log;

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << "fork failed";
  if (pid == 0) {
    if (::unshare(CLONE_NEWNET) != 0) ::_exit(kNoNamespaceExit);
    if (!network_namespace_detail::ConfigureLoopback()) ::_exit(kNoNamespaceExit + 1);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    ::execve(exe.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pid_t done = 0;
  while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  std::stringstream output;
  output << std::ifstream(log).rdbuf();
  std::error_code ec;
  std::filesystem::remove(log, ec);
  ASSERT_NE(done, 0) << "the test did not end within " << timeout.count()
                     << " s in its network namespace:\n"
                     << output.str();
  ASSERT_TRUE(WIFEXITED(status)) << "the test died in its network namespace:\n" << output.str();
  if (WEXITSTATUS(status) == kNoNamespaceExit) {
    GTEST_SKIP() << "cannot make a network namespace here (needs CAP_SYS_ADMIN, as root has)";
  }
  ASSERT_NE(WEXITSTATUS(status), kNoNamespaceExit + 1)
      << "could not configure the namespace's loopback interface";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "in its network namespace:\n" << output.str();
  // A test that ran nothing there would pass vacuously: the child must have run it.
  EXPECT_NE(output.str().find("[  PASSED  ] 1 test"), std::string::npos) << output.str();
}

}  // namespace theater::testing_util
