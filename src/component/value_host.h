// Theater: a WebAssembly actor runtime.
//
// Running a component with the host working in abi::Values: ValueHost serves the component's
// imports with C++ functions, CallExport calls its exports, and both move resource handles across
// the boundary as the canonical ABI says, so the host sees representations, never handle numbers:
//
//   own<T> into the host   the guest's handle leaves its table; the host gets the representation
//   borrow<T> into the host    the host gets the representation; the handle stays
//   own<T> out of the host     a new owned handle in the guest's table
//   borrow<T> out of the host  a resource the guest implements: its representation itself;
//                              otherwise a borrowed handle that the guest must drop before the
//                              export returns (the call fails if it does not)
//
// A representation is the guest's i32 for a resource the component implements, and the host's
// own number for a resource it imports. A host that ends up owning a resource the component
// implements gives it back with DropResource, which runs the component's destructor.
//
// What this is for: hosts other than the actor runtime (the conformance test against jco, tools),
// and the WASI host. The actor runtime keeps its own core-level path (component_module.h), which
// needs no per-call Value conversion for the handlers it already has.
//
// Thread-safety: like the ComponentInstance, one call at a time. Ownership: the ValueHost must
// outlive every ComponentInstance instantiated with it (its imports point into it).
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "component/linker.h"
#include "theater/abi/value.h"
#include "theater/status.h"

namespace theater::component {

struct ValueImport;

class ValueHost : public ComponentHost {
 public:
  // Serves one import: `params` have their handles replaced by representations (see above); the
  // results' handles are representations too. An error traps the guest with it as the cause.
  using Function = std::function<Result<std::vector<abi::Value>>(const LoweredImport& import,
                                                                 std::vector<abi::Value>& params)>;

  ValueHost();
  ~ValueHost() override;

  // Serves `interface_name#function` (interface empty for a function imported on its own).
  void Define(std::string interface_name, std::string function, Function fn);
  // Called when the guest drops its last owned handle of a resource the host implements.
  void OnDrop(std::function<void(const ResourceType& type, uint32_t rep)> fn);

  Result<HostImport> LowerImport(const LoweredImport& import) override;
  void BindResource(ResourceType& type) override;

 private:
  std::map<std::pair<std::string, std::string>, Function> functions_;
  std::function<void(const ResourceType&, uint32_t)> on_drop_;
  std::vector<std::unique_ptr<ValueImport>> bindings_;
};

// One import served with abi::Values (what BindValueImport's binding points to).
struct ValueImport {
  ValueHost::Function fn;
  LoweredImport import;
  abi::FunctionPlan plan;
  std::string where;  // "interface#function", for messages
};

// A binding that serves `import` with `fn` as ValueHost does (lifting, moving handles, lowering),
// for hosts that pick functions themselves. The binding's data is kept in `keep`, which must
// outlive the instance.
Result<HostImport> BindValueImport(const LoweredImport& import, ValueHost::Function fn,
                                   std::vector<std::unique_ptr<ValueImport>>* keep);

// Calls the export `e` of `instance` with `args` (handles as representations) and returns its
// results likewise, running its post-return function afterwards.
Result<std::vector<abi::Value>> CallExport(ComponentInstance& instance, const LiftedExport& e,
                                           std::vector<abi::Value> args);

// Moves the host's representations in `args` (the params of `e`) into `instance`'s handle table,
// as CallExport does before a call: an own<T> becomes a handle the guest owns, a borrow<T> of a
// host resource one lent for the call. For callers that run the lowered call themselves.
Status GiveArgumentsToGuest(ComponentInstance& instance, const LiftedExport& e,
                            std::vector<abi::Value>& args);

// Gives back a resource the component implements that the host owns: runs its destructor.
Status DropResource(const ResourceType& type, uint32_t rep);

}  // namespace theater::component
