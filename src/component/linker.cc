// Theater: a WebAssembly actor runtime.
#include "component/linker.h"

#include "component/core_bindings.h"
#include "component/link_plan.h"
#include "component/value_host.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <set>
#include <utility>
#include <variant>

namespace theater::component {

Result<uint32_t> LinkedMemory::Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                       uint32_t new_size) {
  if (realloc_instance_ == nullptr) {
    return GuestError("the canonical options of this function name no realloc function");
  }
  uint64_t args[4] = {old_ptr, old_size, align, new_size};
  uint64_t result[1] = {0};
  THEATER_RETURN_IF_ERROR(
      realloc_instance_->Call(realloc_index_, args, result).WithContext("realloc"));
  return static_cast<uint32_t>(result[0]);
}

namespace {

// Adds the resource of every own/borrow handle in `type` to `out`, once each.
Status CollectHandleResources(const TypeDef& type, std::vector<const TypeDef*>* out,
                              int depth = 0) {
  if (depth > 64) return ResourceExhausted("a type nested too deep");
  if (type.kind == TypeDefKind::kOwn || type.kind == TypeDefKind::kBorrow) {
    if (!type.resource) return ValidationError("a handle without a resource type");
    if (std::find(out->begin(), out->end(), type.resource.get()) == out->end()) {
      out->push_back(type.resource.get());
    }
    return Status::Ok();
  }
  auto visit = [&](const TypeRef& t) {
    return t ? CollectHandleResources(*t, out, depth + 1) : Status::Ok();
  };
  for (const NamedType& f : type.fields) THEATER_RETURN_IF_ERROR(visit(f.type));
  for (const NamedType& c : type.cases) THEATER_RETURN_IF_ERROR(visit(c.type));
  for (const NamedType& p : type.params) THEATER_RETURN_IF_ERROR(visit(p.type));
  for (const TypeRef& e : type.elements) THEATER_RETURN_IF_ERROR(visit(e));
  THEATER_RETURN_IF_ERROR(visit(type.element));
  THEATER_RETURN_IF_ERROR(visit(type.error));
  return visit(type.result);
}

}  // namespace

Result<const FunctionTypeCache::Entry*> FunctionTypeCache::Get(const TypeDef& type) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = entries_.find(&type); it != entries_.end()) return &it->second;
  Entry entry;
  THEATER_ASSIGN_OR_RETURN(abi::FunctionType converted, ToAbiFunctionType(type));
  entry.type = std::make_shared<const abi::FunctionType>(std::move(converted));
  THEATER_RETURN_IF_ERROR(CollectHandleResources(type, &entry.resources));
  if (auto plan = abi::FunctionPlan::Build(*entry.type, abi::Context::kLift); plan.ok()) {
    entry.lift_plan = std::make_shared<const abi::FunctionPlan>(std::move(plan).value());
  }
  if (auto plan = abi::FunctionPlan::Build(*entry.type, abi::Context::kLower); plan.ok()) {
    entry.lower_plan = std::make_shared<const abi::FunctionPlan>(std::move(plan).value());
  }
  return &entries_.emplace(&type, std::move(entry)).first->second;
}

bool IsComponentBinary(std::span<const uint8_t> bytes) {
  // The magic, then a 16-bit version and a 16-bit layer: layer 1 is a component, 0 a core module.
  static constexpr uint8_t kMagic[4] = {0x00, 0x61, 0x73, 0x6d};
  return bytes.size() >= 8 && std::equal(kMagic, kMagic + 4, bytes.begin()) && bytes[6] == 0x01 &&
         bytes[7] == 0x00;
}

namespace {

// ----- Values that exist while a component is being instantiated

// A core function: an export of a core instance, or a host function a canon lower produced.
struct CoreFuncValue {
  engine::Instance* instance = nullptr;
  uint32_t index = 0;
  const HostImport* host = nullptr;
};

// A memory, table or global some core instance exports.
struct CoreExternValue {
  engine::ExternKind kind = engine::ExternKind::kMemory;
  void* external = nullptr;
};

using CoreItem = std::variant<CoreFuncValue, CoreExternValue>;

// A core instance: one the engine made (its exports are looked up in its module), or a bag of
// items put together with `(core instance (export ...))`.
struct CoreInstanceValue {
  engine::Instance* instance = nullptr;
  std::map<std::string, CoreItem, std::less<>> items;
};

// A component-level function: imported from the host, or lifted from a core export. Immutable
// once made and shared by every place it is bound to (index spaces, instance exports,
// instantiation arguments): a copy would copy its function type and names, on every spawn.
struct FuncValue {
  bool lifted = false;
  std::string interface_name;  // host functions: the imported instance, or empty
  std::string function;        // host functions: the name there
  TypeRef type;
  LiftedExport export_;  // lifted functions (interface and function names filled at export)
};
using FuncRef = std::shared_ptr<const FuncValue>;

struct InstanceValue;
struct Scope;
struct ComponentValue {
  const Component* definition = nullptr;
  Scope* enclosing = nullptr;  // the scope outer aliases of the definition count from
};
struct ModuleValue {
  const Component* owner = nullptr;
  const CoreModule* module = nullptr;
};
using Value =
    std::variant<FuncRef, std::shared_ptr<InstanceValue>, TypeRef, ComponentValue, ModuleValue>;

struct InstanceValue {
  std::map<std::string, Value, std::less<>> exports;
  // The exports that are resource types, resolved.
  std::map<std::string, ResourceType*, std::less<>> resources;
};

// One instantiation of one (possibly nested) component: the values of its index spaces, computed
// on first use and kept.
struct Scope {
  const Component& component;
  Scope* enclosing;  // for outer aliases
  // Nested components: the instantiation arguments, by import name. The root has none: its
  // imports come from the host.
  std::optional<std::map<std::string, Value, std::less<>>> args;
  std::string path;  // "component" or "component 0 (nested)", for messages

  std::vector<std::optional<CoreFuncValue>> core_funcs;
  std::vector<std::shared_ptr<CoreInstanceValue>> core_instances;
  std::vector<FuncRef> funcs;
  std::vector<std::shared_ptr<InstanceValue>> instances;
  // Nested components: the resource types their `(sub resource)` imports are bound to.
  std::map<const TypeDef*, ResourceType*> bound_resources;

