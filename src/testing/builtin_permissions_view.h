// Theater: a WebAssembly actor runtime.
//
// Test support: the built-in handlers' permissions in a flat view — one optional field per
// handler, named as `[permission_policy]` names them — converted to and from the runtime's
// EffectivePermissions, and a parsed policy viewed the same way. Tests and fuzz targets of the
// permission rules state their expectations on it. Built on the public API and the handlers'
// permission headers only.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "handlers/environment/environment_permissions.h"
#include "handlers/filesystem/fs_permissions.h"
#include "handlers/http-client/http_client_permissions.h"
#include "handlers/http-framework/http_framework_permissions.h"
#include "handlers/process/process_permissions.h"
#include "handlers/random/random_permissions.h"
#include "handlers/store/store_permissions.h"
#include "handlers/supervisor/supervisor_permissions.h"
#include "handlers/timing/timing_permissions.h"
#include "theater/builtins.h"
#include "theater/permissions.h"

namespace theater::handlers::permissions_view {

inline const HandlerRegistry& BuiltinRegistry() {
  static const HandlerRegistry* registry = new HandlerRegistry(BuiltinHandlers());
  return *registry;
}

// The yes/no permissions of the runtime and message-server handlers.
struct RuntimePermissions {
  friend bool operator==(const RuntimePermissions&, const RuntimePermissions&) = default;
};
struct MessageServerPermissions {
  friend bool operator==(const MessageServerPermissions&,
                         const MessageServerPermissions&) = default;
};

// The flat view of an actor's permissions.
struct Perms {
  std::optional<MessageServerPermissions> message_server;
  std::optional<FileSystemPermissions> file_system;
  std::optional<HttpClientPermissions> http_client;
  std::optional<HttpFrameworkPermissions> http_framework;
  std::optional<RuntimePermissions> runtime;
  std::optional<SupervisorPermissions> supervisor;
  std::optional<StorePermissions> store;
  std::optional<TimingPermissions> timing;
  std::optional<ProcessPermissions> process;
  std::optional<EnvironmentPermissions> environment;
  std::optional<RandomPermissions> random;
  friend bool operator==(const Perms&, const Perms&) = default;

  // What the runtime holds.
  operator EffectivePermissions() const {  // NOLINT: implicit, so the checks take a Perms
    EffectivePermissions e;
    auto put = [&e](std::string_view name, const auto& v) {
      using T = std::decay_t<decltype(*v)>;
      if (!v) return;
      if constexpr (std::is_same_v<T, RuntimePermissions> ||
                    std::is_same_v<T, MessageServerPermissions>) {
        e.Set(name, PlainPermission());
      } else {
        e.Set(name, std::make_shared<const PermissionOf<T>>(*v));
      }
    };
    put("message-server", message_server);
    put("filesystem", file_system);
    put("http-client", http_client);
    put("http-framework", http_framework);
    put("runtime", runtime);
    put("supervisor", supervisor);
    put("store", store);
    put("timing", timing);
    put("process", process);
    put("environment", environment);
    put("random", random);
    return e;
  }
};

template <typename T>
inline std::optional<T> Field(const EffectivePermissions& e, std::string_view name) {
  if (const T* v = e.Get<T>(name)) return *v;
  return std::nullopt;
}

inline Perms View(const EffectivePermissions& e) {
  Perms p;
  if (e.Permits("message-server")) p.message_server.emplace();
  if (e.Permits("runtime")) p.runtime.emplace();
  p.file_system = Field<FileSystemPermissions>(e, "filesystem");
  p.http_client = Field<HttpClientPermissions>(e, "http-client");
  p.http_framework = Field<HttpFrameworkPermissions>(e, "http-framework");
  p.supervisor = Field<SupervisorPermissions>(e, "supervisor");
  p.store = Field<StorePermissions>(e, "store");
  p.timing = Field<TimingPermissions>(e, "timing");
  p.process = Field<ProcessPermissions>(e, "process");
  p.environment = Field<EnvironmentPermissions>(e, "environment");
  p.random = Field<RandomPermissions>(e, "random");
  return p;
}

// One handler's parsed policy, with its restriction as the handler's own type.
template <typename T>
struct PolicyView {
  InheritanceKind kind = InheritanceKind::kInherit;
  T restriction{};
};

template <typename T>
inline PolicyView<T> PolicyOf(const PermissionPolicy& policy, std::string_view name) {
  PolicyView<T> view;
  auto it = policy.find(name);
  if (it == policy.end()) return view;
  view.kind = it->second.kind;
  if (const auto* r = dynamic_cast<const PermissionOf<T>*>(it->second.restriction.get())) {
    view.restriction = r->value;
  }
  return view;
}

// A parsed `[permission_policy]` and its flat view.
struct Policy {
  PermissionPolicy parsed;
  PolicyView<MessageServerPermissions> message_server;
  PolicyView<FileSystemPermissions> file_system;
  PolicyView<HttpClientPermissions> http_client;
  PolicyView<HttpFrameworkPermissions> http_framework;
  PolicyView<RuntimePermissions> runtime;
  PolicyView<SupervisorPermissions> supervisor;
  PolicyView<StorePermissions> store;
  PolicyView<TimingPermissions> timing;
  PolicyView<ProcessPermissions> process;
  PolicyView<EnvironmentPermissions> environment;
  PolicyView<RandomPermissions> random;
};

inline Policy MakePolicy(PermissionPolicy parsed) {
  Policy p;
  p.message_server = PolicyOf<MessageServerPermissions>(parsed, "message-server");
  p.file_system = PolicyOf<FileSystemPermissions>(parsed, "filesystem");
  p.http_client = PolicyOf<HttpClientPermissions>(parsed, "http-client");
  p.http_framework = PolicyOf<HttpFrameworkPermissions>(parsed, "http-framework");
  p.runtime = PolicyOf<RuntimePermissions>(parsed, "runtime");
  p.supervisor = PolicyOf<SupervisorPermissions>(parsed, "supervisor");
  p.store = PolicyOf<StorePermissions>(parsed, "store");
  p.timing = PolicyOf<TimingPermissions>(parsed, "timing");
  p.process = PolicyOf<ProcessPermissions>(parsed, "process");
  p.environment = PolicyOf<EnvironmentPermissions>(parsed, "environment");
  p.random = PolicyOf<RandomPermissions>(parsed, "random");
  p.parsed = std::move(parsed);
  return p;
}

inline Perms RootPermissions() {
  return View(BuiltinRegistry().RootPermissions());
}

inline Perms ComputeEffectivePermissions(const Perms& parent, const Policy& policy) {
  return View(theater::ComputeEffectivePermissions(parent, policy.parsed));
}

template <typename T>
T Narrow(const T& parent, const T& restriction) {
  return NarrowPermission(parent, restriction);
}


inline Result<Policy> ParsePolicy(const nlohmann::json& policy) {
  THEATER_ASSIGN_OR_RETURN(PermissionPolicy parsed,
                           ParsePermissionPolicy(policy, BuiltinRegistry().PolicyHandlers()));
  return MakePolicy(std::move(parsed));
}

}  // namespace theater::handlers::permissions_view
