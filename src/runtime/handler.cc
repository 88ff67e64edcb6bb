// Theater: a WebAssembly actor runtime.
#include "runtime/handler.h"

#include <algorithm>

#include "common/composed_name.h"
#include "common/nearest_name.h"

namespace theater {

Result<uint64_t> ConfigUnsigned(const nlohmann::json& value, std::string_view key) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    return static_cast<uint64_t>(value.get<int64_t>());
  }
  return InvalidArgument(std::string(key) + ": must be a non-negative integer");
}

Result<chain::HostCall> Handler::ReplayCore(std::string_view function, CoreCall&,
                                            const chain::CallOutcome&) const {
  return FailedPrecondition("handler '" + std::string(name()) + "' does not say how its core function '" +
                       std::string(function) + "' replays (Handler::ReplayCore)");
}

Status RequireNoConfig(const HandlerConfig& config) {
  for (const auto& [key, value] : config.config.items()) {
    return InvalidArgument("unknown key '" + key + "' (the handler takes no config)");
  }
  return Status();
}

Result<uint64_t> ConfigLimit(const nlohmann::json& value, std::string_view key, uint64_t min,
                             uint64_t cap) {
  THEATER_ASSIGN_OR_RETURN(uint64_t n, ConfigUnsigned(value, key));
  if (n < min)
    return InvalidArgument(std::string(key) + ": must be at least " + std::to_string(min));
  if (n > cap) {
    return InvalidArgument(std::string(key) + ": " + std::to_string(n) +
                           " exceeds the maximum of " + std::to_string(cap));
  }
  return n;
}

namespace runtime {

bool HandlerHostFunctions::Wanted(std::string_view package, std::string_view interface_name,
                                  std::string_view function) const {
  if (wanted_ == nullptr) return true;
  // Composed on the stack: this runs for every function every handler offers, at every spawn.
  return wanted_->contains(ComposedName({package, interface_name, ".", function}).view());
}

Status HandlerHostFunctions::Add(std::string_view interface_name, std::string_view function,
                                 HostFunction impl) {
  constexpr std::string_view kOwnPackage = "theater:simple/";
  const std::string_view prefix =
      interface_name.find(':') == std::string_view::npos ? kOwnPackage : std::string_view();
  if (!Wanted(prefix, interface_name, function)) return Status();
  // Composed on the stack; only the table's key is allocated.
  const ComposedName qualified({prefix, interface_name, ".", function});
  const std::string_view qualified_interface =
      qualified.view().substr(0, prefix.size() + interface_name.size());
  const abi::FunctionType* type = nullptr;
  if (qualified_interface.starts_with(kOwnPackage)) {
    THEATER_ASSIGN_OR_RETURN(const wit::Package* package, TheaterPackage());
    const wit::Interface* iface =
        package->FindInterface(qualified_interface.substr(kOwnPackage.size()));
    type = iface ? iface->FindFunction(function) : nullptr;
    if (!type) {
      return InternalError("the theater:simple WIT has no function '" + qualified.str() + "'");
    }
  } else {
    if (own_wit_ == nullptr) {
      return InternalError("handler '" + handler_ + "' declares no WIT for '" + qualified.str() +
                           "'");
    }
    const std::string own_prefix = own_wit_->namespace_name + ":" + own_wit_->name + "/";
    const wit::Interface* iface =
        qualified_interface.starts_with(own_prefix)
            ? own_wit_->FindInterface(qualified_interface.substr(own_prefix.size()))
            : nullptr;
    type = iface ? iface->FindFunction(function) : nullptr;
    if (!type) {
      return InternalError("the WIT of handler '" + handler_ + "' has no function '" +
                           qualified.str() + "'");
    }
  }
  table_.typed.insert_or_assign(qualified.str(),
                                HostFunctionEntry{type, std::move(impl), handler_});
  return Status();
}

Status HandlerHostFunctions::AddCore(std::string_view module, std::string_view name,
                                     std::string_view params, std::string_view results,
                                     CoreHostFunction impl) {
  if (!Wanted("", module, name)) return Status();
  constexpr std::string_view kLetters = "iIfF";
  for (std::string_view sig : {params, results}) {
    if (sig.find_first_not_of(kLetters) != std::string_view::npos) {
      return InternalError("core function '" + std::string(module) + "." + std::string(name) +
                           "': signature letters must be i, I, f or F, not '" + std::string(sig) +
                           "'");
    }
  }
  table_.core.insert_or_assign(
      ComposedName({module, ".", name}).str(),
      CoreFunctionEntry{engine::FuncSig{std::string(params), std::string(results)}, std::move(impl),
                        handler_});
  return Status();
}

Status HandlerHostFunctions::ServeComponentInterfaces(
    std::string_view prefix, std::shared_ptr<ComponentInterfaces> interfaces) {
  if (prefix.empty() || interfaces == nullptr) {
    return InternalError("handler '" + handler_ +
                         "' serves component interfaces without a prefix or an implementation");
  }
  for (ComponentInterfacesEntry& family : table_.component) {
    if (family.prefix == prefix) {
      family = ComponentInterfacesEntry{std::string(prefix), std::move(interfaces), handler_};
      return Status();
    }
  }
  table_.component.push_back(
      ComponentInterfacesEntry{std::string(prefix), std::move(interfaces), handler_});
  return Status();
}

}  // namespace runtime

