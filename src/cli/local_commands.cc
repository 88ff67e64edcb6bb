// Theater: a WebAssembly actor runtime.
//
// Subcommands that need no server: `run` (an actor in an in-process TheaterRuntime) and
// `compile` (a module into the compile cache ahead of time).
//
// `run` spawns the manifest, prints the actor's log lines as they come (and, with --events, its
// chain events), and ends the actor once it has settled: init has returned and the actor has
// been idle with an empty mailbox for --settle-ms. With --wait it keeps the actor running until
// Ctrl-C or until the actor stops itself. Then it stops the actor, verifies the chain it
// recorded from the first event on, and prints it.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/context.h"
#include "cli/js_engine_stub.h"
#include "cli/project_build.h"
#include "common/bytes.h"
#include "common/utf8.h"
#include "common/uuid.h"
#include "component/component_module.h"
#include "component/linker.h"
#include "theater/builtins.h"
#include "theater/engine.h"
#include "theater/runtime.h"

namespace theater::cli {
namespace {

using namespace std::chrono_literals;

struct RunArgs {
  std::string manifest;
  bool quiet = false;
  bool events_live = false;
  bool wait = false;
  int settle_ms = 200;
  std::string actor_id;
  std::string initial_state;
  std::string memory_mode = "auto";
  bool bounds_checks = false;  // --bounds-checks: --memory-mode bounds
  bool auto_handlers = false;
  bool build = false;     // --build: rebuild a project whose component is older than a source
  bool no_build = false;  // --no-build: never build
};

// The engine's memory mode for --memory-mode NAME (checked by the option) or --bounds-checks.
engine::MemoryMode MemoryModeNamed(const std::string& name, bool bounds_checks) {
  if (bounds_checks || name == "bounds") return engine::MemoryMode::kBoundsChecks;
  return name == "guard" ? engine::MemoryMode::kGuardPages : engine::MemoryMode::kAuto;
}

constexpr const char* kMemoryModeHelp =
    "Linear memories: auto (bounds checks for small actors, guard pages for the rest), guard "
    "(guard pages: no checks, 8 GiB of address space each) or bounds (explicit checks)";

// What the runtime reports from its threads, read by the command's thread.
struct RunShared {
  std::mutex mu;
  std::vector<std::string> log_lines;
  std::optional<ChildEvent> stopped;  // the actor stopped by itself (or failed)
};

// Stops the actor once `done` says so, collecting every event of `id` from `subscription`.
class EventCollector {
 public:
  EventCollector(const Output& out, TheaterRuntime::Subscription& subscription, bool print_live)
      : out_(out), subscription_(subscription), print_live_(print_live) {}

  // Takes what is queued, waiting up to `timeout` for the first item.
  void Drain(const std::string& id, std::chrono::milliseconds timeout) {
    for (std::optional<chain::Delivery> d = subscription_.Next(timeout); d;
         d = subscription_.TryNext()) {
      if (d->actor_id != id) continue;
      if (d->is_gap()) {
        gaps_ += d->dropped;
        continue;
      }
      if (print_live_) std::cout << "  " << EventLine(out_, d->event, d->index) << "\n";
      events_.push_back({d->index, std::move(d->event)});
    }
  }
  const std::vector<IndexedEvent>& events() const { return events_; }
  uint64_t gaps() const { return gaps_; }

