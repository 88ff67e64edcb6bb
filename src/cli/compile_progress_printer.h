// Theater: a WebAssembly actor runtime.
//
// CompileProgressPrinter: shows on the client's stderr the compiles a server runs while a command
// waits for them (CompileProgress pushes, docs/protocol.md), as `theater run` shows its own: on a
// terminal one line rewritten in place, ending with how the compile ended; elsewhere (a log, a
// pipe) the first report of each compile, one every ten seconds while it runs, and the last.
//
//   compiling engine.wasm (8.8 MiB): wasm2c… tcc… 3.1 s        (rewritten as it goes)
//   compiled engine.wasm (8.8 MiB) in 10.0 s (wasm2c 8.0 s, tcc 2.0 s)
//
// Several compiles at once share the line: a report of another compile first ends the line of
// one that had not finished.
//
// Thread-safety: not thread-safe; called on the thread that waits for the reply.
// Ownership: writes to `stream`, which it does not own and which must outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "theater/compile_progress.h"

namespace theater::cli {

class CompileProgressPrinter {
 public:
  // `live`: the stream is a terminal (a line rewritten with '\r').
  CompileProgressPrinter(std::FILE* stream, bool live) : stream_(stream), live_(live) {}
  // For stderr, live when it is a terminal.
  static CompileProgressPrinter ForStderr();

  void Show(const engine::CompileProgress& progress);
  // Ends a line left open (a command answered while a compile was still being shown).
  void Close();

 private:
  using Clock = std::chrono::steady_clock;
  void Write(const std::string& text);

  std::FILE* stream_;
  bool live_;
  uint64_t open_compile_ = 0;  // live: the compile whose line is open (0: none)
  size_t open_length_ = 0;     // live: the open line's length, to pad a shorter rewrite
  // Plain: when each compile's line was last printed.
  std::map<uint64_t, Clock::time_point> last_printed_;
};

}  // namespace theater::cli
