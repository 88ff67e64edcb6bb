// Theater: a WebAssembly actor runtime.
//
// The `theater` command line (docs/cli.md). Commands that talk to a management server:
//   start, stop, terminate, restart, pause, resume, list, list-stored, state, inspect, metrics,
//   info, events, subscribe, chain verify|export, message, channel open
// Commands that run locally:
//   server (the management server), run (an actor in-process), compile, create, build,
//   completion
// Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted (Ctrl-C).
//
// This file builds the command tree from the areas' Add*Commands functions, parses, and runs the
// action of the subcommand given. CLI11 reports parse errors by throwing; they are caught here.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/cli_app.h"
#include "cli/context.h"

int main(int argc, char** argv) {
  using namespace theater::cli;
  CommandSet commands;
  GlobalOptions global;
  std::unique_ptr<CLI::App> app = BuildApp(global, commands);
  try {
    app->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app->exit(e);  // prints help, the version or the error
    return code == 0 ? kExitOk : kExitUsage;
  }
  theater::Result<std::unique_ptr<Context>> ctx = Context::Create(global, ProcessEnv());
  if (!ctx.ok()) {
    std::cerr << "theater: error: " << ctx.status().ToString() << "\n";
    return kExitFailure;
  }
  const Action* action = commands.Parsed();
  if (action == nullptr) {
    std::cerr << app->help();
    return kExitUsage;
  }
  return (*action)(**ctx);
}
