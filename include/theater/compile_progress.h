// Theater: a WebAssembly actor runtime.
//
// What an engine tells a watcher about the module compiles it runs (Engine::WatchCompiles): the
// same line the `theater` command shows on its terminal while a compile runs, so that a program
// that waits on someone else's compile (a management client whose `start` is compiling on the
// server) can show it too.
//
//   CompileProgress  one report: which compile, the line as it stands, and whether it ended.
//   CompileWatch     the watcher's registration; ends it when destroyed (move-only).
//
// Thread-safety: a watcher's function is called from the threads that run compiles, for several
// compiles at once, and must be thread-safe and quick (it is called while the compile's report
// is held: hand the report on, do not wait). Destroying a CompileWatch waits for a call in
// progress to return, so after it the function is never called again.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

namespace theater::engine {

struct CompileProgress {
  // One per compile in this process: the reports of one compile share it.
  uint64_t compile_id = 0;
  // "hello.wasm (14.2 KiB)".
  std::string module;
  // While it runs, the line a terminal shows, rewritten as it goes:
  //   "compiling engine.wasm (8.8 MiB): wasm2c… gcc ×64… 12/64 units, about 4 min 10 s left, 58.2
  //   s"
  // The last report (finished) says how it ended:
  //   "compiled hello.wasm (14.2 KiB) in 1.4 s (wasm2c 0.1 s, gcc 1.3 s)"
  std::string line;
  bool finished = false;
  bool ok = true;  // with finished: whether the compile succeeded
};

using CompileObserver = std::function<void(const CompileProgress&)>;

class CompileWatch {
 public:
  CompileWatch() = default;
  // `end` is called once, when the watch ends.
  explicit CompileWatch(std::function<void()> end) : end_(std::move(end)) {}
  CompileWatch(CompileWatch&& other) noexcept : end_(std::exchange(other.end_, nullptr)) {}
  CompileWatch& operator=(CompileWatch&& other) noexcept {
    if (this != &other) {
      Reset();
      end_ = std::exchange(other.end_, nullptr);
    }
    return *this;
  }
  CompileWatch(const CompileWatch&) = delete;
  CompileWatch& operator=(const CompileWatch&) = delete;
  ~CompileWatch() { Reset(); }

  // Ends the watch now (no call of its function follows).
  void Reset() {
    if (end_) std::exchange(end_, nullptr)();
  }

 private:
  std::function<void()> end_;
};

}  // namespace theater::engine
