// Theater: a WebAssembly actor runtime.
//
// Actor permissions (docs/permissions.md), the generic machinery: what an actor may do is one
// permission per handler, and each handler owns its permission — its value type, how its
// `[permission_policy]` config is read and how a parent's grant narrows for a child — by
// registering PermissionRules with its descriptor (Handler::permission_rules(), theater/handler.h).
// This header knows no handler; src/handlers/<name>/README.md documents each one's permission.
//
// A top-level actor gets every registered handler's Root() permission (everything allowed). A
// child gets ComputeEffectivePermissions(parent, policy): per handler, `inherit` keeps the
// parent's permission, `disallow` removes it, `restrict` narrows it with a config. Narrowing is
// an intersection, so a child can never gain what its parent lacks. A handler without rules of
// its own has a yes/no permission: inherit or disallow it (restrict keeps it, and takes no
// config).
//
// Thread-safety: permissions are immutable values once built; rules are immutable and shared.
// Nothing here throws.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "theater/status.h"

namespace theater {

inline constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

// nullopt: no restriction. A set list allows exactly its entries (an empty list allows nothing).
using AllowList = std::optional<std::vector<std::string>>;

// One handler's permission for one actor: an immutable value of the handler's own type.
class Permission {
 public:
  virtual ~Permission() = default;
  virtual bool Equals(const Permission& other) const = 0;
};

// A Permission holding a plain struct T (with operator==): how handlers define theirs.
template <typename T>
class PermissionOf final : public Permission {
 public:
  explicit PermissionOf(T v) : value(std::move(v)) {}
  bool Equals(const Permission& other) const override {
    const auto* o = dynamic_cast<const PermissionOf<T>*>(&other);
    return o != nullptr && o->value == value;
  }
  const T value;
};

// Reads the fields of one `config` table of `[permission_policy]`: typed, with errors naming the
// field ("permission_policy.file_system.config.read: must be a boolean, not a string"); Finish()
// refuses the first key no read consumed. Only non-throwing JSON calls are used.
class PermissionConfigReader {
 public:
  PermissionConfigReader(const nlohmann::json& object, std::string prefix);

  Status Bool(const char* key, bool* out);
  Status U64(const char* key, uint64_t* out);
  Status OptU64(const char* key, std::optional<uint64_t>* out);
  // A list of strings, each passed through `normalise` (e.g. upper-casing), duplicates dropped.
  Status Strings(const char* key, std::vector<std::string>* out,
                 std::string (*normalise)(std::string_view) = nullptr);
  Status List(const char* key, AllowList* out,
              std::string (*normalise)(std::string_view) = nullptr);
  [[nodiscard]] Status Finish() const;

 private:
  const nlohmann::json* Get(const char* key);
  std::string Field(std::string_view key) const;
  Status WrongType(const char* key, const nlohmann::json& v, std::string_view expected) const;

