// Theater: a WebAssembly actor runtime.
//
// Permissions: policy parsing, narrowing and the checks handlers call (docs/permissions.md).
// Only non-throwing nlohmann calls are used; every value is type-checked before it is read.
#include "theater/permissions.h"
#include "common/ascii.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>
#include <string>

namespace theater {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string_view JsonTypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "a table";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a float";
    default:
      return "an unsupported value";
  }
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string Same(std::string s) {
  return s;
}

// Reads the fields of one `config` table, remembering which keys were consumed.
class ConfigReader {
 public:
  ConfigReader(const json& object, std::string prefix)
      : object_(object), prefix_(std::move(prefix)) {}

  Status Bool(const char* key, bool* out) {
    const json* v = Get(key);
    if (!v) return Status::Ok();
    if (!v->is_boolean()) return WrongType(key, *v, "a boolean");
    *out = v->get<bool>();
    return Status::Ok();
  }

  Status U64(const char* key, uint64_t* out) {
    const json* v = Get(key);
    if (!v) return Status::Ok();
    if (v->is_number_unsigned()) {
      *out = v->get<uint64_t>();
    } else if (v->is_number_integer()) {
      int64_t i = v->get<int64_t>();
      if (i < 0) {
        return InvalidArgument(Field(key) + ": must not be negative, got " + std::to_string(i));
      }
      *out = static_cast<uint64_t>(i);
    } else {
      return WrongType(key, *v, "a non-negative integer");
    }
    return Status::Ok();
  }

  Status OptU64(const char* key, std::optional<uint64_t>* out) {
    if (!object_.contains(key)) return Status::Ok();
    uint64_t value = 0;
    THEATER_RETURN_IF_ERROR(U64(key, &value));
    *out = value;
    return Status::Ok();
  }

  Status Strings(const char* key, std::vector<std::string>* out,
                 std::string (*normalise)(std::string) = Same) {
    const json* v = Get(key);
    if (!v) return Status::Ok();
    if (!v->is_array()) return WrongType(key, *v, "an array of strings");
    std::vector<std::string> items;
    for (size_t i = 0; i < v->size(); ++i) {
      const json& item = (*v)[i];
      if (!item.is_string()) {
        return InvalidArgument(Field(key) + "[" + std::to_string(i) + "]: must be a string, not " +
                               std::string(JsonTypeName(item)));
      }
      std::string s = normalise(item.get<std::string>());
      if (std::find(items.begin(), items.end(), s) == items.end()) items.push_back(std::move(s));
    }
    *out = std::move(items);
    return Status::Ok();
  }

  Status List(const char* key, AllowList* out, std::string (*normalise)(std::string) = Same) {
    if (!object_.contains(key)) return Status::Ok();
    std::vector<std::string> items;
    THEATER_RETURN_IF_ERROR(Strings(key, &items, normalise));
    *out = std::move(items);
    return Status::Ok();
  }

  // An error for the first key no reader consumed.
  Status Finish() const {
    for (const auto& [key, value] : object_.items()) {
      if (!seen_.contains(key)) return InvalidArgument(Field(key) + ": unknown permission field");
    }
    return Status::Ok();
  }

