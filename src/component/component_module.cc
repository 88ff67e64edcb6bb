// Theater: a WebAssembly actor runtime.
#include "component/component_module.h"

#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/pinned_list.h"
#include "component/linker.h"
#include "component/value_host.h"
#include "component/wit_check.h"

namespace theater::component {
namespace {

// The module name a component's bare (not interface-scoped) function imports get, as the core
// conventions name them.
constexpr std::string_view kRootModule = "$root";

engine::FuncSig SignatureOf(const abi::FunctionType& type, abi::Context context) {
  abi::CoreSignature sig = abi::LowerSignature(type, context);
  return {sig.ParamLetters(), sig.ResultLetters()};
}

// What one entry of the export view stands for.
struct ViewEntry {
  enum class Kind : uint8_t { kFunction, kPostReturn, kRealloc } kind = Kind::kFunction;
  std::string interface_name;
  std::string function;
};

class ComponentModuleImpl;

// A host function bound for the component: it runs with the actor instance as its caller, so it
// sees the main module's memory and can suspend the running call.
struct Redirect {
  engine::HostBinding inner;
  engine::Instance* actor = nullptr;
};

int RedirectCall(engine::Instance&, void* data, const uint64_t* args, uint64_t* results) {
  auto* redirect = static_cast<Redirect*>(data);
  return redirect->inner.fn(*redirect->actor, redirect->inner.data, args, results);
}

// The component's core instances as one actor instance: calls go to the main core instance, by
// the view's export indices.
class ComponentActorInstance final : public engine::Instance {
 public:
  ComponentActorInstance(std::shared_ptr<const ComponentModuleImpl> module,
                         const engine::InstanceOptions& options);

  const engine::Module& module() const override;

  Status Call(uint32_t index, std::span<const uint64_t> args, std::span<uint64_t> results,
              const engine::CallOptions& options) override {
    if (index >= targets_->size()) return InvalidArgument("export index out of range");
    if (poisoned_) return FailedPrecondition("instance is poisoned by an earlier trap");
    const std::optional<uint32_t>& target = (*targets_)[index];
    if (!target) return Status::Ok();  // a post-return the component does not have
    Status status = main_->Call(*target, args, results, options);
    if (main_->poisoned() || linked_->poisoned()) poisoned_ = true;
    return status;
  }

  std::span<uint8_t> memory() override { return main_->memory(); }
  void* ExternExport(uint32_t) override { return nullptr; }
  // The component's instance: its exports and handle table (FindComponentExport).
  ComponentInstance* linked() { return linked_.get(); }
  // Each core instance gives back the memory it owns (the main one's, in practice); a call
  // reaches the others only through the main one, which puts its memory back first.
  Result<uint64_t> Hibernate() override {
    uint64_t kept = 0;
    for (const auto& core : linked_->core_instances()) {
      THEATER_ASSIGN_OR_RETURN(uint64_t bytes, core->Hibernate());
      kept += bytes;
    }
    return kept;
  }

 protected:
  int RunExport(uint32_t index, const uint64_t* args, uint64_t* results) override {
    const std::optional<uint32_t>& target = (*targets_)[index];
    if (!target) return 0;  // WASM_RT_TRAP_NONE
    return RunExportOf(*main_, *target, args, results);
  }

 private:
  friend class ComponentModuleImpl;
  std::shared_ptr<const ComponentModuleImpl> module_;
  std::unique_ptr<ComponentInstance> linked_;
  engine::Instance* main_ = nullptr;
  // View export index -> the main module's export index (none: nothing to run); the same for
  // every instance of the component, so shared.
  std::shared_ptr<const std::vector<std::optional<uint32_t>>> targets_;
  PinnedList<Redirect> redirects_;                           // the bindings point at its elements
  std::vector<std::unique_ptr<ValueImport>> value_imports_;  // the imports served with values (WASI)
};

// Turns the component's lowered imports into core-style imports resolved by the runtime.
class ResolverHost final : public ComponentHost {
 public:
  // `collect_memories`: keep the canon options' memories for memories() (only the first
  // instantiation of a component checks them).
  ResolverHost(engine::ImportResolver& resolver, ComponentActorInstance& actor,
               PinnedList<Redirect>& redirects,
               std::vector<std::unique_ptr<ValueImport>>& value_imports, bool collect_memories)
      : resolver_(resolver),
        actor_(actor),
        redirects_(redirects),
        value_imports_(value_imports),
        value_resolver_(dynamic_cast<ValueImportResolver*>(&resolver)),
        collect_memories_(collect_memories) {}

