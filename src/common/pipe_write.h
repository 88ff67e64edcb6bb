// Theater: a WebAssembly actor runtime.
//
// One write(2) to a pipe whose reader may be gone (a child's standard input, the spawn shim's
// control pipe). Such a write raises SIGPIPE in the writing thread, which would end the host;
// here SIGPIPE is blocked for the write and consumed if it came, so the caller sees EPIPE as an
// error like any other. EINTR is retried.
//
// Thread-safety: any thread; only the calling thread's signal mask is touched, and restored.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace theater {

struct PipeWriteResult {
  ssize_t written = 0;  // bytes written, or -1
  int error = 0;        // errno when written < 0 (EPIPE: the reader is gone; EAGAIN: full)
};

PipeWriteResult WriteToPipe(int fd, const void* data, size_t len);

}  // namespace theater
