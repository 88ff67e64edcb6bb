// Theater: a WebAssembly actor runtime.
//
// The environment of a program an actor runs (process handler, execute-command): the host's
// variables of a fixed base (PATH, HOME, USER, LOGNAME, LANG, LANGUAGE, LC_*, TZ, TERM), plus the
// variables the actor asks for — each of which an operator's allow-list must name.
// docs/handlers.md, "Environment of child processes", states the rule.
//
// Why an allow-list: variables that make a program load code or read files of the caller's
// choosing are countless (OPENSSL_CONF, NODE_OPTIONS, GIT_SSH_COMMAND, PYTHONSTARTUP, ...) and
// every library adds its own; a deny-list of them can never be complete. Only the loader's and
// the C library's own variables (LD_*, GCONV_PATH, GLIBC_TUNABLES, ...) stay refused even when an
// operator names them: they act in every dynamically linked program the child starts, not just
// the one the operator thought about, and no actor needs them.
//
// Why an error rather than dropping a variable: an actor that sets one either tries to escape or
// is misconfigured, and in both cases a silent difference between what it asked for and what ran
// would hide it.
//
// Thread-safety: pure functions (BuildChildEnvironment reads the host's environment).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "theater/status.h"

namespace theater {

// One operator's list of the variables an actor may set: each entry a name ("MY_VAR") or a
// prefix ending in '*' ("APP_*").
struct EnvAllowList {
  std::string source;  // where the list is written, for errors ("the process handler's config")
  std::vector<std::string> patterns;
};

// Whether `pattern` ("NAME" or "PREFIX*") allows the variable `name`.
bool EnvPatternMatches(std::string_view pattern, std::string_view name);
// Whether every name `inner` allows is allowed by `outer` (narrowing a permission for a child).
bool EnvPatternWithin(std::string_view inner, std::string_view outer);
// Checks an operator's entry: a name of letters, digits and '_' not starting with a digit,
// optionally ending in '*' (a prefix of at least one character: a lone '*' would allow every
// variable, which is what the allow-list exists to prevent), and not a variable — nor a prefix
// of variables only — that is never passed. Errors: kInvalidArgument saying why.
Status CheckEnvPattern(std::string_view pattern);

// Whether the host's value of `name` is passed on (when set): PATH, HOME, USER, LOGNAME, LANG,
// LANGUAGE, LC_*, TZ, TERM.
bool HostVariablePassed(std::string_view name);

// Why `name` is never passed to a child, whatever an allow-list says; nullopt when it may be.
std::optional<std::string_view> NeverPassedReason(std::string_view name);

// "NAME=value" entries: the host's base variables, then `requested` (which replace a host
// variable of the same name). A requested variable must match a pattern of every list in
// `allowed`, and `allowed` must not be empty (no list: nothing may be set). Errors:
// kPermissionDenied naming the first requested variable that is never passed ("env: LD_PRELOAD
// is never passed to a child process: ...") or that a list does not allow ("env: OPENSSL_CONF
// may not be set: not in allowed_env of <source> ..."). Names and values are not otherwise
// checked (the callers refuse '=' and NUL).
Result<std::vector<std::string>> BuildChildEnvironment(
    std::span<const std::pair<std::string, std::string>> requested,
    std::span<const EnvAllowList> allowed);

}  // namespace theater
