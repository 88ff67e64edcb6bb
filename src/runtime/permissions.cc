// Theater: a WebAssembly actor runtime.
//
// Permissions, the generic machinery (include/theater/permissions.h): reading policy configs,
// parsing `[permission_policy]` against the handlers a runtime has, narrowing for children and
// the one check the runtime makes itself (is a handler permitted at all). Each handler's own
// permission lives with the handler (src/handlers/<name>/). Only non-throwing nlohmann calls are
// used; every value is type-checked before it is read.
#include "theater/permissions.h"

#include <algorithm>

namespace theater {
namespace {

using nlohmann::json;

std::string_view JsonTypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "a table";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a float";
    default:
      return "an unsupported value";
  }
}

// The yes/no permission: a handler without rules of its own.
class Plain final : public Permission {
 public:
  bool Equals(const Permission& other) const override {
    return dynamic_cast<const Plain*>(&other) != nullptr;
  }
};

Status ParseHandlerPolicy(const json& entry, const std::string& field, const PolicyHandler& handler,
                          HandlerPolicy* out) {
  if (!entry.is_object()) {
    return InvalidArgument(field + ": must be a table with a 'type', not " +
                           std::string(JsonTypeName(entry)));
  }
  auto type = entry.find("type");
  if (type == entry.end()) {
    return InvalidArgument(field +
                           ".type: missing (expected \"inherit\", \"disallow\" or "
                           "\"restrict\")");
  }
  if (!type->is_string()) {
    return InvalidArgument(field + ".type: must be a string, not " +
                           std::string(JsonTypeName(*type)));
  }
  const std::string& kind = type->get_ref<const std::string&>();
  auto config = entry.find("config");
  for (const auto& [key, value] : entry.items()) {
    if (key != "type" && key != "config") {
      return InvalidArgument(field + "." + key + ": unknown key (expected 'type' and 'config')");
    }
  }
  out->rules = handler.rules;
  if (kind == "inherit" || kind == "disallow") {
    if (config != entry.end()) {
      return InvalidArgument(field + ".config: only allowed with type = \"restrict\"");
    }
    out->kind = kind == "inherit" ? InheritanceKind::kInherit : InheritanceKind::kDisallow;
    return Status::Ok();
  }
  if (kind != "restrict") {
    return InvalidArgument(field + ".type: unknown policy '" + kind +
                           "' (expected \"inherit\", \"disallow\" or \"restrict\")");
  }
  out->kind = InheritanceKind::kRestrict;
  json empty = json::object();
  const json* table = &empty;
  if (config != entry.end()) {
    if (!config->is_object()) {
      return InvalidArgument(field + ".config: must be a table, not " +
                             std::string(JsonTypeName(*config)));
    }
    table = &*config;
  }
  PermissionConfigReader reader(*table, field + ".config");
  if (handler.rules != nullptr) {
    THEATER_ASSIGN_OR_RETURN(out->restriction, handler.rules->ParseRestriction(reader));
  }
  return reader.Finish();
}

}  // namespace

// --- PermissionConfigReader ---