  Scope(const Component& c, Scope* outer, std::string where)
      : component(c), enclosing(outer), path(std::move(where)) {
    core_funcs.resize(c.space(Sort::kCoreFunc).size());
    core_instances.resize(c.space(Sort::kCoreInstance).size());
    funcs.resize(c.space(Sort::kFunc).size());
    instances.resize(c.space(Sort::kInstance).size());
  }
};

const char* ValueKindName(const Value& v) {
  switch (v.index()) {
    case 0:
      return "func";
    case 1:
      return "instance";
    case 2:
      return "type";
    case 3:
      return "component";
    default:
      return "core module";
  }
}

engine::ExternKind EngineKindOf(Sort sort) {
  switch (sort) {
    case Sort::kCoreTable:
      return engine::ExternKind::kTable;
    case Sort::kCoreMemory:
      return engine::ExternKind::kMemory;
    case Sort::kCoreGlobal:
      return engine::ExternKind::kGlobal;
    default:
      return engine::ExternKind::kFunction;
  }
}

const char* EngineKindName(engine::ExternKind kind) {
  switch (kind) {
    case engine::ExternKind::kFunction:
      return "function";
    case engine::ExternKind::kTable:
      return "table";
    case engine::ExternKind::kMemory:
      return "memory";
    case engine::ExternKind::kGlobal:
      return "global";
  }
  return "?";
}

}  // namespace

// Does the work of Instantiate(); lives only while it runs.
class Linker {
 public:
  // `record`, when given, receives the steps this instantiation takes (Run only).
  Linker(const CoreModuleLoader& loader, ComponentHost& host,
         const engine::InstanceOptions& options, FunctionTypeCache* types, LinkPlan* record)
      : loader_(loader),
        host_(host),
        options_(options),
        types_(types ? types : &own_types_),
        record_(record),
        result_(new ComponentInstance()) {
    if (!options_.host_error_slot) options_.host_error_slot = std::make_shared<Status>();
  }

  Result<std::unique_ptr<ComponentInstance>> Run(const Component& component) {
    Scope& root = NewScope(component, nullptr, "component");
    root_ = &root;
    THEATER_ASSIGN_OR_RETURN(std::shared_ptr<InstanceValue> exports, InstantiateScope(root));
    for (auto& [name, value] : exports->exports) {
      if (auto* func = std::get_if<FuncRef>(&value)) {
        THEATER_RETURN_IF_ERROR(AddExport("", name, **func));
      } else if (auto* instance = std::get_if<std::shared_ptr<InstanceValue>>(&value)) {
        for (auto& [function, member] : (*instance)->exports) {
          if (auto* f = std::get_if<FuncRef>(&member)) {
            THEATER_RETURN_IF_ERROR(AddExport(name, function, **f));
          }
        }
        // The names the component exports its resources by ("counter" in "t:r/api").
        for (auto& [resource_name, type] : (*instance)->resources) {
          if (type->host) continue;
          type->interface_name = name;
          type->name = resource_name;
        }
      }
    }
    // Destructors are resolved last: the core instance that exports one usually imports the
    // resource's builtins, so it cannot exist when the resource type is first met.
    for (auto& [scope, dtor_index, type] : pending_dtors_) {
      THEATER_ASSIGN_OR_RETURN(CoreFuncValue dtor, CoreFuncAt(*scope, dtor_index));
      if (dtor.instance == nullptr) {
        return ValidationError(scope->path + ": the destructor of " + type->QualifiedName() +
                               " must be a core export");
      }
      const engine::FuncSig& sig = dtor.instance->module().exports()[dtor.index].sig;
      if (sig.params != "i" || !sig.results.empty()) {
        return ValidationError(scope->path + ": the destructor of " + type->QualifiedName() +
                               " has core type (" + sig.params + ")->(" + sig.results +
                               "), not (i32)->()");
      }
      type->dtor_instance = dtor.instance;
      type->dtor_index = dtor.index;
    }
    if (record_ != nullptr) THEATER_RETURN_IF_ERROR(RecordResult());
    return std::move(result_);
  }

 private:
  Scope& NewScope(const Component& c, Scope* enclosing, std::string path) {
    scopes_.push_back(std::make_unique<Scope>(c, enclosing, std::move(path)));
    return *scopes_.back();
  }

  static Status Unsupported(const Scope& s, Sort sort, uint32_t index, std::string_view what) {
    return ValidationError(s.path + ": " + s.component.Describe(sort, index) + ": " +
                           std::string(what) + " is not supported");
  }

  Status AddExport(const std::string& interface_name, const std::string& function,
                   const FuncValue& func) {
    if (!func.lifted) return Status::Ok();  // a host import passed through: nothing to call
    LiftedExport e = func.export_;
    e.interface_name = interface_name;
    e.function = function;
    result_->exports_.push_back(std::move(e));
    return Status::Ok();
  }

  // ----- Core sorts

  Result<ModuleValue> CoreModuleAt(Scope& s, uint32_t index) {
    const IndexEntry& entry = s.component.space(Sort::kCoreModule)[index];
    switch (entry.origin) {
      case Origin::kDefinition:
        return ModuleValue{&s.component, &s.component.core_modules[entry.item]};
      case Origin::kAlias: {
        const Alias& alias = s.component.aliases[entry.item];
        if (alias.kind != Alias::Kind::kOuter) break;
        THEATER_ASSIGN_OR_RETURN(Scope * outer, Outer(s, alias.outer_count));
        return CoreModuleAt(*outer, alias.outer_index);
      }
      default:
        break;
    }
    return Unsupported(s, Sort::kCoreModule, index, "a core module that is not defined inline");
  }

  Result<Scope*> Outer(Scope& s, uint32_t count) {
    Scope* scope = &s;
    for (uint32_t i = 0; i < count; ++i) {
      if (scope->enclosing == nullptr) {
        return ValidationError(s.path + ": outer alias reaches past the outermost component");
      }
      scope = scope->enclosing;
    }
    return scope;
  }

  // An item of a core instance by name (functions, memories, tables, globals).
  Result<CoreItem> CoreExportOf(Scope& s, uint32_t instance_index, std::string_view name) {
    THEATER_ASSIGN_OR_RETURN(std::shared_ptr<CoreInstanceValue> instance,
                             CoreInstanceAt(s, instance_index));
    if (instance->instance == nullptr) {
      auto it = instance->items.find(name);
      if (it == instance->items.end()) {
        return ValidationError(s.path + ": core instance " + std::to_string(instance_index) +
                               " has no export '" + std::string(name) + "'");
      }
      return it->second;
    }
    engine::Instance& core = *instance->instance;
    if (auto function = core.module().FindExport(name)) {
      return CoreItem(CoreFuncValue{&core, *function, nullptr});
    }
    const auto& externs = core.module().extern_exports();
    for (uint32_t i = 0; i < externs.size(); ++i) {
      if (externs[i].name == name) {
        return CoreItem(CoreExternValue{externs[i].kind, core.ExternExport(i)});
      }
    }
    return ValidationError(s.path + ": core instance " + std::to_string(instance_index) +
                           " exports nothing named '" + std::string(name) + "'");
  }

