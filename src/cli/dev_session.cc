// Theater: a WebAssembly actor runtime.
#include "cli/dev_session.h"

#include <algorithm>
#include <iostream>

#include "cli/context.h"
#include "common/bytes.h"
#include "common/file_watcher.h"
#include "theater/limits.h"

namespace theater::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A project with more directories than this is not an actor project (or holds something that
// should be excluded); watching them all would take the user's inotify watches.
constexpr size_t kMaxWatchedDirectories = 2048;
// However busy the files stay (a long `git checkout`), the build starts after this.
constexpr auto kMaxQuietWait = 2s;

// Directories whose files are not the project's sources: installed packages, build output,
// version control and tools' own state.
bool ExcludedDirectory(const fs::path& dir) {
  const std::string name = dir.filename().string();
  return name.empty() || name[0] == '.' || name == "node_modules" || name == "target" ||
         name == "build" || name == "dist";
}

// Files an editor writes beside the one it saves (swap files, backups, vim's probe "4913").
bool EditorScratch(const fs::path& file) {
  const std::string name = file.filename().string();
  if (name.empty() || name[0] == '.' || name.back() == '~' || name == "4913") return true;
  const std::string ext = file.extension().string();
  return ext == ".swp" || ext == ".swx" || ext == ".tmp";
}

class DevLoop {
 public:
  DevLoop(const CommandContext& ctx, const DevOptions& options, DevTarget& target)
      : ctx_(ctx), options_(options), target_(target) {}

  int Run() {
    const Output& out = ctx_.out();
    ProjectBuildOptions build_options;
    build_options.dir = options_.dir;
    Result<ProjectBuildPlan> plan = PlanProjectBuild(ctx_, build_options);
    if (!plan.ok()) return out.Error(plan.status());
    plan_ = std::move(*plan);
    manifest_ = fs::absolute(plan_.dir / "manifest.toml").lexically_normal();
    output_ = fs::absolute(plan_.output).lexically_normal();
    // The first build only when needed, as `theater run` does.
    std::error_code ec;
    if (!fs::exists(output_, ec) || NewerSource(plan_)) {
      if (Result<BuiltProject> built = BuildProjectSaying(plan_); !built.ok()) {
        return out.Error(built.status());
      }
    }
    Result<std::unique_ptr<FileWatcher>> watcher = FileWatcher::Create();
    if (!watcher.ok()) return out.Error(watcher.status());
    watcher_ = std::move(*watcher);
    if (Status watched = WatchProject(); !watched.ok()) return out.Error(watched);
    manifest_text_ = ManifestText();
    if (Status started = target_.Start(manifest_); !started.ok()) return out.Error(started);
    // Each line in one write: stderr flushes at every <<, and a reader must never see half of one.
    std::cerr << "theater dev: watching " + plan_.dir.string() + " (" +
                     std::string(LangName(plan_.lang)) + ", the actor on " + target_.Where() +
                     "): save a file to rebuild and update it; Ctrl-C stops\n";
    bool was_running = true;
    for (;;) {
      target_.Pump(0ms);
      if (InterruptCount() > 0) break;
      Result<std::vector<fs::path>> changed = watcher_->Wait(100ms);
      if (InterruptCount() > 0) break;
      std::vector<fs::path> relevant = std::move(saved_during_build_);
      saved_during_build_.clear();
      if (!changed.ok()) {
        // Changes were lost: rebuild, as if every file had changed.
        relevant.push_back(plan_.dir);
      } else {
        for (fs::path& path : Relevant(*changed)) relevant.push_back(std::move(path));
      }
      if (relevant.empty()) {
        // Once a second is enough to tell the developer their actor has ended.
        if (Clock::now() - last_check_ >= 1s) {
          last_check_ = Clock::now();
          const bool running = target_.Running();
          if (was_running && !running) {
            std::cerr << "theater dev: the actor is not running; the next save starts it again\n";
          }
          was_running = running;
        }
        continue;
      }
      const Clock::time_point saved = Clock::now();
      WaitForQuiet(relevant);
      Rebuild(relevant, saved);
      was_running = target_.Running();
      last_check_ = Clock::now();
    }
    std::cerr << "theater dev: stopping the actor\n";
    target_.Stop();
    target_.Pump(0ms);
    return kExitInterrupted;
  }

 private:
  // Watches the project's directory and every directory under it that may hold sources.
  Status WatchProject() {
    std::vector<fs::path> dirs{plan_.dir};
    std::error_code ec;
    for (fs::recursive_directory_iterator it(plan_.dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (!it->is_directory(ec)) continue;
      if (ExcludedDirectory(it->path())) {
        it.disable_recursion_pending();
        continue;
      }
      dirs.push_back(it->path());
      if (dirs.size() > kMaxWatchedDirectories) {
        return ResourceExhausted(plan_.dir.string() + " has more than " +
                                 std::to_string(kMaxWatchedDirectories) +
                                 " directories to watch (node_modules, target, build, dist and "
                                 "hidden ones are left out)");
      }
    }
    for (const fs::path& dir : dirs) THEATER_RETURN_IF_ERROR(watcher_->Watch(dir));
    return Status();
  }

  // The changes a build should follow: not the component the build writes, not an editor's
  // scratch files. A new directory is watched from now on.
  std::vector<fs::path> Relevant(const std::vector<fs::path>& changed) {
    std::vector<fs::path> relevant;
    for (const fs::path& path : changed) {
      std::error_code ec;
      if (fs::is_directory(path, ec)) {
        if (!ExcludedDirectory(path)) watcher_->Watch(path).IgnoreError();
        continue;
      }
      if (fs::absolute(path, ec).lexically_normal() == output_ || EditorScratch(path)) continue;
      relevant.push_back(path);
    }
    return relevant;
  }

  // Gathers the rest of a save (or a checkout) until the files have been quiet a while.
  void WaitForQuiet(std::vector<fs::path>& relevant) {
    const Clock::time_point give_up = Clock::now() + kMaxQuietWait;
    while (Clock::now() < give_up) {
      Result<std::vector<fs::path>> more = watcher_->Wait(options_.quiet);
      if (!more.ok()) continue;
      std::vector<fs::path> also = Relevant(*more);
      if (also.empty()) return;
      for (fs::path& path : also) {
        if (std::find(relevant.begin(), relevant.end(), path) == relevant.end()) {
          relevant.push_back(std::move(path));
        }
      }
    }
  }

  std::string Describe(const std::vector<fs::path>& relevant) const {
    std::string names;
    for (size_t i = 0; i < relevant.size() && i < 3; ++i) {
      std::error_code ec;
      fs::path shown = fs::relative(relevant[i], plan_.dir, ec);
      names += (i ? ", " : "") + (ec || shown.empty() ? relevant[i] : shown).string();
    }
    if (relevant.size() > 3) names += " and " + std::to_string(relevant.size() - 3) + " more";
    return names;
  }

  void Rebuild(const std::vector<fs::path>& relevant, Clock::time_point saved) {
    std::cerr << "theater dev: " + Describe(relevant) + " changed: rebuilding\n";
    // Planned again: a source may have been added or removed.
    ProjectBuildOptions build_options;
    build_options.dir = plan_.dir;
    // A save during the build is seen by its time (the files' clock is coarser than this one:
    // a margin, well inside the quiet time every build starts after).
    const fs::file_time_type build_start = fs::file_time_type::clock::now() - 20ms;
    Result<ProjectBuildPlan> plan = PlanProjectBuild(ctx_, build_options);
    Result<BuiltProject> built =
        plan.ok() ? BuildProjectSaying(*plan) : Result<BuiltProject>(plan.status());
    // What the build itself wrote is not a change to follow; a source saved meanwhile is.
    watcher_->Discard();
    if (plan.ok()) {
      std::vector<fs::path> watched = plan->sources;
      watched.push_back(manifest_);
      for (const fs::path& source : watched) {
        std::error_code ec;
        const fs::file_time_type written = fs::last_write_time(source, ec);
        if (!ec && written > build_start) saved_during_build_.push_back(source);
      }
    }
    if (!built.ok()) {
      std::cerr << ctx_.out().Paint("build failed", Style::kRed) +
                       "; the actor keeps running the last good build:\n" +
                       built.status().message() + "\n";
      return;
    }
    plan_ = std::move(*plan);
    const std::string manifest_text = ManifestText();
    std::string how;
    Status done;
    if (!target_.Running()) {
      done = target_.Start(manifest_);
      how = "started again (it was not running), with fresh state";
    } else if (manifest_text != manifest_text_) {
      done = target_.Restart();
      how =
          "restarted with fresh state: manifest.toml changed (its handlers, permissions or "
          "init_state may have)";
    } else {
      Status updated = target_.Update(output_);
      if (updated.ok()) {
        how = "updated in place, its state kept";
      } else {
        done = target_.Restart();
        how = "restarted with fresh state: it could not be updated in place (" + updated.message() +
              ")";
      }
    }
    manifest_text_ = manifest_text;
    if (!done.ok()) {
      std::cerr << ctx_.out().Paint("could not start the new build", Style::kRed) + ": " +
                       done.message() + "\n";
      return;
    }
    std::cerr << "theater dev: " + how + ", " +
                     FormatDurationMs(static_cast<uint64_t>(
                         std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - saved)
                             .count())) +
                     " after the save\n";
  }

  // The manifest as it is now (empty when it cannot be read: the build says why).
  std::string ManifestText() const {
    return ReadFileText(manifest_, "manifest", limits::kMaxManifestBytes).value_or("");
  }

  const CommandContext& ctx_;
  const DevOptions& options_;
  DevTarget& target_;
  ProjectBuildPlan plan_;
  fs::path manifest_;
  fs::path output_;
  std::string manifest_text_;
  std::unique_ptr<FileWatcher> watcher_;
  std::vector<fs::path> saved_during_build_;  // sources written while the last build ran
  Clock::time_point last_check_ = Clock::now();
};

}  // namespace

int RunDevLoop(const CommandContext& ctx, const DevOptions& options, DevTarget& target) {
  CatchInterrupts();
  return DevLoop(ctx, options, target).Run();
}

}  // namespace theater::cli