  Result<HostImport> LowerImport(const LoweredImport& import) override {
    if (value_resolver_ != nullptr && value_resolver_->ServesWithValues(import.interface_name)) {
      return LowerValueImport(import);
    }
    // One ImportInfo for all the imports: its strings keep their capacity from one to the next.
    engine::ImportInfo& info = info_;
    if (import.interface_name.empty()) {
      info.module.assign(kRootModule);
    } else {
      info.module.assign(import.interface_name);
    }
    info.name.assign(import.function);
    info.sig = import.plan ? engine::FuncSig{import.plan->signature().ParamLetters(),
                                             import.plan->signature().ResultLetters()}
                           : SignatureOf(*import.type, abi::Context::kLower);
    THEATER_ASSIGN_OR_RETURN(engine::HostBinding inner, resolver_.Resolve(info));
    Redirect& redirect = redirects_.emplace_back(Redirect{inner, &actor_});
    if (collect_memories_) memories_.push_back(import.memory);
    return HostImport{engine::HostBinding{RedirectCall, &redirect}, info.sig};
  }

  void BindResource(ResourceType& type) override {
    if (value_resolver_ != nullptr) {
      type.on_host_drop = value_resolver_->ResourceDropper(type.interface_name);
    }
  }

  // The memories and reallocs the imports bound at the core level were given (imports served
  // with values carry their own: the WASI adapter allocates with its own realloc).
  const std::vector<LinkedMemory>& memories() const { return memories_; }

 private:
  Result<HostImport> LowerValueImport(const LoweredImport& import) {
    THEATER_ASSIGN_OR_RETURN(ValueHost::Function fn, value_resolver_->ResolveValueImport(import));
    THEATER_ASSIGN_OR_RETURN(HostImport bound,
                             BindValueImport(import, std::move(fn), &value_imports_));
    Redirect& redirect = redirects_.emplace_back(Redirect{bound.binding, &actor_});
    return HostImport{engine::HostBinding{RedirectCall, &redirect}, bound.signature};
  }

