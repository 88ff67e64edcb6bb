// Theater: a WebAssembly actor runtime.
#include "cli/compile_progress_printer.h"

#include <unistd.h>

namespace theater::cli {
namespace {

constexpr auto kPlainInterval = std::chrono::seconds(10);

}  // namespace

CompileProgressPrinter CompileProgressPrinter::ForStderr() {
  return CompileProgressPrinter(stderr, ::isatty(STDERR_FILENO) == 1);
}

void CompileProgressPrinter::Show(const engine::CompileProgress& progress) {
  if (!live_) {
    const Clock::time_point now = Clock::now();
    const auto it = last_printed_.find(progress.compile_id);
    if (progress.finished) {
      last_printed_.erase(progress.compile_id);
    } else if (it != last_printed_.end() && now - it->second < kPlainInterval) {
      return;
    } else {
      last_printed_[progress.compile_id] = now;
    }
    Write(progress.line + "\n");
    return;
  }
  if (open_compile_ != 0 && open_compile_ != progress.compile_id) Close();
  std::string line = "\r" + progress.line;
  const size_t length = progress.line.size();
  // '\r' and padding over a longer previous line cover it without terminal escape codes.
  if (length < open_length_) line.append(open_length_ - length, ' ');
  if (progress.finished) {
    Write(line + "\n");
    open_compile_ = 0;
    open_length_ = 0;
    return;
  }
  Write(line);
  open_compile_ = progress.compile_id;
  open_length_ = length;
}

void CompileProgressPrinter::Close() {
  if (open_compile_ == 0) return;
  Write("\n");
  open_compile_ = 0;
  open_length_ = 0;
}

void CompileProgressPrinter::Write(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stream_);
  std::fflush(stream_);
}

}  // namespace theater::cli