 private:
  const json* Get(const char* key) {
    seen_.insert(key);
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  std::string Field(std::string_view key) const { return prefix_ + "." + std::string(key); }
  Status WrongType(const char* key, const json& v, std::string_view expected) const {
    return InvalidArgument(Field(key) + ": must be " + std::string(expected) + ", not " +
                           std::string(JsonTypeName(v)));
  }

  const json& object_;
  std::string prefix_;
  std::set<std::string> seen_;
};

Status ReadConfig(ConfigReader&, MessageServerPermissions*) {
  return Status::Ok();
}
Status ReadConfig(ConfigReader&, RuntimePermissions*) {
  return Status::Ok();
}
Status ReadConfig(ConfigReader& r, StorePermissions* p) {
  THEATER_RETURN_IF_ERROR(r.List("allowed_stores", &p->allowed_stores));
  return r.Bool("create", &p->create);
}

Status ReadConfig(ConfigReader& r, FileSystemPermissions* p) {
  THEATER_RETURN_IF_ERROR(r.Bool("read", &p->read));
  THEATER_RETURN_IF_ERROR(r.Bool("write", &p->write));
  THEATER_RETURN_IF_ERROR(r.Bool("execute", &p->execute));
  THEATER_RETURN_IF_ERROR(r.Bool("new_dir", &p->new_dir));
  THEATER_RETURN_IF_ERROR(r.List("allowed_commands", &p->allowed_commands));
  return r.List("allowed_paths", &p->allowed_paths);
}

Status ReadConfig(ConfigReader& r, HttpClientPermissions* p) {
  THEATER_RETURN_IF_ERROR(r.List("allowed_methods", &p->allowed_methods, Upper));
  THEATER_RETURN_IF_ERROR(
      r.List("allowed_hosts", &p->allowed_hosts, [](std::string s) { return AsciiLower(s); }));
  THEATER_RETURN_IF_ERROR(r.OptU64("max_redirects", &p->max_redirects));
  return r.OptU64("timeout", &p->timeout_ms);
}

Status ReadConfig(ConfigReader& r, HttpFrameworkPermissions* p) {
  THEATER_RETURN_IF_ERROR(r.List("allowed_routes", &p->allowed_routes));
  THEATER_RETURN_IF_ERROR(r.List("allowed_methods", &p->allowed_methods, Upper));
  return r.OptU64("max_request_size", &p->max_request_size);
}

Status ReadConfig(ConfigReader& r, SupervisorPermissions* p) {
  THEATER_RETURN_IF_ERROR(r.OptU64("max_children", &p->max_children));
  return r.List("allowed_manifests", &p->allowed_manifests);
}

Status ReadConfig(ConfigReader& r, TimingPermissions* p) {
  THEATER_RETURN_IF_ERROR(r.U64("max_sleep_duration", &p->max_sleep_duration));
  return r.U64("min_sleep_duration", &p->min_sleep_duration);
}

Status ReadConfig(ConfigReader& r, ProcessPermissions* p) {
  THEATER_RETURN_IF_ERROR(r.U64("max_processes", &p->max_processes));
  THEATER_RETURN_IF_ERROR(r.U64("max_output_buffer", &p->max_output_buffer));
  THEATER_RETURN_IF_ERROR(r.List("allowed_programs", &p->allowed_programs));
  return r.List("allowed_paths", &p->allowed_paths);
}

Status ReadConfig(ConfigReader& r, EnvironmentPermissions* p) {
  THEATER_RETURN_IF_ERROR(r.List("allowed_vars", &p->allowed_vars));
  THEATER_RETURN_IF_ERROR(r.Strings("denied_vars", &p->denied_vars));
  THEATER_RETURN_IF_ERROR(r.List("allowed_prefixes", &p->allowed_prefixes));
  return r.Bool("allow_list_all", &p->allow_list_all);
}

Status ReadConfig(ConfigReader& r, RandomPermissions* p) {
  THEATER_RETURN_IF_ERROR(r.U64("max_bytes", &p->max_bytes));
  THEATER_RETURN_IF_ERROR(r.U64("max_int", &p->max_int));
  return r.Bool("allow_crypto_secure", &p->allow_crypto_secure);
}

template <typename T>
Status ParseHandlerPolicy(const json& entry, const std::string& field, HandlerPolicy<T>* out) {
  if (!entry.is_object()) {
    return InvalidArgument(field + ": must be a table with a 'type', not " +
                           std::string(JsonTypeName(entry)));
  }
  auto type = entry.find("type");
  if (type == entry.end()) {
    return InvalidArgument(field +
                           ".type: missing (expected \"inherit\", \"disallow\" or "
                           "\"restrict\")");
  }
  if (!type->is_string()) {
    return InvalidArgument(field + ".type: must be a string, not " +
                           std::string(JsonTypeName(*type)));
  }
  const std::string& kind = type->get_ref<const std::string&>();
  auto config = entry.find("config");
  for (const auto& [key, value] : entry.items()) {
    if (key != "type" && key != "config") {
      return InvalidArgument(field + "." + key + ": unknown key (expected 'type' and 'config')");
    }
  }
  if (kind == "inherit" || kind == "disallow") {
    if (config != entry.end()) {
      return InvalidArgument(field + ".config: only allowed with type = \"restrict\"");
    }
    out->kind = kind == "inherit" ? InheritanceKind::kInherit : InheritanceKind::kDisallow;
    return Status::Ok();
  }
  if (kind != "restrict") {
    return InvalidArgument(field + ".type: unknown policy '" + kind +
                           "' (expected \"inherit\", \"disallow\" or \"restrict\")");
  }
  out->kind = InheritanceKind::kRestrict;
  out->restriction = T{};
  if (config == entry.end()) return Status::Ok();
  if (!config->is_object()) {
    return InvalidArgument(field + ".config: must be a table, not " +
                           std::string(JsonTypeName(*config)));
  }
  ConfigReader reader(*config, field + ".config");
  THEATER_RETURN_IF_ERROR(ReadConfig(reader, &out->restriction));
  return reader.Finish();
}

// --- Narrowing helpers. ---

uint64_t Min(uint64_t a, uint64_t b) {
  return std::min(a, b);
}

std::optional<uint64_t> MinOpt(const std::optional<uint64_t>& a, const std::optional<uint64_t>& b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Exact-match lists: nullopt is "everything", so it is the identity of the intersection.
AllowList Intersect(const AllowList& parent, const AllowList& child) {
  if (!parent) return child;
  if (!child) return parent;
  std::vector<std::string> out;
  for (const std::string& c : *child) {
    if (Contains(*parent, c)) out.push_back(c);
  }
  return out;
}

fs::path NormalPath(std::string_view p) {
  fs::path path = fs::path(std::string(p)).lexically_normal();
  // "/tmp/x/" normalises to "/tmp/x/" (an empty last component); drop it.
  if (!path.has_filename() && path.has_parent_path() && path != path.root_path()) {
    path = path.parent_path();
  }
  return path;
}

// Whether `path` equals `dir` or lies beneath it, comparing whole components.
bool PathWithin(std::string_view path, std::string_view dir) {
  fs::path p = NormalPath(path), d = NormalPath(dir);
  auto pi = p.begin();
  for (auto di = d.begin(); di != d.end(); ++di, ++pi) {
    if (di->empty()) continue;  // a trailing empty component
    if (pi == p.end() || *pi != *di) return false;
  }
  return true;
}

// A path list's intersection: child paths within some parent path, plus parent paths within
// some child path (the child asked for a wider tree than the parent has).
AllowList IntersectPaths(const AllowList& parent, const AllowList& child) {
  if (!parent) return child;
  if (!child) return parent;
  std::vector<std::string> out;
  auto add = [&out](const std::string& s) {
    if (!Contains(out, s)) out.push_back(s);
  };
  for (const std::string& c : *child) {
    for (const std::string& p : *parent) {
      if (PathWithin(c, p)) {
        add(c);
      } else if (PathWithin(p, c)) {
        add(p);
      }
    }
  }
  return out;
}

// Same for string prefixes.
AllowList IntersectPrefixes(const AllowList& parent, const AllowList& child) {
  if (!parent) return child;
  if (!child) return parent;
  std::vector<std::string> out;
  auto add = [&out](const std::string& s) {
    if (!Contains(out, s)) out.push_back(s);
  };
  for (const std::string& c : *child) {
    for (const std::string& p : *parent) {
      if (c.starts_with(p)) {
        add(c);
      } else if (p.starts_with(c)) {
        add(p);
      }
    }
  }
  return out;
}

template <typename T>
std::optional<T> Apply(const std::optional<T>& parent, const HandlerPolicy<T>& policy) {
  switch (policy.kind) {
    case InheritanceKind::kInherit:
      return parent;
    case InheritanceKind::kDisallow:
      return std::nullopt;
    case InheritanceKind::kRestrict:
      if (!parent) return std::nullopt;
      if constexpr (std::is_empty_v<T>) {
        return parent;
      } else {
        return Narrow(*parent, policy.restriction);
      }
  }
  return std::nullopt;
}

// --- Check helpers. ---

// Rust's `{:?}` of a Vec<String>: ["a", "b"].
std::string FormatList(const std::vector<std::string>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) out += ", ";
    out += "\"" + list[i] + "\"";
  }
  return out + "]";
}

