// Theater: a WebAssembly actor runtime.
//
// Differential libFuzzer target for permission narrowing: for a random parent grant and a random
// child `[permission_policy]` (built as JSON and parsed by ParsePermissionPolicy, so the parser is
// part of the path), the child's ComputeEffectivePermissions(parent, policy) is never wider than
// the parent. "Wider" is defined twice, and both must hold:
//
//  1. Structurally, per permission kind (src/runtime/permissions.cc): a handler the parent lacks
//     stays absent; a boolean grant the parent lacks stays false; an upper limit (max_*) is at
//     most the parent's and a lower limit (min_sleep_duration) at least the parent's; an
//     optional limit the parent sets stays set; an allow-list the parent sets stays set and
//     holds only entries the parent's list allows (exact lists: the same string; path lists: a
//     path within one of the parent's paths; prefix lists: a string starting with one of the
//     parent's prefixes); the parent's denied variables stay denied.
//  2. Behaviourally: for every Check* function and many queries (the lists' own entries, their
//     neighbours — children, parents, "..", trailing slashes, case changes — and fuzzer strings),
//     whatever the child is allowed the parent is allowed too.
//
// A grandchild (a second policy applied to the child) is checked against the child the same way.
// A violation aborts (__builtin_trap).
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/child_env.h"
#include "testing/builtin_permissions_view.h"
#include "theater/permissions.h"

namespace {

using namespace theater;
using namespace theater::handlers;
using namespace theater::handlers::permissions_view;
using nlohmann::json;

#define CHECK(cond)                \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)

const char* const kPaths[] = {"/",   "/a",     "/a/b", "/a/b/c", "/a/../b", "/a/",
                              "//a", "/a/./b", "a",    "a/b",    ".",       "",
                              "..",  "../a",   "/b",   "/ab",    "/a/b/..", "/a//b"};
const char* const kWords[] = {"ls",   "cat",         "GET",         "get",       "POST",
                              "HEAD", "example.com", "Example.Com", "s1",        "s2",
                              "HOME", "PATH",        "THEATER_",    "THEATER_X", "T",
                              "",     "child.toml",  "/",           "/a/{id}",   "x"};

std::string PickString(FuzzedDataProvider& in, bool path) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return in.ConsumeRandomLengthString(12);
    case 1:
    case 2:
      return path ? kPaths[in.ConsumeIntegralInRange<size_t>(0, std::size(kPaths) - 1)]
                  : kWords[in.ConsumeIntegralInRange<size_t>(0, std::size(kWords) - 1)];
    default:
      return kWords[in.ConsumeIntegralInRange<size_t>(0, std::size(kWords) - 1)];
  }
}

uint64_t PickNumber(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return in.ConsumeIntegralInRange<uint64_t>(0, 4);
    case 1:
      return in.ConsumeIntegralInRange<uint64_t>(0, 1000);
    case 2:
      return kUnlimited - in.ConsumeIntegralInRange<uint64_t>(0, 2);
    default:
      return in.ConsumeIntegral<uint64_t>();
  }
}

AllowList PickList(FuzzedDataProvider& in, bool path) {
  if (in.ConsumeBool()) return std::nullopt;
  std::vector<std::string> list;
  size_t n = in.ConsumeIntegralInRange<size_t>(0, 4);
  for (size_t i = 0; i < n; ++i) list.push_back(PickString(in, path));
  return list;
}

