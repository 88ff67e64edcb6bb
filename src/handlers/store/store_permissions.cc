// Theater: a WebAssembly actor runtime.
#include "handlers/store/store_permissions.h"

#include <algorithm>

#include "common/ascii.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/permission_support.h"

namespace theater::handlers {

namespace {

// The store permission also governs the runtime's own reads of store:// references for an actor
// (a child's manifest, component or initial state): CheckAccess checks the store id.
class StoreRules final : public PermissionRulesFor<StorePermissions> {
 public:
  Status CheckAccess(const Permission& permission, std::string_view store_id) const override {
    const auto* p = dynamic_cast<const PermissionOf<StorePermissions>*>(&permission);
    return CheckStoreAccess(p != nullptr ? &p->value : nullptr, store_id);
  }
};

}  // namespace

const PermissionRules& StorePermissionRules() {
  static const StoreRules rules;
  return rules;
}

Status CheckStoreAccess(const StorePermissions* p, std::string_view store_id) {
  if (!p) return OperationDenied("store", "store");
  const AllowList& allowed = p->allowed_stores;
  if (allowed && !Contains(*allowed, store_id)) {
    return PermissionDenied("Store '" + std::string(store_id) +
                            "' not in allowed stores: " + FormatList(*allowed));
  }
  return Status::Ok();
}

Status CheckStoreAccess(const EffectivePermissions& perms, std::string_view store_id) {
  return CheckStoreAccess(perms.Get<StorePermissions>(kStoreHandler), store_id);
}

Status CheckStoreCreate(const StorePermissions* p) {
  if (!p) return OperationDenied("new", "store");
  if (!p->create) return PermissionDenied("Creating stores is not permitted");
  return Status::Ok();
}

Status CheckStoreCreate(const EffectivePermissions& perms) {
  return CheckStoreCreate(perms.Get<StorePermissions>(kStoreHandler));
}

}  // namespace theater::handlers