 private:
  const Output& out_;
  TheaterRuntime::Subscription& subscription_;
  bool print_live_;
  std::vector<IndexedEvent> events_;
  uint64_t gaps_ = 0;
};

// The final state for a person: JSON pretty-printed, other text as it is, anything else in hex;
// a large state only begins, with its size.
std::string StateSummary(const std::vector<uint8_t>& state) {
  constexpr size_t kShownBytes = 2048;
  if (state.empty()) return "empty";
  if (state.size() <= kShownBytes) return BytesForHuman(state);
  return BytesForHuman(std::span<const uint8_t>(state).first(kShownBytes / 2)) + "\u2026 (" +
         std::to_string(state.size()) + " bytes)";
}

// A manifest of an actor project whose component has not been built yet (or, with --build, is
// older than a source) is built first, as `theater build` would: so `theater run
// examples/hello/manifest.toml` works in a fresh clone. Anything else is left to the spawn.
Status BuildIfNeeded(const CommandContext& ctx, const RunArgs& args) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path manifest(args.manifest);
  if (args.no_build || !fs::is_regular_file(manifest, ec)) return Status();
  Result<std::optional<fs::path>> component = LocalComponentOf(manifest);
  if (!component.ok() || !*component) return Status();  // the spawn reports manifest errors
  const bool exists = fs::exists(**component, ec);
  ProjectBuildOptions options;
  options.dir = manifest.parent_path().empty() ? fs::path(".") : manifest.parent_path();
  Result<ProjectBuildPlan> plan = PlanProjectBuild(ctx, options);
  if (!plan.ok()) {
    // Not a project (no sources): the spawn says the component is missing.
    return exists || plan.status().code() == StatusCode::kNotFound ? Status() : plan.status();
  }
  if (exists) {
    std::optional<fs::path> newer = NewerSource(*plan);
    if (!newer) return Status();
    if (!args.build) {
      ctx.out().Warning((**component).string() + " is older than " + newer->string() +
                        " (`theater run --build` rebuilds it)");
      return Status();
    }
  }
  return BuildProjectSaying(*plan, args.quiet).status();
}

int Run(CommandContext& ctx, const RunArgs& args) {
  const Output& out = ctx.out();
  const bool json_out = out.json();
  const bool quiet = args.quiet || json_out;
  if (Status built = BuildIfNeeded(ctx, args); !built.ok()) return out.Error(built);
  auto shared = std::make_shared<RunShared>();
  // The runtime's warnings go to stderr: with --json, stdout holds only the report.
  spdlog::set_default_logger(spdlog::stderr_color_mt("theater-run"));
  spdlog::set_level(spdlog::level::warn);

  RuntimeOptions options;
  options.persist = false;  // a local run leaves no database behind
  options.durability = Durability::kNone;
  options.auto_handlers = args.auto_handlers;
  options.engine.memory_mode = MemoryModeNamed(args.memory_mode, args.bounds_checks);
  // A first run compiles the actor: say so on stderr, as lines when it is not a terminal.
  options.engine.progress =
      args.quiet ? engine::EngineOptions::Progress::kOff : engine::EngineOptions::Progress::kOn;
  const bool color = out.color();
  options.log_sink = [shared, quiet, color](std::string_view, std::string_view name,
                                            std::string_view line) {
    std::lock_guard lock(shared->mu);
    shared->log_lines.emplace_back(line);
    if (quiet) return;
    // The guest's text with its control characters escaped: an actor cannot drive the terminal.
    std::cout << (color ? "\033[36m" : "") << "[" << TerminalSafe(name) << "] "
              << (color ? "\033[0m" : "") << TerminalSafe(line) << "\n";
    std::cout.flush();
  };
  THEATER_ASSIGN_OR_RETURN_EXIT(std::unique_ptr<TheaterRuntime> runtime,
                                TheaterRuntime::Create(std::move(options), BuiltinHandlers()), out);
  const std::string id = args.actor_id.empty() ? NewUuid() : args.actor_id;
  runtime->SetTopLevelListener([shared, id](const ChildEvent& event) {
    if (event.child_id != id) return;
    std::lock_guard lock(shared->mu);
    shared->stopped = event;
  });
  // Every actor's events from the first one on: the actor's id is only known to the runtime
  // once the spawn has begun, and its first events are recorded before Spawn returns.
  THEATER_ASSIGN_OR_RETURN_EXIT(TheaterRuntime::Subscription subscription,
                                runtime->Subscribe("", 1 << 16, chain::OverflowPolicy::kStrict),
                                out);
  EventCollector collector(out, subscription, args.events_live && !quiet);

  SpawnRequest request;
  request.manifest = args.manifest;
  request.actor_id = id;
  if (!args.initial_state.empty()) {
    request.state = std::vector<uint8_t>(args.initial_state.begin(), args.initial_state.end());
  }
  std::promise<Result<std::string>> spawned;
  std::future<Result<std::string>> spawn_done = spawned.get_future();
  runtime->SpawnAsync(std::move(request), [&spawned](Result<std::string> result) {
    spawned.set_value(std::move(result));
  });
  CatchInterrupts();
  while (spawn_done.wait_for(0ms) != std::future_status::ready) {
    collector.Drain(id, 20ms);
    if (InterruptCount() > 0) {
      // The spawn may have ended while this thread drained events (its callback runs on another
      // thread), or be about to: an actor past its start is stopped as any interrupted run is,
      // its chain printed and verified. (A loaded machine once lost the summary of an actor that
      // had already served a request this way.)
      Result<ActorPhase> phase = runtime->Phase(id);
      const bool started = phase.ok() && *phase != ActorPhase::kStarting;
      if (spawn_done.wait_for(started ? 5s : 0ms) == std::future_status::ready) break;
      // Loading (a compile) cannot be cancelled part-way and init may not return: leave now.
      // The spawn shim kills the compiler with this process (engine/compile/subprocess.h).
      std::cerr << "theater: interrupted while starting the actor\n";
      std::_Exit(kExitInterrupted);
    }
  }
  Status result = spawn_done.get().status();

  bool interrupted = false;
  std::string stop_reason;  // why the actor stopped, in words
  std::optional<std::vector<uint8_t>> final_state;
  if (result.ok()) {
    // Wait until the actor settles (or, with --wait, until Ctrl-C or it stops by itself).
    auto idle_since = std::chrono::steady_clock::now();
    for (;;) {
      collector.Drain(id, 20ms);
      {
        std::lock_guard lock(shared->mu);
        if (shared->stopped) break;
      }
      if (InterruptCount() > 0) {
        interrupted = true;
        break;
      }
      if (args.wait) continue;
      Result<ActorPhase> phase = runtime->Phase(id);
      if (!phase.ok()) break;  // gone
      Result<ActorMetrics> metrics = runtime->Metrics(id);
      const bool idle = *phase == ActorPhase::kIdle && metrics.ok() && metrics->mailbox_depth == 0;
      const auto now = std::chrono::steady_clock::now();
      if (!idle) idle_since = now;
      if (now - idle_since >= std::chrono::milliseconds(args.settle_ms)) break;
    }
    if (Result<std::optional<std::vector<uint8_t>>> state = runtime->State(id); state.ok()) {
      final_state = std::move(*state);
    }
    bool stopped_by_itself = false;
    {
      std::lock_guard lock(shared->mu);
      if (shared->stopped) {
        stopped_by_itself = true;
        if (shared->stopped->kind == ChildEvent::Kind::kError) {
          result = shared->stopped->error;
          stop_reason = "the actor failed";
        } else if (shared->stopped->kind == ChildEvent::Kind::kExit) {
          stop_reason = "the actor shut itself down";
        } else {
          // Stopped from outside the run (the runtime's own words when it gave any).
          stop_reason = shared->stopped->reason.empty() ? "stopped from outside theater run"
                                                        : shared->stopped->reason;
        }
      }
    }
    if (!stopped_by_itself) {
      stop_reason = interrupted ? "stopped by theater run on interrupt (Ctrl-C)"
                                : "stopped by theater run after " + std::to_string(args.settle_ms) +
                                      " ms idle";
      if (Status stop = runtime->Stop(id, stop_reason);
          !stop.ok() && stop.code() != StatusCode::kNotFound) {
        out.Warning("stopping the actor: " + stop.ToString());
      }
    }
  }
  collector.Drain(id, 50ms);
  std::vector<chain::Event> events;
  for (const IndexedEvent& e : collector.events()) events.push_back(e.event);
  Status verified = collector.gaps() > 0
                        ? FailedPrecondition(std::to_string(collector.gaps()) +
                                             " events were not received; cannot verify")
                        : chain::VerifyEvents(events);
  std::optional<ChildEvent> stopped;
  {
    std::lock_guard lock(shared->mu);
    stopped = shared->stopped;
  }
  const bool has_chain = !events.empty() || collector.gaps() > 0;

  if (json_out) {
    json report;
    report["actor_id"] = id;
    report["manifest"] = args.manifest;
    report["ok"] = result.ok();
    if (!result.ok()) report["error"] = result.ToString();
    {
      std::lock_guard lock(shared->mu);
      report["log"] = shared->log_lines;
    }
    // Text as a string; a state that is not text (it would not survive as a JSON string) as hex.
    report["state"] = !final_state                    ? json()
                      : IsPrintableText(*final_state) ? json(BytesToText(*final_state))
                                                      : json{{"hex", HexEncode(*final_state)}};
    if (!stop_reason.empty()) report["stopped"] = stop_reason;
    if (stopped && stopped->kind == ChildEvent::Kind::kExit) {
      report["shutdown_data"] = stopped->data ? BytesForJson(*stopped->data) : json();
    }
    report["events"] = json::array();
    for (const IndexedEvent& e : collector.events()) {
      report["events"].push_back(EventJson(e.event, e.index));
    }
    // A spawn that failed before the actor recorded anything has no chain to verify.
    if (has_chain) report["chain_verified"] = verified.ok();
    out.PrintJson(report);
  } else if (!args.quiet && has_chain) {
    if (!args.events_live) {
      std::cout << "event chain (" << events.size() << " events):\n";
      for (const IndexedEvent& e : collector.events()) {
        std::cout << "  " << EventLine(out, e.event, e.index) << "\n";
      }
    }
    if (verified.ok()) {
      std::cout << out.Paint("chain verified", Style::kGreen) << ": " << events.size()
                << " events, head " << (events.empty() ? "-" : chain::ToHex(events.back().hash))
                << "\n";
    } else {
      std::cout << out.Paint("chain verification FAILED", Style::kRed) << ": "
                << verified.ToString() << "\n";
    }
    if (result.ok()) {
      std::cout << "final state: " << (final_state ? StateSummary(*final_state) : "none") << "\n";
    }
    if (!stop_reason.empty()) std::cout << stop_reason << "\n";
  }
  runtime.reset();
  if (!result.ok()) return out.Error(result);
  if (interrupted) return kExitInterrupted;
  return verified.ok() ? kExitOk : kExitFailure;
}

struct CompileArgs {
  std::string path;
  std::string engine;  // "js": prepare a world's JavaScript engine instead of compiling `path`
  std::string world = "minimal";
  std::string wit_dir;
  std::string memory_mode = "auto";
  bool bounds_checks = false;
  std::string tier = "optimized";
};

int Compile(CommandContext& ctx, const CompileArgs& args, engine::MemoryMode mode) {
  const Output& out = ctx.out();
  std::string path = args.path;
  if (args.engine.empty() == path.empty()) {
    return UsageError(ctx, "compile needs a module or component, or --engine js [--world W]");
  }
  if (!args.engine.empty()) {
    THEATER_ASSIGN_OR_RETURN_EXIT(std::filesystem::path home, TheaterHome(ctx), out);
    std::optional<std::filesystem::path> wit;
    if (!args.wit_dir.empty()) wit = std::filesystem::path(args.wit_dir);
    THEATER_ASSIGN_OR_RETURN_EXIT(std::filesystem::path stub,
                                  BuildJsEngineStub(home, args.world, wit), out);
    path = stub.string();
  }
  engine::EngineOptions options;
  options.memory_mode = mode;
  // On stderr, so --json output stays one document.
  options.progress = engine::EngineOptions::Progress::kOn;
  // What was asked for, at once: nothing is left to a background compile this process would
  // stop as it ends.
  options.tier = args.tier == "fast" ? engine::TierPolicy::kFast : engine::TierPolicy::kOptimized;
  THEATER_ASSIGN_OR_RETURN_EXIT(std::unique_ptr<engine::Engine> engine,
                                engine::Engine::Create(options), out);
  THEATER_ASSIGN_OR_RETURN_EXIT(std::vector<uint8_t> bytes, ReadFileBytes(path, "module"), out);
  // A component's core modules are compiled when it is loaded.
  const bool is_component = component::IsComponentBinary(bytes);
  const std::string name = std::filesystem::path(path).filename().string();
  THEATER_ASSIGN_OR_RETURN_EXIT(std::shared_ptr<const engine::Module> module,
                                is_component ? component::LoadComponentModule(*engine, bytes, name)
                                             : engine->LoadModule(bytes, name),
                                out);
  const char* kind = is_component ? "component" : "module";
  if (out.json()) {
    out.PrintJson({{"module", path},
                   {"kind", kind},
                   {"sha256", module->wasm_sha256()},
                   {"imports", module->imports().size()},
                   {"exports", module->exports().size()}});
  } else {
    std::cout << "compiled " << kind << " " << path << " (sha256 " << module->wasm_sha256() << ", "
              << module->imports().size() << " imports, " << module->exports().size()
              << " exports)\n";
  }
  return kExitOk;
}

}  // namespace

