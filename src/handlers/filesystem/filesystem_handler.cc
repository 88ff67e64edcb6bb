// Theater: a WebAssembly actor runtime.
//
// The filesystem handler: every function of theater:simple/filesystem (wit/filesystem.wit) on a
// directory tree the manifest grants, confined by the kernel (confined_dir.h) rather than by
// string checks, and execute-command / execute-nix-command for the programs both the handler
// config and the permission allow (command_runner.h). docs/handlers.md, "filesystem", is the
// reference: config, errors, what is recorded.
//
// Per call: the guest path is checked (ParseGuestPath), the actor's filesystem permission is
// checked for the operation (read / write / create-dir / execute) and for allowed_paths, and the
// path is resolved with openat2 beneath the base directory — or, when allowed_paths is set,
// beneath the allowed directory it lies in, so that a symbolic link cannot carry it from an
// allowed tree into another part of the base. Every failure is the function's `err` prefixed by
// the status code's name ("permission-denied: ...", "not-found: ..."); the actor host records
// every call with its inputs and outputs in the chain.
//
// A command runs confined by Landlock to the directories the actor's calls may reach, with the
// permission's read/write flags (Sandbox()), unless the config says `unconfined = true`, with
// those directories mounted noexec for it, and the host's base environment only (execute-command
// takes no variables: common/child_env.h); it and everything it starts are killed when it exits
// (command_runner.h, common/confined_spawn.h).
//
// A command holds neither a worker nor a thread while it runs: the call suspends
// (ActorContext::Suspend) and the instance's CommandRunner, made on its first command, watches the
// program on the host's I/O loop (HostServices::io()) and wakes the call when it has finished. A
// cancelled call kills its command; Stop() and the destructor kill every running command (their
// calls are woken with what the commands wrote until then).
//
// Thread-safety: one instance per actor; host functions run one at a time on the actor's fiber.
// The base descriptor and the allowed roots are fixed in SetupHostFunctions. `runner_` is shared
// with Stop(), which runs on a runtime thread, and is guarded by runner_mu_; a call holds its own
// reference to the runner while it waits, so Stop() may shut it down and drop it meanwhile.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <future>
#include <memory>

#include "common/confined_dir.h"
#include "common/landlock.h"
#include "common/utf8.h"
#include "handlers/filesystem/command_runner.h"
#include "handlers/filesystem/filesystem_handler.h"
#include "handlers/filesystem/fs_config.h"
#include "handlers/filesystem/fs_permissions.h"
#include "handlers/support/handler_util.h"
#include "theater/mutex.h"

namespace theater::handlers {
namespace {

namespace fs = std::filesystem;
using abi::Value;

enum class Op { kRead, kWrite, kCreateDir, kExecute };

HostResults OkOr(const Status& status) {
  if (!status.ok()) return ErrValue(status);
  return OkValue();
}

bool HasPrefix(const std::vector<std::string>& parts, const std::vector<std::string>& prefix) {
  if (prefix.size() > parts.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), parts.begin());
}

// The command-result variant: success(command-success) or error(command-error).
Value CommandSuccess(std::string out, std::string err, int32_t exit_code) {
  return Value::Variant(0, Value::Record({Value::String(std::move(out)),
                                          Value::String(std::move(err)), Value::S32(exit_code)}));
}
Value CommandError(const Status& status) {
  return Value::Variant(1, Value::Record({Value::String(std::string(StatusCodeName(status.code())) +
                                                        ": " + status.ToString())}));
}

// Splits a nix command line at ASCII whitespace (no quoting, no expansion: there is no shell).
std::vector<std::string> SplitWords(std::string_view text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::strchr(" \t\n\r\f\v", text[i]) && text[i] != '\0') ++i;
    size_t start = i;
    while (i < text.size() && !(std::strchr(" \t\n\r\f\v", text[i]) && text[i] != '\0')) ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

class FilesystemHandler final : public Handler {
 public:
  FilesystemHandler() = default;
  explicit FilesystemHandler(FilesystemConfig config) : config_(std::move(config)) {}
  ~FilesystemHandler() override { Cleanup(); }

