// Theater: a WebAssembly actor runtime.
//
// `theater dev [DIR]`: the development loop of dev_session.h, with the actor on an embedded
// runtime in this process (the default: nothing else to start) or, with --server, on a
// management server. Both print the actor's log lines as `theater run` does, and tell when it
// fails or stops by itself.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <future>
#include <iostream>
#include <mutex>

#include "cli/context.h"
#include "cli/dev_session.h"
#include "cli/event_stream.h"
#include "common/utf8.h"
#include "common/uuid.h"
#include "theater/builtins.h"
#include "theater/runtime.h"

namespace theater::cli {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Prints one line the actor logged: "[name] text", the text made safe for a terminal.
void PrintLogLine(const Output& out, std::string_view name, std::string_view text) {
  std::cout << out.Paint("[" + TerminalSafe(name) + "]", Style::kCyan) + " " + TerminalSafe(text) +
                   "\n"
            << std::flush;
}

// The actor in an embedded runtime: no database (its chain is in memory), every module from
// the fast compile tier at once (a build is answering in a fraction of a second; the optimized
// code follows in the background for later runs).
class LocalTarget : public DevTarget {
 public:
  explicit LocalTarget(const Output& out) : out_(out) {}

  Status Init() {
    // The runtime's warnings go to stderr, beside the loop's lines.
    spdlog::set_default_logger(spdlog::stderr_color_mt("theater-dev"));
    spdlog::set_level(spdlog::level::warn);
    RuntimeOptions options;
    options.persist = false;
    options.durability = Durability::kNone;
    options.engine.progress = engine::EngineOptions::Progress::kOn;
    options.engine.fast_tier_min_code_bytes = 0;
    options.log_sink = [this](std::string_view, std::string_view name, std::string_view line) {
      std::lock_guard lock(mu_);
      PrintLogLine(out_, name, line);
    };
    THEATER_ASSIGN_OR_RETURN(runtime_,
                             TheaterRuntime::Create(std::move(options), BuiltinHandlers()));
    runtime_->SetTopLevelListener([this](const ChildEvent& event) {
      std::lock_guard lock(mu_);
      if (event.child_id != id_) return;
      ended_ = event;
    });
    return Status();
  }

  std::string Where() const override { return "an embedded runtime"; }

  Status Start(const fs::path& manifest) override {
    manifest_ = manifest;
    {
      std::lock_guard lock(mu_);
      ended_.reset();
      told_ended_ = false;
      id_ = NewUuid();
    }
    SpawnRequest request;
    request.manifest = manifest.string();
    request.actor_id = id_;
    // Asynchronously, so that Ctrl-C during a first compile still ends the command.
    auto spawned = std::make_shared<std::promise<Result<std::string>>>();
    std::future<Result<std::string>> done = spawned->get_future();
    runtime_->SpawnAsync(std::move(request),
                         [spawned](Result<std::string> result) { spawned->set_value(result); });
    while (done.wait_for(50ms) != std::future_status::ready) {
      if (InterruptCount() > 0) {
        std::cerr << "theater: interrupted while starting the actor\n";
        std::_Exit(kExitInterrupted);
      }
    }
    return done.get().status();
  }

  bool Running() override {
    Result<ActorPhase> phase = runtime_->Phase(id_);
    const bool running = phase.ok();
    std::lock_guard lock(mu_);
    if (!running && ended_ && !told_ended_) {
      told_ended_ = true;
      if (ended_->kind == ChildEvent::Kind::kError) {
        std::cerr << out_.Paint("the actor failed", Style::kRed) + ": " + ended_->error.message() +
                         "\n";
      } else if (ended_->kind == ChildEvent::Kind::kExit) {
        std::cerr << "the actor shut itself down\n";
      }
    }
    return running;
  }

  Status Update(const fs::path& component) override {
    return runtime_->UpdateComponent(id_, component.string());
  }

  Status Restart() override {
    // A fresh actor from the manifest, as read now (Restart would reuse the spawn's request).
    runtime_->Stop(id_, "restarted by theater dev").IgnoreError();
    return Start(manifest_);
  }

  void Pump(std::chrono::milliseconds) override {}  // lines are printed as they come

  void Stop() override {
    runtime_->Stop(id_, "stopped by theater dev on interrupt (Ctrl-C)").IgnoreError();
    runtime_.reset();
  }

 private:
  const Output& out_;
  std::unique_ptr<TheaterRuntime> runtime_;
  fs::path manifest_;
  std::mutex mu_;  // the log sink and the listener run on the runtime's threads
  std::string id_;
  std::optional<ChildEvent> ended_;
  bool told_ended_ = false;
};

// The actor on a management server: started, updated and restarted through its commands, its
// log lines read from the events it pushes (chain::LoggedText). Component paths go as absolute
// paths, so the server must see this machine's files (a server on this host, or a shared
// directory).
class ServerTarget : public DevTarget {
 public:
  ServerTarget(const CommandContext& ctx, std::string address)
      : ctx_(ctx), address_(std::move(address)) {}

  // Checks that the server answers before the first build begins.
  Status Init() { return Connect(); }

  std::string Where() const override {
    return address_.empty() ? "the server" : "the server at " + address_;
  }

