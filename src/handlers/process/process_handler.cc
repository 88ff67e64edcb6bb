// Theater: a WebAssembly actor runtime.
//
// The process handler: theater:simple/process (os-spawn, os-write-stdin, os-status, os-signal,
// os-kill) and the callbacks of theater:simple/process-handlers (handle-stdout, handle-stderr,
// handle-exit). docs/handlers.md, "process", is the reference: config, modes, limits, errors,
// what is recorded.
//
// Each actor's instance owns a ProcessSupervisor (handlers/support/process_supervisor.h, shared
// with the filesystem handler's commands): its own table of processes and ids, watched on the
// host's I/O loop — nothing is shared between actors, and callbacks go to the actor that spawned
// the process and to no other. Output and exits reach the actor as ordinary
// operations in its mailbox (so they are recorded as export calls like any other), in the order
// the supervisor produced them; the supervisor's flow control keeps at most a window of them
// queued.
//
// Checks on every os-spawn, failing closed: the `process` permission (the actor host refuses
// every call without it) — allowed_programs, max_processes, max_output_buffer, allowed_paths —
// and the same keys of the handler's config; the working directory is opened first and its real
// path (read back from the descriptor) is what is checked, and the same descriptor is the
// child's cwd, so a link swapped in between cannot redirect it. The process then runs confined
// (Sandbox(): Landlock allows its working directory and the allowed paths, read-write, unless the
// config says `unconfined = true`; its grants mounted noexec, so that nothing it may write can be
// loaded as code), with the host's base environment plus only those of the actor's `env`
// variables that the config's allowed_env (and the permission's, when set) name
// (common/child_env.h), and everything it starts dies with it (common/confined_spawn.h).
//
// Thread-safety: host functions run one at a time on the actor's fiber; Start and Stop run on
// runtime threads, never concurrently with them. The supervisor is internally synchronised.
#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>

#include "common/confined_dir.h"
#include "common/landlock.h"
#include "handlers/process/process_config.h"
#include "handlers/process/process_handler.h"
#include "handlers/process/process_permissions.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/process_supervisor.h"

namespace theater::handlers {
namespace {

namespace fs = std::filesystem;
using abi::Value;

constexpr std::string_view kCallbacks = "theater:simple/process-handlers";
constexpr const char* kCallbackNames[] = {"handle-stdout", "handle-stderr", "handle-exit"};
// execution-timeout is in seconds; beyond this (ten years) it is as good as none, and the
// conversion to milliseconds cannot overflow.
constexpr uint64_t kMaxTimeoutSeconds = 10ull * 365 * 24 * 3600;
constexpr size_t kMaxInFlight = 64;

bool HasNul(const std::string& s) {
  return s.find('\0') != std::string::npos;
}

class ProcessHandler final : public Handler {
 public:
  ProcessHandler() = default;
  explicit ProcessHandler(ProcessConfig config) : config_(std::move(config)) {}
  ~ProcessHandler() override {
    if (supervisor_) supervisor_->Shutdown();
  }

  std::string_view name() const override { return "process"; }
  std::optional<std::string> imports() const override { return "theater:simple/process"; }
  std::optional<std::string> exports() const override { return std::string(kCallbacks); }
  const PermissionRules* permission_rules() const override { return &ProcessPermissionRules(); }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    THEATER_ASSIGN_OR_RETURN(ProcessConfig parsed, ParseProcessConfig(config.config));
    return std::unique_ptr<Handler>(new ProcessHandler(std::move(parsed)));
  }

  Status SetupHostFunctions(ActorContext&, HostFunctions& functions) override {
    auto add = [&](std::string_view function, auto method) {
      return functions.AddMethod("process", function, this, method);
    };
    THEATER_RETURN_IF_ERROR(add("os-spawn", &ProcessHandler::OsSpawn));
    THEATER_RETURN_IF_ERROR(add("os-write-stdin", &ProcessHandler::OsWriteStdin));
    THEATER_RETURN_IF_ERROR(add("os-status", &ProcessHandler::OsStatus));
    THEATER_RETURN_IF_ERROR(add("os-signal", &ProcessHandler::OsSignal));
    return add("os-kill", &ProcessHandler::OsKill);
  }

