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

// glibc's own list of the variables it ignores in privileged programs (its "unsecure"
// environment: sysdeps/generic/unsecvars.h) except TMPDIR — a place to write, which a confined
// program needs pointed at its grant — plus the malloc tunables. Each acts in every dynamically
// linked program, so no allow-list entry lets an actor set one (child_env.h says why).
constexpr std::string_view kLoader =
    "it makes the dynamic loader or the C library load code or read files of the caller's "
    "choosing, in every program the child starts; no allowed_env entry can allow it";

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
};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// ["A", "B_*"], or "none" for an empty list.
std::string Quoted(const std::vector<std::string>& patterns) {
  if (patterns.empty()) return "none";
  std::string out = "[";
  for (size_t i = 0; i < patterns.size(); ++i) {
    out += (i ? ", \"" : "\"") + patterns[i] + "\"";
  }
  return out + "]";
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

bool EnvPatternMatches(std::string_view pattern, std::string_view name) {
  if (!pattern.empty() && pattern.back() == '*') {
    return StartsWith(name, pattern.substr(0, pattern.size() - 1));
  }
  return name == pattern;
}

bool EnvPatternWithin(std::string_view inner, std::string_view outer) {
  if (outer.empty() || outer.back() != '*') return inner == outer;
  // A prefix holds a name or a longer prefix that starts with it.
  return StartsWith(inner, outer.substr(0, outer.size() - 1));
}

Status CheckEnvPattern(std::string_view pattern) {
  const bool prefix = !pattern.empty() && pattern.back() == '*';
  const std::string_view name = prefix ? pattern.substr(0, pattern.size() - 1) : pattern;
  const std::string shown = "'" + std::string(pattern) + "'";
  if (name.empty()) {
    return InvalidArgument(shown +
                           " would allow every variable (OPENSSL_CONF, NODE_OPTIONS, ...)"
                           ": name the variables, or a prefix such as 'APP_*'");
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) {
      return InvalidArgument(shown +
                             " is not a variable name (letters, digits and '_', not starting "
                             "with a digit) or such a prefix followed by '*'");
    }
  }
  // A prefix that only reaches refused variables ("LD_*", "LD_PRE*") is a mistake worth naming
  // now; a wider one ("L*") is accepted and the refusal applies to each variable at spawn.
  for (const Rule& rule : kNeverPassed) {
    const bool covered = rule.prefix ? StartsWith(name, rule.name) : (!prefix && name == rule.name);
    if (covered) {
      return InvalidArgument(shown + ": " + std::string(rule.name) + (rule.prefix ? "*" : "") +
                             " is never passed to a child process: " + std::string(rule.reason));
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> BuildChildEnvironment(
    std::span<const std::pair<std::string, std::string>> requested,
    std::span<const EnvAllowList> allowed) {
  for (const auto& entry : requested) {
    const std::string& name = entry.first;
    if (std::optional<std::string_view> why = NeverPassedReason(name)) {
      return PermissionDenied("env: " + name +
                              " is never passed to a child process: " + std::string(*why));
    }
    if (allowed.empty()) {
      return PermissionDenied("env: " + name +
                              " may not be set: no allowed_env applies to this program, so an "
                              "actor sets no variable of its environment");
    }
    for (const EnvAllowList& list : allowed) {
      const bool ok = std::any_of(list.patterns.begin(), list.patterns.end(),
                                  [&](const std::string& p) { return EnvPatternMatches(p, name); });
      if (!ok) {
        return PermissionDenied("env: " + name + " may not be set: it is not in allowed_env of " +
                                list.source + " (" + Quoted(list.patterns) +
                                "); to allow it, an operator adds \"" + name +
                                "\" to that list (docs/handlers.md, \"Environment of child "
                                "processes\")");
      }
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