Status OperationDenied(std::string_view operation, std::string_view permission_type) {
  return PermissionDenied("Operation denied: " + std::string(operation) + " not permitted by " +
                          std::string(permission_type) + " permissions");
}

Status LimitExceeded(std::string_view resource, uint64_t requested, std::string_view relation,
                     uint64_t limit) {
  return PermissionDenied("Resource limit exceeded: " + std::string(resource) + " = " +
                          std::to_string(requested) + " " + std::string(relation) + " " +
                          std::to_string(limit));
}

Status CheckPath(const AllowList& allowed, std::string_view path) {
  if (!allowed) return Status::Ok();
  for (const std::string& dir : *allowed) {
    if (PathWithin(path, dir)) return Status::Ok();
  }
  return PermissionDenied("Path '" + std::string(path) +
                          "' not in allowed paths: " + FormatList(*allowed));
}

Status CheckCommand(const AllowList& allowed, std::string_view command) {
  if (!allowed || Contains(*allowed, command)) return Status::Ok();
  return PermissionDenied("Command '" + std::string(command) +
                          "' not in allowed commands: " + FormatList(*allowed));
}

Status CheckMethod(const AllowList& allowed, std::string_view method) {
  if (!allowed || Contains(*allowed, Upper(std::string(method)))) return Status::Ok();
  return PermissionDenied("Method '" + std::string(method) +
                          "' not in allowed methods: " + FormatList(*allowed));
}

}  // namespace