  Status Start(ActorContext& actor) override {
    if (supervisor_) return Status::Ok();
    const EffectivePermissions& perms = actor.permissions();
    uint64_t limit = std::min(config_.max_output_buffer, kMaxOutputBufferCap);
    if (perms.Get<ProcessPermissions>(kProcessHandler)) limit = std::min(limit, perms.Get<ProcessPermissions>(kProcessHandler)->max_output_buffer);
    max_output_buffer_ = limit;
    ProcessSupervisor::Options options;
    options.max_output_buffer = limit;
    // A window well inside the mailbox, so that output cannot crowd out messages.
    options.max_in_flight =
        std::clamp<size_t>(actor.manifest().limits.mailbox_capacity / 4, 1, kMaxInFlight);
    std::weak_ptr<ActorContext> weak = actor.WeakSelf();
    std::string actor_id = actor.id();
    supervisor_ = std::make_unique<ProcessSupervisor>(
        actor.services().io().context(), options, [weak, actor_id](const ProcessEvent& event, std::function<void()> ack) {
          return Deliver(weak, actor_id, event, std::move(ack));
        });
    return Status::Ok();
  }

  void Stop(StopKind) override {
    if (supervisor_) supervisor_->Shutdown();
  }

 private:
  // Queues the callback for `event` in the actor's mailbox (see ProcessSupervisor::Sink).
  static ProcessSupervisor::Delivery Deliver(const std::weak_ptr<ActorContext>& weak,
                                             const std::string& actor_id, const ProcessEvent& event,
                                             std::function<void()> ack) {
    using Delivery = ProcessSupervisor::Delivery;
    size_t which = static_cast<size_t>(event.kind);
    std::shared_ptr<ActorContext> actor = weak.lock();
    if (!actor) return Delivery::kDropped;
    ExportInvocation op;
    op.interface_name = std::string(kCallbacks);
    op.function = kCallbackNames[which];
    // Asked each time: a component update may add or remove the callback.
    if (!actor->HasExport(op.interface_name + "#" + op.function)) return Delivery::kDropped;
    if (event.kind == ProcessEvent::Kind::kExit) {
      op.params = {Value::U64(event.id), Value::S32(event.exit_code)};
    } else {
      op.params = {Value::U64(event.id), Value::Bytes(event.data)};
    }
    // Called when the callback has run, failed, or was refused because the actor stops.
    op.reply = [ack = std::move(ack)](Result<std::vector<Value>>) { ack(); };
    Status queued = actor->Post(std::move(op));
    if (!queued.ok() && queued.code() == StatusCode::kResourceExhausted) return Delivery::kRetry;
    if (event.kind == ProcessEvent::Kind::kExit && event.timed_out) {
      spdlog::info("actor {}: process {} was killed: its execution-timeout passed", actor_id,
                   event.id);
    }
    return queued.ok() ? Delivery::kAccepted : Delivery::kDropped;
  }

  // The directory relative paths (cwd, allowed_paths of the config) are resolved against.
  static fs::path BaseDir(ActorContext& actor) {
    const fs::path& dir = actor.manifest().base_dir;
    if (!dir.empty()) return dir;
    std::error_code ec;
    fs::path cwd = fs::current_path(ec);
    return ec ? fs::path("/") : cwd;
  }

  // Whether `real` (a real path) lies within one of `allowed` (each resolved against `base`,
  // then with its links resolved; entries that do not exist allow nothing).
  static Status CheckAllowedPath(const fs::path& real, const std::vector<std::string>& allowed,
                                 const fs::path& base) {
    for (const std::string& entry : allowed) {
      fs::path p(entry);
      if (p.is_relative()) p = base / p;
      std::error_code ec;
      fs::path canon = fs::canonical(p, ec);
      if (!ec && PathWithin(real, canon)) return Status::Ok();
    }
    return PermissionDenied("Path '" + real.string() +
                            "' not in allowed paths: " + FormatList(allowed));
  }

  // Entries of `allowed` that exist, resolved (relative ones against `base`), links resolved.
  static std::vector<fs::path> Resolved(const std::vector<std::string>& allowed,
                                        const fs::path& base) {
    std::vector<fs::path> out;
    for (const std::string& entry : allowed) {
      fs::path p(entry);
      if (p.is_relative()) p = base / p;
      std::error_code ec;
      fs::path canon = fs::canonical(p, ec);
      if (!ec) out.push_back(std::move(canon));
    }
    return out;
  }

