// Theater: a WebAssembly actor runtime.
#include "cli/build_progress.h"

#include "cli/output.h"

namespace theater::cli {
namespace {

constexpr auto kTickInterval = std::chrono::milliseconds(250);

}  // namespace

std::string RoughDuration(std::chrono::milliseconds duration) {
  const long long seconds = std::max<long long>(1, (duration.count() + 500) / 1000);
  if (seconds < 60) return std::to_string(seconds) + " s";
  return std::to_string(seconds / 60) + " min " + std::to_string(seconds % 60) + " s";
}

BuildProgress::BuildProgress(bool quiet)
    : BuildProgress(CompileProgressPrinter::ForStderr(), quiet) {}

BuildProgress::BuildProgress(CompileProgressPrinter printer, bool quiet,
                             std::chrono::milliseconds delay)
    : printer_(std::move(printer)), quiet_(quiet), delay_(delay) {}

BuildProgress::~BuildProgress() {
  Finish();
}

void BuildProgress::Stage(std::string name, std::optional<std::chrono::milliseconds> expected) {
  Finish();
  stage_id_ = ++stages_;
  stage_ = std::move(name);
  stage_start_ = Clock::now();
  last_shown_ = Clock::time_point{};  // a new stage's line is not held back by the last one's
  expected_ = expected;
  done_ = 0;
  total_ = 0;
  items_.clear();
  Tick();
}

void BuildProgress::Rename(std::string name, std::optional<std::chrono::milliseconds> expected) {
  if (stage_id_ == 0) return;
  stage_ = std::move(name);
  expected_ = expected;
  // A line shown already is put right at once, not at the next tick.
  if (Clock::now() - stage_start_ >= delay_) Show(false);
}

void BuildProgress::Count(uint64_t done, uint64_t total, std::string items) {
  done_ = done;
  total_ = total;
  items_ = std::move(items);
}

void BuildProgress::Tick() {
  const Clock::time_point now = Clock::now();
  if (stage_id_ == 0 || now - stage_start_ < delay_ || now - last_shown_ < kTickInterval) return;
  Show(false);
}

std::chrono::milliseconds BuildProgress::Finish() {
  if (stage_id_ == 0) return std::chrono::milliseconds(0);
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stage_start_);
  Show(true);
  stage_id_ = 0;
  return took;
}

std::string BuildProgress::Line(bool finished) const {
  const auto spent =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stage_start_);
  std::string line = stage_;
  if (finished) {
    if (!items_.empty()) line += ": " + std::to_string(done_) + " " + items_;
    return line + " in " + FormatDurationMs(static_cast<uint64_t>(spent.count()));
  }
  std::string detail;
  if (!items_.empty()) {
    detail = total_ > 0 ? std::to_string(done_) + "/" + std::to_string(total_) + " " + items_
                        : std::to_string(done_) + " " + items_;
  }
  // Left: from the share of the items done (items finish unevenly at first: only past 5 %), else
  // from the time the stage took last time.
  std::optional<std::chrono::milliseconds> left;
  if (total_ > 0 && done_ * 20 >= total_ && done_ < total_) {
    left = std::chrono::milliseconds(spent.count() * static_cast<int64_t>(total_ - done_) /
                                     static_cast<int64_t>(done_));
  } else if (expected_ && *expected_ > spent) {
    left = *expected_ - spent;
  }
  if (left) detail += (detail.empty() ? "" : ", ") + ("about " + RoughDuration(*left) + " left");
  if (!detail.empty()) line += ": " + detail;
  return line + "\u2026 " + FormatDurationMs(static_cast<uint64_t>(spent.count()));
}

void BuildProgress::Show(bool finished) {
  last_shown_ = Clock::now();
  if (quiet_) return;
  engine::CompileProgress report;
  report.compile_id = stage_id_;
  report.line = "  " + Line(finished);
  report.finished = finished;
  printer_.Show(report);
}

}  // namespace theater::cli
