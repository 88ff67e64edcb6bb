// Theater: a WebAssembly actor runtime.
//
// A one-line progress indicator for long module compiles:
//
//   compiling hello.wasm (14.2 KiB): wasm2c… gcc… 1.4 s
//
// Nothing is printed until `delay` has passed, so fast compiles stay silent. After that a
// background thread rewrites the line with '\r' about four times a second; Finish() prints the
// final state and a newline. Only one ProgressLine in the process prints at a time: a second
// concurrent compile stays silent rather than garbling the line.
//
// Thread-safety: Stage() and Finish() may be called from the thread that owns the object while
// its background thread runs; the object must not be shared between compiles. The stream is not
// owned and must outlive the object.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace theater::engine {

class ProgressLine {
 public:
  // `stream` null disables all output (and no thread is started).
  ProgressLine(std::FILE* stream, std::string_view display_name, uint64_t size_bytes,
               std::chrono::milliseconds delay);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  // Finishes (as failed) if Finish() was not called.
  ~ProgressLine();

  // Appends a stage to the line ("wasm2c", "gcc", ...).
  void Stage(std::string_view name);
  // Stops the updates; if anything was printed, prints the final line ending in "\n", with
  // " failed" appended when !ok.
  void Finish(bool ok);

 private:
  void Run();
  std::string LineLocked() const;  // needs mutex_
  void PrintLocked(bool final_line, bool ok);

  std::FILE* stream_;
  std::string prefix_;
  std::chrono::milliseconds delay_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string stages_;
  bool done_ = false;
  bool printed_ = false;
  bool owns_terminal_ = false;
  std::thread thread_;
};

// "512 B", "14.2 KiB", "3.0 MiB".
std::string FormatSize(uint64_t bytes);

}  // namespace theater::engine