  // What the process may reach (Landlock): its working directory, and every directory where
  // both the permission's and the config's allowed_paths allow a process to start, read-write.
  // Without either list, only the working directory.
  SandboxPolicy Sandbox(ActorContext& actor, int cwd_fd) const {
    SandboxPolicy policy;
    policy.confine = !config_.unconfined;
    policy.allow_network = config_.allow_network;
    policy.noexec = config_.require_noexec ? SandboxPolicy::Noexec::kRequired
                                           : SandboxPolicy::Noexec::kIfPossible;
    const unsigned rw = landlock::kRead | landlock::kWrite | landlock::kMakeDir;
    policy.grants.push_back({cwd_fd, "the working directory", rw});
    const EffectivePermissions& perms = actor.permissions();
    std::optional<std::vector<fs::path>> from_perm, from_config;
    if (perms.Get<ProcessPermissions>(kProcessHandler) && perms.Get<ProcessPermissions>(kProcessHandler)->allowed_paths) {
      from_perm = Resolved(*perms.Get<ProcessPermissions>(kProcessHandler)->allowed_paths, "/");
    }
    if (config_.allowed_paths) from_config = Resolved(*config_.allowed_paths, BaseDir(actor));
    std::vector<fs::path> dirs;
    if (from_perm && from_config) {
      // The intersection of two sets of trees: the deeper of each pair where one holds the other.
      for (const fs::path& p : *from_perm) {
        for (const fs::path& c : *from_config) {
          if (PathWithin(p, c)) {
            dirs.push_back(p);
          } else if (PathWithin(c, p)) {
            dirs.push_back(c);
          }
        }
      }
    } else if (from_perm || from_config) {
      dirs = from_perm ? *from_perm : *from_config;
    }
    for (const fs::path& dir : dirs) policy.grants.push_back({-1, dir.string(), rw});
    return policy;
  }

  // Opens the working directory and checks its real path against both allowlists.
  Result<UniqueFd> OpenCwd(ActorContext& actor, const std::optional<std::string>& cwd) {
    fs::path base = BaseDir(actor);
    fs::path path = base;
    if (cwd) {
      if (cwd->empty() || HasNul(*cwd)) {
        return InvalidArgument("cwd must be a non-empty path without NUL bytes");
      }
      path = fs::path(*cwd).is_absolute() ? fs::path(*cwd) : base / *cwd;
    }
    UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
      int err = errno;
      if (err == ENOENT) return NotFound("cwd '" + path.string() + "' does not exist");
      if (err == ENOTDIR) return InvalidArgument("cwd '" + path.string() + "' is not a directory");
      return ErrnoError("opening cwd '" + path.string() + "'", err);
    }
    // The directory actually opened, links resolved: what is checked is what the child gets.
    THEATER_ASSIGN_OR_RETURN(std::string resolved,
                             DescriptorPath(fd.get(), path.string()));
    fs::path real(std::move(resolved));
    const EffectivePermissions& perms = actor.permissions();
    if (perms.Get<ProcessPermissions>(kProcessHandler) && perms.Get<ProcessPermissions>(kProcessHandler)->allowed_paths) {
      THEATER_RETURN_IF_ERROR(CheckAllowedPath(real, *perms.Get<ProcessPermissions>(kProcessHandler)->allowed_paths, "/"));
    }
    if (config_.allowed_paths) {
      THEATER_RETURN_IF_ERROR(CheckAllowedPath(real, *config_.allowed_paths, base));
    }
    return fd;
  }

  // Validates the WIT process-config record into a spec (cwd excepted). Errors are
  // kInvalidArgument or the permission's / config's denials.
  Result<ProcessSpec> ParseSpec(ActorContext& actor, const Value& record) {
    const std::vector<Value>& f = record.items();
    ProcessSpec spec;
    spec.program = f[0].as_string();
    if (spec.program.empty() || HasNul(spec.program)) {
      return InvalidArgument("program must be a non-empty name without NUL bytes");
    }
    for (const Value& a : f[1].items()) {
      if (HasNul(a.as_string())) return InvalidArgument("an argument contains a NUL byte");
      spec.args.push_back(a.as_string());
    }
    for (const Value& kv : f[3].items()) {
      const std::string& k = kv.items()[0].as_string();
      const std::string& v = kv.items()[1].as_string();
      if (k.empty() || k.find('=') != std::string::npos || HasNul(k) || HasNul(v)) {
        return InvalidArgument("env: invalid variable name '" + k +
                               "' (empty, or contains '=' or NUL) or a NUL byte in its value");
      }
      spec.env.emplace_back(k, v);
    }
    // Both the config and (when it sets one) the permission must name each variable.
    spec.env_allowed.push_back({"the process handler's config", config_.allowed_env});
    const ProcessPermissions* granted =
        actor.permissions().Get<ProcessPermissions>(kProcessHandler);
    if (granted && granted->allowed_env) {
      spec.env_allowed.push_back({"the process permission", *granted->allowed_env});
    }
    uint64_t buffer = f[4].as_u64();
    spec.stdout_mode = static_cast<OutputMode>(f[5].case_index());
    spec.stderr_mode = static_cast<OutputMode>(f[6].case_index());
    if (buffer == 0) return InvalidArgument("buffer-size must be at least 1");
    // Both streams may hold an incomplete piece of up to buffer-size bytes at once.
    uint64_t needed = 2 * buffer;
    const EffectivePermissions& perms = actor.permissions();
    if (Status s = CheckProcessOutputBuffer(perms, needed); !s.ok()) {
      return s.WithContext("buffer-size " + std::to_string(buffer) +
                           " needs an output buffer of twice its size (two streams)");
    }
    if (needed > max_output_buffer_) {
      return PermissionDenied("buffer-size " + std::to_string(buffer) +
                              " needs an output buffer of twice its size (two streams): "
                              "Resource limit exceeded: output_buffer = " +
                              std::to_string(needed) + " > " + std::to_string(max_output_buffer_));
    }
    spec.buffer_size = static_cast<uint32_t>(buffer);
    if (f[7].is_some()) {
      uint64_t chunk = f[7].payload()->as_u64();
      if (chunk == 0 || chunk > buffer) {
        return InvalidArgument("chunk-size " + std::to_string(chunk) +
                               " must lie in 1..=" + std::to_string(buffer) + " (buffer-size)");
      }
      spec.chunk_size = static_cast<uint32_t>(chunk);
    }
    if (f[8].is_some()) {
      uint64_t seconds = f[8].payload()->as_u64();
      if (seconds == 0) return InvalidArgument("execution-timeout must be at least 1 second");
      seconds = std::min(seconds, kMaxTimeoutSeconds);
      spec.timeout = std::chrono::milliseconds(seconds * 1000);
    }
    // The permission, then the config (the same check on a permission built from it).
    size_t running = supervisor_->active();
    THEATER_RETURN_IF_ERROR(CheckProgram(perms, spec.program, running));
    ProcessPermissions from_config;
    from_config.max_processes = config_.max_processes;
    from_config.allowed_programs = config_.allowed_programs;
    THEATER_RETURN_IF_ERROR(CheckProgram(&from_config, spec.program, running));
    return spec;
  }

