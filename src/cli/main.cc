// Theater: a WebAssembly actor runtime.
//
// The `theater` command line. Commands that need no server run in-process:
//   theater run <manifest.toml>     load, instantiate and init an actor; print its log, its event
//                                   chain and the chain's verification verdict
//   theater compile <module.wasm>   compile a module into the cache ahead of time
// Exit codes: 0 success, 1 failure, 2 usage error.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/uuid.h"
#include "runtime/actor_host.h"
#include "theater/chain.h"
#include "theater/engine.h"
#include "theater/manifest.h"
#include "theater/version.h"

namespace theater::cli {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

bool UseColor() {
  return isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
}

struct RunArgs {
  std::string manifest;
  bool json = false;
  bool quiet = false;
  bool events_live = false;
  std::string actor_id;
  bool bounds_checks = false;
};

int PrintError(const Status& status) {
  std::cerr << "theater: error: " << status.ToString() << "\n";
  return kExitFailure;
}

int Run(const RunArgs& args) {
  Result<Manifest> manifest = LoadManifest(args.manifest);
  if (!manifest.ok()) return PrintError(manifest.status());
  for (const std::string& warning : manifest->warnings) {
    std::cerr << "theater: warning: " << warning << "\n";
  }
  if (manifest->component_kind != ReferenceKind::kFile) {
    return PrintError(Unavailable("component reference '" + manifest->component +
                                  "' needs the store or HTTP loader, which `theater run` does not "
                                  "have yet; use a file path"));
  }
  Result<std::optional<std::vector<uint8_t>>> init_state = LoadInitState(*manifest);
  if (!init_state.ok()) return PrintError(init_state.status());

  engine::EngineOptions engine_options;
  engine_options.memory_mode =
      args.bounds_checks ? engine::MemoryMode::kBoundsChecks : engine::MemoryMode::kGuardPages;
  if (args.json || args.quiet) engine_options.progress = engine::EngineOptions::Progress::kOff;
  Result<std::unique_ptr<engine::Engine>> engine = engine::Engine::Create(engine_options);
  if (!engine.ok()) return PrintError(engine.status());
  Result<std::shared_ptr<const engine::Module>> module =
      (*engine)->LoadModuleFile(manifest->component);
  if (!module.ok()) return PrintError(module.status());

  bool color = UseColor() && !args.json;
  auto chain = std::make_shared<chain::EventChain>();
  if (args.events_live && !args.json) {
    chain->AddObserver([](const chain::Event& event, size_t index) {
      std::cout << "  " << chain::EventToLine(event, index) << "\n";
    });
  }
  std::vector<std::string> log_lines;
  runtime::ActorHostOptions options;
  options.actor_id = args.actor_id.empty() ? NewUuid() : args.actor_id;
  options.name = manifest->name;
  if (*init_state) {
    options.initial_state = std::make_shared<const std::vector<uint8_t>>(std::move(**init_state));
  }
  options.instance.max_memory_bytes = manifest->limits.memory_limit_mb << 20;
  options.init_deadline = std::chrono::milliseconds(manifest->limits.init_deadline_ms);
  options.call_deadline = std::chrono::milliseconds(manifest->limits.call_deadline_ms);
  options.stack_size = manifest->limits.stack_size_kb * 1024;
  options.log_sink = [&](std::string_view line) {
    log_lines.emplace_back(line);
    if (args.json || args.quiet) return;
    std::cout << (color ? "\033[36m" : "") << "[" << manifest->name << "] "
              << (color ? "\033[0m" : "") << line << "\n";
  };
  chain->Append(chain::Lifecycle{
      "actor-load",
      manifest->name + " " + manifest->version + " component sha256:" + (*module)->wasm_sha256()});

  Status result;
  Result<std::unique_ptr<runtime::ActorHost>> host =
      runtime::ActorHost::Create(*module, options, chain);
  if (!host.ok()) {
    result = host.status();
  } else {
    result = (*host)->Init();
  }
  chain->Append(chain::Lifecycle{"actor-stop", result.ok() ? "init completed" : result.ToString()});
  Status verified = chain->Verify();
  std::vector<chain::Event> events = chain->events();

  if (args.json) {
    nlohmann::json out;
    out["actor_id"] = options.actor_id;
    out["name"] = manifest->name;
    out["ok"] = result.ok();
    if (!result.ok()) out["error"] = result.ToString();
    out["log"] = log_lines;
    if (host.ok() && (*host)->state()) {
      const auto& s = *(*host)->state();
      out["state"] = std::string(s.begin(), s.end());
    }
    out["events"] = nlohmann::json::array();
    for (const chain::Event& e : events) out["events"].push_back(chain::EventToJson(e));
    out["chain_verified"] = verified.ok();
    std::cout << out.dump(2) << "\n";
  } else if (!args.quiet) {
    if (!args.events_live) {
      std::cout << "event chain (" << events.size() << " events):\n";
      for (size_t i = 0; i < events.size(); ++i) {
        std::cout << "  " << chain::EventToLine(events[i], i) << "\n";
      }
    }
    if (verified.ok()) {
      std::cout << (color ? "\033[32m" : "") << "chain verified" << (color ? "\033[0m" : "") << ": "
                << events.size() << " events, head "
                << (chain->head() ? chain::ToHex(*chain->head()) : "-") << "\n";
    } else {
      std::cout << "chain verification FAILED: " << verified.ToString() << "\n";
    }
  }
  if (!result.ok()) return PrintError(result);
  return verified.ok() ? 0 : kExitFailure;
}

int Compile(const std::string& path, bool bounds_checks) {
  engine::EngineOptions options;
  options.memory_mode =
      bounds_checks ? engine::MemoryMode::kBoundsChecks : engine::MemoryMode::kGuardPages;
  Result<std::unique_ptr<engine::Engine>> engine = engine::Engine::Create(options);
  if (!engine.ok()) return PrintError(engine.status());
  Result<std::shared_ptr<const engine::Module>> module = (*engine)->LoadModuleFile(path);
  if (!module.ok()) return PrintError(module.status());
  std::cout << "compiled " << path << " (sha256 " << (*module)->wasm_sha256() << ", "
            << (*module)->imports().size() << " imports, " << (*module)->exports().size()
            << " exports)\n";
  return 0;
}

}  // namespace
}  // namespace theater::cli

