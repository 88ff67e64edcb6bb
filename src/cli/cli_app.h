// Theater: a WebAssembly actor runtime.
//
// The `theater` command tree: the global options and every area's subcommands, built in one
// place so that main() and the shell-completion generator see the same tree.
//
// Thread-safety: build and use on one thread.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "cli/context.h"

namespace theater::cli {

// The whole tree. `global` and `commands` must outlive the app (the options write into them).
std::unique_ptr<CLI::App> BuildApp(GlobalOptions& global, CommandSet& commands);

void AddBindgenCommand(CLI::App& app, CommandSet& commands);  // bindgen_command.cc
void AddStoreCommands(CLI::App& app, CommandSet& commands);   // store_commands.cc
void AddTreeCommand(CLI::App& app, CommandSet& commands);     // tree_command.cc
void AddValidateCommand(CLI::App& app, CommandSet& commands);  // validate_command.cc

}  // namespace theater::cli
