// Theater: a WebAssembly actor runtime.
//
// The store handler's permission (src/handlers/store/README.md, "Permissions"): its value, how a
// `[permission_policy]` config restricts it, how it narrows for a child, and the checks the
// handler makes before acting. Registered with the handler (Handler::permission_rules()).
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "handlers/support/permission_fields.h"
#include "theater/permissions.h"
#include "theater/status.h"

namespace theater::handlers {

inline constexpr std::string_view kStoreHandler = "store";

// What an actor may do with content stores (docs/store.md, "Access"); a default value allows
// everything.
struct StorePermissions {
  AllowList allowed_stores;  // store ids that may be touched at all (docs/store.md, "Access")
  bool create = true;        // may create stores (`new`)
  // The config keys, in reading order, and how each narrows (handlers/support/permission_fields.h).
  static constexpr auto Fields() {
    using P = StorePermissions;
    return std::tuple{Allow("allowed_stores", &P::allowed_stores), Flag("create", &P::create)};
  }
  friend bool operator==(const StorePermissions&, const StorePermissions&) = default;
};

// The rules the handler registers.
const PermissionRules& StorePermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
Status CheckStoreAccess(const StorePermissions* p, std::string_view store_id);
Status CheckStoreAccess(const EffectivePermissions& perms, std::string_view store_id);
Status CheckStoreCreate(const StorePermissions* p);
Status CheckStoreCreate(const EffectivePermissions& perms);

}  // namespace theater::handlers