Result<PermissionPolicy> ParsePermissionPolicy(const json& policy) {
  PermissionPolicy out;
  if (policy.is_null()) return out;
  if (!policy.is_object()) {
    return InvalidArgument("permission_policy: must be a table, not " +
                           std::string(JsonTypeName(policy)));
  }
  for (const auto& [key, entry] : policy.items()) {
    const std::string field = "permission_policy." + key;
    Status s;
    if (key == "message_server") {
      s = ParseHandlerPolicy(entry, field, &out.message_server);
    } else if (key == "file_system") {
      s = ParseHandlerPolicy(entry, field, &out.file_system);
    } else if (key == "http_client") {
      s = ParseHandlerPolicy(entry, field, &out.http_client);
    } else if (key == "http_framework") {
      s = ParseHandlerPolicy(entry, field, &out.http_framework);
    } else if (key == "runtime") {
      s = ParseHandlerPolicy(entry, field, &out.runtime);
    } else if (key == "supervisor") {
      s = ParseHandlerPolicy(entry, field, &out.supervisor);
    } else if (key == "store") {
      s = ParseHandlerPolicy(entry, field, &out.store);
    } else if (key == "timing") {
      s = ParseHandlerPolicy(entry, field, &out.timing);
    } else if (key == "process") {
      s = ParseHandlerPolicy(entry, field, &out.process);
    } else if (key == "environment") {
      s = ParseHandlerPolicy(entry, field, &out.environment);
    } else if (key == "random") {
      s = ParseHandlerPolicy(entry, field, &out.random);
    } else {
      s = InvalidArgument(field +
                          ": unknown handler (expected message_server, file_system, http_client, "
                          "http_framework, runtime, supervisor, store, timing, process, "
                          "environment or random)");
    }
    THEATER_RETURN_IF_ERROR(s);
  }
  return out;
}

EffectivePermissions RootPermissions() {
  EffectivePermissions p;
  p.message_server.emplace();
  p.file_system.emplace();
  p.http_client.emplace();
  p.http_framework.emplace();
  p.runtime.emplace();
  p.supervisor.emplace();
  p.store.emplace();
  p.timing.emplace();
  p.process.emplace();
  p.environment.emplace();
  p.random.emplace();
  return p;
}

