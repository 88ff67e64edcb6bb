// Theater: a WebAssembly actor runtime.
//
// BuildProgress: what `theater build` shows while a project's own tools run for minutes (npm ci,
// the JavaScript driver's type check, bundle and componentize-js): a line per stage, on stderr,
//
//   npm ci: 57/120 packages, about 25 s left… 12.3 s      (rewritten as it goes, on a terminal)
//   npm ci: 120 packages in 31.0 s
//   componentize-js: about 4 s left… 3.1 s
//   componentize-js in 7.2 s
//
// on a terminal rewritten in place until the stage ends; elsewhere the stage's first line, one
// every ten seconds and its last (CompileProgressPrinter draws both). A stage shorter than a
// second (`delay`) has its last line only. An estimate of the time
// left is shown once it can mean something: from the share of the work done (past 5 %), or from
// how long the stage took last time.
//
// Thread-safety: not thread-safe; used by the thread that runs the tools.
// Ownership: holds its printer; writes to stderr unless quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "cli/compile_progress_printer.h"

namespace theater::cli {

class BuildProgress {
 public:
  // `quiet`: shows nothing (the calls still keep time). A running stage is first shown once
  // `delay` has passed.
  explicit BuildProgress(bool quiet);
  BuildProgress(CompileProgressPrinter printer, bool quiet,
                std::chrono::milliseconds delay = std::chrono::seconds(1));
  // Ends a stage left running, as Finish() would.
  ~BuildProgress();
  BuildProgress(const BuildProgress&) = delete;
  BuildProgress& operator=(const BuildProgress&) = delete;

  // Ends the running stage and begins `name`. `expected`: how long it took last time, if known.
  void Stage(std::string name, std::optional<std::chrono::milliseconds> expected = std::nullopt);
  // The running stage turns out to be `name`, a kind of it that took `expected` last time (a
  // rebuild that finds what an earlier one kept): its line and estimate change; its clock goes
  // on. Nothing when no stage runs.
  void Rename(std::string name, std::optional<std::chrono::milliseconds> expected);
  // How far the stage is: `done` of `total` items (`total` 0: unknown), with what they are
  // ("packages").
  void Count(uint64_t done, uint64_t total, std::string items);
  // Shows the line again if a quarter second has passed since it last was (a watched tool's
  // quiet moments call it).
  void Tick();
  // Ends the running stage: its line says how long it took. Returns that time (zero with no
  // stage running).
  std::chrono::milliseconds Finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::string Line(bool finished) const;
  void Show(bool finished);

  CompileProgressPrinter printer_;
  bool quiet_;
  std::chrono::milliseconds delay_;
  uint64_t stages_ = 0;    // stages begun: each one's id, so that each gets its own line
  uint64_t stage_id_ = 0;  // 0: no stage running
  std::string stage_;
  Clock::time_point stage_start_{};
  Clock::time_point last_shown_{};
  std::optional<std::chrono::milliseconds> expected_;
  uint64_t done_ = 0;
  uint64_t total_ = 0;
  std::string items_;
};

// "4 s", "1 min 10 s": an estimate, in whole seconds.
std::string RoughDuration(std::chrono::milliseconds duration);

}  // namespace theater::cli
