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
#include <vector>

#include "theater/permissions.h"
#include "theater/status.h"

namespace theater::handlers {

inline constexpr std::string_view kStoreHandler = "store";

// What an actor may do with content stores (docs/store.md, "Access"); a default value allows
// everything.
struct StorePermissions {
  AllowList allowed_stores;  // store ids that may be touched at all (docs/store.md, "Access")
  bool create = true;        // may create stores (`new`)
  friend bool operator==(const StorePermissions&, const StorePermissions&) = default;
};

Status ReadPermissionConfig(PermissionConfigReader& r, StorePermissions* p);
// The intersection of a parent's permission and a restriction (docs/permissions.md).
StorePermissions NarrowPermission(const StorePermissions& parent, const StorePermissions& restriction);
// The rules the handler registers.
const PermissionRules& StorePermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
Status CheckStoreAccess(const StorePermissions* p, std::string_view store_id);
Status CheckStoreAccess(const EffectivePermissions& perms, std::string_view store_id);
Status CheckStoreCreate(const StorePermissions* p);
Status CheckStoreCreate(const EffectivePermissions& perms);

}  // namespace theater::handlers
