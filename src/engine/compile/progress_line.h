// Theater: a WebAssembly actor runtime.
//
// What a long module compile shows while it runs. On a terminal (kLive), one line rewritten in
// place about four times a second:
//
//   compiling hello.wasm (14.2 KiB): wasm2c… gcc… 1.4 s
//
// A stage that reports its progress (the units of a split compile) shows it, with an estimate:
//
//   compiling engine.wasm (8.8 MiB): wasm2c… gcc ×64… 12/64 units, about 4 min 10 s left, 58.2 s
//
// Elsewhere (kPlain: a log file, a pipe, CI), whole lines that a reader of the log can follow: one
// when each stage begins, one every ten seconds while a stage runs, and a last one with the time
// each stage took:
//
//   compiling hello.wasm (14.2 KiB): wasm2c…
//   compiling hello.wasm (14.2 KiB): gcc… 0.1 s
//   compiled hello.wasm (14.2 KiB) in 1.4 s (wasm2c 0.1 s, gcc 1.3 s)
//
// Nothing is printed until `delay` has passed, so fast compiles can stay silent. Only one
// ProgressLine in the process prints at a time: a second concurrent compile stays silent rather
// than garbling the line.
//
// Watchers of the engine's compiles (compile_watchers.h), when there are any, are told the live
// line from the first stage on, when each stage begins and every second while it runs, and the
// final line last; every compile is told, concurrent ones included, each under its own id.
//
// Thread-safety: Stage() and Finish() may be called from the thread that owns the object while
// its background thread runs; the object must not be shared between compiles. The stream is not
// owned and must outlive the object.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace theater::engine {

class CompileWatchers;  // compile_watchers.h

enum class ProgressStyle {
  kLive,   // one line rewritten with '\r' (a terminal)
  kPlain,  // whole lines (anything else)
};

class ProgressLine {
 public:
  // `stream` null disables all output (and no thread is started for it); `watchers` null (or
  // none registered when the compile starts) tells nobody.
  ProgressLine(std::FILE* stream, std::string_view display_name, uint64_t size_bytes,
               std::chrono::milliseconds delay, ProgressStyle style = ProgressStyle::kLive,
               std::shared_ptr<CompileWatchers> watchers = nullptr);
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  // Finishes (as failed) if Finish() was not called.
  ~ProgressLine();

  // A stage begins ("wasm2c", "gcc", ...); the previous one, if any, has ended.
  void Stage(std::string_view name);
  // How far the current stage is: `done` of `total` items (the units of a split compile), and
  // the share of its work they were (0..1), from which the time left is estimated.
  void StageProgress(size_t done, size_t total, double fraction);
  // Stops the updates; if anything was printed, prints the final line ending in "\n", saying
  // "failed" when !ok.
  void Finish(bool ok);

 private:
  using Clock = std::chrono::steady_clock;
  struct StageTime {
    std::string name;
    Clock::time_point start;
    size_t done = 0;  // StageProgress; total 0: none reported
    size_t total = 0;
    double fraction = 0;
  };

  void Run();
  // The watchers' thread: reports the live line on each new stage and every second.
  void Report();
  // needs mutex_: tells the watchers `line`.
  void TellLocked(std::string line, bool finished, bool ok);
  std::string StageProgressLocked(const StageTime& stage) const;  // needs mutex_; "" or ": 3/64…"
  std::string LiveLineLocked() const;                             // needs mutex_
  // needs mutex_: the live line padded with spaces over a longer previous one, then `ending`.
  std::string PaddedLiveLineLocked(std::string_view ending);
  // needs mutex_: stage `stage` (an index into stages_) and the time so far, or as of its
  // beginning if a later stage has begun.
  std::string PlainLineLocked(size_t stage) const;
  std::string PlainFinalLocked(bool ok) const;  // needs mutex_
  void PrintLocked(std::string_view text);

  std::FILE* stream_;
  ProgressStyle style_;
  std::string name_;  // "hello.wasm (14.2 KiB)"
  std::chrono::milliseconds delay_;
  Clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<StageTime> stages_;
  size_t stages_printed_ = 0;  // kPlain: stages whose first line is out
  size_t live_length_ = 0;     // kLive: the length of the line last printed
  bool done_ = false;
  bool printed_ = false;
  bool owns_terminal_ = false;
  std::thread thread_;
  std::shared_ptr<CompileWatchers> watchers_;  // null: nobody to tell
  uint64_t compile_id_ = 0;
  bool told_ = false;  // the watchers have heard of this compile
  std::thread report_thread_;
};

// "512 B", "14.2 KiB", "3.0 MiB".
std::string FormatSize(uint64_t bytes);

}  // namespace theater::engine