void AddLocalCommands(CLI::App& app, CommandSet& commands) {
  auto run = std::make_shared<RunArgs>();
  CLI::App* run_cmd = app.add_subcommand(
      "run",
      "Run an actor in-process (no server): spawn it, print its log, stop it once it is idle "
      "(or, with --wait, on Ctrl-C), and print its verified event chain");
  run_cmd->add_option("manifest", run->manifest, "Path to the actor's manifest.toml")->required();
  run_cmd->add_flag("-q,--quiet", run->quiet, "Print nothing but errors");
  run_cmd->add_flag("--events", run->events_live, "Print chain events as they are recorded");
  run_cmd->add_flag("-w,--wait", run->wait,
                    "Keep the actor running until Ctrl-C or until it stops itself");
  run_cmd
      ->add_option("--settle-ms", run->settle_ms,
                   "Without --wait: stop once the actor has been idle this long")
      ->capture_default_str();
  run_cmd->add_option("-i,--initial-state", run->initial_state,
                      "JSON merged over the manifest's init_state");
  run_cmd->add_option("--id", run->actor_id, "Actor id to use (default: a new UUID)");
  run_cmd->add_option("--memory-mode", run->memory_mode, kMemoryModeHelp)
      ->check(CLI::IsMember({"auto", "guard", "bounds"}))
      ->capture_default_str();
  run_cmd->add_flag("--bounds-checks", run->bounds_checks, "Same as --memory-mode bounds");
  run_cmd->add_flag("--build", run->build,
                    "Rebuild the actor project first when a source is newer than its component "
                    "(a missing component is always built)");
  run_cmd->add_flag("--no-build", run->no_build,
                    "Never build: run the component the manifest names as it is");
  run_cmd->add_flag("--auto-handlers", run->auto_handlers,
                    "Let the actor use handlers its manifest does not declare (for development)");
  commands.Add(run_cmd, [run](CommandContext& ctx) { return Run(ctx, *run); });

  auto compile = std::make_shared<CompileArgs>();
  CLI::App* compile_cmd =
      app.add_subcommand("compile",
                         "Compile a wasm module, or every core module of a component, into the "
                         "cache ahead of time; or, with --engine js, the JavaScript engine of a "
                         "world before any actor of it exists");
  compile_cmd->add_option("module", compile->path, "Path to the .wasm module or component");
  compile_cmd
      ->add_option("--engine", compile->engine,
                   "js: build a stub JavaScript actor of --world (in $THEATER_HOME/js-engine/, "
                   "npm ci the first time) and compile it; every JavaScript actor of the world "
                   "then starts without compiling")
      ->check(CLI::IsMember({"js"}));
  compile_cmd->add_option("--world", compile->world, "With --engine: the WIT world")
      ->capture_default_str();
  compile_cmd->add_option("--wit", compile->wit_dir,
                          "With --engine: a directory of .wit files holding the world (default: "
                          "Theater's WIT)");
  compile_cmd->add_option("--memory-mode", compile->memory_mode, kMemoryModeHelp)
      ->check(CLI::IsMember({"auto", "guard", "bounds"}))
      ->capture_default_str();
  compile_cmd->add_flag("--bounds-checks", compile->bounds_checks, "Same as --memory-mode bounds");
  compile_cmd
      ->add_option("--tier", compile->tier,
                   "optimized: the code actors run at full speed (what `run` and the server "
                   "otherwise compile in the background); fast: tcc's, in seconds")
      ->check(CLI::IsMember({"optimized", "fast"}))
      ->capture_default_str();
  commands.Add(compile_cmd, [compile](CommandContext& ctx) {
    return Compile(ctx, *compile, MemoryModeNamed(compile->memory_mode, compile->bounds_checks));
  });
}

}  // namespace theater::cli
