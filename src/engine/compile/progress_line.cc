// Theater: a WebAssembly actor runtime.
#include "engine/compile/progress_line.h"

#include <atomic>
#include <system_error>

#include "engine/compile/wasm_inspect.h"

namespace theater::engine {
namespace {

constexpr auto kUpdateInterval = std::chrono::milliseconds(250);

// Set while some ProgressLine owns the terminal line.
std::atomic<bool> g_line_taken{false};

}  // namespace

std::string FormatSize(uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(bytes));
  } else if (bytes < 1024 * 1024) {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1024 * 1024));
  }
  return buf;
}

ProgressLine::ProgressLine(std::FILE* stream, std::string_view display_name, uint64_t size_bytes,
                           std::chrono::milliseconds delay)
    : stream_(stream),
      prefix_("compiling " + PrintableName(display_name) + " (" + FormatSize(size_bytes) + "):"),
      delay_(delay),
      start_(std::chrono::steady_clock::now()) {
  if (stream_ == nullptr) return;
  bool expected = false;
  if (!g_line_taken.compare_exchange_strong(expected, true)) {
    stream_ = nullptr;
    return;
  }
  owns_terminal_ = true;
  try {
    thread_ = std::thread([this] { Run(); });
  } catch (const std::system_error&) {
    // Progress is cosmetic: without a thread the compile simply runs silently.
    stream_ = nullptr;
  }
}

ProgressLine::~ProgressLine() {
  Finish(false);
  if (owns_terminal_) g_line_taken.store(false);
}

void ProgressLine::Stage(std::string_view name) {
  std::lock_guard<std::mutex> lock(mutex_);
  stages_ += ' ';
  stages_ += name;
  stages_ += "\u2026";
}

void ProgressLine::Finish(bool ok) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (done_) return;
    done_ = true;
    if (stream_ != nullptr && printed_) PrintLocked(/*final_line=*/true, ok);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressLine::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (wake_.wait_until(lock, start_ + delay_, [this] { return done_; })) return;
  while (!done_) {
    PrintLocked(/*final_line=*/false, true);
    wake_.wait_for(lock, kUpdateInterval, [this] { return done_; });
  }
}

std::string ProgressLine::LineLocked() const {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  char time[32];
  std::snprintf(time, sizeof(time), " %.1f s", seconds);
  return prefix_ + stages_ + time;
}

void ProgressLine::PrintLocked(bool final_line, bool ok) {
  // The line only grows (stages are appended, the time gains digits), so '\r' and a rewrite
  // cover the previous state without terminal escape codes.
  std::string line = "\r" + LineLocked();
  if (final_line) line += ok ? "\n" : " failed\n";
  std::fwrite(line.data(), 1, line.size(), stream_);
  std::fflush(stream_);
  printed_ = true;
}

}  // namespace theater::engine
