// Theater: a WebAssembly actor runtime.
//
// Instantiating a decoded component (include/theater/abi/component.h) on the engine: its core
// modules are loaded and instantiated in the order its core instance section says, each import
// bound to what the instantiation arguments name — another core instance's function (forwarded),
// memory, table or global (shared through HostBinding::external), or a host function the
// component lowered with `canon lower`. Nested components are instantiated with their arguments
// as imports, and `canon lift` turns core exports back into component functions, which the root
// component exports.
//
// The linker knows nothing about what the host provides: every function the component imports
// is turned into a core function by a ComponentHost (the runtime's ActorHost), given the WIT-level
// type of the import and the memory and realloc the canon options name. What the component
// exports comes back as LiftedExports the host calls with the canonical ABI.
//
// The first instantiation of a component through a LinkCache records a link plan, which later
// ones replay instead of walking the component again (link_plan.h); the core functions both bind
// imports to besides the host's are in core_bindings.h.
//
// Resources (resources.h): every resource type the component defines or imports becomes one
// ResourceType of the instance, `canon resource.new / rep / drop` become core functions over the
// instance's ResourceTable, and each lowered import and lifted export names the ResourceTypes its
// handles refer to. Moving handles across the boundary is the host's part (value_host.h does it
// for hosts that work with abi::Values).
//
// Not supported (each refused with a message naming the definition): component-level `start`,
// value imports and exports, imported core modules and components, and string encodings other
// than UTF-8. A function one component instance lifts may be lowered into another (components
// composed with each other): the call copies values across as abi::Values (value_host.h).
//
// Thread-safety: Instantiate is reentrant. A ComponentInstance is used like an engine::Instance:
// one call at a time, from any thread. Ownership: it owns every core instance it made (destroyed
// newest first, since later instances point into earlier ones) and the modules they run.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/pinned_list.h"
#include "component/resources.h"
#include "theater/abi/canonical.h"
#include "theater/abi/component.h"
#include "theater/engine.h"
#include "theater/status.h"

namespace theater::component {

struct ValueImport;  // value_host.h
struct LinkPlan;     // link_plan.h

// A guest memory reached through canon options: a memory some core instance exports, and the
// realloc function (an export of some core instance) that allocates in it.
class LinkedMemory final : public abi::GuestMemory {
 public:
  LinkedMemory() = default;
  LinkedMemory(void* memory, engine::Instance* realloc_instance, uint32_t realloc_index)
      : memory_(memory), realloc_instance_(realloc_instance), realloc_index_(realloc_index) {}
  std::span<uint8_t> Bytes() override { return engine::MemoryBytes(memory_); }
  Result<uint32_t> Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                           uint32_t new_size) override;

  void* memory() const { return memory_; }
  engine::Instance* realloc_instance() const { return realloc_instance_; }
  uint32_t realloc_index() const { return realloc_index_; }

 private:
  void* memory_ = nullptr;
  engine::Instance* realloc_instance_ = nullptr;
  uint32_t realloc_index_ = 0;
};

// A host function the component imports and lowers: `interface_name` is the name of the
// imported instance ("theater:simple/runtime") or empty for a function imported on its own,
// `function` its name there ("log").
struct LoweredImport {
  std::string interface_name;
  std::string function;
  // Shared with every instantiation of the component (FunctionTypeCache): never copied per spawn.
  std::shared_ptr<const abi::FunctionType> type;
  LinkedMemory memory;  // from the canon options (may lack memory or realloc when not needed)
  // For serving it (Context::kLower), built once per type; shared, since imports are copied.
  std::shared_ptr<const abi::FunctionPlan> plan;
  // The resource types the function's handles name (by abi::Type::resource_name), and the
  // table its handles index; both live as long as the ComponentInstance.
  ResourceNames resources;
  ResourceTable* table = nullptr;
};

// What the host gives back for a lowered import: the binding, and the core signature it
// implements (checked against every core import it is bound to).
struct HostImport {
  engine::HostBinding binding;
  engine::FuncSig signature;
};

// Implemented by the host that runs the component.
class ComponentHost {
 public:
  virtual ~ComponentHost() = default;
  // A binding for `import`, or an error (unknown function, type different from the host's).
  virtual Result<HostImport> LowerImport(const LoweredImport& import) = 0;
  // Called once for every resource type the component imports, before any function that uses
  // it is lowered; the host may set `type.on_host_drop`.
  virtual void BindResource(ResourceType& type) { (void)type; }
};

// A function the root component exports, lifted from a core export.
struct LiftedExport {
  std::string interface_name;  // the exported instance's name, or empty for a bare function
  std::string function;
  std::shared_ptr<const abi::FunctionType> type;  // shared, as LoweredImport::type
  engine::Instance* instance = nullptr;  // the core instance whose export implements it
  uint32_t index = 0;                    // its export index there
  std::optional<uint32_t> post_return;   // an export of the same instance
  LinkedMemory memory;
  ResourceNames resources;                        // the resource types its handles name
  std::shared_ptr<const abi::FunctionPlan> plan;  // for calling it (kLift), built once per type
};

class ComponentInstance {
 public:
  ~ComponentInstance();