  Result<CoreFuncValue> CoreFuncAt(Scope& s, uint32_t index) {
    if (s.core_funcs[index]) return *s.core_funcs[index];
    const IndexEntry& entry = s.component.space(Sort::kCoreFunc)[index];
    CoreFuncValue value;
    if (entry.origin == Origin::kAlias) {
      const Alias& alias = s.component.aliases[entry.item];
      if (alias.kind != Alias::Kind::kCoreInstanceExport) {
        return Unsupported(s, Sort::kCoreFunc, index, "this alias");
      }
      THEATER_ASSIGN_OR_RETURN(CoreItem item, CoreExportOf(s, alias.instance, alias.name));
      auto* func = std::get_if<CoreFuncValue>(&item);
      if (func == nullptr) {
        return ValidationError(s.path + ": " + s.component.Describe(Sort::kCoreFunc, index) +
                               ": the export is not a function");
      }
      value = *func;
    } else if (entry.origin == Origin::kCanon) {
      const Canon& canon = s.component.canons[entry.item];
      if (canon.kind == Canon::Kind::kLower) {
        THEATER_ASSIGN_OR_RETURN(value, Lower(s, index, canon));
      } else {
        THEATER_ASSIGN_OR_RETURN(value, Builtin(s, index, canon));
      }
    } else {
      return Unsupported(s, Sort::kCoreFunc, index, "a core function of this origin");
    }
    s.core_funcs[index] = value;
    return value;
  }

  Result<CoreExternValue> CoreExternAt(Scope& s, Sort sort, uint32_t index) {
    const IndexEntry& entry = s.component.space(sort)[index];
    if (entry.origin != Origin::kAlias ||
        s.component.aliases[entry.item].kind != Alias::Kind::kCoreInstanceExport) {
      return Unsupported(s, sort, index, "a memory, table or global that is not a core export");
    }
    const Alias& alias = s.component.aliases[entry.item];
    THEATER_ASSIGN_OR_RETURN(CoreItem item, CoreExportOf(s, alias.instance, alias.name));
    auto* external = std::get_if<CoreExternValue>(&item);
    if (external == nullptr || external->kind != EngineKindOf(sort)) {
      return ValidationError(s.path + ": " + s.component.Describe(sort, index) +
                             ": the export is not a " + EngineKindName(EngineKindOf(sort)));
    }
    return *external;
  }

  Result<LinkedMemory> MemoryOf(Scope& s, const CanonOptions& options) {
    if (options.string_encoding != StringEncoding::kUtf8) {
      return ValidationError(s.path + ": only the utf8 string encoding is supported");
    }
    void* memory = nullptr;
    if (options.memory) {
      THEATER_ASSIGN_OR_RETURN(CoreExternValue m,
                               CoreExternAt(s, Sort::kCoreMemory, *options.memory));
      memory = m.external;
    }
    engine::Instance* realloc_instance = nullptr;
    uint32_t realloc_index = 0;
    if (options.realloc) {
      THEATER_ASSIGN_OR_RETURN(CoreFuncValue r, CoreFuncAt(s, *options.realloc));
      if (r.instance == nullptr) {
        return ValidationError(s.path + ": a realloc function must be a core export");
      }
      realloc_instance = r.instance;
      realloc_index = r.index;
    }
    return LinkedMemory(memory, realloc_instance, realloc_index);
  }

  Result<CoreFuncValue> Lower(Scope& s, uint32_t core_index, const Canon& canon) {
    THEATER_ASSIGN_OR_RETURN(FuncRef func_ref, FuncAt(s, canon.func));
    const FuncValue& func = *func_ref;
    LoweredImport import;
    import.interface_name = func.interface_name;
    import.function = func.function;
    THEATER_ASSIGN_OR_RETURN(const FunctionTypeCache::Entry* entry, types_->Get(*canon.func_type));
    import.type = entry->type;
    import.plan = entry->lower_plan;
    THEATER_ASSIGN_OR_RETURN(import.memory, MemoryOf(s, canon.options));
    THEATER_RETURN_IF_ERROR(NameResources(s, *entry, &import.resources));
    import.table = &result_->table_;
    if (func.lifted) return LowerLifted(s, core_index, import, func.export_);
    const std::string where =
        func.interface_name.empty() ? func.function : func.interface_name + "." + func.function;
    Result<HostImport> lowered = host_.LowerImport(import);
    if (!lowered.ok()) return lowered.status().WithContext("import '" + where + "'");
    host_imports_.push_back(std::move(lowered).value());
    if (record_ != nullptr) {
      LinkPlan::Step step;
      step.kind = LinkPlan::Step::Kind::kLower;
      THEATER_ASSIGN_OR_RETURN(step.lowered, RecordLowered(import, "import '" + where + "'"));
      record_->steps.push_back(std::move(step));
    }
    return CoreFuncValue{nullptr, 0, &host_imports_.back()};
  }

  // A function one component instance lifted, lowered into another (components composed with
  // each other): the call lifts the caller's arguments out of its memory, lowers them into the
  // callee's, and brings the results back the same way, through abi::Values. Handles move through
  // the one table (resources.h).
  Result<CoreFuncValue> LowerLifted(Scope& s, uint32_t core_index, LoweredImport& import,
                                    const LiftedExport& callee) {
    // Handles name their resources differently on either side (each component names its own
    // imports); what must agree is the shape, and which resource types the handles refer to.
    auto resources_of = [](const ResourceNames& names) {
      std::set<const ResourceType*> set;
      for (const auto& [name, type] : names) set.insert(type);
      return set;
    };
    const bool same_shape =
        import.resources.empty() && callee.resources.empty()
            ? abi::StructurallyEqual(*FunctionAsTuple(*import.type), *FunctionAsTuple(*callee.type))
            : abi::LowerSignature(*import.type, abi::Context::kLower) ==
                  abi::LowerSignature(*callee.type, abi::Context::kLower);
    if (!same_shape || resources_of(import.resources) != resources_of(callee.resources)) {
      return ValidationError(s.path + ": " + s.component.Describe(Sort::kCoreFunc, core_index) +
                             ": the lowered type differs from the lifted function's");
    }
    import.function =
        "a lifted function (" + s.component.Describe(Sort::kCoreFunc, core_index) + ")";
    THEATER_RETURN_IF_ERROR(BindLifted(import, callee));
    if (record_ != nullptr) {
      LinkPlan::Step step;
      step.kind = LinkPlan::Step::Kind::kLowerLifted;
      THEATER_ASSIGN_OR_RETURN(step.lowered, RecordLowered(import, ""));
      THEATER_ASSIGN_OR_RETURN(step.callee, RecordLifted(callee));
      record_->steps.push_back(std::move(step));
    }
    return CoreFuncValue{nullptr, 0, &host_imports_.back()};
  }

