// Theater: a WebAssembly actor runtime.
//
// A process that installed the crash report and then crashes says which signal, where, and its
// stack on stderr, and still dies of that signal.
#include "common/crash_report.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "common/sanitizers.h"

namespace theater {
namespace {

// Runs `crash` in a child whose stderr is captured; returns the stderr and the wait status.
std::pair<std::string, int> CrashInChild(void (*crash)()) {
  int pipe_fds[2];
  EXPECT_EQ(::pipe(pipe_fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    InstallCrashReport("crash-report-test");
    crash();
    ::_exit(0);  // not reached
  }
  ::close(pipe_fds[1]);
  std::string err;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof(buf))) > 0) err.append(buf, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {err, status};
}

__attribute__((noinline)) void WriteThroughNull() {
  volatile int* nowhere = nullptr;
  *nowhere = 1;
}

TEST(CrashReportTest, ASegfaultIsReportedWithItsStackAndStillKillsTheProcess) {
  if (THEATER_ADDRESS_SANITIZER) GTEST_SKIP() << "AddressSanitizer reports crashes itself";
  auto [err, status] = CrashInChild(WriteThroughNull);
  ASSERT_TRUE(WIFSIGNALED(status)) << err;
  EXPECT_EQ(WTERMSIG(status), SIGSEGV);
  EXPECT_NE(err.find("crash-report-test: fatal signal 11 (SEGV) at address (nil); stack:"),
            std::string::npos)
      << err;
  // One line per frame, naming the executable the addresses are in.
  EXPECT_NE(err.find("crash_report_test("), std::string::npos) << err;
}

TEST(CrashReportTest, AnAbortIsReportedToo) {
  if (THEATER_ADDRESS_SANITIZER) GTEST_SKIP() << "AddressSanitizer reports crashes itself";
  auto [err, status] = CrashInChild([] { ::abort(); });
  ASSERT_TRUE(WIFSIGNALED(status)) << err;
  EXPECT_EQ(WTERMSIG(status), SIGABRT);
  EXPECT_NE(err.find("fatal signal 6 (ABRT)"), std::string::npos) << err;
}

}  // namespace
}  // namespace theater