// A random parent grant, as the runtime could hold for an actor (any values; the parent itself
// may have been narrowed before).
Perms PickParent(FuzzedDataProvider& in) {
  Perms p;
  if (in.ConsumeBool()) p.message_server.emplace();
  if (in.ConsumeBool()) p.runtime.emplace();
  if (in.ConsumeBool()) {
    FileSystemPermissions& f = p.file_system.emplace();
    f.read = in.ConsumeBool(), f.write = in.ConsumeBool(), f.execute = in.ConsumeBool();
    f.new_dir = in.ConsumeBool();
    f.allowed_commands = PickList(in, false);
    f.allowed_paths = PickList(in, true);
  }
  if (in.ConsumeBool()) {
    HttpClientPermissions& h = p.http_client.emplace();
    h.allowed_methods = PickList(in, false);
    h.allowed_hosts = PickList(in, false);
    if (in.ConsumeBool()) h.max_redirects = PickNumber(in);
    if (in.ConsumeBool()) h.timeout_ms = PickNumber(in);
  }
  if (in.ConsumeBool()) {
    HttpFrameworkPermissions& h = p.http_framework.emplace();
    h.allowed_routes = PickList(in, false);
    h.allowed_methods = PickList(in, false);
    if (in.ConsumeBool()) h.max_request_size = PickNumber(in);
  }
  if (in.ConsumeBool()) {
    SupervisorPermissions& s = p.supervisor.emplace();
    if (in.ConsumeBool()) s.max_children = PickNumber(in);
    s.allowed_manifests = PickList(in, false);
  }
  if (in.ConsumeBool()) {
    StorePermissions& s = p.store.emplace();
    s.allowed_stores = PickList(in, false);
    s.create = in.ConsumeBool();
  }
  if (in.ConsumeBool()) {
    TimingPermissions& t = p.timing.emplace();
    t.max_sleep_duration = PickNumber(in);
    t.min_sleep_duration = PickNumber(in);
  }
  if (in.ConsumeBool()) {
    ProcessPermissions& pr = p.process.emplace();
    pr.max_processes = PickNumber(in);
    pr.max_output_buffer = PickNumber(in);
    pr.allowed_programs = PickList(in, false);
    pr.allowed_paths = PickList(in, true);
    pr.allowed_env = PickList(in, false);
  }
  if (in.ConsumeBool()) {
    EnvironmentPermissions& e = p.environment.emplace();
    e.allowed_vars = PickList(in, false);
    AllowList denied = PickList(in, false);
    if (denied) e.denied_vars = *denied;
    e.allowed_prefixes = PickList(in, false);
    e.allow_list_all = in.ConsumeBool();
  }
  if (in.ConsumeBool()) {
    RandomPermissions& r = p.random.emplace();
    r.max_bytes = PickNumber(in);
    r.max_int = PickNumber(in);
    r.allow_crypto_secure = in.ConsumeBool();
  }
  return p;
}

// A config value of the kind `key` expects, or now and then of another kind.
json PickValue(FuzzedDataProvider& in, char kind) {
  int choice = in.ConsumeIntegralInRange<int>(0, 15);
  if (choice == 0) return json(in.ConsumeIntegral<int64_t>());  // maybe negative
  if (choice == 1) return json("wrong");
  if (choice == 2) return json(nullptr);
  switch (kind) {
    case 'b':
      return json(in.ConsumeBool());
    case 'n':
      return json(PickNumber(in));
    case 'p':
    case 'l': {
      json list = json::array();
      size_t n = in.ConsumeIntegralInRange<size_t>(0, 4);
      for (size_t i = 0; i < n; ++i) list.push_back(PickString(in, kind == 'p'));
      if (in.ConsumeIntegralInRange<int>(0, 20) == 0) list.push_back(1);
      return list;
    }
  }
  return json();
}

struct HandlerShape {
  const char* name;
  std::vector<std::pair<const char*, char>> keys;  // b: bool, n: number, l: list, p: path list
};

const HandlerShape kShapes[] = {
    {"message_server", {}},
    {"runtime", {}},
    {"file_system",
     {{"read", 'b'},
      {"write", 'b'},
      {"execute", 'b'},
      {"new_dir", 'b'},
      {"allowed_commands", 'l'},
      {"allowed_paths", 'p'}}},
    {"http_client",
     {{"allowed_methods", 'l'}, {"allowed_hosts", 'l'}, {"max_redirects", 'n'}, {"timeout", 'n'}}},
    {"http_framework",
     {{"allowed_routes", 'l'}, {"allowed_methods", 'l'}, {"max_request_size", 'n'}}},
    {"supervisor", {{"max_children", 'n'}, {"allowed_manifests", 'l'}}},
    {"store", {{"allowed_stores", 'l'}, {"create", 'b'}}},
    {"timing", {{"max_sleep_duration", 'n'}, {"min_sleep_duration", 'n'}}},
    {"process",
     {{"max_processes", 'n'},
      {"max_output_buffer", 'n'},
      {"allowed_programs", 'l'},
      {"allowed_paths", 'p'},
      {"allowed_env", 'l'}}},
    {"environment",
     {{"allowed_vars", 'l'},
      {"denied_vars", 'l'},
      {"allowed_prefixes", 'l'},
      {"allow_list_all", 'b'}}},
    {"random", {{"max_bytes", 'n'}, {"max_int", 'n'}, {"allow_crypto_secure", 'b'}}},
};