  // Serves `import` by calling `callee` (the new host import is host_imports_.back()).
  Status BindLifted(const LoweredImport& import, const LiftedExport& callee) {
    THEATER_ASSIGN_OR_RETURN(HostImport bound, CoreBindings::BindLifted(*result_, import, callee));
    host_imports_.push_back(std::move(bound));
    return Status::Ok();
  }

  // A function type's parameters and results as two tuples in one, to compare shapes.
  static abi::TypePtr FunctionAsTuple(const abi::FunctionType& f) {
    std::vector<abi::TypePtr> params;
    for (const abi::Field& p : f.params) params.push_back(p.type);
    return abi::Type::Tuple(
        {abi::Type::Tuple(std::move(params)), abi::Type::Tuple(f.ResultTypes())});
  }

  // ----- Resources

  // The resource type `def` (a kResource TypeDef) stands for in scope `s`: bound by a nested
  // component's instantiation, defined by the component, or imported from the host.
  Result<ResourceType*> ResourceOf(Scope& s, const TypeDef* def) {
    for (Scope* scope = &s; scope != nullptr; scope = scope->enclosing) {
      if (auto it = scope->bound_resources.find(def); it != scope->bound_resources.end()) {
        return it->second;
      }
    }
    if (auto it = resources_.find(def); it != resources_.end()) return it->second;
    auto type = std::make_unique<ResourceType>();
    type->name = def->resource_name;
    if (def->resource_defined) {
      if (def->resource_dtor) pending_dtors_.push_back({&s, *def->resource_dtor, type.get()});
    } else {
      // Not bound by an instantiation: only the root's imports can declare it.
      const Import* declared = nullptr;
      const ExternItem* item = nullptr;
      for (const Import& import : root_->component.imports) {
        if (import.desc.sort == Sort::kType && import.desc.type.get() == def) {
          declared = &import;
        } else if (import.desc.sort == Sort::kInstance && import.desc.type) {
          for (const ExternItem& e : import.desc.type->exports) {
            if (e.sort == Sort::kType && e.type.get() == def) {
              declared = &import;
              item = &e;
              break;
            }
          }
        }
        if (declared) break;
      }
      if (declared == nullptr) {
        return ValidationError(s.path + ": the resource type '" + def->resource_name +
                               "' is neither defined by the component nor imported");
      }
      type->host = true;
      type->interface_name = item ? declared->name : "";
      type->name = item ? item->name : declared->name;
      host_.BindResource(*type);
    }
    ResourceType* raw = type.get();
    result_->resource_types_.push_back(std::move(type));
    resources_.emplace(def, raw);
    return raw;
  }

  // The resource types of a function's handles in this instantiation, by name.
  Status NameResources(Scope& s, const FunctionTypeCache::Entry& function, ResourceNames* out) {
    for (const TypeDef* def : function.resources) {
      THEATER_ASSIGN_OR_RETURN(ResourceType * resource, ResourceOf(s, def));
      auto [it, added] = out->emplace(def->resource_name, resource);
      if (!added && it->second != resource) {
        return ValidationError(s.path + ": two resource types named '" + def->resource_name +
                               "' in one function");
      }
    }
    return Status::Ok();
  }

  // canon resource.new / rep / drop as a core function over the instance's table.
  Result<CoreFuncValue> Builtin(Scope& s, uint32_t core_index, const Canon& canon) {
    if (!canon.resource || canon.resource->kind != TypeDefKind::kResource) {
      return ValidationError(s.path + ": " + s.component.Describe(Sort::kCoreFunc, core_index) +
                             ": not a resource type");
    }
    THEATER_ASSIGN_OR_RETURN(ResourceType * type, ResourceOf(s, canon.resource.get()));
    if (canon.kind != Canon::Kind::kResourceDrop && type->host) {
      return ValidationError(s.path + ": " + s.component.Describe(Sort::kCoreFunc, core_index) +
                             ": resource.new and resource.rep need a resource the component "
                             "defines, and " +
                             type->QualifiedName() + " is imported");
    }
    if (record_ != nullptr) {
      LinkPlan::Step step;
      step.kind = LinkPlan::Step::Kind::kBuiltin;
      step.builtin = canon.kind;
      THEATER_ASSIGN_OR_RETURN(step.resource, ResourcePosition(type));
      record_->steps.push_back(std::move(step));
    }
    host_imports_.push_back(CoreBindings::BindResourceBuiltin(*result_, canon.kind, type));
    return CoreFuncValue{nullptr, 0, &host_imports_.back()};
  }

  Result<std::shared_ptr<CoreInstanceValue>> CoreInstanceAt(Scope& s, uint32_t index) {
    if (s.core_instances[index]) return s.core_instances[index];
    const IndexEntry& entry = s.component.space(Sort::kCoreInstance)[index];
    if (entry.origin != Origin::kDefinition) {
      return Unsupported(s, Sort::kCoreInstance, index, "a core instance of this origin");
    }
    const CoreInstance& def = s.component.core_instances[entry.item];
    auto value = std::make_shared<CoreInstanceValue>();
    if (def.kind == CoreInstance::Kind::kFromExports) {
      for (const CoreInlineExport& e : def.exports) {
        CoreItem item;
        if (e.sort == Sort::kCoreFunc) {
          THEATER_ASSIGN_OR_RETURN(item, CoreFuncAt(s, e.index));
        } else if (e.sort == Sort::kCoreMemory || e.sort == Sort::kCoreTable ||
                   e.sort == Sort::kCoreGlobal) {
          THEATER_ASSIGN_OR_RETURN(item, CoreExternAt(s, e.sort, e.index));
        } else {
          return Unsupported(s, Sort::kCoreInstance, index, "exporting a core type");
        }
        value->items.emplace(e.name, std::move(item));
      }
    } else {
      THEATER_ASSIGN_OR_RETURN(value->instance, InstantiateCore(s, index, def));
    }
    s.core_instances[index] = value;
    return value;
  }

