// Theater: a WebAssembly actor runtime.
//
// The environment of a program an actor runs (process handler, execute-command): built from an
// allow-list of the host's variables plus what the actor asks for, and never containing a
// variable that makes the dynamic loader, the C library or a script interpreter load code or
// read files of the actor's choosing (LD_PRELOAD, GCONV_PATH, BASH_ENV, ...). docs/handlers.md,
// "Environment of child processes", states both lists.
//
// Why an error rather than dropping such a variable: an actor that sets one either tries to
// escape or is misconfigured, and in both cases a silent difference between what it asked for
// and what ran would hide it.
//
// Thread-safety: pure functions (reads the host's environment with getenv).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "theater/status.h"

namespace theater {

// Whether the host's value of `name` is passed on (when set): PATH, HOME, USER, LOGNAME, LANG,
// LANGUAGE, LC_*, TZ, TERM.
bool HostVariablePassed(std::string_view name);

// Why `name` is never passed to a child, or nullopt when it may be.
std::optional<std::string_view> NeverPassedReason(std::string_view name);

// "NAME=value" entries: the host's allow-listed variables, then `requested` (which replace a
// host variable of the same name). Errors: kPermissionDenied naming the first requested
// variable that is never passed ("env: LD_PRELOAD is never passed to a child process: ...").
// Names and values are not otherwise checked (the callers refuse '=' and NUL).
Result<std::vector<std::string>> BuildChildEnvironment(
    std::span<const std::pair<std::string, std::string>> requested);

}  // namespace theater
