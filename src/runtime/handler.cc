// Theater: a WebAssembly actor runtime.
#include "runtime/handler.h"

#include <set>

namespace theater::runtime {

Status AddHostFunction(HostFunctionTable& table, std::string_view interface_name,
                       std::string_view function, std::string_view handler, HostFunctionImpl impl) {
  THEATER_ASSIGN_OR_RETURN(const wit::Package* package, TheaterPackage());
  const wit::Interface* iface = package->FindInterface(interface_name);
  const abi::FunctionType* type = iface ? iface->FindFunction(function) : nullptr;
  std::string qualified =
      "theater:simple/" + std::string(interface_name) + "." + std::string(function);
  if (!type) return InternalError("the theater:simple WIT has no function '" + qualified + "'");
  table[qualified] = HostFunctionEntry{type, std::move(impl), std::string(handler)};
  return Status();
}

Result<uint64_t> ConfigUnsigned(const nlohmann::json& value, std::string_view key) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    return static_cast<uint64_t>(value.get<int64_t>());
  }
  return InvalidArgument(std::string(key) + ": must be a non-negative integer");
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

void HandlerRegistry::Register(std::unique_ptr<Handler> prototype) {
  for (auto& existing : prototypes_) {
    if (existing->name() == prototype->name()) {
      existing = std::move(prototype);
      return;
    }
  }
  prototypes_.push_back(std::move(prototype));
}

const Handler* HandlerRegistry::Find(std::string_view name) const {
  for (const auto& p : prototypes_) {
    if (p->name() == name) return p.get();
  }
  return nullptr;
}

Result<std::vector<std::unique_ptr<Handler>>> HandlerRegistry::Activate(
    const Manifest& manifest, const engine::Module& module) const {
  std::vector<std::unique_ptr<Handler>> active;
  std::set<std::string, std::less<>> names;
  for (const HandlerConfig& config : manifest.handlers) {
    const Handler* prototype = Find(config.type);
    if (!prototype) {
      return InvalidArgument(config.location + ": unknown handler type '" + config.type + "'");
    }
    if (!names.insert(config.type).second) {
      return InvalidArgument(config.location + ": handler '" + config.type +
                             "' is listed more than once");
    }
    Result<std::unique_ptr<Handler>> instance = prototype->CreateInstance(config);
    if (!instance.ok()) {
      return instance.status().WithContext(config.location + ": handler '" + config.type + "'");
    }
    active.push_back(std::move(instance).value());
  }
  std::set<std::string, std::less<>> imported;
  for (const engine::ImportInfo& import : module.imports()) imported.insert(import.module);
  std::set<std::string, std::less<>> exported;
  for (const engine::ExportInfo& e : module.exports()) {
    size_t hash = e.name.find('#');
    if (hash != std::string::npos) exported.insert(e.name.substr(0, hash));
  }
  for (const auto& prototype : prototypes_) {
    if (names.count(prototype->name())) continue;
    auto imports = prototype->imports();
    auto exports = prototype->exports();
    bool used = (imports && imported.count(*imports)) || (exports && exported.count(*exports));
    if (!used) continue;
    HandlerConfig config;
    config.type = std::string(prototype->name());
    config.location = manifest.source_name;
    Result<std::unique_ptr<Handler>> instance = prototype->CreateInstance(config);
    if (!instance.ok()) return instance.status().WithContext("handler '" + config.type + "'");
    names.insert(config.type);
    active.push_back(std::move(instance).value());
  }
  return active;
}

}  // namespace theater::runtime