PermissionConfigReader::PermissionConfigReader(const json& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {}

Status PermissionConfigReader::Bool(const char* key, bool* out) {
  const json* v = Get(key);
  if (!v) return Status::Ok();
  if (!v->is_boolean()) return WrongType(key, *v, "a boolean");
  *out = v->get<bool>();
  return Status::Ok();
}

Status PermissionConfigReader::U64(const char* key, uint64_t* out) {
  const json* v = Get(key);
  if (!v) return Status::Ok();
  if (v->is_number_unsigned()) {
    *out = v->get<uint64_t>();
  } else if (v->is_number_integer()) {
    int64_t i = v->get<int64_t>();
    if (i < 0) {
      return InvalidArgument(Field(key) + ": must not be negative, got " + std::to_string(i));
    }
    *out = static_cast<uint64_t>(i);
  } else {
    return WrongType(key, *v, "a non-negative integer");
  }
  return Status::Ok();
}

Status PermissionConfigReader::OptU64(const char* key, std::optional<uint64_t>* out) {
  if (!object_.contains(key)) return Status::Ok();
  uint64_t value = 0;
  THEATER_RETURN_IF_ERROR(U64(key, &value));
  *out = value;
  return Status::Ok();
}

Status PermissionConfigReader::Strings(const char* key, std::vector<std::string>* out,
                                       std::string (*normalise)(std::string_view)) {
  const json* v = Get(key);
  if (!v) return Status::Ok();
  if (!v->is_array()) return WrongType(key, *v, "an array of strings");
  std::vector<std::string> items;
  for (size_t i = 0; i < v->size(); ++i) {
    const json& item = (*v)[i];
    if (!item.is_string()) {
      return InvalidArgument(Field(key) + "[" + std::to_string(i) + "]: must be a string, not " +
                             std::string(JsonTypeName(item)));
    }
    std::string s = item.get<std::string>();
    if (normalise != nullptr) s = normalise(s);
    if (std::find(items.begin(), items.end(), s) == items.end()) items.push_back(std::move(s));
  }
  *out = std::move(items);
  return Status::Ok();
}

Status PermissionConfigReader::List(const char* key, AllowList* out,
                                    std::string (*normalise)(std::string_view)) {
  if (!object_.contains(key)) return Status::Ok();
  std::vector<std::string> items;
  THEATER_RETURN_IF_ERROR(Strings(key, &items, normalise));
  *out = std::move(items);
  return Status::Ok();
}

Status PermissionConfigReader::Finish() const {
  for (const auto& [key, value] : object_.items()) {
    if (!seen_.contains(key)) return InvalidArgument(Field(key) + ": unknown permission field");
  }
  return Status::Ok();
}

const json* PermissionConfigReader::Get(const char* key) {
  seen_.insert(key);
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &*it;
}

std::string PermissionConfigReader::Field(std::string_view key) const {
  return prefix_ + "." + std::string(key);
}

Status PermissionConfigReader::WrongType(const char* key, const json& v,
                                         std::string_view expected) const {
  return InvalidArgument(Field(key) + ": must be " + std::string(expected) + ", not " +
                         std::string(JsonTypeName(v)));
}

// --- EffectivePermissions ---

const Permission* EffectivePermissions::Find(std::string_view handler) const {
  auto it = grants_.find(handler);
  return it == grants_.end() ? nullptr : it->second.get();
}

std::shared_ptr<const Permission> EffectivePermissions::FindShared(std::string_view handler) const {
  auto it = grants_.find(handler);
  return it == grants_.end() ? nullptr : it->second;
}

void EffectivePermissions::Set(std::string_view handler,
                               std::shared_ptr<const Permission> permission) {
  if (!permission) {
    Remove(handler);
    return;
  }
  grants_.insert_or_assign(std::string(handler), std::move(permission));
}

void EffectivePermissions::Remove(std::string_view handler) {
  auto it = grants_.find(handler);
  if (it != grants_.end()) grants_.erase(it);
}

std::vector<std::string> EffectivePermissions::Handlers() const {
  std::vector<std::string> names;
  for (const auto& [name, permission] : grants_) names.push_back(name);
  return names;
}

bool operator==(const EffectivePermissions& a, const EffectivePermissions& b) {
  if (a.grants_.size() != b.grants_.size()) return false;
  auto i = a.grants_.begin();
  for (auto j = b.grants_.begin(); j != b.grants_.end(); ++i, ++j) {
    if (i->first != j->first || !i->second->Equals(*j->second)) return false;
  }
  return true;
}

std::shared_ptr<const Permission> PlainPermission() {
  static const std::shared_ptr<const Permission> plain = std::make_shared<const Plain>();
  return plain;
}

std::string HandlerPolicyKey(std::string_view handler) {
  if (handler == "filesystem") return "file_system";
  std::string key(handler);
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

Result<PermissionPolicy> ParsePermissionPolicy(const json& policy,
                                               const std::vector<PolicyHandler>& handlers) {
  PermissionPolicy out;
  if (policy.is_null()) return out;
  if (!policy.is_object()) {
    return InvalidArgument("permission_policy: must be a table, not " +
                           std::string(JsonTypeName(policy)));
  }
  for (const auto& [key, entry] : policy.items()) {
    const std::string field = "permission_policy." + key;
    const PolicyHandler* handler = nullptr;
    for (const PolicyHandler& h : handlers) {
      if (h.policy_key == key) handler = &h;
    }
    if (handler == nullptr) {
      std::string expected;
      for (size_t i = 0; i < handlers.size(); ++i) {
        if (i) expected += i + 1 == handlers.size() ? " or " : ", ";
        expected += handlers[i].policy_key;
      }
      return InvalidArgument(field + ": unknown handler (expected " + expected + ")");
    }
    HandlerPolicy parsed;
    THEATER_RETURN_IF_ERROR(ParseHandlerPolicy(entry, field, *handler, &parsed));
    out[handler->name] = std::move(parsed);
  }
  return out;
}

EffectivePermissions ComputeEffectivePermissions(const EffectivePermissions& parent,
                                                 const PermissionPolicy& policy) {
  EffectivePermissions out;
  for (const std::string& name : parent.Handlers()) {
    const Permission* granted = parent.Find(name);
    auto entry = policy.find(name);
    if (entry == policy.end() || entry->second.kind == InheritanceKind::kInherit) {
      out.Set(name, parent.FindShared(name));
      continue;
    }
    if (entry->second.kind == InheritanceKind::kDisallow) continue;
    const HandlerPolicy& restrict = entry->second;
    if (restrict.rules == nullptr || !restrict.restriction) {
      out.Set(name, PlainPermission());
      continue;
    }
    out.Set(name, restrict.rules->Narrow(*granted, *restrict.restriction));
  }
  return out;
}

Status CheckHandlerPermitted(const EffectivePermissions& perms, std::string_view type) {
  if (perms.Permits(type)) return Status::Ok();
  return PermissionDenied("Handler type '" + std::string(type) +
                          "' not permitted by effective permissions");
}

}  // namespace theater
