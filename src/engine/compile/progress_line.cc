// Theater: a WebAssembly actor runtime.
#include "engine/compile/progress_line.h"

#include <atomic>
#include <system_error>

#include "engine/compile/compile_watchers.h"
#include "engine/compile/wasm_inspect.h"

namespace theater::engine {
namespace {

constexpr auto kLiveInterval = std::chrono::milliseconds(250);
constexpr auto kPlainInterval = std::chrono::seconds(10);
constexpr auto kReportInterval = std::chrono::seconds(1);

// Set while some ProgressLine owns the terminal line.
std::atomic<bool> g_line_taken{false};

// "1.4 s", or "4 min 10 s" from a minute on.
std::string Seconds(std::chrono::steady_clock::duration elapsed) {
  char text[48];
  const double seconds = std::chrono::duration<double>(elapsed).count();
  if (seconds < 60) {
    std::snprintf(text, sizeof(text), "%.1f s", seconds);
  } else {
    const long long whole = static_cast<long long>(seconds);
    std::snprintf(text, sizeof(text), "%lld min %lld s", whole / 60, whole % 60);
  }
  return text;
}

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
                           std::chrono::milliseconds delay, ProgressStyle style,
                           std::shared_ptr<CompileWatchers> watchers)
    : stream_(stream),
      style_(style),
      name_(PrintableName(display_name) + " (" + FormatSize(size_bytes) + ")"),
      delay_(delay),
      start_(Clock::now()) {
  if (watchers != nullptr && watchers->any()) {
    compile_id_ = watchers->NextCompileId();
    watchers_ = std::move(watchers);
    try {
      report_thread_ = std::thread([this] { Report(); });
    } catch (const std::system_error&) {
      watchers_ = nullptr;  // as cosmetic as the line: the compile goes on untold
    }
  }
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
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stages_.push_back({std::string(name), Clock::now()});
  }
  // A plain line and the watchers' report are made at once.
  if (style_ == ProgressStyle::kPlain || watchers_ != nullptr) wake_.notify_all();
}

void ProgressLine::StageProgress(size_t done, size_t total, double fraction) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stages_.empty()) return;
  StageTime& stage = stages_.back();
  stage.done = done;
  stage.total = total;
  stage.fraction = fraction;
}

std::string ProgressLine::StageProgressLocked(const StageTime& stage) const {
  if (stage.total == 0) return "";
  std::string text =
      " " + std::to_string(stage.done) + "/" + std::to_string(stage.total) + " units";
  // Items finish unevenly at first; an estimate from under 5% of the work would mislead.
  if (stage.fraction >= 0.05 && stage.fraction < 1) {
    const auto spent = Clock::now() - stage.start;
    const auto left = std::chrono::duration_cast<Clock::duration>(
        spent * ((1 - stage.fraction) / stage.fraction));
    text += ", about " + Seconds(left) + " left";
  }
  return text + ",";
}

void ProgressLine::Finish(bool ok) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (done_) return;
    done_ = true;
    if (stream_ != nullptr && printed_) {
      PrintLocked(style_ == ProgressStyle::kLive
                      ? "\r" + PaddedLiveLineLocked(ok ? "\n" : " failed\n")
                      : PlainFinalLocked(ok) + "\n");
    }
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (report_thread_.joinable()) report_thread_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  // The watchers that heard of it hear how it ended (a compile that ended before its first
  // stage, a cache hit found after waiting for nothing, told nobody anything).
  if (told_) TellLocked(PlainFinalLocked(ok), true, ok);
}

void ProgressLine::Report() {
  std::unique_lock<std::mutex> lock(mutex_);
  size_t stages_told = 0;
  while (!done_) {
    if (!stages_.empty()) {
      stages_told = stages_.size();
      TellLocked(LiveLineLocked(), false, true);
    }
    wake_.wait_for(lock, kReportInterval,
                   [this, stages_told] { return done_ || stages_.size() != stages_told; });
  }
}

void ProgressLine::TellLocked(std::string line, bool finished, bool ok) {
  CompileProgress progress;
  progress.compile_id = compile_id_;
  progress.module = name_;
  progress.line = std::move(line);
  progress.finished = finished;
  progress.ok = ok;
  watchers_->Tell(progress);
  told_ = true;
}

void ProgressLine::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (wake_.wait_until(lock, start_ + delay_, [this] { return done_; })) return;
  if (style_ == ProgressStyle::kLive) {
    while (!done_) {
      // '\r' and a rewrite padded to the previous length cover the previous state without
      // terminal escape codes.
      PrintLocked("\r" + PaddedLiveLineLocked(""));
      wake_.wait_for(lock, kLiveInterval, [this] { return done_; });
    }
    return;
  }
  wake_.wait(lock, [this] { return done_ || !stages_.empty(); });
  while (!done_) {
    // A line when each stage begins (several may have begun since this thread last ran: a fast
    // stage is named all the same), and one every kPlainInterval while the newest runs.
    for (size_t i = stages_printed_; i + 1 < stages_.size(); ++i) {
      PrintLocked(PlainLineLocked(i) + "\n");
    }
    PrintLocked(PlainLineLocked(stages_.size() - 1) + "\n");
    stages_printed_ = stages_.size();
    wake_.wait_for(lock, kPlainInterval,
                   [this] { return done_ || stages_.size() != stages_printed_; });
  }
}

std::string ProgressLine::LiveLineLocked() const {
  std::string line = "compiling " + name_ + ":";
  for (const StageTime& stage : stages_) line += " " + stage.name + "\u2026";
  if (!stages_.empty()) line += StageProgressLocked(stages_.back());
  return line + " " + Seconds(Clock::now() - start_);
}

std::string ProgressLine::PaddedLiveLineLocked(std::string_view ending) {
  std::string line = LiveLineLocked();
  const size_t length = line.size();
  if (length < live_length_) line.append(live_length_ - length, ' ');
  live_length_ = length;
  return line.append(ending);
}

std::string ProgressLine::PlainLineLocked(size_t stage) const {
  std::string line = "compiling " + name_ + ":";
  Clock::time_point as_of = Clock::now();
  if (stage < stages_.size()) {
    line += " " + stages_[stage].name + "\u2026" + StageProgressLocked(stages_[stage]);
    // A stage that has already ended is told as of its beginning.
    if (stage + 1 < stages_.size()) as_of = stages_[stage].start;
  }
  const Clock::duration elapsed = as_of - start_;
  if (elapsed >= std::chrono::milliseconds(50)) line += " " + Seconds(elapsed);
  return line;
}

std::string ProgressLine::PlainFinalLocked(bool ok) const {
  const Clock::time_point now = Clock::now();
  std::string line = ok ? "compiled " + name_ + " in " + Seconds(now - start_)
                        : "compiling " + name_ + " failed after " + Seconds(now - start_);
  if (!stages_.empty()) {
    line += " (";
    for (size_t i = 0; i < stages_.size(); ++i) {
      const Clock::time_point end = i + 1 < stages_.size() ? stages_[i + 1].start : now;
      line += (i == 0 ? "" : ", ") + stages_[i].name + " " + Seconds(end - stages_[i].start);
    }
    line += ")";
  }
  return line;
}

void ProgressLine::PrintLocked(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stream_);
  std::fflush(stream_);
  printed_ = true;
}

}  // namespace theater::engine