EffectivePermissions ComputeEffectivePermissions(const EffectivePermissions& parent,
                                                 const PermissionPolicy& policy) {
  EffectivePermissions out;
  out.message_server = Apply(parent.message_server, policy.message_server);
  out.file_system = Apply(parent.file_system, policy.file_system);
  out.http_client = Apply(parent.http_client, policy.http_client);
  out.http_framework = Apply(parent.http_framework, policy.http_framework);
  out.runtime = Apply(parent.runtime, policy.runtime);
  out.supervisor = Apply(parent.supervisor, policy.supervisor);
  out.store = Apply(parent.store, policy.store);
  out.timing = Apply(parent.timing, policy.timing);
  out.process = Apply(parent.process, policy.process);
  out.environment = Apply(parent.environment, policy.environment);
  out.random = Apply(parent.random, policy.random);
  return out;
}

FileSystemPermissions Narrow(const FileSystemPermissions& p, const FileSystemPermissions& r) {
  FileSystemPermissions out;
  out.read = p.read && r.read;
  out.write = p.write && r.write;
  out.execute = p.execute && r.execute;
  out.new_dir = p.new_dir && r.new_dir;
  out.allowed_commands = Intersect(p.allowed_commands, r.allowed_commands);
  out.allowed_paths = IntersectPaths(p.allowed_paths, r.allowed_paths);
  return out;
}

HttpClientPermissions Narrow(const HttpClientPermissions& p, const HttpClientPermissions& r) {
  HttpClientPermissions out;
  out.allowed_methods = Intersect(p.allowed_methods, r.allowed_methods);
  out.allowed_hosts = Intersect(p.allowed_hosts, r.allowed_hosts);
  out.max_redirects = MinOpt(p.max_redirects, r.max_redirects);
  out.timeout_ms = MinOpt(p.timeout_ms, r.timeout_ms);
  return out;
}

HttpFrameworkPermissions Narrow(const HttpFrameworkPermissions& p,
                                const HttpFrameworkPermissions& r) {
  HttpFrameworkPermissions out;
  out.allowed_routes = Intersect(p.allowed_routes, r.allowed_routes);
  out.allowed_methods = Intersect(p.allowed_methods, r.allowed_methods);
  out.max_request_size = MinOpt(p.max_request_size, r.max_request_size);
  return out;
}

SupervisorPermissions Narrow(const SupervisorPermissions& p, const SupervisorPermissions& r) {
  SupervisorPermissions out;
  out.max_children = MinOpt(p.max_children, r.max_children);
  out.allowed_manifests = Intersect(p.allowed_manifests, r.allowed_manifests);
  return out;
}

StorePermissions Narrow(const StorePermissions& p, const StorePermissions& r) {
  StorePermissions out;
  out.allowed_stores = Intersect(p.allowed_stores, r.allowed_stores);
  out.create = p.create && r.create;
  return out;
}

TimingPermissions Narrow(const TimingPermissions& p, const TimingPermissions& r) {
  TimingPermissions out;
  out.max_sleep_duration = Min(p.max_sleep_duration, r.max_sleep_duration);
  out.min_sleep_duration = std::max(p.min_sleep_duration, r.min_sleep_duration);
  return out;
}

ProcessPermissions Narrow(const ProcessPermissions& p, const ProcessPermissions& r) {
  ProcessPermissions out;
  out.max_processes = Min(p.max_processes, r.max_processes);
  out.max_output_buffer = Min(p.max_output_buffer, r.max_output_buffer);
  out.allowed_programs = Intersect(p.allowed_programs, r.allowed_programs);
  out.allowed_paths = IntersectPaths(p.allowed_paths, r.allowed_paths);
  return out;
}

EnvironmentPermissions Narrow(const EnvironmentPermissions& p, const EnvironmentPermissions& r) {
  EnvironmentPermissions out;
  out.allowed_vars = Intersect(p.allowed_vars, r.allowed_vars);
  out.denied_vars = p.denied_vars;
  for (const std::string& v : r.denied_vars) {
    if (!Contains(out.denied_vars, v)) out.denied_vars.push_back(v);
  }
  out.allowed_prefixes = IntersectPrefixes(p.allowed_prefixes, r.allowed_prefixes);
  out.allow_list_all = p.allow_list_all && r.allow_list_all;
  return out;
}