json PickPolicy(FuzzedDataProvider& in) {
  json policy = json::object();
  for (const HandlerShape& shape : kShapes) {
    int kind = in.ConsumeIntegralInRange<int>(0, 4);
    if (kind == 0) continue;  // absent: inherit
    if (kind == 1) {
      policy[shape.name] = {{"type", "inherit"}};
    } else if (kind == 2) {
      policy[shape.name] = {{"type", "disallow"}};
    } else {
      json entry = {{"type", "restrict"}};
      if (in.ConsumeBool()) {
        json config = json::object();
        for (const auto& [key, type] : shape.keys) {
          if (in.ConsumeBool()) config[key] = PickValue(in, type);
        }
        entry["config"] = config;
      }
      policy[shape.name] = entry;
    }
  }
  return policy;
}

// --- 1. Structure. ---

bool PathWithinPolicy(const std::string& path, const std::string& dir) {
  // The documented rule: component-wise prefix after lexical normalisation. The check functions
  // are the reference (behavioural part below); here a path is within when CheckFileRead with
  // allowed_paths = [dir] lets it through.
  Perms p;
  p.file_system.emplace().allowed_paths = std::vector<std::string>{dir};
  return CheckFileRead(p, path).ok();
}

void CheckExactList(const AllowList& child, const AllowList& parent) {
  if (!parent) return;
  CHECK(child.has_value());
  for (const std::string& c : *child) {
    CHECK(std::find(parent->begin(), parent->end(), c) != parent->end());
  }
}
void CheckPathList(const AllowList& child, const AllowList& parent) {
  if (!parent) return;
  CHECK(child.has_value());
  for (const std::string& c : *child) {
    CHECK(std::any_of(parent->begin(), parent->end(),
                      [&c](const std::string& p) { return PathWithinPolicy(c, p); }));
  }
}
void CheckPrefixList(const AllowList& child, const AllowList& parent) {
  if (!parent) return;
  CHECK(child.has_value());
  for (const std::string& c : *child) {
    CHECK(std::any_of(parent->begin(), parent->end(),
                      [&c](const std::string& p) { return c.starts_with(p); }));
  }
}
// Variable patterns (common/child_env.h): each child entry allows nothing a parent entry does not.
void CheckEnvList(const AllowList& child, const AllowList& parent) {
  if (!parent) return;
  CHECK(child.has_value());
  for (const std::string& c : *child) {
    CHECK(std::any_of(parent->begin(), parent->end(),
                      [&c](const std::string& p) { return EnvPatternWithin(c, p); }));
  }
}
void CheckOptMax(const std::optional<uint64_t>& child, const std::optional<uint64_t>& parent) {
  if (!parent) return;
  CHECK(child && *child <= *parent);
}