  std::string_view name() const override { return "filesystem"; }
  std::optional<std::string> imports() const override { return "theater:simple/filesystem"; }
  std::optional<std::string> exports() const override { return std::nullopt; }
  const PermissionRules* permission_rules() const override { return &FileSystemPermissionRules(); }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    THEATER_ASSIGN_OR_RETURN(FilesystemConfig parsed, ParseFilesystemConfig(config.config));
    return std::unique_ptr<Handler>(new FilesystemHandler(std::move(parsed)));
  }

  Status SetupHostFunctions(ActorContext& actor, HostFunctions& functions) override {
    THEATER_RETURN_IF_ERROR(OpenBase(actor));
    auto add = [&](std::string_view function, auto method) {
      return functions.AddMethod("filesystem", function, this, method);
    };
    THEATER_RETURN_IF_ERROR(add("read-file", &FilesystemHandler::ReadFile));
    THEATER_RETURN_IF_ERROR(add("write-file", &FilesystemHandler::WriteFile));
    THEATER_RETURN_IF_ERROR(add("list-files", &FilesystemHandler::ListFiles));
    THEATER_RETURN_IF_ERROR(add("delete-file", &FilesystemHandler::DeleteFile));
    THEATER_RETURN_IF_ERROR(add("create-dir", &FilesystemHandler::CreateDir));
    THEATER_RETURN_IF_ERROR(add("delete-dir", &FilesystemHandler::DeleteDir));
    THEATER_RETURN_IF_ERROR(add("path-exists", &FilesystemHandler::PathExists));
    THEATER_RETURN_IF_ERROR(add("execute-command", &FilesystemHandler::ExecuteCommand));
    return add("execute-nix-command", &FilesystemHandler::ExecuteNixCommand);
  }

  void Stop(StopKind) override { Cleanup(); }

 private:
  // Opens the base directory: `path` (relative to the manifest's directory; created first when
  // missing and the config says new_dir), or a fresh directory for temp_dir. Computes the
  // allowed roots from the permission.
  Status OpenBase(ActorContext& actor) {
    const EffectivePermissions& perms = actor.permissions();
    // Without the filesystem permission every call is refused before it reaches this handler;
    // do not create or open anything.
    if (!perms.Get<FileSystemPermissions>(kFilesystemHandler)) return Status::Ok();
    // A component update sets up the host functions again: keep the directory already open.
    if (root_.valid()) return Status::Ok();
    fs::path base;
    if (config_.path) {
      base = fs::path(*config_.path);
      if (base.is_relative()) {
        const Manifest& manifest = actor.manifest();
        if (manifest.base_dir.empty() && !manifest.base_url.empty()) {
          return InvalidArgument(
              "path: a relative path needs a manifest on the local filesystem "
              "(this one came from " +
              manifest.base_url + ")");
        }
        if (!manifest.base_dir.empty()) base = manifest.base_dir / base;
      }
      base = base.lexically_normal();
      if (config_.new_dir) THEATER_RETURN_IF_ERROR(CreateMissingBase(base, perms));
    } else {
      if (!perms.Get<FileSystemPermissions>(kFilesystemHandler)->new_dir) {
        return PermissionDenied(
            "Operation denied: temp_dir needs the filesystem permission's new_dir");
      }
      THEATER_ASSIGN_OR_RETURN(base, MakeFreshDir(actor.id()));
      made_dir_ = base;
    }
    THEATER_ASSIGN_OR_RETURN(root_, OpenRoot(base.string()));
    std::error_code ec;
    fs::path real = fs::canonical(base, ec);
    base_real_ = ec ? fs::absolute(base, ec) : real;
    ComputeAllowedRoots(perms.Get<FileSystemPermissions>(kFilesystemHandler)->allowed_paths);
    ComputeDeniedPaths(perms.Get<FileSystemPermissions>(kFilesystemHandler)->denied_paths);
    wasi_rights_ = *perms.Get<FileSystemPermissions>(kFilesystemHandler);
    return Status::Ok();
  }

  // Asked only for components, so a core module's handler opens nothing more.
  std::vector<WasiPreopen> WasiPreopens() override {
    if (!root_.valid() || !wasi_rights_) return {};
    // The kernel confines a preopen to whole trees; it cannot keep denied paths out of one, so
    // with denied_paths a component gets no wasi:filesystem directory from this handler.
    if (!denied_.empty()) return {};
    if (!wasi_granted_) {
      GrantToWasi(*wasi_rights_);
      wasi_granted_ = true;
    }
    return wasi_preopens_;
  }

