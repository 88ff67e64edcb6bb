// Theater: a WebAssembly actor runtime.
#include "handlers/filesystem/command_runner.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "common/utf8.h"
#include "engine/compile/subprocess.h"

namespace theater::handlers {
namespace {

// The largest piece the supervisor hands over at once: one read of a pipe.
constexpr uint32_t kPieceBytes = 64 * 1024;

ProcessSupervisor::Options SupervisorOptions() {
  ProcessSupervisor::Options options;
  // Nobody asks for a finished command's status: its outcome is in the runner's table.
  options.keep_finished = 0;
  return options;
}

// Appends what fits of `data` below `limit` to `out`; counts everything in `total`.
void Capture(std::string& out, uint64_t& total, uint64_t limit, const std::vector<uint8_t>& data) {
  total += data.size();
  if (out.size() < limit) {
    out.append(reinterpret_cast<const char*>(data.data()),
               static_cast<size_t>(std::min<uint64_t>(data.size(), limit - out.size())));
  }
}

std::string Finished(const std::string& raw, uint64_t total, uint64_t limit, const char* stream,
                     bool* truncated) {
  std::string out = theater::SanitizeUtf8(raw);
  *truncated = total > limit;
  if (*truncated) {
    out += "\n[theater: " + std::string(stream) + " truncated: " + std::to_string(total) +
           " bytes written, only the first " + std::to_string(limit) + " kept]\n";
  }
  return out;
}

}  // namespace

CommandRunner::CommandRunner(boost::asio::io_context& io)
    : supervisor_(io, SupervisorOptions(),
                  [this](const ProcessEvent& event, std::function<void()> ack) {
                    return OnEvent(event, std::move(ack));
                  }) {}

CommandRunner::~CommandRunner() {
  Shutdown();
}

Result<uint64_t> CommandRunner::Start(const CommandSpec& spec, std::function<void()> done) {
  // Looked up here for the handler's own message (and a file that is not executable is "not
  // found" too); the supervisor finds the same file.
  Result<std::filesystem::path> found = engine::FindExecutable(spec.program);
  if (!found.ok()) {
    return NotFound("command '" + spec.program + "' not found: " + found.status().message());
  }
  {
    MutexLock lock(mu_);
    if (shut_down_) return FailedPrecondition("the filesystem handler's commands have stopped");
  }
  ProcessSpec process;
  process.program = spec.program;
  process.args = spec.args;
  process.cwd_fd = spec.cwd_fd;
  process.sandbox = spec.sandbox;
  process.stdin_pipe = false;
  process.buffer_size = kPieceBytes;
  process.timeout = spec.timeout;
  THEATER_ASSIGN_OR_RETURN(uint64_t id, supervisor_.Spawn(process));
  {
    MutexLock lock(mu_);
    if (!shut_down_) {
      // Events for `id` that came before this are offered again (OnEvent), none is lost.
      Job& job = jobs_[id];
      job.limit = spec.max_output_bytes;
      job.done = std::move(done);
      return id;
    }
  }
  // Shutdown() began meanwhile: it would not hand this command an outcome.
  supervisor_.Kill(id).IgnoreError();
  return FailedPrecondition("the filesystem handler's commands have stopped");
}

ProcessSupervisor::Delivery CommandRunner::OnEvent(const ProcessEvent& event,
                                                   std::function<void()> ack) {
  std::function<void()> done;
  {
    MutexLock lock(mu_);
    auto it = jobs_.find(event.id);
    // Start() has the id from Spawn() but has not entered it yet: the supervisor offers the
    // event again shortly (nothing else of its is handed over before).
    if (it == jobs_.end()) return ProcessSupervisor::Delivery::kRetry;
    Job& job = it->second;
    switch (event.kind) {
      case ProcessEvent::Kind::kStdout:
        if (!job.abandoned) Capture(job.out, job.out_total, job.limit, event.data);
        break;
      case ProcessEvent::Kind::kStderr:
        if (!job.abandoned) Capture(job.err, job.err_total, job.limit, event.data);
        break;
      case ProcessEvent::Kind::kExit:
        if (job.abandoned) {
          jobs_.erase(it);
          break;
        }
        job.outcome = Finish(job, event.exit_code, event.timed_out);
        done = std::move(job.done);
        break;
    }
  }
  // The bytes are copied: the supervisor may read on.
  ack();
  if (done) done();
  return ProcessSupervisor::Delivery::kAccepted;
}

CommandOutput CommandRunner::Finish(Job& job, int exit_code, bool timed_out) {
  CommandOutput result;
  result.stdout_text =
      Finished(job.out, job.out_total, job.limit, "stdout", &result.stdout_truncated);
  result.stderr_text =
      Finished(job.err, job.err_total, job.limit, "stderr", &result.stderr_truncated);
  job.out.clear();
  job.err.clear();
  result.exit_code = exit_code;
  result.timed_out = timed_out;
  // Killed at our request unless it had already exited by itself.
  result.killed = job.kill_requested && !timed_out && exit_code == -1;
  return result;
}

void CommandRunner::Kill(uint64_t id) {
  {
    MutexLock lock(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second.outcome) return;
    it->second.kill_requested = true;
  }
  supervisor_.Kill(id).IgnoreError();  // kFailedPrecondition once it has exited
}

void CommandRunner::Abandon(uint64_t id) {
  {
    MutexLock lock(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    if (it->second.outcome) {
      jobs_.erase(it);
      return;
    }
    Job& job = it->second;
    job.abandoned = true;
    job.done = nullptr;
    job.out.clear();
    job.err.clear();
  }
  supervisor_.Kill(id).IgnoreError();
}

std::optional<CommandOutput> CommandRunner::Take(uint64_t id) {
  MutexLock lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || !it->second.outcome) return std::nullopt;
  std::optional<CommandOutput> outcome = std::move(it->second.outcome);
  jobs_.erase(it);
  return outcome;
}

void CommandRunner::Shutdown() {
  {
    MutexLock lock(mu_);
    shut_down_ = true;  // Start() refuses, or kills what it spawned, from now on
  }
  // Kills and reaps every process, waiting for a turn in progress: no event comes after this.
  // Never with mu_ held: the turn's OnEvent takes it.
  supervisor_.Shutdown();
  std::vector<std::function<void()>> dones;
  {
    MutexLock lock(mu_);
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      Job& job = it->second;
      if (job.abandoned) {
        it = jobs_.erase(it);
        continue;
      }
      if (!job.outcome) {
        job.kill_requested = true;
        job.outcome = Finish(job, -1, false);
        if (job.done) dones.push_back(std::move(job.done));
      }
      ++it;
    }
  }
  for (const std::function<void()>& done : dones) done();
}

}  // namespace theater::handlers
