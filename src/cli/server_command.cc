// Theater: a WebAssembly actor runtime.
//
// `theater server`: the management server (src/server/management_server.h) as a subcommand.
// Flags map onto ServeOptions; the server prints "listening on <address>" once ready and runs
// until SIGTERM or SIGINT.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/context.h"
#include "server/management_server.h"
#include "theater/durability.h"

namespace theater::cli {
namespace {

struct ServerArgs {
  std::string address = std::string(kDefaultAddress);
  std::string token_file;
  std::string home;
  std::string cache_dir;
  std::string durability = "batched";
  int workers = 0;
  std::string log_level = "info";
  bool save_all_chains = false;
};

int Server(Context& ctx, const ServerArgs& args) {
  const Output& out = ctx.out();
  Result<Durability> durability = ParseDurability(args.durability);
  if (!durability.ok()) return UsageError(ctx, durability.status().ToString());
  if (args.workers < 0) return UsageError(ctx, "--workers must be 0 (one per core) or more");
  spdlog::level::level_enum level = spdlog::level::from_str(args.log_level);
  if (level == spdlog::level::off && args.log_level != "off") {
    return UsageError(ctx, "--log-level must be trace, debug, info, warn, error, critical or off");
  }
  spdlog::set_level(level);
  std::optional<std::string> token;
  if (!args.token_file.empty()) {
    THEATER_ASSIGN_OR_RETURN_EXIT(std::string from_file, ReadTokenFile(args.token_file), out);
    token = std::move(from_file);
  } else if (std::optional<std::string> env = ctx.env()("THEATER_SERVER_TOKEN");
             env && !env->empty()) {
    token = *env;
  }
  server::ServeOptions options;
  options.server.address = args.address;
  options.server.token = std::move(token);
  if (!args.home.empty()) options.runtime.home = args.home;
  if (!args.cache_dir.empty()) options.runtime.engine.cache_dir = args.cache_dir;
  options.runtime.durability = *durability;
  options.runtime.workers = args.workers;
  options.runtime.save_all_chains = args.save_all_chains;
  // Compile progress lines would interleave with "listening on ..." for scripts reading stdout.
  options.runtime.engine.progress = engine::EngineOptions::Progress::kOff;
  return server::Serve(std::move(options));
}

}  // namespace

void AddServerCommand(CLI::App& app, CommandSet& commands) {
  auto args = std::make_shared<ServerArgs>();
  CLI::App* cmd =
      app.add_subcommand("server",
                         "Run the management server until SIGTERM or Ctrl-C (prints \"listening on "
                         "<address>\" when ready)");
  cmd->add_option("-a,--address", args->address,
                  "host:port to listen on (port 0 picks a free one; beyond loopback a token is "
                  "required)")
      ->capture_default_str();
  cmd->add_option("--token-file", args->token_file,
                  "File holding the shared secret clients must present (else "
                  "$THEATER_SERVER_TOKEN)");
  cmd->add_option("--home", args->home,
                  "Directory for the database and compile cache (default $THEATER_HOME, else "
                  "~/.theater)");
  cmd->add_option("--cache-dir", args->cache_dir, "Compile cache directory (default <home>/cache)");
  cmd->add_option("--durability", args->durability,
                  "When chain writes reach the disk: none, batched or strict")
      ->check(CLI::IsMember({"none", "batched", "strict"}))
      ->capture_default_str();
  cmd->add_option("--workers", args->workers, "Worker threads (0 = one per core)")
      ->capture_default_str();
  cmd->add_option("--log-level", args->log_level,
                  "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  cmd->add_flag("--save-all-chains", args->save_all_chains,
                "Store every actor's chain, not only those whose manifest says save_chain");
  commands.Add(cmd, [args](Context& ctx) { return Server(ctx, *args); });
}

}  // namespace theater::cli
