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

#include "theater/permissions.h"

namespace {

using namespace theater;

// Lists compared as sets: narrowing keeps a list's entries in no particular order.
void Sort(AllowList& list) {
  if (list) std::sort(list->begin(), list->end());
}
EffectivePermissions Canonical(EffectivePermissions p) {
  if (p.file_system) Sort(p.file_system->allowed_commands), Sort(p.file_system->allowed_paths);
  if (p.http_client) Sort(p.http_client->allowed_methods), Sort(p.http_client->allowed_hosts);
  if (p.http_framework) {
    Sort(p.http_framework->allowed_routes), Sort(p.http_framework->allowed_methods);
  }
  if (p.supervisor) Sort(p.supervisor->allowed_manifests);
  if (p.store) Sort(p.store->allowed_stores);
  if (p.process) Sort(p.process->allowed_programs), Sort(p.process->allowed_paths);
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
  Result<PermissionPolicy> policy = ParsePermissionPolicy(policy_json);
  if (!policy.ok()) {
    if (policy.status().code() != StatusCode::kInvalidArgument) __builtin_trap();
    return 0;
  }
  EffectivePermissions once = ComputeEffectivePermissions(RootPermissions(), *policy);
  EffectivePermissions twice = ComputeEffectivePermissions(once, *policy);
  if (!(Canonical(once) == Canonical(twice))) __builtin_trap();

  // An empty restriction narrows nothing.
  PermissionPolicy keep;
  keep.file_system.kind = InheritanceKind::kRestrict;
  keep.process.kind = InheritanceKind::kRestrict;
  keep.environment.kind = InheritanceKind::kRestrict;
  keep.http_client.kind = InheritanceKind::kRestrict;
  keep.http_framework.kind = InheritanceKind::kRestrict;
  keep.supervisor.kind = InheritanceKind::kRestrict;
  keep.store.kind = InheritanceKind::kRestrict;
  keep.timing.kind = InheritanceKind::kRestrict;
  keep.random.kind = InheritanceKind::kRestrict;
  if (!(Canonical(ComputeEffectivePermissions(once, keep)) == Canonical(once))) __builtin_trap();
  return 0;
}