  Result<engine::Instance*> InstantiateCore(Scope& s, uint32_t index, const CoreInstance& def) {
    THEATER_ASSIGN_OR_RETURN(ModuleValue module_value, CoreModuleAt(s, def.module));
    const std::string module_name = s.path + " core module " + std::to_string(def.module);
    THEATER_ASSIGN_OR_RETURN(std::shared_ptr<const engine::Module> module,
                             loader_(*module_value.owner, *module_value.module, module_name));
    std::map<std::string, std::shared_ptr<CoreInstanceValue>, std::less<>> args;
    for (const CoreInstantiateArg& arg : def.args) {
      THEATER_ASSIGN_OR_RETURN(args[arg.name], CoreInstanceAt(s, arg.instance));
    }
    struct Resolver final : engine::ImportResolver {
      Linker* linker;
      std::map<std::string, std::shared_ptr<CoreInstanceValue>, std::less<>>* args;
      Result<engine::HostBinding> Resolve(const engine::ImportInfo& import) override {
        return linker->BindImport(*args, import);
      }
    } resolver;
    resolver.linker = this;
    resolver.args = &args;
    recorded_bindings_.clear();
    auto instance = module->Instantiate(resolver, options_);
    if (!instance.ok()) {
      return instance.status().WithContext(s.path + ": core instance " + std::to_string(index));
    }
    if (record_ != nullptr) {
      LinkPlan::Step step;
      step.kind = LinkPlan::Step::Kind::kCoreInstance;
      step.module = module;
      step.bindings = std::move(recorded_bindings_);
      step.where = s.path + ": core instance " + std::to_string(index);
      step.wasm = module_value.owner->ModuleBytes(*module_value.module);
      record_->steps.push_back(std::move(step));
    }
    result_->modules_.push_back(module);
    result_->core_instances_.push_back(std::move(instance).value());
    return result_->core_instances_.back().get();
  }

  Result<engine::HostBinding> BindImport(
      std::map<std::string, std::shared_ptr<CoreInstanceValue>, std::less<>>& args,
      const engine::ImportInfo& import) {
    auto arg = args.find(import.module);
    if (arg == args.end()) {
      return ValidationError("no instantiation argument named '" + import.module + "'");
    }
    CoreItem item;
    if (arg->second->instance == nullptr) {
      auto it = arg->second->items.find(import.name);
      if (it == arg->second->items.end()) {
        return ValidationError("the argument '" + import.module + "' has no export '" +
                               import.name + "'");
      }
      item = it->second;
    } else {
      // A real core instance passed whole: find the export in it.
      engine::Instance& core = *arg->second->instance;
      if (auto f = core.module().FindExport(import.name)) {
        item = CoreFuncValue{&core, *f, nullptr};
      } else {
        const auto& externs = core.module().extern_exports();
        uint32_t i = 0;
        while (i < externs.size() && externs[i].name != import.name) ++i;
        if (i == externs.size()) {
          return ValidationError("the argument '" + import.module + "' exports nothing named '" +
                                 import.name + "'");
        }
        item = CoreExternValue{externs[i].kind, core.ExternExport(i)};
      }
    }
    if (import.kind != engine::ExternKind::kFunction) {
      auto* external = std::get_if<CoreExternValue>(&item);
      if (external == nullptr || external->kind != import.kind) {
        return ValidationError(std::string("expected a ") + EngineKindName(import.kind));
      }
      engine::HostBinding binding;
      binding.external = external->external;
      if (record_ != nullptr) {
        LinkPlan::Binding recorded;
        recorded.kind = LinkPlan::Binding::Kind::kExtern;
        THEATER_ASSIGN_OR_RETURN(recorded.target, LocateExtern(external->external));
        recorded_bindings_.push_back(recorded);
      }
      return binding;
    }
    auto* func = std::get_if<CoreFuncValue>(&item);
    if (func == nullptr) return ValidationError("expected a function");
    const std::string expected = "(" + import.sig.params + ")->(" + import.sig.results + ")";
    if (func->host != nullptr) {
      const engine::FuncSig& sig = func->host->signature;
      if (!(sig == import.sig)) {
        return ValidationError("the lowered function has core type (" + sig.params + ")->(" +
                               sig.results + "), the import expects " + expected);
      }
      if (record_ != nullptr) {
        LinkPlan::Binding recorded;
        recorded.kind = LinkPlan::Binding::Kind::kHost;
        THEATER_ASSIGN_OR_RETURN(recorded.host, HostImportPosition(func->host));
        recorded_bindings_.push_back(recorded);
      }
      return func->host->binding;
    }
    const engine::ExportInfo& target = func->instance->module().exports()[func->index];
    if (!(target.sig == import.sig)) {
      return ValidationError("the function '" + target.name + "' has core type (" +
                             target.sig.params + ")->(" + target.sig.results +
                             "), the import expects " + expected);
    }
    const auto params = static_cast<uint32_t>(target.sig.params.size());
    const auto results = static_cast<uint32_t>(target.sig.results.size());
    if (record_ != nullptr) {
      LinkPlan::Binding recorded;
      recorded.kind = LinkPlan::Binding::Kind::kForward;
      THEATER_ASSIGN_OR_RETURN(recorded.target.instance, InstancePosition(func->instance));
      recorded.target.index = func->index;
      recorded.params = params;
      recorded.results = results;
      recorded_bindings_.push_back(recorded);
    }
    return CoreBindings::BindForward(*result_, func->instance, func->index, params, results);
  }

  // ----- Link plans: recording what Run did (link_plan.cc replays it)

  Result<uint32_t> InstancePosition(const engine::Instance* instance) const {
    const auto& all = result_->core_instances_;
    for (uint32_t i = 0; i < all.size(); ++i) {
      if (all[i].get() == instance) return i;
    }
    return InternalError("link plan: a function of a core instance the component did not make");
  }

  Result<uint32_t> HostImportPosition(const HostImport* host) const {
    for (uint32_t i = 0; i < host_imports_.size(); ++i) {
      if (&host_imports_[i] == host) return i;
    }
    return InternalError("link plan: an unknown host import");
  }

  Result<uint32_t> ResourcePosition(const ResourceType* type) const {
    const auto& all = result_->resource_types_;
    for (uint32_t i = 0; i < all.size(); ++i) {
      if (all[i].get() == type) return i;
    }
    return InternalError("link plan: an unknown resource type");
  }