  // What a component reaches through wasi:filesystem: the base directory as "/", or, when
  // allowed_paths restricts it, each allowed directory that exists as "/<its path>" (so the
  // kernel confines WASI to exactly the allowed trees). The permission's flags apply.
  void GrantToWasi(const FileSystemPermissions& perms) {
    WasiPreopen preopen;
    preopen.read = perms.read;
    preopen.write = perms.write;
    preopen.create_dir = perms.write && perms.new_dir;
    if (!allowed_roots_) {
      preopen.directory_fd = root_.get();
      preopen.guest_path = "/";
      wasi_preopens_.push_back(preopen);
      return;
    }
    for (AllowedDir& dir : OpenAllowedDirs()) {
      preopen.directory_fd = dir.fd.get();
      preopen.guest_path = "/" + dir.path;
      wasi_dirs_.push_back(std::move(dir.fd));
      wasi_preopens_.push_back(preopen);
    }
  }

  // Each directory allowed_paths names that exists, opened (O_PATH) beneath the base, with its
  // path relative to the base ("" for the base itself). One that does not exist grants nothing.
  struct AllowedDir {
    std::string path;
    UniqueFd fd;
  };
  std::vector<AllowedDir> OpenAllowedDirs() const {
    std::vector<AllowedDir> dirs;
    for (const std::vector<std::string>& parts : *allowed_roots_) {
      GuestPath path;
      path.parts = parts;
      Result<UniqueFd> dir =
          OpenBeneath(root_.get(), path.Joined(), O_PATH | O_DIRECTORY, 0, path.Joined());
      if (dir.ok()) dirs.push_back({path.Joined(), std::move(dir).value()});
    }
    return dirs;
  }

  // `path` with new_dir: created, with its missing parents, when it does not exist yet, which
  // needs the permission to write and to create directories.
  static Status CreateMissingBase(const fs::path& base, const EffectivePermissions& perms) {
    std::error_code ec;
    if (fs::is_directory(base, ec)) return Status::Ok();
    const FileSystemPermissions* granted = perms.Get<FileSystemPermissions>(kFilesystemHandler);
    if (!granted->write || !granted->new_dir) {
      return PermissionDenied("new_dir: creating '" + base.string() +
                              "' needs the filesystem permission's write and new_dir");
    }
    fs::create_directories(base, ec);
    if (ec) return InvalidArgument("new_dir: cannot create '" + base.string() + "': " + ec.message());
    return Status::Ok();
  }

