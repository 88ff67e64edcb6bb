// Theater: a WebAssembly actor runtime.
#include "handlers/random/random_permissions.h"

#include <algorithm>

#include "common/ascii.h"
#include "handlers/support/handler_util.h"
#include "handlers/support/permission_support.h"

namespace theater::handlers {

const PermissionRules& RandomPermissionRules() {
  static const PermissionRulesFor<RandomPermissions> rules;
  return rules;
}

Status CheckRandomBytes(const RandomPermissions* p, uint64_t bytes) {
  if (!p) return OperationDenied("random-bytes", "random");
  if (bytes > p->max_bytes) {
    return LimitExceeded("random_bytes", bytes, ">", p->max_bytes);
  }
  return Status::Ok();
}

Status CheckRandomBytes(const EffectivePermissions& perms, uint64_t bytes) {
  return CheckRandomBytes(perms.Get<RandomPermissions>(kRandomHandler), bytes);
}

Status CheckRandomInt(const RandomPermissions* p, uint64_t max_value) {
  if (!p) return OperationDenied("random-range", "random");
  if (max_value > p->max_int) {
    return LimitExceeded("random_max_int", max_value, ">", p->max_int);
  }
  return Status::Ok();
}

Status CheckRandomInt(const EffectivePermissions& perms, uint64_t max_value) {
  return CheckRandomInt(perms.Get<RandomPermissions>(kRandomHandler), max_value);
}

Status CheckRandomCryptoSecure(const RandomPermissions* p) {
  if (!p || !p->allow_crypto_secure) {
    return OperationDenied("crypto-secure", "random");
  }
  return Status::Ok();
}

Status CheckRandomCryptoSecure(const EffectivePermissions& perms) {
  return CheckRandomCryptoSecure(perms.Get<RandomPermissions>(kRandomHandler));
}

}  // namespace theater::handlers