  // The exported function `interface_name#function` (interface empty for a bare function).
  const LiftedExport* FindExport(std::string_view interface_name, std::string_view function) const;
  const std::vector<LiftedExport>& exports() const;
  // The core instance that implements the first export (null when there is none), found
  // without building exports().
  engine::Instance* FirstExportInstance() const;
  // Every core instance, in creation order.
  const std::vector<std::unique_ptr<engine::Instance>>& core_instances() const {
    return core_instances_;
  }
  // True when any core instance trapped: the component must be discarded.
  bool poisoned() const;

  // The handles the component holds, and its resource types (defined and imported).
  ResourceTable& resource_table() { return table_; }
  const std::vector<std::unique_ptr<ResourceType>>& resource_types() const {
    return resource_types_;
  }
  // The resource type `name` declared by `interface_name` ("" matches any interface).
  const ResourceType* FindResource(std::string_view interface_name, std::string_view name) const;

  // Internal: a core import bound to an export of another core instance of the component.
  struct Forward {
    engine::Instance* target = nullptr;
    uint32_t index = 0;
    size_t params = 0;
    size_t results = 0;
  };
  struct ResourceBuiltin;  // internal: canon resource.new / rep / drop (core_bindings.h)

 private:
  friend class Linker;        // the walk (linker.cc)
  friend class LinkReplayer;  // link-plan replays (link_plan.cc)
  friend struct CoreBindings;
  ComponentInstance() = default;

  std::vector<std::shared_ptr<const engine::Module>> modules_;
  std::vector<std::unique_ptr<engine::Instance>> core_instances_;
  PinnedList<Forward> forwards_;  // the bindings point at its elements
  // Slots core imports are bound to in place of a trampoline table (link_plan_elision.cc).
  std::unique_ptr<engine::HostBinding[]> slots_;
  std::vector<std::unique_ptr<ResourceBuiltin>> builtins_;
  std::vector<std::unique_ptr<ValueImport>> value_imports_;  // calls between component instances
  // An instance replayed from a link plan builds its exports from the plan when first asked for
  // them: the runtime calls a component by core export index and never asks.
  std::shared_ptr<const LinkPlan> plan_;
  mutable std::vector<LiftedExport> exports_;
  mutable bool exports_pending_ = false;
  std::vector<std::unique_ptr<ResourceType>> resource_types_;
  ResourceTable table_;
};

// The abi::FunctionType of each component function type, converted once, and the resource
// types its handles name: instantiating the same component again (every spawn of an actor) then
// converts and walks nothing. Thread-safe.
class FunctionTypeCache {
 public:
  struct Entry {
    std::shared_ptr<const abi::FunctionType> type;
    std::vector<const TypeDef*> resources;  // the kResource TypeDefs of its own/borrow handles
    // Canonical-ABI plans for calling it as an export and serving it as an import; absent when
    // the type is beyond AbiLimits (the call then reports why).
    std::shared_ptr<const abi::FunctionPlan> lift_plan;
    std::shared_ptr<const abi::FunctionPlan> lower_plan;
  };
  Result<const Entry*> Get(const TypeDef& type);

 private:
  std::mutex mu_;
  std::map<const TypeDef*, Entry> entries_;  // entries never move: std::map nodes are stable
};

// What instantiating one component learns the first time and every later instantiation reuses:
// its function types (FunctionTypeCache) and its link plan, the steps the first instantiation
// took with every value it met named by position (the n-th core instance, host import or
// resource type) instead of by pointer. A later instantiation replays the steps: it creates the
// same core instances, binds the same imports and lifts the same exports without walking the
// component's index spaces again (which cost a spawn of a small component about a quarter of its
// CPU). Only an instantiation that succeeded leaves a plan. Thread-safe; must only ever be used
// with one component.
class LinkCache {
 public:
  LinkCache();
  ~LinkCache();
  FunctionTypeCache& types() { return types_; }
  std::shared_ptr<const LinkPlan> plan() const;
  void set_plan(std::shared_ptr<const LinkPlan> plan);  // keeps the first one given

 private:
  FunctionTypeCache types_;
  mutable std::mutex mu_;
  std::shared_ptr<const LinkPlan> plan_;
};

// Supplies the compiled form of a core module the component (`owner`, the root or a nested
// component) defines; `name` is for messages.
using CoreModuleLoader = std::function<Result<std::shared_ptr<const engine::Module>>(
    const Component& owner, const CoreModule& module, const std::string& name)>;

// Instantiates `component`, its core modules supplied by `loader`; `options` applies to every
// core instance (memory cap, user data, the shared host error slot).
// `cache`, when given, must only ever be used with this `component` (and the same `loader`):
// with a plan in it the instantiation replays the plan, without one it leaves one there.
Result<std::unique_ptr<ComponentInstance>> Instantiate(const Component& component,
                                                       const CoreModuleLoader& loader,
                                                       ComponentHost& host,
                                                       const engine::InstanceOptions& options,
                                                       LinkCache* cache = nullptr);

// Compiles every core module of `component` and of its nested components with `engine`, and
// returns a loader that serves them without hashing or compiling again.
Result<CoreModuleLoader> PrepareCoreModules(const Component& component, engine::Engine& engine,
                                            const std::string& name);

// True when `bytes` start with a component's preamble rather than a core module's.
bool IsComponentBinary(std::span<const uint8_t> bytes);

}  // namespace theater::component
