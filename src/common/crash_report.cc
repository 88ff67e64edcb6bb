// Theater: a WebAssembly actor runtime.
#include "common/crash_report.h"

#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "common/sanitizers.h"

namespace theater {
namespace {

const char* g_program = "theater";
constexpr int kMaxFrames = 64;
constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

void WriteAll(const char* text, size_t length) {
  while (length > 0) {
    const ssize_t written = ::write(STDERR_FILENO, text, length);
    if (written <= 0) return;
    text += written;
    length -= static_cast<size_t>(written);
  }
}

void OnFatalSignal(int sig, siginfo_t* info, void*) {
  char line[192];
  // snprintf is not on the async-signal-safe list, but glibc's does not allocate for these
  // conversions; the process is dying either way, and the line is what the report is for.
  const int length =
      std::snprintf(line, sizeof(line), "%s: fatal signal %d (%s) at address %p; stack:\n",
                    g_program, sig, sigabbrev_np(sig) != nullptr ? sigabbrev_np(sig) : "?",
                    info != nullptr ? info->si_addr : nullptr);
  if (length > 0) WriteAll(line, static_cast<size_t>(length) < sizeof(line) ? length : sizeof(line) - 1);
  void* frames[kMaxFrames];
  const int depth = ::backtrace(frames, kMaxFrames);
  ::backtrace_symbols_fd(frames, depth, STDERR_FILENO);
  // Die as the signal would have killed the process: the default action, raised again.
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void InstallCrashReport(const char* program) {
  if (THEATER_ADDRESS_SANITIZER) return;
  g_program = program;
  // backtrace() loads the unwinder the first time it runs, which a signal handler must not do.
  void* warm[1];
  (void)::backtrace(warm, 1);
  struct sigaction action {};
  action.sa_sigaction = OnFatalSignal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (int sig : kSignals) ::sigaction(sig, &action, nullptr);
}

}  // namespace theater
