// Theater: a WebAssembly actor runtime.
#include "common/child_env.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace theater {
namespace {

constexpr std::string_view kHostNames[] = {"PATH", "HOME",     "USER", "LOGNAME",
                                           "LANG", "LANGUAGE", "TZ",   "TERM"};
constexpr std::string_view kHostPrefixes[] = {"LC_"};

struct Rule {
  std::string_view name;  // exact name, or a prefix when `prefix`
  bool prefix;
  std::string_view reason;
};

constexpr std::string_view kLoader =
    "it makes the dynamic loader or the C library load code or read files of the caller's "
    "choosing";
constexpr std::string_view kInterpreter =
    "it makes a shell or script interpreter run code of the caller's choosing";

// glibc's list of variables it ignores in privileged programs (its "unsecure" environment),
// plus the malloc tunables, then the start-up hooks of common shells and interpreters.
constexpr Rule kNeverPassed[] = {
    {"LD_", true, kLoader},
    {"MALLOC_", true, kLoader},
    {"GLIBC_TUNABLES", false, kLoader},
    {"GCONV_PATH", false, kLoader},
    {"GETCONF_DIR", false, kLoader},
    {"HOSTALIASES", false, kLoader},
    {"LOCALDOMAIN", false, kLoader},
    {"LOCPATH", false, kLoader},
    {"NIS_PATH", false, kLoader},
    {"NLSPATH", false, kLoader},
    {"RESOLV_HOST_CONF", false, kLoader},
    {"RES_OPTIONS", false, kLoader},
    {"TZDIR", false, kLoader},
    {"BASH_ENV", false, kInterpreter},
    {"ENV", false, kInterpreter},
    {"SHELLOPTS", false, kInterpreter},
    {"BASHOPTS", false, kInterpreter},
    {"PS4", false, kInterpreter},
    {"BASH_FUNC_", true, kInterpreter},
    {"PYTHONSTARTUP", false, kInterpreter},
    {"PYTHONPATH", false, kInterpreter},
    {"PYTHONHOME", false, kInterpreter},
    {"PERL5OPT", false, kInterpreter},
    {"PERL5LIB", false, kInterpreter},
    {"PERLLIB", false, kInterpreter},
    {"RUBYOPT", false, kInterpreter},
    {"RUBYLIB", false, kInterpreter},
    {"NODE_OPTIONS", false, kInterpreter},
    {"NODE_PATH", false, kInterpreter},
    {"JAVA_TOOL_OPTIONS", false, kInterpreter},
    {"_JAVA_OPTIONS", false, kInterpreter},
    {"JDK_JAVA_OPTIONS", false, kInterpreter},
};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

bool HostVariablePassed(std::string_view name) {
  if (std::find(std::begin(kHostNames), std::end(kHostNames), name) != std::end(kHostNames)) {
    return true;
  }
  return std::any_of(std::begin(kHostPrefixes), std::end(kHostPrefixes),
                     [&](std::string_view p) { return StartsWith(name, p); });
}

std::optional<std::string_view> NeverPassedReason(std::string_view name) {
  for (const Rule& rule : kNeverPassed) {
    if (rule.prefix ? StartsWith(name, rule.name) : name == rule.name) return rule.reason;
  }
  return std::nullopt;
}

Result<std::vector<std::string>> BuildChildEnvironment(
    std::span<const std::pair<std::string, std::string>> requested) {
  for (const auto& entry : requested) {
    if (std::optional<std::string_view> why = NeverPassedReason(entry.first)) {
      return PermissionDenied("env: " + entry.first +
                              " is never passed to a child process: " + std::string(*why));
    }
  }
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = entry.substr(0, eq);
    if (!HostVariablePassed(name)) continue;
    bool replaced = std::any_of(requested.begin(), requested.end(),
                                [&](const auto& kv) { return kv.first == name; });
    if (!replaced) out.emplace_back(entry);
  }
  for (const auto& [name, value] : requested) out.push_back(name + "=" + value);
  return out;
}

}  // namespace theater