  Status Start(const fs::path& manifest) override {
    // A connection of its own for each actor: the first waited through the first build, and a
    // server ends a connection that says nothing for a while after it connects.
    THEATER_RETURN_IF_ERROR(Connect());
    THEATER_ASSIGN_OR_RETURN(Variant started,
                             CallExpect(*client_,
                                        MakeVariant("StartActor", {{"manifest", manifest.string()},
                                                                   {"initial_state", nullptr},
                                                                   {"parent", false},
                                                                   {"subscribe", true},
                                                                   {"progress", true}}),
                                        "ActorStarted"));
    id_ = JsonString(started.fields, "id");
    next_index_ = 0;
    told_ended_ = false;
    name_ = manifest.parent_path().filename().string();
    if (Result<Variant> named =
            CallExpect(*client_, MakeVariant("GetActorManifest", {{"id", id_}}), "ActorManifest");
        named.ok()) {
      const std::string name = JsonString(named->fields.value("manifest", json()), "name");
      if (!name.empty()) name_ = name;
    }
    return Status();
  }

  bool Running() override {
    Result<Variant> status = client_->Call(MakeVariant("GetActorStatus", {{"id", id_}}));
    const std::string state = status.ok() ? JsonString(status->fields, "status") : "";
    const bool running = state == "Running";
    if (!running && !told_ended_) {
      told_ended_ = true;
      Pump(0ms);
      std::cerr << (state == "Failed" ? ctx_.out().Paint("the actor failed", Style::kRed)
                                      : std::string("the actor stopped")) +
                       " (theater events " + id_ + " shows why)\n";
    }
    return running;
  }

  Status Update(const fs::path& component) override {
    return CallExpect(
               *client_,
               MakeVariant("UpdateActorComponent",
                           {{"id", id_}, {"component", component.string()}, {"progress", true}}),
               "ActorComponentUpdated")
        .status();
  }

  Status Restart() override {
    THEATER_RETURN_IF_ERROR(
        CallExpect(*client_, MakeVariant("RestartActor", {{"id", id_}, {"progress", true}}),
                   "Restarted")
            .status());
    told_ended_ = false;
    // The restarted actor's events come to a subscription of its own (a second one only
    // repeats events, which the chain index skips).
    return SubscribeToActor(*client_, id_).status();
  }

  void Pump(std::chrono::milliseconds wait) override {
    for (bool first = true;; first = false) {
      Result<std::optional<Variant>> push = client_->NextPush(first ? wait : 0ms);
      if (!push.ok() || !*push) return;
      if ((*push)->name != "ActorEvent") continue;
      Result<ActorEventPush> event = ReadActorEventPush((*push)->fields);
      if (!event.ok() || !event->event) continue;
      if (!event->actor_id.empty() && event->actor_id != id_) continue;
      if (event->event->index < next_index_) continue;
      next_index_ = event->event->index + 1;
      if (std::optional<std::string> line = chain::LoggedText(event->event->event)) {
        PrintLogLine(ctx_.out(), name_, *line);
      }
    }
  }

  void Stop() override {
    CallExpect(*client_, MakeVariant("StopActor", {{"id", id_}}), "ActorStopped")
        .status()
        .IgnoreError();
  }

 private:
  Status Connect() {
    THEATER_ASSIGN_OR_RETURN(client_, address_.empty() ? ctx_.Connect()
                                                       : ctx_.ConnectTo(address_));
    return Status();
  }

  const CommandContext& ctx_;
  std::string address_;
  std::unique_ptr<server::ManagementClient> client_;
  std::string id_;
  std::string name_;
  size_t next_index_ = 0;
  bool told_ended_ = false;
};

struct DevArgs {
  std::string dir = ".";
  bool server = false;
  std::string server_address;
};

int Dev(CommandContext& ctx, const DevArgs& args) {
  const Output& out = ctx.out();
  if (out.json()) return UsageError(ctx, "dev prints for a person; it has no --json output");
  DevOptions options;
  options.dir = args.dir;
  if (args.server) {
    ServerTarget target(ctx, args.server_address);
    if (Status ready = target.Init(); !ready.ok()) return out.Error(ready);
    return RunDevLoop(ctx, options, target);
  }
  LocalTarget target(out);
  if (Status ready = target.Init(); !ready.ok()) return out.Error(ready);
  return RunDevLoop(ctx, options, target);
}

}  // namespace

void AddDevCommand(CLI::App& app, CommandSet& commands) {
  auto args = std::make_shared<DevArgs>();
  CLI::App* cmd = app.add_subcommand(
      "dev",
      "Run an actor project and keep it current: on each save, rebuild it and update the running "
      "actor in place (its state kept), or restart it when that cannot be done; a failed build "
      "leaves the last good one running. Ctrl-C stops");
  cmd->add_option("dir", args->dir, "The project's directory (holds manifest.toml)")
      ->capture_default_str();
  CLI::Option* server =
      cmd->add_option("--server", args->server_address,
                      "Run the actor on this management server (host:port) instead of an "
                      "embedded runtime; it must see this machine's files")
          ->expected(0, 1);
  cmd->callback([args, server] { args->server = server->count() > 0; });
  commands.Add(cmd, [args](CommandContext& ctx) { return Dev(ctx, *args); });
}

}  // namespace theater::cli