RandomPermissions Narrow(const RandomPermissions& p, const RandomPermissions& r) {
  RandomPermissions out;
  out.max_bytes = Min(p.max_bytes, r.max_bytes);
  out.max_int = Min(p.max_int, r.max_int);
  out.allow_crypto_secure = p.allow_crypto_secure && r.allow_crypto_secure;
  return out;
}

Status CheckHandlerPermitted(const EffectivePermissions& perms, std::string_view type) {
  bool permitted = false;
  if (type == "message-server") {
    permitted = perms.message_server.has_value();
  } else if (type == "filesystem") {
    permitted = perms.file_system.has_value();
  } else if (type == "http-client") {
    permitted = perms.http_client.has_value();
  } else if (type == "http-framework") {
    permitted = perms.http_framework.has_value();
  } else if (type == "runtime") {
    permitted = perms.runtime.has_value();
  } else if (type == "supervisor") {
    permitted = perms.supervisor.has_value();
  } else if (type == "store") {
    permitted = perms.store.has_value();
  } else if (type == "timing") {
    permitted = perms.timing.has_value();
  } else if (type == "process") {
    permitted = perms.process.has_value();
  } else if (type == "environment") {
    permitted = perms.environment.has_value();
  } else if (type == "random") {
    permitted = perms.random.has_value();
  }
  if (permitted) return Status::Ok();
  return PermissionDenied("Handler type '" + std::string(type) +
                          "' not permitted by effective permissions");
}

Status CheckFileRead(const EffectivePermissions& perms, std::string_view path) {
  if (!perms.file_system || !perms.file_system->read) return OperationDenied("read", "filesystem");
  return CheckPath(perms.file_system->allowed_paths, path);
}

Status CheckFileWrite(const EffectivePermissions& perms, std::string_view path) {
  if (!perms.file_system || !perms.file_system->write) {
    return OperationDenied("write", "filesystem");
  }
  return CheckPath(perms.file_system->allowed_paths, path);
}

Status CheckFileCreateDir(const EffectivePermissions& perms, std::string_view path) {
  if (!perms.file_system || !perms.file_system->write || !perms.file_system->new_dir) {
    return OperationDenied("create-dir", "filesystem");
  }
  return CheckPath(perms.file_system->allowed_paths, path);
}

Status CheckFileCommand(const EffectivePermissions& perms, std::string_view command) {
  if (!perms.file_system || !perms.file_system->execute) {
    return OperationDenied("execute", "filesystem");
  }
  return CheckCommand(perms.file_system->allowed_commands, command);
}

Status CheckHttp(const EffectivePermissions& perms, std::string_view method,
                 std::string_view host) {
  if (!perms.http_client) return OperationDenied("http-request", "http-client");
  THEATER_RETURN_IF_ERROR(CheckMethod(perms.http_client->allowed_methods, method));
  const AllowList& hosts = perms.http_client->allowed_hosts;
  if (hosts && !Contains(*hosts, AsciiLower(std::string(host)))) {
    return PermissionDenied("Host '" + std::string(host) +
                            "' not in allowed hosts: " + FormatList(*hosts));
  }
  return Status::Ok();
}

Status CheckHttpRoute(const EffectivePermissions& perms, std::string_view method,
                      std::string_view route) {
  if (!perms.http_framework) return OperationDenied("add-route", "http-framework");
  THEATER_RETURN_IF_ERROR(CheckMethod(perms.http_framework->allowed_methods, method));
  const AllowList& routes = perms.http_framework->allowed_routes;
  if (routes && !Contains(*routes, route)) {
    return PermissionDenied("Route '" + std::string(route) +
                            "' not in allowed routes: " + FormatList(*routes));
  }
  return Status::Ok();
}

Status CheckEnvVar(const EffectivePermissions& perms, std::string_view var) {
  if (!perms.environment) return OperationDenied("get-var", "environment");
  const EnvironmentPermissions& env = *perms.environment;
  Status denied = PermissionDenied("Environment variable '" + std::string(var) + "' access denied");
  if (Contains(env.denied_vars, var)) return denied;
  if (env.allowed_vars && !Contains(*env.allowed_vars, var)) return denied;
  if (env.allowed_prefixes) {
    bool match = std::any_of(env.allowed_prefixes->begin(), env.allowed_prefixes->end(),
                             [var](const std::string& p) { return var.starts_with(p); });
    if (!match) return denied;
  }
  return Status::Ok();
}