  HostResults OsSpawn(ActorContext& actor, HostArgs args) {
    if (!supervisor_) return ErrValue(FailedPrecondition("the process handler is not started"));
    Result<ProcessSpec> spec = ParseSpec(actor, args[0]);
    if (!spec.ok()) return ErrValue(spec.status());
    const Value& cwd_value = args[0].items()[2];
    std::optional<std::string> cwd;
    if (cwd_value.is_some()) cwd = cwd_value.payload()->as_string();
    Result<UniqueFd> dir = OpenCwd(actor, cwd);
    if (!dir.ok()) return ErrValue(dir.status());
    spec->cwd_fd = dir->get();
    spec->sandbox = Sandbox(actor, dir->get());
    Result<uint64_t> id = supervisor_->Spawn(*spec);
    if (!id.ok()) return ErrValue(id.status());
    return OkValue(Value::U64(*id));
  }

  HostResults OsWriteStdin(ActorContext&, HostArgs args) {
    if (!supervisor_) return ErrValue(FailedPrecondition("the process handler is not started"));
    Result<uint32_t> n = supervisor_->WriteStdin(args[0].as_u64(), args[1].as_bytes());
    if (!n.ok()) return ErrValue(n.status());
    return OkValue(Value::U32(*n));
  }

  HostResults OsStatus(ActorContext&, HostArgs args) {
    if (!supervisor_) return ErrValue(FailedPrecondition("the process handler is not started"));
    Result<ProcessInfo> info = supervisor_->GetStatus(args[0].as_u64());
    if (!info.ok()) return ErrValue(info.status());
    return OkValue(Value::Record({
        Value::U64(static_cast<uint64_t>(info->pid)),
        Value::Bool(info->running),
        info->exit_code ? Value::Some(Value::S32(*info->exit_code)) : Value::None(),
        Value::U64(info->start_time_ms),
    }));
  }

  HostResults OsSignal(ActorContext&, HostArgs args) {
    if (!supervisor_) return ErrValue(FailedPrecondition("the process handler is not started"));
    uint64_t sig = args[1].as_u64();
    if (sig > INT_MAX || !ValidSignal(static_cast<int>(sig))) {
      return ErrValue(InvalidArgument("invalid signal number " + std::to_string(sig)));
    }
    Status sent = supervisor_->Signal(args[0].as_u64(), static_cast<int>(sig));
    if (!sent.ok()) return ErrValue(sent);
    return OkValue();
  }

  HostResults OsKill(ActorContext&, HostArgs args) {
    if (!supervisor_) return ErrValue(FailedPrecondition("the process handler is not started"));
    Status killed = supervisor_->Kill(args[0].as_u64());
    if (!killed.ok()) return ErrValue(killed);
    return OkValue();
  }

  ProcessConfig config_;
  uint64_t max_output_buffer_ = 0;  // the smaller of the config's and the permission's
  std::unique_ptr<ProcessSupervisor> supervisor_;
};

}  // namespace

std::unique_ptr<Handler> NewProcessHandler() {
  return std::make_unique<ProcessHandler>();
}

}  // namespace theater::handlers