namespace {

// A handler the module uses that its manifest does not declare, and why it is needed.
struct Undeclared {
  std::string handler;
  std::string use;  // "imports theater:simple/timing"
};

// The error for a module that uses handlers its manifest does not declare: it names each one,
// the interface that needs it and the tables that grant them, so one edit fixes the manifest.
Status UndeclaredHandlers(const Manifest& manifest, const std::vector<Undeclared>& undeclared) {
  std::string uses;
  std::string names;
  std::string tables;
  for (size_t i = 0; i < undeclared.size(); ++i) {
    const char* separator = i == 0 ? "" : i + 1 == undeclared.size() ? " and " : ", ";
    uses += separator + undeclared[i].use;
    names += separator + ("'" + undeclared[i].handler + "'");
    tables += "[[" + manifest.handler_table_key + "]]\ntype = \"" + undeclared[i].handler + "\"\n";
  }
  return FailedPrecondition(
      manifest.source_name + ": the actor " + uses + " but its manifest does not declare the " +
      names + (undeclared.size() == 1 ? " handler" : " handlers") + "; add\n" + tables +
      "(actors declare the handlers they use; auto_handlers = true, for development, lets the "
      "runtime add them)");
}

}  // namespace

struct HandlerRegistry::Entry {
  std::unique_ptr<Handler> prototype;
  std::unique_ptr<wit::Package> wit;  // the parsed prototype->wit(), if any
  // prototype->imports() and exports(), asked once: Activate consults them at every spawn.
  std::optional<std::string> imports;
  std::optional<std::string> exports;
};

HandlerRegistry::HandlerRegistry() = default;
HandlerRegistry::~HandlerRegistry() = default;
HandlerRegistry::HandlerRegistry(HandlerRegistry&&) noexcept = default;
HandlerRegistry& HandlerRegistry::operator=(HandlerRegistry&&) noexcept = default;

Status HandlerRegistry::Register(std::unique_ptr<Handler> prototype) {
  if (!prototype) return InvalidArgument("registering a null handler");
  Entry entry;
  if (!prototype->wit().empty()) {
    const std::string source = "handler '" + std::string(prototype->name()) + "' wit()";
    Result<wit::Package> parsed = wit::ParseWitText(prototype->wit(), source);
    if (!parsed.ok()) return parsed.status().WithContext(source);
    entry.wit = std::make_unique<wit::Package>(std::move(parsed).value());
  }
  entry.imports = prototype->imports();
  entry.exports = prototype->exports();
  entry.prototype = std::move(prototype);
  for (Entry& existing : entries_) {
    if (existing.prototype->name() == entry.prototype->name()) {
      existing = std::move(entry);
      return Status();
    }
  }
  entries_.push_back(std::move(entry));
  return Status();
}

const Handler* HandlerRegistry::Find(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.prototype->name() == name) return e.prototype.get();
  }
  return nullptr;
}

const wit::Package* HandlerRegistry::WitOf(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.prototype->name() == name) return e.wit.get();
  }
  return nullptr;
}

std::vector<std::string_view> HandlerRegistry::Names() const {
  std::vector<std::string_view> names;
  for (const Entry& e : entries_) names.push_back(e.prototype->name());
  return names;
}

Status HandlerRegistry::UnknownHandlerType(const HandlerConfig& config) const {
  std::vector<std::string> known;
  for (std::string_view name : Names()) known.emplace_back(name);
  std::string hint;
  if (std::optional<std::string> near = NearestName(config.type, known)) {
    hint = "did you mean '" + *near + "'?";
  } else {
    hint = "known: ";
    for (size_t i = 0; i < known.size(); ++i) hint += (i == 0 ? "" : ", ") + known[i];
  }
  return InvalidArgument(config.location + ": unknown handler type '" + config.type + "' (" + hint +
                         ")");
}

