// Theater: a WebAssembly actor runtime.
//
// `theater validate MANIFEST`: checks what a spawn would check before the actor runs, without
// starting, compiling or instantiating anything: the manifest parses (with its init_state and
// templates), every `[[handler]]` table names a known handler whose config that handler accepts,
// and, when the component is a local file, that it is a core module or component whose imports
// the registered handlers provide and the declared ones cover (the runtime's own rule,
// HandlerRegistry::Activate), a component's functions having the types of Theater's WIT. The
// module is only read (its import and export sections; a component is decoded), which is what
// keeps this fast: compiling it is what `theater compile` is for.
//
// It reports every problem it finds, not just the first, except that a manifest that does not
// parse has nothing more to check.
#include <iostream>
#include <set>

#include "cli/context.h"
#include "common/bytes.h"
#include "component/linker.h"
#include "component/wit_check.h"
#include "engine/compile/wasm_inspect.h"
#include "runtime/actor_host.h"
#include "theater/abi/component.h"
#include "theater/builtins.h"
#include "theater/handler_registry.h"
#include "theater/manifest.h"
#include "theater/permissions.h"
#include "theater/plugin.h"

namespace theater::cli {
namespace {

// A module as far as reading it tells: its name, imports and exports, enough for
// HandlerRegistry::Activate to decide which handlers the actor uses. Never instantiated.
class InspectedModule final : public engine::Module {
 public:
  InspectedModule(std::string name, std::vector<engine::ImportInfo> imports,
                  std::vector<engine::ExportInfo> exports)
      : name_(std::move(name)), imports_(std::move(imports)), exports_(std::move(exports)) {}

  const std::string& name() const override { return name_; }
  const std::string& wasm_sha256() const override { return sha256_; }
  const std::vector<engine::ImportInfo>& imports() const override { return imports_; }
  const std::vector<engine::ExportInfo>& exports() const override { return exports_; }
  std::optional<uint32_t> FindExport(std::string_view name) const override {
    for (size_t i = 0; i < exports_.size(); ++i) {
      if (exports_[i].name == name) return static_cast<uint32_t>(i);
    }
    return std::nullopt;
  }
  const std::vector<engine::ExternExportInfo>& extern_exports() const override {
    return extern_exports_;
  }
  engine::MemoryMode memory_mode() const override { return engine::MemoryMode::kAuto; }
  bool exports_memory() const override { return false; }
  Result<std::unique_ptr<engine::Instance>> Instantiate(
      engine::ImportResolver&, const engine::InstanceOptions&) const override {
    return FailedPrecondition("a module read by `theater validate` is never instantiated");
  }