int main(int argc, char** argv) {
  using namespace theater::cli;
  CLI::App app{"Theater: a WebAssembly actor runtime"};
  app.set_version_flag("--version", std::string(theater::kVersion));
  app.require_subcommand(1);

  RunArgs run;
  CLI::App* run_cmd = app.add_subcommand("run",
                                         "Run an actor in-process: init it, print its log "
                                         "and its verified event chain");
  run_cmd->add_option("manifest", run.manifest, "Path to the actor's manifest.toml")->required();
  run_cmd->add_flag("--json", run.json, "Print the result as JSON");
  run_cmd->add_flag("-q,--quiet", run.quiet, "Print nothing but errors");
  run_cmd->add_flag("--events", run.events_live, "Print chain events as they are recorded");
  run_cmd->add_option("--id", run.actor_id, "Actor id to use (default: a new UUID)");
  run_cmd->add_flag("--bounds-checks", run.bounds_checks,
                    "Compile with explicit memory bounds checks instead of guard pages");

  std::string compile_path;
  bool compile_bounds = false;
  CLI::App* compile_cmd =
      app.add_subcommand("compile", "Compile a wasm module into the cache ahead of time");
  compile_cmd->add_option("module", compile_path, "Path to the .wasm module")->required();
  compile_cmd->add_flag("--bounds-checks", compile_bounds, "Compile for bounds-check mode");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (*run_cmd) return Run(run);
  if (*compile_cmd) return Compile(compile_path, compile_bounds);
  return kExitUsage;
}