  engine::ImportResolver& resolver_;
  ComponentActorInstance& actor_;
  PinnedList<Redirect>& redirects_;
  std::vector<std::unique_ptr<ValueImport>>& value_imports_;
  ValueImportResolver* value_resolver_;
  bool collect_memories_;
  std::vector<LinkedMemory> memories_;
  engine::ImportInfo info_;
};

class ComponentModuleImpl final : public engine::Module,
                                  public std::enable_shared_from_this<ComponentModuleImpl> {
 public:
  ComponentModuleImpl(std::string name, std::string sha256,
                      std::unique_ptr<const Component> component, CoreModuleLoader loader,
                      engine::MemoryMode mode)
      : name_(std::move(name)),
        sha256_(std::move(sha256)),
        component_(std::move(component)),
        loader_(std::move(loader)),
        mode_(mode) {}

  Status BuildInterface() {
    for (const Import& import : component_->imports) {
      if (import.desc.sort == Sort::kFunc && import.desc.type) {
        THEATER_RETURN_IF_ERROR(
            AddImport(std::string(kRootModule), import.name, *import.desc.type));
      } else if (import.desc.sort == Sort::kInstance && import.desc.type) {
        for (const ExternItem& item : import.desc.type->exports) {
          if (item.sort == Sort::kFunc && item.type) {
            THEATER_RETURN_IF_ERROR(AddImport(import.name, item.name, *item.type));
          }
        }
      }
    }
    for (const Export& e : component_->exports) {
      if (e.desc.sort == Sort::kFunc && e.desc.type) {
        THEATER_RETURN_IF_ERROR(AddExport("", e.name, *e.desc.type));
      } else if (e.desc.sort == Sort::kInstance && e.desc.type) {
        for (const ExternItem& item : e.desc.type->exports) {
          if (item.sort == Sort::kFunc && item.type) {
            THEATER_RETURN_IF_ERROR(AddExport(e.name, item.name, *item.type));
          }
        }
      }
    }
    view_.push_back({ViewEntry::Kind::kRealloc, "", ""});
    exports_.push_back({"cabi_realloc", {"iiii", "i"}});
    index_.emplace("cabi_realloc", static_cast<uint32_t>(exports_.size() - 1));
    return Status::Ok();
  }

  const std::string& name() const override { return name_; }
  const std::string& wasm_sha256() const override { return sha256_; }
  const std::vector<engine::ImportInfo>& imports() const override { return imports_; }
  const std::vector<engine::ExportInfo>& exports() const override { return exports_; }
  std::optional<uint32_t> FindExport(std::string_view name) const override {
    auto it = index_.find(name);
    if (it == index_.end()) return std::nullopt;
    return it->second;
  }
  const std::vector<engine::ExternExportInfo>& extern_exports() const override {
    static const std::vector<engine::ExternExportInfo> none;
    return none;
  }
  engine::MemoryMode memory_mode() const override { return mode_; }
  bool exports_memory() const override { return true; }

  Result<std::unique_ptr<engine::Instance>> Instantiate(
      engine::ImportResolver& resolver, const engine::InstanceOptions& options) const override {
    engine::InstanceOptions core_options = options;
    if (!core_options.host_error_slot) core_options.host_error_slot = std::make_shared<Status>();
    auto actor = std::make_unique<ComponentActorInstance>(shared_from_this(), core_options);
    bool connected;
    {
      std::lock_guard<std::mutex> lock(connection_mu_);
      connected = connection_.has_value();
    }
    ResolverHost host(resolver, *actor, actor->redirects_, actor->value_imports_,
                      /*collect_memories=*/!connected);
    Result<std::unique_ptr<ComponentInstance>> linked =
        component::Instantiate(*component_, loader_, host, core_options, &link_cache_);
    if (!linked.ok()) return linked.status().WithContext("instantiating component '" + name_ + "'");
    actor->linked_ = std::move(linked).value();
    THEATER_RETURN_IF_ERROR_WITH_CONTEXT(Connect(*actor, host),
                                         "instantiating component '" + name_ + "'");
    return std::unique_ptr<engine::Instance>(std::move(actor));
  }

  const Component& component() const { return *component_; }

  Status CheckedAgainst(const wit::Package& package) const {
    std::lock_guard<std::mutex> lock(checks_mu_);
    auto it = checks_.find(&package);
    if (it == checks_.end()) {
      it = checks_.emplace(&package, CheckAgainstWit(*component_, package)).first;
    }
    return it->second;
  }

 private:
  Status AddImport(const std::string& module, const std::string& function, const TypeDef& type) {
    THEATER_ASSIGN_OR_RETURN(abi::FunctionType f, ToAbiFunctionType(type));
    imports_.push_back({module, function, SignatureOf(f, abi::Context::kLower)});
    return Status::Ok();
  }

  Status AddExport(const std::string& interface_name, const std::string& function,
                   const TypeDef& type) {
    THEATER_ASSIGN_OR_RETURN(abi::FunctionType f, ToAbiFunctionType(type));
    const std::string core_name =
        interface_name.empty() ? function : interface_name + "#" + function;
    const abi::CoreSignature sig = abi::LowerSignature(f, abi::Context::kLift);
    view_.push_back({ViewEntry::Kind::kFunction, interface_name, function});
    exports_.push_back({core_name, {sig.ParamLetters(), sig.ResultLetters()}});
    index_.emplace(core_name, static_cast<uint32_t>(exports_.size() - 1));
    // Post-return takes what the function returned, flat.
    view_.push_back({ViewEntry::Kind::kPostReturn, interface_name, function});
    exports_.push_back({"cabi_post_" + core_name, {sig.ResultLetters(), ""}});
    index_.emplace("cabi_post_" + core_name, static_cast<uint32_t>(exports_.size() - 1));
    return Status::Ok();
  }

  // Finds the main core instance and maps the view onto its exports; checks that every canon
  // option uses its memory and realloc. What it finds depends only on the component (every
  // instantiation makes the same core instances in the same order), so it is worked out once.
  Status Connect(ComponentActorInstance& actor, const ResolverHost& host) const {
    const ComponentInstance& linked = *actor.linked_;
    {
      std::lock_guard<std::mutex> lock(connection_mu_);
      if (connection_) {
        // Every instantiation makes the same core instances, but a replayed one leaves out the
        // glue (link_plan.h): the main instance is found by what it implements, not where it is.
        actor.main_ = linked.FirstExportInstance();
        actor.targets_ = connection_->targets;
        return Status::Ok();
      }
    }
    engine::Instance* main = nullptr;
    for (const LiftedExport& e : linked.exports()) {
      if (main != nullptr && e.instance != main) {
        return ValidationError(
            "the component's exports are implemented by more than one core instance");
      }
      main = e.instance;
    }
    if (main == nullptr) return ValidationError("the component exports no function");
    void* main_memory = nullptr;
    const auto& externs = main->module().extern_exports();
    for (uint32_t i = 0; i < externs.size(); ++i) {
      if (externs[i].name == "memory" && externs[i].kind == engine::ExternKind::kMemory) {
        main_memory = main->ExternExport(i);
      }
    }
    if (main_memory == nullptr) {
      return ValidationError("the core module implementing the exports does not export 'memory'");
    }
    std::optional<uint32_t> realloc;
    auto check = [&](const LinkedMemory& m, const std::string& what) -> Status {
      if (m.memory() != nullptr && m.memory() != main_memory) {
        return ValidationError(what + " uses a memory other than the main module's");
      }
      if (m.realloc_instance() != nullptr) {
        if (m.realloc_instance() != main || (realloc && *realloc != m.realloc_index())) {
          return ValidationError(what + " uses a realloc other than the main module's");
        }
        realloc = m.realloc_index();
      }
      return Status::Ok();
    };
    for (const LiftedExport& e : linked.exports()) {
      THEATER_RETURN_IF_ERROR(check(e.memory, "export '" + e.function + "'"));
    }
    for (const LinkedMemory& m : host.memories()) {
      THEATER_RETURN_IF_ERROR(check(m, "a lowered import"));
    }
    if (!realloc) realloc = main->module().FindExport("cabi_realloc");

    actor.main_ = main;
    auto targets = std::make_shared<std::vector<std::optional<uint32_t>>>(view_.size());
    for (size_t i = 0; i < view_.size(); ++i) {
      const ViewEntry& v = view_[i];
      std::optional<uint32_t> target;
      if (v.kind == ViewEntry::Kind::kRealloc) {
        target = realloc;
      } else {
        const LiftedExport* e = linked.FindExport(v.interface_name, v.function);
        if (e == nullptr) {
          return ValidationError("the exported function '" + exports_[i].name +
                                 "' is not lifted from a core function");
        }
        target = v.kind == ViewEntry::Kind::kFunction ? std::optional<uint32_t>(e->index)
                                                      : e->post_return;
      }
      if (target && !(main->module().exports()[*target].sig == exports_[i].sig)) {
        const engine::FuncSig& sig = main->module().exports()[*target].sig;
        return ValidationError("'" + exports_[i].name +
                               "' is implemented by a core function of type (" + sig.params +
                               ")->(" + sig.results + "), expected (" + exports_[i].sig.params +
                               ")->(" + exports_[i].sig.results + ")");
      }
      (*targets)[i] = target;
    }
    actor.targets_ = targets;
    Connection connection;
    connection.targets = std::move(targets);
    std::lock_guard<std::mutex> lock(connection_mu_);
    if (!connection_) connection_ = std::move(connection);
    return Status::Ok();
  }

  // What Connect found: the view's targets in the main core instance (the one implementing the
  // exports).
  struct Connection {
    std::shared_ptr<const std::vector<std::optional<uint32_t>>> targets;
  };

  std::string name_;
  std::string sha256_;
  std::unique_ptr<const Component> component_;
  CoreModuleLoader loader_;
  engine::MemoryMode mode_;
  std::vector<engine::ImportInfo> imports_;
  std::vector<engine::ExportInfo> exports_;
  std::vector<ViewEntry> view_;
  std::map<std::string, uint32_t, std::less<>> index_;
  mutable LinkCache link_cache_;
  mutable std::mutex connection_mu_;
  mutable std::optional<Connection> connection_;
  mutable std::mutex checks_mu_;
  mutable std::map<const wit::Package*, Status> checks_;
};

ComponentActorInstance::ComponentActorInstance(std::shared_ptr<const ComponentModuleImpl> module,
                                               const engine::InstanceOptions& options)
    : module_(std::move(module)), redirects_(module_->imports().size()) {
  user_data_ = options.user_data;
  shared_host_error_ = options.host_error_slot;
}

const engine::Module& ComponentActorInstance::module() const {
  return *module_;
}

}  // namespace

Result<std::shared_ptr<const engine::Module>> LoadComponentModule(engine::Engine& engine,
                                                                  std::span<const uint8_t> bytes,
                                                                  std::string name) {
  Result<std::unique_ptr<const Component>> decoded = DecodeComponent(bytes);
  if (!decoded.ok()) return decoded.status().WithContext("loading component '" + name + "'");
  THEATER_ASSIGN_OR_RETURN(CoreModuleLoader loader, PrepareCoreModules(**decoded, engine, name));
  auto module =
      std::make_shared<ComponentModuleImpl>(name, Sha256Hex(bytes), std::move(decoded).value(),
                                            std::move(loader), engine.options().memory_mode);
  THEATER_RETURN_IF_ERROR(module->BuildInterface().WithContext("loading component '" + name + "'"));
  return std::shared_ptr<const engine::Module>(std::move(module));
}

bool IsComponentModule(const engine::Module& module) {
  return dynamic_cast<const ComponentModuleImpl*>(&module) != nullptr;
}

const Component* ComponentOf(const engine::Module& module) {
  auto* impl = dynamic_cast<const ComponentModuleImpl*>(&module);
  return impl ? &impl->component() : nullptr;
}

const LiftedExport* FindComponentExport(engine::Instance& instance, std::string_view interface_name,
                                        std::string_view function) {
  auto* actor = dynamic_cast<ComponentActorInstance*>(&instance);
  if (actor == nullptr || actor->linked() == nullptr) return nullptr;
  return actor->linked()->FindExport(interface_name, function);
}

Status GiveArgumentsToGuest(engine::Instance& instance, const LiftedExport& e,
                            std::vector<abi::Value>& args) {
  auto* actor = dynamic_cast<ComponentActorInstance*>(&instance);
  if (actor == nullptr || actor->linked() == nullptr) {
    return InternalError("resource handles passed to an instance that is not a component's");
  }
  return GiveArgumentsToGuest(*actor->linked(), e, args);
}

Status CheckModuleAgainstWit(const engine::Module& module, const wit::Package& package) {
  auto* impl = dynamic_cast<const ComponentModuleImpl*>(&module);
  return impl ? impl->CheckedAgainst(package) : Status::Ok();
}

}  // namespace theater::component