Status CheckEnvListAll(const EffectivePermissions& perms) {
  if (!perms.environment || !perms.environment->allow_list_all) {
    return OperationDenied("list-vars", "environment");
  }
  return Status::Ok();
}

Status CheckProgram(const EffectivePermissions& perms, std::string_view program, uint64_t running,
                    std::string_view cwd) {
  if (!perms.process) return OperationDenied("spawn", "process");
  const ProcessPermissions& p = *perms.process;
  if (running >= p.max_processes) {
    return LimitExceeded("process_count", running == kUnlimited ? running : running + 1, ">",
                         p.max_processes);
  }
  THEATER_RETURN_IF_ERROR(CheckCommand(p.allowed_programs, program));
  if (!cwd.empty()) THEATER_RETURN_IF_ERROR(CheckPath(p.allowed_paths, cwd));
  return Status::Ok();
}

Status CheckProcessOutputBuffer(const EffectivePermissions& perms, uint64_t bytes) {
  if (!perms.process) return OperationDenied("spawn", "process");
  if (bytes > perms.process->max_output_buffer) {
    return LimitExceeded("output_buffer", bytes, ">", perms.process->max_output_buffer);
  }
  return Status::Ok();
}

Status CheckRandomBytes(const EffectivePermissions& perms, uint64_t bytes) {
  if (!perms.random) return OperationDenied("random-bytes", "random");
  if (bytes > perms.random->max_bytes) {
    return LimitExceeded("random_bytes", bytes, ">", perms.random->max_bytes);
  }
  return Status::Ok();
}

Status CheckRandomInt(const EffectivePermissions& perms, uint64_t max_value) {
  if (!perms.random) return OperationDenied("random-range", "random");
  if (max_value > perms.random->max_int) {
    return LimitExceeded("random_max_int", max_value, ">", perms.random->max_int);
  }
  return Status::Ok();
}

Status CheckRandomCryptoSecure(const EffectivePermissions& perms) {
  if (!perms.random || !perms.random->allow_crypto_secure) {
    return OperationDenied("crypto-secure", "random");
  }
  return Status::Ok();
}

Status CheckSleep(const EffectivePermissions& perms, uint64_t duration_ms) {
  if (!perms.timing) return OperationDenied("sleep", "timing");
  if (duration_ms > perms.timing->max_sleep_duration) {
    return LimitExceeded("sleep_duration", duration_ms, ">", perms.timing->max_sleep_duration);
  }
  if (duration_ms < perms.timing->min_sleep_duration) {
    return LimitExceeded("min_sleep_duration", duration_ms, "<", perms.timing->min_sleep_duration);
  }
  return Status::Ok();
}

Status CheckStoreAccess(const EffectivePermissions& perms, std::string_view store_id) {
  if (!perms.store) return OperationDenied("store", "store");
  const AllowList& allowed = perms.store->allowed_stores;
  if (allowed && !Contains(*allowed, store_id)) {
    return PermissionDenied("Store '" + std::string(store_id) +
                            "' not in allowed stores: " + FormatList(*allowed));
  }
  return Status::Ok();
}

Status CheckStoreCreate(const EffectivePermissions& perms) {
  if (!perms.store) return OperationDenied("new", "store");
  if (!perms.store->create) return PermissionDenied("Creating stores is not permitted");
  return Status::Ok();
}

Status CheckSpawnChild(const EffectivePermissions& perms, std::string_view manifest,
                       uint64_t children) {
  if (!perms.supervisor) return OperationDenied("spawn", "supervisor");
  const SupervisorPermissions& s = *perms.supervisor;
  if (s.max_children && children >= *s.max_children) {
    return LimitExceeded("child_count", children == kUnlimited ? children : children + 1, ">",
                         *s.max_children);
  }
  if (s.allowed_manifests && !Contains(*s.allowed_manifests, manifest)) {
    return PermissionDenied("Manifest '" + std::string(manifest) +
                            "' not in allowed manifests: " + FormatList(*s.allowed_manifests));
  }
  return Status::Ok();
}

}  // namespace theater
