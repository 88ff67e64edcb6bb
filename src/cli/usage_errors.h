// Theater: a WebAssembly actor runtime.
//
// How the `theater` command words a usage error before any command runs: an unknown command
// with the nearest known one ("unrecognized command 'evnets' (did you mean 'events'?)"), and
// CLI11's parse errors, both printed as `theater: error: ...` with exit code 2 (docs/cli.md).
//
// Thread-safety: pure functions.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/nearest_name.h"

namespace theater::cli {

// The error for the first command word of `args` (argv without the program name) when it is
// not one of `app`'s commands: "unrecognized command 'evnets' (did you mean 'events'?)".
// Global options before it (and their values) are skipped. nullopt when the word is a command
// or there is none.
std::optional<std::string> UnknownCommandError(const CLI::App& app,
                                               std::span<const char* const> args);

// CLI11's message for a failed parse, with what would have been right when it can tell: the
// nearest option of the command for an unknown one ("... --jsn (did you mean '--json'?)"), and
// where the version is for `-V`.
std::string ParseErrorMessage(const CLI::ParseError& error, const CLI::App& app);

// The commands chosen so far, from the program's name: "theater chain verify". After a failed
// parse, as far as it got.
std::string CommandPath(const CLI::App& app);

// Prints `message` as a usage error ("theater: error: ... (see `<command> --help`)") on stderr
// and returns the usage exit code.
int ReportUsageError(std::string_view message, std::string_view command = "theater");

}  // namespace theater::cli