EffectivePermissions HandlerRegistry::RootPermissions() const {
  EffectivePermissions root;
  for (const Entry& e : entries_) {
    const PermissionRules* rules = e.prototype->permission_rules();
    root.Set(e.prototype->name(), rules != nullptr ? rules->Root() : PlainPermission());
  }
  return root;
}

std::vector<PolicyHandler> HandlerRegistry::PolicyHandlers() const {
  std::vector<PolicyHandler> handlers;
  for (const Entry& e : entries_) {
    handlers.push_back(PolicyHandler{std::string(e.prototype->name()),
                                     HandlerPolicyKey(e.prototype->name()),
                                     e.prototype->permission_rules()});
  }
  return handlers;
}

const PermissionRules* HandlerRegistry::PermissionRulesOf(std::string_view name) const {
  const Handler* h = Find(name);
  return h != nullptr ? h->permission_rules() : nullptr;
}

Result<std::vector<std::unique_ptr<Handler>>> HandlerRegistry::Activate(
    const Manifest& manifest, const engine::Module& module, bool auto_handlers) const {
  auto_handlers = manifest.auto_handlers.value_or(auto_handlers);
  std::vector<std::unique_ptr<Handler>> active;
  active.reserve(entries_.size());
  // The handlers activated so far, by name (views of their prototypes' names; a handful).
  std::vector<std::string_view> names;
  names.reserve(entries_.size());
  auto named = [&names](std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  for (const HandlerConfig& config : manifest.handlers) {
    const Handler* prototype = Find(config.type);
    if (!prototype) return UnknownHandlerType(config);
    if (named(prototype->name())) {
      return InvalidArgument(config.location + ": handler '" + config.type +
                             "' is listed more than once");
    }
    Result<std::unique_ptr<Handler>> instance = prototype->CreateInstance(config);
    if (!instance.ok()) {
      return instance.status().WithContext(config.location + ": handler '" + config.type + "'");
    }
    names.push_back(prototype->name());
    active.push_back(std::move(instance).value());
  }
  // The module's imported interfaces and exported ones, sorted, as views of its own names (this
  // runs at every spawn: no string is copied).
  std::vector<std::string_view> imported;
  imported.reserve(module.imports().size());
  for (const engine::ImportInfo& import : module.imports()) imported.push_back(import.module);
  std::sort(imported.begin(), imported.end());
  std::vector<std::string_view> exported;
  for (const engine::ExportInfo& e : module.exports()) {
    const size_t hash = e.name.find('#');
    if (hash != std::string::npos) exported.push_back(std::string_view(e.name).substr(0, hash));
  }
  std::sort(exported.begin(), exported.end());
  // Whether the module imports `interface_name`, or, for a name ending in '*', any interface
  // it is a prefix of.
  auto imports_any = [&imported](std::string_view interface_name) {
    const bool family = interface_name.ends_with('*');
    if (family) interface_name.remove_suffix(1);
    auto it = std::lower_bound(imported.begin(), imported.end(), interface_name);
    return it != imported.end() &&
           (family ? it->starts_with(interface_name) : *it == interface_name);
  };
  auto exports_one = [&exported](std::string_view interface_name) {
    return std::binary_search(exported.begin(), exported.end(), interface_name);
  };
  std::vector<Undeclared> undeclared;
  for (const Entry& entry : entries_) {
    const Handler& prototype = *entry.prototype;
    if (named(prototype.name())) continue;
    const std::optional<std::string>& imports = entry.imports;
    const std::optional<std::string>& exports = entry.exports;
    const bool by_import = imports && imports_any(*imports);
    const bool used = by_import || (exports && exports_one(*exports));
    if (!used) continue;
    // Imports an active handler serves already (the wasi-http handler serves every wasi:
    // interface, as the wasi-preview2 handler does): the one there keeps them.
    if (by_import && !(exports && exports_one(*exports)) &&
        std::any_of(active.begin(), active.end(), [&imports](const std::unique_ptr<Handler>& h) {
          return h->imports() == imports;
        })) {
      continue;
    }
    if (!auto_handlers && !prototype.implicit()) {
      undeclared.push_back(Undeclared{std::string(prototype.name()),
                                      by_import ? "imports " + *imports : "exports " + *exports});
      continue;
    }
    HandlerConfig config;
    config.type = std::string(prototype.name());
    config.location = manifest.source_name;
    Result<std::unique_ptr<Handler>> instance = prototype.CreateInstance(config);
    if (!instance.ok()) return instance.status().WithContext("handler '" + config.type + "'");
    names.push_back(prototype.name());
    active.push_back(std::move(instance).value());
  }
  if (!undeclared.empty()) return UndeclaredHandlers(manifest, undeclared);
  return active;
}

}  // namespace theater