  // The core instance and extern export index of a memory, table or global.
  Result<LinkPlan::CoreRef> LocateExtern(void* external) const {
    const auto& all = result_->core_instances_;
    for (uint32_t i = 0; i < all.size(); ++i) {
      const auto& externs = all[i]->module().extern_exports();
      for (uint32_t e = 0; e < externs.size(); ++e) {
        if (all[i]->ExternExport(e) == external) return LinkPlan::CoreRef{i, e};
      }
    }
    return InternalError("link plan: a memory, table or global no core instance exports");
  }

  Result<LinkPlan::Memory> RecordMemory(const LinkedMemory& m) const {
    LinkPlan::Memory out;
    if (m.memory() != nullptr) {
      THEATER_ASSIGN_OR_RETURN(out.memory, LocateExtern(m.memory()));
    }
    if (m.realloc_instance() != nullptr) {
      THEATER_ASSIGN_OR_RETURN(uint32_t instance, InstancePosition(m.realloc_instance()));
      out.realloc = LinkPlan::CoreRef{instance, m.realloc_index()};
    }
    return out;
  }

  Result<std::vector<LinkPlan::ResourceName>> RecordResources(const ResourceNames& names) const {
    std::vector<LinkPlan::ResourceName> out;
    for (const auto& [name, type] : names) {
      THEATER_ASSIGN_OR_RETURN(uint32_t position, ResourcePosition(type));
      out.push_back({name, position});
    }
    return out;
  }

  Result<LinkPlan::Lowered> RecordLowered(const LoweredImport& import, std::string where) const {
    LinkPlan::Lowered out;
    out.import = import;
    out.import.memory = LinkedMemory();
    out.import.resources.clear();
    out.import.table = nullptr;
    THEATER_ASSIGN_OR_RETURN(out.memory, RecordMemory(import.memory));
    THEATER_ASSIGN_OR_RETURN(out.resources, RecordResources(import.resources));
    out.where = std::move(where);
    return out;
  }

  Result<LinkPlan::Lifted> RecordLifted(const LiftedExport& e) const {
    LinkPlan::Lifted out;
    out.function = e;
    out.function.instance = nullptr;
    out.function.memory = LinkedMemory();
    out.function.resources.clear();
    THEATER_ASSIGN_OR_RETURN(out.instance, InstancePosition(e.instance));
    THEATER_ASSIGN_OR_RETURN(out.memory, RecordMemory(e.memory));
    THEATER_ASSIGN_OR_RETURN(out.resources, RecordResources(e.resources));
    return out;
  }

  // The resource types as Run left them (names and destructors), and the exports.
  Status RecordResult() {
    record_->core_instances = result_->core_instances_.size();
    for (const auto& type : result_->resource_types_) {
      LinkPlan::Resource r;
      r.host = type->host;
      r.interface_name = type->interface_name;
      r.name = type->name;
      if (type->dtor_instance != nullptr) {
        THEATER_ASSIGN_OR_RETURN(uint32_t instance, InstancePosition(type->dtor_instance));
        r.dtor = LinkPlan::CoreRef{instance, type->dtor_index};
      }
      record_->resources.push_back(std::move(r));
    }
    for (const LiftedExport& e : result_->exports_) {
      THEATER_ASSIGN_OR_RETURN(LinkPlan::Lifted lifted, RecordLifted(e));
      record_->exports.push_back(std::move(lifted));
    }
    return Status::Ok();
  }

  // ----- Component sorts

  Result<Value> ValueAt(Scope& s, const SortIndex& item) {
    switch (item.sort) {
      case Sort::kFunc: {
        THEATER_ASSIGN_OR_RETURN(FuncRef f, FuncAt(s, item.index));
        return Value(std::move(f));
      }
      case Sort::kInstance: {
        THEATER_ASSIGN_OR_RETURN(std::shared_ptr<InstanceValue> i, InstanceAt(s, item.index));
        return Value(std::move(i));
      }
      case Sort::kType:
        return Value(s.component.TypeAt(item.index));
      case Sort::kComponent: {
        THEATER_ASSIGN_OR_RETURN(ComponentValue c, ComponentAt(s, item.index));
        return Value(c);
      }
      case Sort::kCoreModule: {
        THEATER_ASSIGN_OR_RETURN(ModuleValue m, CoreModuleAt(s, item.index));
        return Value(m);
      }
      default:
        return Unsupported(s, item.sort, item.index, "a value of this sort");
    }
  }

  // The value a nested component's import receives, or the host's for the root.
  Result<Value> ImportValue(Scope& s, Sort sort, uint32_t index, const Import& import) {
    if (s.args) {
      auto it = s.args->find(import.name);
      if (it == s.args->end()) {
        return ValidationError(s.path + ": no argument for the import '" + import.name + "'");
      }
      return it->second;
    }
    if (sort == Sort::kFunc) {
      auto f = std::make_shared<FuncValue>();
      f->function = import.name;
      f->type = import.desc.type;
      return Value(FuncRef(std::move(f)));
    }
    if (sort == Sort::kInstance) {
      // A host interface: every function of its type becomes a host function of that name.
      auto instance = std::make_shared<InstanceValue>();
      if (import.desc.type) {
        for (const ExternItem& item : import.desc.type->exports) {
          if (item.sort == Sort::kFunc) {
            auto f = std::make_shared<FuncValue>();
            f->interface_name = import.name;
            f->function = item.name;
            f->type = item.type;
            instance->exports.emplace(item.name, FuncRef(std::move(f)));
          } else if (item.sort == Sort::kType) {
            instance->exports.emplace(item.name, item.type);
          }
        }
      }
      return Value(std::move(instance));
    }
    return Unsupported(s, sort, index, "importing this sort from the host");
  }

