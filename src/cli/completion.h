// Theater: a WebAssembly actor runtime.
//
// Shell completion scripts for bash, zsh and fish, generated from the CLI11 command tree, so they
// list exactly the subcommands and options the binary has. The scripts are static: they
// complete command and option names (and fixed choices such as --sort's), not actor ids.
//
// Thread-safety: pure functions.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "theater/status.h"

namespace theater::cli {

// One command of the tree, flattened for the generators.
struct CompletionNode {
  std::vector<std::string> path;  // {"theater", "chain", "verify"}
  std::string description;
  struct Option {
    std::vector<std::string> names;  // "--limit", "-l"
    std::string description;
    bool takes_value = false;
    std::vector<std::string> choices;  // from an IsMember check, if any
    bool global = false;               // the root's, valid at every level
  };
  std::vector<Option> options;
  std::vector<std::pair<std::string, std::string>> subcommands;  // name, description
};

std::vector<CompletionNode> CompletionTree(const CLI::App& app);

// The script for `shell` (bash, zsh or fish). Errors: another shell.
Result<std::string> CompletionScript(const CLI::App& app, const std::string& shell);

}  // namespace theater::cli
