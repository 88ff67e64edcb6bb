// Theater: a WebAssembly actor runtime.
//
// The random handler's permission (src/handlers/random/README.md, "Permissions"): its value, how a
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

inline constexpr std::string_view kRandomHandler = "random";

struct RandomPermissions {
  uint64_t max_bytes = kUnlimited;  // per request
  uint64_t max_int = kUnlimited;    // largest upper bound of a random integer
  bool allow_crypto_secure = true;
  // The config keys, in reading order, and how each narrows (handlers/support/permission_fields.h).
  static constexpr auto Fields() {
    using P = RandomPermissions;
    return std::tuple{Limit("max_bytes", &P::max_bytes), Limit("max_int", &P::max_int),
                      Flag("allow_crypto_secure", &P::allow_crypto_secure)};
  }
  friend bool operator==(const RandomPermissions&, const RandomPermissions&) = default;
};

// The rules the handler registers.
const PermissionRules& RandomPermissionRules();

// --- Checks: OK when allowed, otherwise kPermissionDenied. A null permission (the handler is not
// permitted) denies. ---
Status CheckRandomBytes(const RandomPermissions* p, uint64_t bytes);
Status CheckRandomBytes(const EffectivePermissions& perms, uint64_t bytes);
Status CheckRandomInt(const RandomPermissions* p, uint64_t max_value);
Status CheckRandomInt(const EffectivePermissions& perms, uint64_t max_value);
Status CheckRandomCryptoSecure(const RandomPermissions* p);
Status CheckRandomCryptoSecure(const EffectivePermissions& perms);

}  // namespace theater::handlers