  Result<FuncRef> FuncAt(Scope& s, uint32_t index) {
    if (s.funcs[index]) return s.funcs[index];
    const IndexEntry& entry = s.component.space(Sort::kFunc)[index];
    FuncRef value;
    switch (entry.origin) {
      case Origin::kImport: {
        THEATER_ASSIGN_OR_RETURN(
            Value v, ImportValue(s, Sort::kFunc, index, s.component.imports[entry.item]));
        THEATER_ASSIGN_OR_RETURN(value, AsFunc(s, index, std::move(v)));
        break;
      }
      case Origin::kAlias: {
        const Alias& alias = s.component.aliases[entry.item];
        if (alias.kind != Alias::Kind::kInstanceExport) {
          return Unsupported(s, Sort::kFunc, index, "this alias");
        }
        THEATER_ASSIGN_OR_RETURN(std::shared_ptr<InstanceValue> instance,
                                 InstanceAt(s, alias.instance));
        auto it = instance->exports.find(alias.name);
        if (it == instance->exports.end()) {
          return ValidationError(s.path + ": instance " + std::to_string(alias.instance) +
                                 " has no export '" + alias.name + "'");
        }
        THEATER_ASSIGN_OR_RETURN(value, AsFunc(s, index, it->second));
        break;
      }
      case Origin::kCanon: {
        const Canon& canon = s.component.canons[entry.item];
        THEATER_ASSIGN_OR_RETURN(value, Lift(s, index, canon));
        break;
      }
      case Origin::kExport: {
        THEATER_ASSIGN_OR_RETURN(Value v, ValueAt(s, s.component.exports[entry.item].item));
        THEATER_ASSIGN_OR_RETURN(value, AsFunc(s, index, std::move(v)));
        break;
      }
      default:
        return Unsupported(s, Sort::kFunc, index, "a function of this origin");
    }
    s.funcs[index] = value;
    return value;
  }

  Result<FuncRef> AsFunc(Scope& s, uint32_t index, Value v) {
    if (auto* f = std::get_if<FuncRef>(&v)) return std::move(*f);
    return ValidationError(s.path + ": func " + std::to_string(index) + " is bound to a " +
                           ValueKindName(v));
  }

  Result<FuncRef> Lift(Scope& s, uint32_t index, const Canon& canon) {
    THEATER_ASSIGN_OR_RETURN(CoreFuncValue core, CoreFuncAt(s, canon.func));
    if (core.instance == nullptr) {
      return Unsupported(s, Sort::kFunc, index, "lifting a lowered host function");
    }
    auto value = std::make_shared<FuncValue>();
    value->lifted = true;
    value->type = canon.func_type;
    LiftedExport& e = value->export_;
    THEATER_ASSIGN_OR_RETURN(const FunctionTypeCache::Entry* entry, types_->Get(*canon.func_type));
    e.type = entry->type;
    e.plan = entry->lift_plan;
    e.instance = core.instance;
    e.index = core.index;
    THEATER_ASSIGN_OR_RETURN(e.memory, MemoryOf(s, canon.options));
    THEATER_RETURN_IF_ERROR(NameResources(s, *entry, &e.resources));
    if (canon.options.post_return) {
      THEATER_ASSIGN_OR_RETURN(CoreFuncValue post, CoreFuncAt(s, *canon.options.post_return));
      if (post.instance != core.instance) {
        return Unsupported(s, Sort::kFunc, index,
                           "a post-return function in another core instance than the function");
      }
      e.post_return = post.index;
    }
    return FuncRef(std::move(value));
  }

  Result<std::shared_ptr<InstanceValue>> InstanceAt(Scope& s, uint32_t index) {
    if (s.instances[index]) return s.instances[index];
    const IndexEntry& entry = s.component.space(Sort::kInstance)[index];
    Value v;
    switch (entry.origin) {
      case Origin::kImport: {
        THEATER_ASSIGN_OR_RETURN(
            v, ImportValue(s, Sort::kInstance, index, s.component.imports[entry.item]));
        break;
      }
      case Origin::kAlias: {
        const Alias& alias = s.component.aliases[entry.item];
        if (alias.kind != Alias::Kind::kInstanceExport) {
          return Unsupported(s, Sort::kInstance, index, "this alias");
        }
        THEATER_ASSIGN_OR_RETURN(std::shared_ptr<InstanceValue> outer,
                                 InstanceAt(s, alias.instance));
        auto it = outer->exports.find(alias.name);
        if (it == outer->exports.end()) {
          return ValidationError(s.path + ": instance " + std::to_string(alias.instance) +
                                 " has no export '" + alias.name + "'");
        }
        v = it->second;
        break;
      }
      case Origin::kDefinition: {
        THEATER_ASSIGN_OR_RETURN(v, DefineInstance(s, index, s.component.instances[entry.item]));
        break;
      }
      case Origin::kExport: {
        THEATER_ASSIGN_OR_RETURN(v, ValueAt(s, s.component.exports[entry.item].item));
        break;
      }
      default:
        return Unsupported(s, Sort::kInstance, index, "an instance of this origin");
    }
    auto* instance = std::get_if<std::shared_ptr<InstanceValue>>(&v);
    if (instance == nullptr) {
      return ValidationError(s.path + ": instance " + std::to_string(index) + " is bound to a " +
                             ValueKindName(v));
    }
    s.instances[index] = *instance;
    return *instance;
  }

  Result<Value> DefineInstance(Scope& s, uint32_t index, const Instance& def) {
    if (def.kind == Instance::Kind::kFromExports) {
      auto instance = std::make_shared<InstanceValue>();
      for (const InlineExport& e : def.exports) {
        THEATER_ASSIGN_OR_RETURN(Value v, ValueAt(s, e.item));
        instance->exports.emplace(e.name, std::move(v));
      }
      return Value(std::move(instance));
    }
    THEATER_ASSIGN_OR_RETURN(ComponentValue child, ComponentAt(s, def.component));
    std::map<std::string, Value, std::less<>> args;
    for (const InstantiateArg& arg : def.args) {
      THEATER_ASSIGN_OR_RETURN(Value v, ValueAt(s, arg.item));
      args.emplace(arg.name, std::move(v));
    }
    Scope& nested = NewScope(*child.definition, child.enclosing,
                             s.path + " / instance " + std::to_string(index));
    for (const Import& import : child.definition->imports) {
      if (import.desc.sort != Sort::kType || !import.desc.type ||
          import.desc.type->kind != TypeDefKind::kResource) {
        continue;
      }
      auto arg = args.find(import.name);
      const TypeRef* bound = arg == args.end() ? nullptr : std::get_if<TypeRef>(&arg->second);
      if (bound == nullptr || !*bound || (*bound)->kind != TypeDefKind::kResource) {
        return ValidationError(nested.path + ": the resource import '" + import.name +
                               "' is not given a resource type");
      }
      THEATER_ASSIGN_OR_RETURN(nested.bound_resources[import.desc.type.get()],
                               ResourceOf(s, bound->get()));
    }
    nested.args = std::move(args);
    THEATER_ASSIGN_OR_RETURN(std::shared_ptr<InstanceValue> exports, InstantiateScope(nested));
    return Value(std::move(exports));
  }