  const nlohmann::json& object_;
  std::string prefix_;
  std::set<std::string> seen_;
};

// What a handler registers about its permission.
class PermissionRules {
 public:
  virtual ~PermissionRules() = default;
  // The permission of a top-level actor: everything allowed.
  virtual std::shared_ptr<const Permission> Root() const = 0;
  // A restriction from a `restrict` policy's config; fields the config does not set keep their
  // allow-everything value, so they do not narrow.
  virtual Result<std::shared_ptr<const Permission>> ParseRestriction(
      PermissionConfigReader& config) const = 0;
  // The intersection of a parent's permission and a restriction: never allows anything `parent`
  // does not.
  virtual std::shared_ptr<const Permission> Narrow(const Permission& parent,
                                                   const Permission& restriction) const = 0;
  // Whether `permission` admits access to the named resource of the host service the handler
  // fronts (the store handler: a store id), for the runtime's own reads on an actor's behalf
  // (a child's store:// manifest). OK by default.
  virtual Status CheckAccess(const Permission& permission, std::string_view resource) const {
    (void)permission;
    (void)resource;
    return Status();
  }
};

// PermissionRules for a struct T with T{} allowing everything and, found by argument-dependent
// lookup, `Status ReadPermissionConfig(PermissionConfigReader&, T*)` and
// `T NarrowPermission(const T& parent, const T& restriction)`.
template <typename T>
class PermissionRulesFor : public PermissionRules {
 public:
  std::shared_ptr<const Permission> Root() const override {
    return std::make_shared<const PermissionOf<T>>(T{});
  }
  Result<std::shared_ptr<const Permission>> ParseRestriction(
      PermissionConfigReader& config) const override {
    T restriction{};
    THEATER_RETURN_IF_ERROR(ReadPermissionConfig(config, &restriction));
    return std::shared_ptr<const Permission>(
        std::make_shared<const PermissionOf<T>>(std::move(restriction)));
  }
  std::shared_ptr<const Permission> Narrow(const Permission& parent,
                                           const Permission& restriction) const override {
    const auto* p = dynamic_cast<const PermissionOf<T>*>(&parent);
    const auto* r = dynamic_cast<const PermissionOf<T>*>(&restriction);
    if (p == nullptr || r == nullptr) return nullptr;  // not ours: nothing is granted
    return std::make_shared<const PermissionOf<T>>(NarrowPermission(p->value, r->value));
  }
};

// What an actor may do: one permission per permitted handler, by `[[handler]]` type name; a
// handler with none is not permitted at all. A default-constructed value permits nothing.
class EffectivePermissions {
 public:
  bool Permits(std::string_view handler) const { return Find(handler) != nullptr; }
  const Permission* Find(std::string_view handler) const;
  std::shared_ptr<const Permission> FindShared(std::string_view handler) const;
  // The handler's permission as its own type; null when not permitted (or of another type).
  template <typename T>
  const T* Get(std::string_view handler) const {
    const auto* p = dynamic_cast<const PermissionOf<T>*>(Find(handler));
    return p != nullptr ? &p->value : nullptr;
  }
  void Set(std::string_view handler, std::shared_ptr<const Permission> permission);
  void Remove(std::string_view handler);
  // The permitted handlers, by name.
  std::vector<std::string> Handlers() const;
  friend bool operator==(const EffectivePermissions& a, const EffectivePermissions& b);

 private:
  std::map<std::string, std::shared_ptr<const Permission>, std::less<>> grants_;
};

// The yes/no permission of a handler without rules of its own.
std::shared_ptr<const Permission> PlainPermission();

enum class InheritanceKind { kInherit, kDisallow, kRestrict };

// One handler's entry in `[permission_policy]`.
struct HandlerPolicy {
  InheritanceKind kind = InheritanceKind::kInherit;
  const PermissionRules* rules = nullptr;        // null: a yes/no permission
  std::shared_ptr<const Permission> restriction;  // kRestrict with rules only
};

// The parsed `[permission_policy]`, by handler name; a handler without an entry inherits.
using PermissionPolicy = std::map<std::string, HandlerPolicy, std::less<>>;

// The handlers a policy may name. `policy_key` is the table's name in `[permission_policy]`
// (e.g. "file_system" for the filesystem handler, see HandlerPolicyKey).
struct PolicyHandler {
  std::string name;
  std::string policy_key;
  const PermissionRules* rules = nullptr;
};

// A handler's key in `[permission_policy]`: its name with '-' as '_' ("message_server"), except
// "filesystem", which the design spells "file_system".
std::string HandlerPolicyKey(std::string_view handler);

// Parses Manifest::permission_policy against the handlers a runtime has. Errors:
// kInvalidArgument naming the field, e.g.
// "permission_policy.file_system.config.read: must be a boolean, not a string", for unknown
// handlers or config keys, a missing or unknown `type`, a `config` on inherit/disallow (or on a
// yes/no permission), and values of the wrong type or out of range.
Result<PermissionPolicy> ParsePermissionPolicy(const nlohmann::json& policy,
                                               const std::vector<PolicyHandler>& handlers);

// The child's permissions: per handler, inherit → the parent's; disallow → none; restrict →
// rules->Narrow(parent's, restriction), or none when the parent has none.
EffectivePermissions ComputeEffectivePermissions(const EffectivePermissions& parent,
                                                 const PermissionPolicy& policy);

// OK when the handler (by its `[[handler]]` type) is permitted at all; otherwise
// kPermissionDenied "Handler type '<name>' not permitted by effective permissions".
Status CheckHandlerPermitted(const EffectivePermissions& perms, std::string_view handler_type);

}  // namespace theater