void CheckStructure(const Perms& c, const Perms& p) {
  CHECK(!c.message_server || p.message_server);
  CHECK(!c.runtime || p.runtime);
  if (c.file_system) {
    CHECK(p.file_system.has_value());
    const auto &x = *c.file_system, &y = *p.file_system;
    CHECK(!x.read || y.read);
    CHECK(!x.write || y.write);
    CHECK(!x.execute || y.execute);
    CHECK(!x.new_dir || y.new_dir);
    CheckExactList(x.allowed_commands, y.allowed_commands);
    CheckPathList(x.allowed_paths, y.allowed_paths);
  }
  if (c.http_client) {
    CHECK(p.http_client.has_value());
    const auto &x = *c.http_client, &y = *p.http_client;
    CheckExactList(x.allowed_methods, y.allowed_methods);
    CheckExactList(x.allowed_hosts, y.allowed_hosts);
    CheckOptMax(x.max_redirects, y.max_redirects);
    CheckOptMax(x.timeout_ms, y.timeout_ms);
  }
  if (c.http_framework) {
    CHECK(p.http_framework.has_value());
    const auto &x = *c.http_framework, &y = *p.http_framework;
    CheckExactList(x.allowed_routes, y.allowed_routes);
    CheckExactList(x.allowed_methods, y.allowed_methods);
    CheckOptMax(x.max_request_size, y.max_request_size);
  }
  if (c.supervisor) {
    CHECK(p.supervisor.has_value());
    CheckOptMax(c.supervisor->max_children, p.supervisor->max_children);
    CheckExactList(c.supervisor->allowed_manifests, p.supervisor->allowed_manifests);
  }
  if (c.store) {
    CHECK(p.store.has_value());
    CheckExactList(c.store->allowed_stores, p.store->allowed_stores);
    CHECK(!c.store->create || p.store->create);
  }
  if (c.timing) {
    CHECK(p.timing.has_value());
    CHECK(c.timing->max_sleep_duration <= p.timing->max_sleep_duration);
    CHECK(c.timing->min_sleep_duration >= p.timing->min_sleep_duration);
  }
  if (c.process) {
    CHECK(p.process.has_value());
    const auto &x = *c.process, &y = *p.process;
    CHECK(x.max_processes <= y.max_processes);
    CHECK(x.max_output_buffer <= y.max_output_buffer);
    CheckExactList(x.allowed_programs, y.allowed_programs);
    CheckPathList(x.allowed_paths, y.allowed_paths);
    CheckEnvList(x.allowed_env, y.allowed_env);
  }
  if (c.environment) {
    CHECK(p.environment.has_value());
    const auto &x = *c.environment, &y = *p.environment;
    CheckExactList(x.allowed_vars, y.allowed_vars);
    CheckPrefixList(x.allowed_prefixes, y.allowed_prefixes);
    for (const std::string& d : y.denied_vars) {
      CHECK(std::find(x.denied_vars.begin(), x.denied_vars.end(), d) != x.denied_vars.end());
    }
    CHECK(!x.allow_list_all || y.allow_list_all);
  }
  if (c.random) {
    CHECK(p.random.has_value());
    CHECK(c.random->max_bytes <= p.random->max_bytes);
    CHECK(c.random->max_int <= p.random->max_int);
    CHECK(!c.random->allow_crypto_secure || p.random->allow_crypto_secure);
  }
}

// --- 2. Behaviour. ---

void AddList(std::vector<std::string>& out, const AllowList& list) {
  if (list) out.insert(out.end(), list->begin(), list->end());
}

std::vector<std::string> QueryStrings(const Perms& a, const Perms& b,
                                      FuzzedDataProvider& in) {
  std::vector<std::string> base = {"/", "/a", "/a/b", "a", "", ".", "..", "x"};
  for (const Perms* p : {&a, &b}) {
    if (p->file_system) AddList(base, p->file_system->allowed_commands);
    if (p->file_system) AddList(base, p->file_system->allowed_paths);
    if (p->http_client) AddList(base, p->http_client->allowed_methods);
    if (p->http_client) AddList(base, p->http_client->allowed_hosts);
    if (p->http_framework) AddList(base, p->http_framework->allowed_routes);
    if (p->http_framework) AddList(base, p->http_framework->allowed_methods);
    if (p->supervisor) AddList(base, p->supervisor->allowed_manifests);
    if (p->store) AddList(base, p->store->allowed_stores);
    if (p->process) AddList(base, p->process->allowed_programs);
    if (p->process) AddList(base, p->process->allowed_paths);
    if (p->environment) AddList(base, p->environment->allowed_vars);
    if (p->environment) AddList(base, p->environment->allowed_prefixes);
    if (p->environment) AddList(base, std::make_optional(p->environment->denied_vars));
  }
  for (int i = 0; i < 4 && in.remaining_bytes() > 0; ++i) base.push_back(PickString(in, true));
  if (base.size() > 24) base.resize(24);  // bounded work per input
  std::vector<std::string> out;
  for (const std::string& s : base) {
    out.push_back(s);
    out.push_back(s + "/x");
    out.push_back(s + "/");
    out.push_back(s + "/..");
    out.push_back(std::filesystem::path(s).parent_path().string());
    if (!s.empty()) out.push_back(s.substr(0, s.size() - 1));
  }
  return out;
}