 private:
  std::string name_;
  std::string sha256_;
  std::vector<engine::ImportInfo> imports_;
  std::vector<engine::ExportInfo> exports_;
  std::vector<engine::ExternExportInfo> extern_exports_;
};

// The interfaces a component imports and exports, as a core module built from it would name
// them (ComponentModule does the same when it loads one): imports by instance name, exports as
// "<interface>#<function>".
std::unique_ptr<InspectedModule> ModuleOfComponent(const component::Component& c,
                                                   const std::string& name) {
  std::vector<engine::ImportInfo> imports;
  for (const component::Import& import : c.imports) {
    if (import.desc.sort != component::Sort::kInstance || !import.desc.type) continue;
    for (const component::ExternItem& item : import.desc.type->exports) {
      if (item.sort == component::Sort::kFunc) {
        imports.push_back(
            engine::ImportInfo{import.name, item.name, {}, engine::ExternKind::kFunction});
      }
    }
  }
  std::vector<engine::ExportInfo> exports;
  for (const component::Export& e : c.exports) {
    if (e.desc.sort == component::Sort::kFunc) {
      exports.push_back(engine::ExportInfo{e.name, {}});
    } else if (e.desc.sort == component::Sort::kInstance && e.desc.type) {
      for (const component::ExternItem& item : e.desc.type->exports) {
        if (item.sort == component::Sort::kFunc) {
          exports.push_back(engine::ExportInfo{e.name + "#" + item.name, {}});
        }
      }
    }
  }
  return std::make_unique<InspectedModule>(name, std::move(imports), std::move(exports));
}

std::unique_ptr<InspectedModule> ModuleOfCore(const engine::WasmModuleInfo& info,
                                              const std::string& name) {
  std::vector<engine::ImportInfo> imports;
  for (const engine::WasmImport& import : info.imports) {
    if (import.kind == engine::WasmExternKind::kFunction) {
      imports.push_back(
          engine::ImportInfo{import.module, import.name, {}, engine::ExternKind::kFunction});
    }
  }
  std::vector<engine::ExportInfo> exports;
  for (const engine::WasmExport& e : info.exports) {
    if (e.kind == engine::WasmExternKind::kFunction) exports.push_back({e.name, {}});
  }
  return std::make_unique<InspectedModule>(name, std::move(imports), std::move(exports));
}

// Whether one of `handlers` serves the import `function` of `interface_name`: an interface of
// Theater's WIT package is served (a handler may serve such interfaces besides the one it names,
// the runtime handler serves runtime-ext, which only its host functions tell; a function the
// package lacks is a type error CheckAgainstWit reports); otherwise a handler whose imports()
// covers the interface (a name ending in '*' covers every interface it is a prefix of) and does
// not say it lacks the function (Handler::ServesImport: "wasi:*" covers wasi:http, which the
// wasi-preview2 handler does not implement and the wasi-http handler does).
bool SomeHandlerServes(const std::vector<const Handler*>& handlers, std::string_view interface_name,
                       std::string_view function) {
  if (Result<const wit::Package*> package = runtime::TheaterPackage(); package.ok()) {
    for (const std::shared_ptr<const wit::Interface>& known : (*package)->interfaces) {
      if (known->qualified_name == interface_name) return true;
    }
  }
  for (const Handler* handler : handlers) {
    std::optional<std::string> served = handler->imports();
    if (!served) continue;
    std::string_view prefix = *served;
    const bool covers = prefix.ends_with('*')
                            ? interface_name.starts_with(prefix.substr(0, prefix.size() - 1))
                            : interface_name == prefix;
    if (covers && handler->ServesImport(interface_name, function).value_or(true)) return true;
  }
  return false;
}

struct Report {
  std::string manifest;  // as given
  std::optional<Manifest> parsed;
  std::vector<std::string> handlers;  // those the actor would run with (or declares)
  std::vector<std::string> problems;
  std::vector<std::string> notes;  // what could not be checked, and why
};

// The manifest's `[permission_policy]`, as a top-level actor's spawn reads it: a handler the
// actor runs with (it declares it or its component imports it) but the policy disallows would
// refuse every call the component makes to it, so it is a problem; a malformed policy is one too.
// (A child's permissions are narrowed further by its parent's, which validate cannot know.)
void CheckPermitted(const Manifest& manifest, const HandlerRegistry& registry, Report& report) {
  if (manifest.permission_policy.empty()) return;
  Result<PermissionPolicy> policy =
      ParsePermissionPolicy(manifest.permission_policy, registry.PolicyHandlers());
  if (!policy.ok()) {
    report.problems.push_back(policy.status().ToString());
    return;
  }
  const EffectivePermissions permitted =
      ComputeEffectivePermissions(registry.RootPermissions(), *policy);
  for (const std::string& handler : report.handlers) {
    if (CheckHandlerPermitted(permitted, handler).ok()) continue;
    report.problems.push_back("handler '" + handler + "' is disallowed by [permission_policy." +
                              HandlerPolicyKey(handler) +
                              "], but the actor uses it (declared, or its component imports "
                              "its interface): every call to it would be refused");
  }
}

// Checks the module the manifest names against the registry; adds what is wrong to `report`.
void CheckComponent(const Manifest& manifest, const HandlerRegistry& registry, bool auto_handlers,
                    bool handlers_ok, Report& report) {
  if (manifest.component_kind != ReferenceKind::kFile) {
    report.notes.push_back("the component " + manifest.component +
                           " is not a local file: not checked");
    return;
  }
  Result<std::vector<uint8_t>> bytes = ReadFileBytes(manifest.component, "component");
  if (!bytes.ok()) {
    report.problems.push_back(bytes.status().ToString());
    return;
  }
  std::unique_ptr<InspectedModule> module;
  if (component::IsComponentBinary(*bytes)) {
    Result<std::unique_ptr<const component::Component>> decoded =
        component::DecodeComponent(*bytes);
    if (!decoded.ok()) {
      report.problems.push_back("the component " + manifest.component +
                                " is not a valid component: " + decoded.status().ToString());
      return;
    }
    if (Result<const wit::Package*> package = runtime::TheaterPackage(); package.ok()) {
      if (Status typed = component::CheckAgainstWit(**decoded, **package); !typed.ok()) {
        report.problems.push_back("the component " + manifest.component + ": " + typed.ToString());
      }
    }
    module = ModuleOfComponent(**decoded, manifest.component);
  } else {
    Result<engine::WasmModuleInfo> info = engine::InspectWasmModule(*bytes);
    if (!info.ok()) {
      report.problems.push_back(
          "the component " + manifest.component +
          " is neither a wasm module nor a component: " + info.status().ToString());
      return;
    }
    module = ModuleOfCore(*info, manifest.component);
  }
  // Which handlers it would run with, by the runtime's own rule; its errors then are about
  // handlers the actor uses without declaring them (the tables' own errors are reported above).
  Result<std::vector<std::unique_ptr<Handler>>> active =
      handlers_ok ? registry.Activate(manifest, *module, auto_handlers)
                  : Result<std::vector<std::unique_ptr<Handler>>>(
                        InvalidArgument("the handler tables have problems"));
  std::vector<const Handler*> registered;
  for (std::string_view name : registry.Names()) registered.push_back(registry.Find(name));
  // Imports are checked against the handlers it would run with; when those cannot be told,
  // against every registered handler (the activation's own error names what is missing).
  std::vector<const Handler*> serving;
  if (active.ok()) {
    for (const std::unique_ptr<Handler>& handler : *active) serving.push_back(handler.get());
  } else {
    serving = registered;
  }
  // Each import no handler serves, by interface, in the module's order.
  std::vector<std::pair<std::string, std::vector<std::string>>> unserved;
  for (const engine::ImportInfo& import : module->imports()) {
    if (SomeHandlerServes(serving, import.module, import.name)) continue;
    if (unserved.empty() || unserved.back().first != import.module) {
      unserved.emplace_back(import.module, std::vector<std::string>{});
    }
    unserved.back().second.push_back(import.name);
  }
  for (const auto& [interface_name, functions] : unserved) {
    std::string names;
    for (const std::string& function : functions) {
      names += (names.empty() ? "" : ", ") + interface_name + "#" + function;
    }
    // A handler the actor does not run would serve it: the manifest should declare it.
    std::string advice;
    for (const Handler* handler : registered) {
      if (SomeHandlerServes({handler}, interface_name, functions.front())) {
        advice = " (the " + std::string(handler->name()) +
                 " handler does: declare [[handler]] type = \"" + std::string(handler->name()) +
                 "\")";
        break;
      }
    }
    report.problems.push_back("the component imports " + names + ", which no handler provides" +
                              advice);
  }
  if (!handlers_ok) return;
  if (!active.ok()) {
    report.problems.push_back(active.status().ToString());
    return;
  }
  report.handlers.clear();
  for (const std::unique_ptr<Handler>& handler : *active) {
    report.handlers.emplace_back(handler->name());
  }
  CheckPermitted(manifest, registry, report);
}

Report Validate(const std::string& path, bool auto_handlers,
                const std::vector<std::filesystem::path>& plugins) {
  Report report;
  report.manifest = path;
  // The built-in handlers and the plug-ins a server would load.
  HandlerRegistry registry = BuiltinHandlers();
  for (const std::filesystem::path& plugin : plugins) {
    Result<std::string> added = RegisterHandlerPlugin(registry, plugin);
    if (!added.ok()) {
      report.problems.push_back(added.status().ToString());
      return report;
    }
  }
  Result<ManifestWithState> loaded = LoadManifestWithState(path, std::nullopt);
  if (!loaded.ok()) {
    report.problems.push_back(loaded.status().ToString());
    return report;
  }
  const Manifest& manifest = *loaded->manifest;
  report.parsed = manifest;
  std::set<std::string> declared;
  const size_t problems_before = report.problems.size();
  for (const HandlerConfig& config : manifest.handlers) {
    const Handler* prototype = registry.Find(config.type);
    if (prototype == nullptr) {
      report.problems.push_back(registry.UnknownHandlerType(config).message());
      continue;
    }
    if (!declared.insert(config.type).second) {
      report.problems.push_back(config.location + ": handler '" + config.type +
                                "' is listed more than once");
      continue;
    }
    report.handlers.push_back(config.type);
    Result<std::unique_ptr<Handler>> instance = prototype->CreateInstance(config);
    if (!instance.ok()) {
      report.problems.push_back(config.location + ": handler '" + config.type +
                                "': " + instance.status().ToString());
    }
  }
  CheckComponent(manifest, registry, auto_handlers, report.problems.size() == problems_before,
                 report);
  return report;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

int ValidateCommand(CommandContext& ctx, const std::string& path, bool auto_handlers,
                    const std::vector<std::string>& plugin_flags) {
  const Output& out = ctx.out();
  std::vector<std::filesystem::path> plugins = ctx.config().handler_plugins;
  for (const std::string& plugin : plugin_flags) plugins.push_back(plugin);
  const Report report = Validate(path, auto_handlers, plugins);
  const bool ok = report.problems.empty();
  if (out.json()) {
    json value{{"manifest", report.manifest},
               {"ok", ok},
               {"handlers", report.handlers},
               {"problems", report.problems},
               {"notes", report.notes},
               {"warnings", report.parsed ? json(report.parsed->warnings) : json::array()}};
    if (report.parsed) {
      value["name"] = report.parsed->name;
      value["version"] = report.parsed->version;
      value["component"] = report.parsed->component;
    }
    out.PrintJson(value);
    return ok ? kExitOk : kExitFailure;
  }
  if (report.parsed) {
    for (const std::string& warning : report.parsed->warnings) out.Warning(warning);
  }
  for (const std::string& note : report.notes) std::cerr << path << ": note: " << note << "\n";
  if (!ok) {
    for (const std::string& problem : report.problems) {
      // Messages about the manifest's text already begin with its name (and line).
      out.Error(problem.starts_with(path + ":") ? problem : path + ": " + problem);
    }
    return kExitFailure;
  }
  std::cout << path << ": " << out.Paint("ok", Style::kGreen) << " (" << report.handlers.size()
            << (report.handlers.size() == 1 ? " handler" : " handlers")
            << (report.handlers.empty() ? "" : ": " + JoinNames(report.handlers)) << ")\n";
  return kExitOk;
}

}  // namespace

void AddValidateCommand(CLI::App& app, CommandSet& commands) {
  auto path = std::make_shared<std::string>();
  auto auto_handlers = std::make_shared<bool>(false);
  auto plugins = std::make_shared<std::vector<std::string>>();
  CLI::App* validate = app.add_subcommand(
      "validate",
      "Check a manifest, its handlers' configs and its component's imports without starting "
      "anything; exit 1 on problems");
  validate->add_option("manifest", *path, "Path to the actor's manifest.toml")->required();
  validate->add_flag("--auto-handlers", *auto_handlers,
                     "Accept handlers the actor uses without declaring them (as run and server "
                     "--auto-handlers do)");
  validate
      ->add_option("--handler", *plugins,
                   "Also know the handler of this plug-in, as `theater server --handler` does "
                   "(repeatable; also the config file's [handlers] plugins)")
      ->type_name("PATH.so");
  commands.Add(validate, [path, auto_handlers, plugins](CommandContext& ctx) {
    return ValidateCommand(ctx, *path, *auto_handlers, *plugins);
  });
}

}  // namespace theater::cli
