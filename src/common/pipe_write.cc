// Theater: a WebAssembly actor runtime.
#include "common/pipe_write.h"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <ctime>

namespace theater {

PipeWriteResult WriteToPipe(int fd, const void* data, size_t len) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  PipeWriteResult result;
  do {
    result.written = ::write(fd, data, len);
  } while (result.written < 0 && errno == EINTR);
  result.error = result.written < 0 ? errno : 0;
  if (result.error == EPIPE) {
    // The SIGPIPE is pending on this thread: take it before the mask is restored.
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return result;
}

}  // namespace theater