std::vector<uint64_t> QueryNumbers(const Perms& a, const Perms& b) {
  std::vector<uint64_t> base = {0, 1, 2, 1000, kUnlimited};
  for (const Perms* p : {&a, &b}) {
    if (p->http_client && p->http_client->max_redirects)
      base.push_back(*p->http_client->max_redirects);
    if (p->supervisor && p->supervisor->max_children) base.push_back(*p->supervisor->max_children);
    if (p->timing) base.push_back(p->timing->max_sleep_duration);
    if (p->timing) base.push_back(p->timing->min_sleep_duration);
    if (p->process) base.push_back(p->process->max_processes);
    if (p->process) base.push_back(p->process->max_output_buffer);
    if (p->random) base.push_back(p->random->max_bytes);
    if (p->random) base.push_back(p->random->max_int);
  }
  std::vector<uint64_t> out;
  for (uint64_t n : base) {
    out.push_back(n);
    out.push_back(n + 1);  // wraps at kUnlimited to 0, also a useful query
    out.push_back(n - 1);
  }
  return out;
}

// Child allowed => parent allowed.
#define IMPLIES(child_status, parent_status) CHECK(!(child_status).ok() || (parent_status).ok())

void CheckBehaviour(const Perms& c, const Perms& p,
                    FuzzedDataProvider& in) {
  static const char* const kTypes[] = {
      "message-server", "filesystem", "http-client", "http-framework", "runtime", "supervisor",
      "store",          "timing",     "process",     "environment",    "random",  "nope"};
  for (const char* t : kTypes) IMPLIES(CheckHandlerPermitted(c, t), CheckHandlerPermitted(p, t));
  IMPLIES(CheckStoreCreate(c), CheckStoreCreate(p));
  IMPLIES(CheckEnvListAll(c), CheckEnvListAll(p));
  IMPLIES(CheckRandomCryptoSecure(c), CheckRandomCryptoSecure(p));
  std::vector<std::string> strings = QueryStrings(c, p, in);
  std::vector<uint64_t> numbers = QueryNumbers(c, p);
  for (const std::string& s : strings) {
    IMPLIES(CheckFileRead(c, s), CheckFileRead(p, s));
    IMPLIES(CheckFileWrite(c, s), CheckFileWrite(p, s));
    IMPLIES(CheckFileCreateDir(c, s), CheckFileCreateDir(p, s));
    IMPLIES(CheckFileCommand(c, s), CheckFileCommand(p, s));
    IMPLIES(CheckStoreAccess(c, s), CheckStoreAccess(p, s));
    IMPLIES(CheckEnvVar(c, s), CheckEnvVar(p, s));
    IMPLIES(CheckHttp(c, s, s), CheckHttp(p, s, s));
    IMPLIES(CheckHttp(c, "GET", s), CheckHttp(p, "GET", s));
    IMPLIES(CheckHttpRoute(c, "GET", s), CheckHttpRoute(p, "GET", s));
    IMPLIES(CheckHttpRoute(c, s, "/"), CheckHttpRoute(p, s, "/"));
    IMPLIES(CheckProgram(c, s, 0), CheckProgram(p, s, 0));
    IMPLIES(CheckProgram(c, "echo", 0, s), CheckProgram(p, "echo", 0, s));
    IMPLIES(CheckSpawnChild(c, s, 0), CheckSpawnChild(p, s, 0));
  }
  for (uint64_t n : numbers) {
    IMPLIES(CheckProgram(c, "echo", n), CheckProgram(p, "echo", n));
    IMPLIES(CheckProcessOutputBuffer(c, n), CheckProcessOutputBuffer(p, n));
    IMPLIES(CheckRandomBytes(c, n), CheckRandomBytes(p, n));
    IMPLIES(CheckRandomInt(c, n), CheckRandomInt(p, n));
    IMPLIES(CheckSleep(c, n), CheckSleep(p, n));
    IMPLIES(CheckSpawnChild(c, "child.toml", n), CheckSpawnChild(p, "child.toml", n));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Perms parent = PickParent(in);
  json policy_json = PickPolicy(in);
  Result<permissions_view::Policy> policy = permissions_view::ParsePolicy(policy_json);
  if (!policy.ok()) return 0;
  Perms child = ComputeEffectivePermissions(parent, *policy);
  CheckStructure(child, parent);
  CheckBehaviour(child, parent, in);

  Result<permissions_view::Policy> second = permissions_view::ParsePolicy(PickPolicy(in));
  if (!second.ok()) return 0;
  Perms grandchild = ComputeEffectivePermissions(child, *second);
  CheckStructure(grandchild, child);
  CheckStructure(grandchild, parent);
  CheckBehaviour(grandchild, child, in);
  return 0;
}
