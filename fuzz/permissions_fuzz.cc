// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for `[permission_policy]` parsing (ParsePermissionPolicy): any JSON document
// is accepted or refused with an error naming the field, never an exception or a crash. A policy
// that parses is applied to the root permissions and to itself applied twice: applying a policy
// to the permissions it produced changes nothing further (narrowing is idempotent, lists compared
// as sets), and a `restrict` without a config keeps what the parent has.
#include <cstddef>
#include <cstdint>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "testing/builtin_permissions_view.h"
#include "theater/permissions.h"

namespace {

using namespace theater;
using namespace theater::handlers;
using namespace theater::handlers::permissions_view;

// Lists compared as sets: narrowing keeps a list's entries in no particular order.
void Sort(AllowList& list) {
  if (list) std::sort(list->begin(), list->end());
}
Perms Canonical(Perms p) {
  if (p.file_system) Sort(p.file_system->allowed_commands), Sort(p.file_system->allowed_paths);
  if (p.http_client) Sort(p.http_client->allowed_methods), Sort(p.http_client->allowed_hosts);
  if (p.http_framework) {
    Sort(p.http_framework->allowed_routes), Sort(p.http_framework->allowed_methods);
  }
  if (p.supervisor) Sort(p.supervisor->allowed_manifests);
  if (p.store) Sort(p.store->allowed_stores);
  if (p.process) {
    Sort(p.process->allowed_programs), Sort(p.process->allowed_paths);
    Sort(p.process->allowed_env);
  }
  if (p.environment) {
    Sort(p.environment->allowed_vars), Sort(p.environment->allowed_prefixes);
    std::sort(p.environment->denied_vars.begin(), p.environment->denied_vars.end());
  }
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json policy_json = nlohmann::json::parse(data, data + size, nullptr, false);
  if (policy_json.is_discarded()) return 0;
  Result<permissions_view::Policy> policy = permissions_view::ParsePolicy(policy_json);
  if (!policy.ok()) {
    if (policy.status().code() != StatusCode::kInvalidArgument) __builtin_trap();
    return 0;
  }
  Perms once = ComputeEffectivePermissions(RootPermissions(), *policy);
  Perms twice = ComputeEffectivePermissions(once, *policy);
  if (!(Canonical(once) == Canonical(twice))) __builtin_trap();

  // An empty restriction narrows nothing.
  static const permissions_view::Policy keep = [] {
    nlohmann::json all = nlohmann::json::object();
    for (const char* key : {"file_system", "process", "environment", "http_client",
                            "http_framework", "supervisor", "store", "timing", "random"}) {
      all[key] = {{"type", "restrict"}};
    }
    Result<permissions_view::Policy> parsed = permissions_view::ParsePolicy(all);
    if (!parsed.ok()) __builtin_trap();
    return *parsed;
  }();
  if (!(Canonical(ComputeEffectivePermissions(once, keep)) == Canonical(once))) __builtin_trap();
  return 0;
}
