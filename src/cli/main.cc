// Theater: a WebAssembly actor runtime.
//
// The `theater` command line (docs/cli.md). Commands that talk to a management server:
//   start, stop, terminate, restart, pause, resume, list, list-stored, tree, state, inspect,
//   metrics, info, events, subscribe, chain verify|export, replay, store ls|get|labels, message,
//   channel open
// Commands that run locally:
//   server (the management server), run (an actor in-process), validate, compile, create, build,
//   bindgen, completion
// Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted (Ctrl-C).
//
// This file builds the command tree from the areas' Add*Commands functions, parses, and runs the
// action of the subcommand given. CLI11 reports parse errors by throwing; they are caught here
// and worded as usage errors (usage_errors.h), as is an unknown command before parsing.
#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <span>
#include <string>

#include "cli/cli_app.h"
#include "cli/context.h"
#include "cli/usage_errors.h"

int main(int argc, char** argv) {
  using namespace theater::cli;
  CommandSet commands;
  GlobalOptions global;
  std::unique_ptr<CLI::App> app = BuildApp(global, commands);
  if (argc <= 1) {
    std::cerr << app->help();
    return kExitUsage;
  }
  const std::span<const char* const> args(argv + 1, static_cast<size_t>(argc - 1));
  if (std::optional<std::string> unknown = UnknownCommandError(*app, args)) {
    return ReportUsageError(*unknown);
  }
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive as "errors" that exit 0; CLI11 prints them.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app->exit(e);
    return ReportUsageError(ParseErrorMessage(e, *app), CommandPath(*app));
  }
  theater::Result<std::unique_ptr<CommandContext>> ctx =
      CommandContext::Create(global, ProcessEnv());
  if (!ctx.ok()) {
    std::cerr << "theater: error: " << ctx.status().ToString() << "\n";
    return kExitFailure;
  }
  const Action* action = commands.Parsed();
  if (action == nullptr) {
    // A command group given without its subcommand (`theater chain`).
    std::cerr << app->help();
    return kExitUsage;
  }
  return (*action)(**ctx);
}