  // $TMPDIR/theater-fs-<actor id>-XXXXXX (mode 0700), unique even when an id is reused.
  static Result<fs::path> MakeFreshDir(const std::string& actor_id) {
    std::error_code ec;
    fs::path tmp = fs::temp_directory_path(ec);
    if (ec) tmp = "/tmp";
    std::string pattern = (tmp / ("theater-fs-" + actor_id + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return ErrnoError("temp_dir: creating a directory under " + tmp.string(), errno);
    }
    return fs::path(pattern);
  }

  // allowed_paths entries as component lists relative to the base. Relative entries are
  // relative to the base; an absolute entry counts for the part of the base it covers (all of it
  // when the base lies within it). Entries outside the base, or with "..", allow nothing here.
  void ComputeAllowedRoots(const AllowList& allowed) {
    if (!allowed) return;
    allowed_text_ = *allowed;
    allowed_roots_.emplace();
    for (const std::string& entry : *allowed) {
      fs::path p(entry);
      if (p.is_absolute()) {
        p = p.lexically_normal();
        if (PathWithin(base_real_, p)) {
          allowed_roots_->push_back({});
        } else if (PathWithin(p, base_real_)) {
          Result<GuestPath> rel = ParseGuestPath(p.lexically_relative(base_real_).string());
          if (rel.ok()) allowed_roots_->push_back(rel->parts);
        }
        continue;
      }
      Result<GuestPath> rel = ParseGuestPath(entry);
      if (rel.ok()) allowed_roots_->push_back(rel->parts);
    }
  }

  // Where a checked path resolves: a root descriptor and the components below it.
  struct Target {
    UniqueFd owned;  // the allowed directory's descriptor, when the root is not the base
    int root = -1;
    std::vector<std::string> parts;
    std::string shown;  // the path as the actor wrote it
  };

  // denied_paths as host paths: relative entries are relative to the base; each is resolved as
  // far as it exists (links followed), so that a call is checked against where it really lands.
  void ComputeDeniedPaths(const std::vector<std::string>& denied) {
    denied_text_ = denied;
    for (const std::string& entry : denied) {
      fs::path p(entry);
      if (p.is_relative()) p = base_real_ / p;
      std::error_code ec;
      fs::path real = fs::weakly_canonical(p, ec);
      denied_.push_back((ec ? p : real).lexically_normal());
    }
  }

  // Refuses a resolved target that lies in a denied path: the host path it reaches (links
  // followed, as far as it exists; the rest of it as written), and for a write (which may delete
  // a tree) also one that holds a denied path.
  Status CheckDenied(const Target& target, Op op) const {
    if (denied_.empty()) return Status::Ok();
    if (op == Op::kExecute) {
      return PermissionDenied(
          "Operation denied: commands cannot run while denied_paths is set (a command's "
          "confinement grants whole trees and cannot keep a denied path out of one)");
    }
    for (size_t n = target.parts.size() + 1; n-- > 0;) {
      GuestPath prefix;
      prefix.parts.assign(target.parts.begin(), target.parts.begin() + static_cast<std::ptrdiff_t>(n));
      int fd = OpenBeneathRaw(target.root, prefix.Joined(), O_PATH, 0);
      if (fd == -ENOENT || fd == -ENOTDIR) continue;  // check what exists of it
      if (fd < 0) return Status::Ok();  // the operation reports the escape or the loop itself
      UniqueFd owned(fd);
      THEATER_ASSIGN_OR_RETURN(std::string resolved, DescriptorPath(owned.get(), target.shown));
      fs::path reached(resolved);
      for (size_t i = n; i < target.parts.size(); ++i) reached /= target.parts[i];
      for (const fs::path& denied : denied_) {
        if (PathWithin(reached, denied) || (op == Op::kWrite && PathWithin(denied, reached))) {
          return PermissionDenied("Path '" + target.shown +
                                  "' is in denied paths: " + FormatList(denied_text_));
        }
      }
      return Status::Ok();
    }
    return Status::Ok();
  }

  // The operation's flag in the actor's filesystem permission (read, write, create-dir).
  static Status CheckFlag(const EffectivePermissions& perms, Op op, const std::string& shown) {
    const FileSystemPermissions* granted = perms.Get<FileSystemPermissions>(kFilesystemHandler);
    std::optional<FileSystemPermissions> flags_only;
    if (granted) {
      flags_only = *granted;
      flags_only->allowed_paths.reset();  // paths are checked against the roots
    }
    const FileSystemPermissions* flags = flags_only ? &*flags_only : nullptr;
    switch (op) {
      case Op::kRead:
        return CheckFileRead(flags, shown);
      case Op::kWrite:
        return CheckFileWrite(flags, shown);
      case Op::kCreateDir:
        return CheckFileCreateDir(flags, shown);
      case Op::kExecute:
        if (!granted) return CheckFileCommand(flags, "");
        return Status::Ok();
    }
    return Status::Ok();
  }

  Result<Target> Resolve(ActorContext& actor, const std::string& path, Op op) {
    THEATER_ASSIGN_OR_RETURN(GuestPath guest, ParseGuestPath(path));
    THEATER_RETURN_IF_ERROR(CheckFlag(actor.permissions(), op, guest.Joined()));
    if (!root_.valid()) {
      return FailedPrecondition("the filesystem handler has no base directory");
    }
    Target target;
    target.shown = path;
    target.root = root_.get();
    target.parts = guest.parts;
    if (!allowed_roots_) {
      THEATER_RETURN_IF_ERROR(CheckDenied(target, op));
      return target;
    }
    const std::vector<std::string>* best = nullptr;
    for (const std::vector<std::string>& prefix : *allowed_roots_) {
      if (HasPrefix(guest.parts, prefix) && (!best || prefix.size() < best->size())) {
        best = &prefix;
      }
    }
    if (!best) {
      return PermissionDenied("Path '" + guest.Joined() +
                              "' not in allowed paths: " + FormatList(allowed_text_));
    }
    // The allowed directory itself resolves beneath the base (its parent is needed to create or
    // delete it); anything inside it resolves beneath the allowed directory, so no link inside
    // can lead to a part of the base that is not allowed.
    if (best->empty() || best->size() == guest.parts.size()) {
      THEATER_RETURN_IF_ERROR(CheckDenied(target, op));
      return target;
    }
    GuestPath prefix_path;
    prefix_path.parts = *best;
    THEATER_ASSIGN_OR_RETURN(target.owned, OpenBeneath(root_.get(), prefix_path.Joined(),
                                                       O_PATH | O_DIRECTORY, 0, path));
    target.root = target.owned.get();
    target.parts.assign(guest.parts.begin() + static_cast<std::ptrdiff_t>(best->size()),
                        guest.parts.end());
    THEATER_RETURN_IF_ERROR(CheckDenied(target, op));
    return target;
  }

  HostResults ReadFile(ActorContext& actor, HostArgs args) {
    Result<Target> t = Resolve(actor, args[0].as_string(), Op::kRead);
    if (!t.ok()) return ErrValue(t.status());
    Result<std::vector<uint8_t>> data =
        ReadFileBeneath(t->root, t->parts, config_.max_file_bytes, t->shown);
    if (!data.ok()) return ErrValue(data.status());
    return OkValue(Value::Bytes(std::move(data).value()));
  }

  HostResults WriteFile(ActorContext& actor, HostArgs args) {
    Result<Target> t = Resolve(actor, args[0].as_string(), Op::kWrite);
    if (!t.ok()) return ErrValue(t.status());
    return OkOr(
        WriteFileBeneath(t->root, t->parts, args[1].as_string(), config_.max_file_bytes, t->shown));
  }

  HostResults ListFiles(ActorContext& actor, HostArgs args) {
    Result<Target> t = Resolve(actor, args[0].as_string(), Op::kRead);
    if (!t.ok()) return ErrValue(t.status());
    Result<std::vector<std::string>> names = ListBeneath(t->root, t->parts, t->shown);
    if (!names.ok()) return ErrValue(names.status());
    std::vector<Value> items;
    items.reserve(names->size());
    for (std::string& n : *names) items.push_back(Value::String(std::move(n)));
    return OkValue(Value::List(std::move(items)));
  }

  // A call that changes the path in its first argument and answers only whether that worked.
  using PathChange = Status (*)(int root, const std::vector<std::string>& parts,
                                std::string_view shown);
  HostResults ChangePath(ActorContext& actor, HostArgs args, Op op, PathChange change) {
    Result<Target> t = Resolve(actor, args[0].as_string(), op);
    if (!t.ok()) return ErrValue(t.status());
    return OkOr(change(t->root, t->parts, t->shown));
  }
  HostResults DeleteFile(ActorContext& actor, HostArgs args) {
    return ChangePath(actor, args, Op::kWrite, DeleteFileBeneath);
  }
  HostResults CreateDir(ActorContext& actor, HostArgs args) {
    return ChangePath(actor, args, Op::kCreateDir, CreateDirBeneath);
  }
  HostResults DeleteDir(ActorContext& actor, HostArgs args) {
    return ChangePath(actor, args, Op::kWrite, DeleteDirBeneath);
  }

  HostResults PathExists(ActorContext& actor, HostArgs args) {
    Result<Target> t = Resolve(actor, args[0].as_string(), Op::kRead);
    if (!t.ok()) {
      // A path inside an allowed directory that does not exist is "false", not an error.
      if (t.status().code() == StatusCode::kNotFound) return OkValue(Value::Bool(false));
      return ErrValue(t.status());
    }
    Result<bool> exists = ExistsBeneath(t->root, t->parts, t->shown);
    if (!exists.ok()) return ErrValue(exists.status());
    return OkValue(Value::Bool(*exists));
  }

  HostResults ExecuteCommand(ActorContext& actor, HostArgs args) {
    std::vector<std::string> argv;
    for (const Value& a : args[2].items()) argv.push_back(a.as_string());
    return Execute(actor, args[0].as_string(), args[1].as_string(), std::move(argv), {});
  }

  // nix develop --command <words of command>. Both `nix` and the program the command names must
  // be allowed: allowing nix alone would otherwise allow anything the dev shell can run.
  HostResults ExecuteNixCommand(ActorContext& actor, HostArgs args) {
    std::vector<std::string> words = SplitWords(args[1].as_string());
    if (words.empty()) {
      return OkValue(CommandError(InvalidArgument("execute-nix-command: empty command")));
    }
    std::string inner = words.front();
    std::vector<std::string> argv = {"develop", "--command"};
    argv.insert(argv.end(), words.begin(), words.end());
    return Execute(actor, args[0].as_string(), "nix", std::move(argv), inner);
  }

  // Why `command` may not run, or OK: the permission (execute, allowed_commands) and the
  // handler's allowed_commands must both allow it.
  Status CheckCommand(const EffectivePermissions& perms, const std::string& command) const {
    THEATER_RETURN_IF_ERROR(CheckFileCommand(perms, command));
    if (std::find(config_.allowed_commands.begin(), config_.allowed_commands.end(), command) ==
        config_.allowed_commands.end()) {
      return PermissionDenied("Command " + QuoteInput(command) +
                              " not in the filesystem handler's "
                              "allowed_commands: " +
                              FormatList(config_.allowed_commands));
    }
    return Status::Ok();
  }

  // What a command may reach (Landlock): the directories the actor's calls may reach — the
  // base, or each allowed directory beneath it — read and/or written as the permission's flags
  // say; directories may be created when it allows create-dir. Descriptors opened here are
  // kept in `held`.
  SandboxPolicy Sandbox(const EffectivePermissions& perms, std::vector<UniqueFd>& held) const {
    SandboxPolicy policy;
    policy.confine = !config_.unconfined;
    policy.allow_network = config_.allow_network;
    policy.noexec = config_.require_noexec ? SandboxPolicy::Noexec::kRequired
                                           : SandboxPolicy::Noexec::kIfPossible;
    unsigned access = 0;
    if (const auto* granted = perms.Get<FileSystemPermissions>(kFilesystemHandler)) {
      if (granted->read) access |= landlock::kRead;
      if (granted->write) access |= landlock::kWrite;
      if (granted->write && granted->new_dir) access |= landlock::kMakeDir;
    }
    if (!allowed_roots_) {
      policy.grants.push_back({root_.get(), base_real_.string(), access});
      return policy;
    }
    for (AllowedDir& dir : OpenAllowedDirs()) {
      policy.grants.push_back({dir.fd.get(), dir.path, access});
      held.push_back(std::move(dir.fd));
    }
    return policy;
  }

  HostResults Execute(ActorContext& actor, const std::string& dir, const std::string& command,
                      std::vector<std::string> args, const std::string& inner) {
    const EffectivePermissions& perms = actor.permissions();
    Result<Target> t = Resolve(actor, dir, Op::kExecute);
    if (!t.ok()) return ErrValue(t.status());
    // argv strings are C strings: a NUL would silently cut an argument short.
    bool has_nul = command.find('\0') != std::string::npos;
    for (const std::string& a : args) has_nul |= a.find('\0') != std::string::npos;
    if (has_nul) {
      return OkValue(
          CommandError(InvalidArgument("the command or an argument contains a NUL byte")));
    }
    if (Status allowed = CheckCommand(perms, command); !allowed.ok()) {
      return OkValue(CommandError(allowed));
    }
    if (!inner.empty()) {
      if (Status allowed = CheckCommand(perms, inner); !allowed.ok()) {
        return OkValue(CommandError(allowed));
      }
    }
    GuestPath rel;
    rel.parts = t->parts;
    Result<UniqueFd> cwd = OpenBeneath(t->root, rel.Joined(), O_PATH | O_DIRECTORY, 0, t->shown);
    if (!cwd.ok()) return ErrValue(cwd.status());

    CommandSpec spec;
    spec.program = command;
    spec.args = std::move(args);
    spec.cwd_fd = cwd->get();
    std::vector<UniqueFd> granted;  // the granted directories' descriptors, open until started
    spec.sandbox = Sandbox(perms, granted);
    spec.timeout = std::chrono::milliseconds(config_.command_timeout_ms);
    spec.max_output_bytes = config_.max_output_bytes;
    std::shared_ptr<CommandRunner> runner = Runner(actor);
    Result<uint64_t> id = FailedPrecondition("the command was not started");
    Status waited = Run(actor, *runner, spec, id);
    if (!waited.ok()) return waited;  // the call was cancelled (the actor is stopping)
    if (!id.ok()) return OkValue(CommandError(id.status()));
    std::optional<CommandOutput> out = runner->Take(*id);
    if (!out) return Cancelled("the command was stopped with the actor");
    if (out->timed_out) {
      return OkValue(CommandError(DeadlineExceeded(
          "command '" + command + "' did not finish within " +
          std::to_string(config_.command_timeout_ms) + " ms (command_timeout_ms) and was killed")));
    }
    return OkValue(
        CommandSuccess(std::move(out->stdout_text), std::move(out->stderr_text), out->exit_code));
  }

  // The instance's runner, made on its first command (and again after Stop() dropped it).
  std::shared_ptr<CommandRunner> Runner(ActorContext& actor) {
    MutexLock lock(runner_mu_);
    if (!runner_) runner_ = std::make_shared<CommandRunner>(actor.services().io().context());
    return runner_;
  }

  // Starts `spec` on `runner` and waits until it has finished, without holding the worker: the
  // call suspends and the runner wakes it from the loop. A direct call (which cannot suspend)
  // waits on its own thread instead. `id` gets the command's id or why it did not start. Returns
  // the call's cancellation when it was cancelled while waiting (the command is then killed).
  Status Run(ActorContext& actor, CommandRunner& runner, const CommandSpec& spec,
             Result<uint64_t>& id) {
    if (!actor.CanSuspend()) {
      auto finished = std::make_shared<std::promise<void>>();
      std::future<void> outcome = finished->get_future();
      id = runner.Start(spec, [finished] { finished->set_value(); });
      if (id.ok()) outcome.wait();
      return Status::Ok();
    }
    // Started once the fiber has switched away, so that a command that ends at once wakes a call
    // that is already waiting; `spec` (and the descriptors it names) live on the fiber's stack.
    Result<uint64_t> woken = actor.Suspend([&](Waker waker) {
      id = runner.Start(spec, [waker] { waker.Wake(); });
      if (!id.ok()) waker.Wake();
    });
    if (!woken.ok() && id.ok()) runner.Abandon(*id);
    return woken.status();
  }

  // Kills running commands (waking their calls), removes a temp_dir directory (unless kept).
  void Cleanup() {
    std::shared_ptr<CommandRunner> runner;
    {
      MutexLock lock(runner_mu_);
      runner.swap(runner_);
    }
    if (runner) runner->Shutdown();
    if (made_dir_ && !config_.keep_dir) {
      root_ = UniqueFd();
      fs::path dir = *made_dir_;
      made_dir_.reset();
      UniqueFd parent(::open(dir.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (parent.valid()) {
        RemoveTreeAt(parent.get(), dir.filename().string(), dir.string()).IgnoreError();
      }
    }
  }

  FilesystemConfig config_;
  UniqueFd root_;                     // the base directory (O_PATH)
  fs::path base_real_;                // its canonical path, for absolute allowed_paths
  std::optional<fs::path> made_dir_;  // the temp_dir directory this instance created
  // allowed_paths as component lists relative to the base; nullopt: unrestricted.
  std::optional<std::vector<std::vector<std::string>>> allowed_roots_;
  std::vector<std::string> allowed_text_;  // allowed_paths as written, for messages
  std::vector<fs::path> denied_;           // denied_paths as host paths (ComputeDeniedPaths)
  std::vector<std::string> denied_text_;   // denied_paths as written, for messages
  // The directories granted to WASI (a component's wasi:filesystem) and their descriptors
  // (root_ itself, or the allowed directories opened beneath it, held in wasi_dirs_).
  std::vector<WasiPreopen> wasi_preopens_;
  std::vector<UniqueFd> wasi_dirs_;
  std::optional<FileSystemPermissions> wasi_rights_;  // the permission, set with the base
  bool wasi_granted_ = false;                         // wasi_preopens_ computed

  Mutex runner_mu_;
  std::shared_ptr<CommandRunner> runner_ THEATER_GUARDED_BY(runner_mu_);  // made on first use
};

}  // namespace

std::unique_ptr<Handler> NewFilesystemHandler() {
  return std::make_unique<FilesystemHandler>();
}

}  // namespace theater::handlers