  Result<ComponentValue> ComponentAt(Scope& s, uint32_t index) {
    const IndexEntry& entry = s.component.space(Sort::kComponent)[index];
    if (entry.origin == Origin::kDefinition) {
      return ComponentValue{s.component.components[entry.item].get(), &s};
    }
    if (entry.origin == Origin::kAlias) {
      const Alias& alias = s.component.aliases[entry.item];
      if (alias.kind == Alias::Kind::kOuter) {
        THEATER_ASSIGN_OR_RETURN(Scope * outer, Outer(s, alias.outer_count));
        return ComponentAt(*outer, alias.outer_index);
      }
    }
    return Unsupported(s, Sort::kComponent, index, "a component that is not defined inline");
  }

  // Creates every core instance and instance the scope defines, in order, and returns what the
  // component exports.
  Result<std::shared_ptr<InstanceValue>> InstantiateScope(Scope& s) {
    if (++depth_ > kMaxScopeDepth) {
      return ResourceExhausted(s.path + ": components nested more than " +
                               std::to_string(kMaxScopeDepth) + " deep");
    }
    const Component& c = s.component;
    if (c.start) return ValidationError(s.path + ": a component start function is not supported");
    for (uint32_t i = 0; i < c.core_instances.size(); ++i) {
      THEATER_RETURN_IF_ERROR(CoreInstanceAt(s, i).status());
    }
    for (uint32_t i = 0; i < c.space(Sort::kInstance).size(); ++i) {
      if (c.space(Sort::kInstance)[i].origin == Origin::kDefinition) {
        THEATER_RETURN_IF_ERROR(InstanceAt(s, i).status());
      }
    }
    auto exports = std::make_shared<InstanceValue>();
    for (const Export& e : c.exports) {
      THEATER_ASSIGN_OR_RETURN(Value v, ValueAt(s, e.item));
      if (const TypeRef* type = std::get_if<TypeRef>(&v);
          type && *type && (*type)->kind == TypeDefKind::kResource) {
        THEATER_ASSIGN_OR_RETURN(exports->resources[e.name], ResourceOf(s, type->get()));
      }
      exports->exports.emplace(e.name, std::move(v));
    }
    --depth_;
    return exports;
  }

  const CoreModuleLoader& loader_;
  ComponentHost& host_;
  engine::InstanceOptions options_;
  FunctionTypeCache own_types_;
  FunctionTypeCache* types_;
  LinkPlan* record_;                                  // Run: where the steps go, if anywhere
  std::vector<LinkPlan::Binding> recorded_bindings_;  // of the core instance being made
  std::unique_ptr<ComponentInstance> result_;
  std::vector<std::unique_ptr<Scope>> scopes_;
  // A deque: core imports bound to a host import point at it, so it must not move.
  std::deque<HostImport> host_imports_;
  Scope* root_ = nullptr;
  std::map<const TypeDef*, ResourceType*> resources_;  // defined and host resource types
  struct PendingDtor {
    Scope* scope;
    uint32_t core_func;
    ResourceType* type;
  };
  std::vector<PendingDtor> pending_dtors_;
  int depth_ = 0;
};

ComponentInstance::~ComponentInstance() {
  // Later core instances point into earlier ones (memories, tables): destroy newest first.
  while (!core_instances_.empty()) core_instances_.pop_back();
}

const LiftedExport* ComponentInstance::FindExport(std::string_view interface_name,
                                                  std::string_view function) const {
  for (const LiftedExport& e : exports()) {
    if (e.interface_name == interface_name && e.function == function) return &e;
  }
  return nullptr;
}

const ResourceType* ComponentInstance::FindResource(std::string_view interface_name,
                                                    std::string_view name) const {
  for (const auto& type : resource_types_) {
    if (type->name == name && (interface_name.empty() || type->interface_name == interface_name)) {
      return type.get();
    }
  }
  return nullptr;
}

bool ComponentInstance::poisoned() const {
  for (const auto& instance : core_instances_) {
    if (instance->poisoned()) return true;
  }
  return false;
}

Result<std::unique_ptr<ComponentInstance>> Instantiate(const Component& component,
                                                       const CoreModuleLoader& loader,
                                                       ComponentHost& host,
                                                       const engine::InstanceOptions& options,
                                                       LinkCache* cache) {
  if (cache == nullptr) {
    Linker linker(loader, host, options, nullptr, nullptr);
    return linker.Run(component);
  }
  if (std::shared_ptr<const LinkPlan> plan = cache->plan()) {
    return ReplayLinkPlan(std::move(plan), host, options);
  }
  auto plan = std::make_shared<LinkPlan>();
  Linker linker(loader, host, options, &cache->types(), plan.get());
  Result<std::unique_ptr<ComponentInstance>> instance = linker.Run(component);
  if (instance.ok()) {
    ElideGlueInstances(*plan);
    cache->set_plan(std::move(plan));
  }
  return instance;
}

namespace {

Status CompileAll(const Component& component, engine::Engine& engine, const std::string& name,
                  int depth,
                  std::map<const CoreModule*, std::shared_ptr<const engine::Module>>* out) {
  if (depth > kMaxScopeDepth) return ResourceExhausted(name + ": components nested too deep");
  for (size_t i = 0; i < component.core_modules.size(); ++i) {
    const CoreModule& module = component.core_modules[i];
    const std::string module_name = name + " core module " + std::to_string(i);
    Result<std::shared_ptr<const engine::Module>> loaded =
        engine.LoadModule(component.ModuleBytes(module), module_name);
    if (!loaded.ok()) return loaded.status();
    (*out)[&module] = std::move(loaded).value();
  }
  for (size_t i = 0; i < component.components.size(); ++i) {
    THEATER_RETURN_IF_ERROR(CompileAll(*component.components[i], engine,
                                       name + " component " + std::to_string(i), depth + 1, out));
  }
  return Status::Ok();
}

}  // namespace

Result<CoreModuleLoader> PrepareCoreModules(const Component& component, engine::Engine& engine,
                                            const std::string& name) {
  auto modules =
      std::make_shared<std::map<const CoreModule*, std::shared_ptr<const engine::Module>>>();
  THEATER_RETURN_IF_ERROR(CompileAll(component, engine, name, 0, modules.get()));
  return CoreModuleLoader(
      [modules](const Component&, const CoreModule& module,
                const std::string& module_name) -> Result<std::shared_ptr<const engine::Module>> {
        auto it = modules->find(&module);
        if (it == modules->end()) return InternalError(module_name + " was not compiled");
        return it->second;
      });
}

}  // namespace theater::component
