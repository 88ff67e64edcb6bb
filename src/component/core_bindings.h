// Theater: a WebAssembly actor runtime.
//
// CoreBindings: the core functions a component instance binds core imports to, besides the
// host's: a forward to another core instance's export, canon resource.new / rep / drop over the
// instance's table, and a function the component lifted, lowered again (components composed with
// each other). The linker's walk (linker.cc) and link-plan replays (link_plan.cc) both make them.
//
// Thread-safety: like the ComponentInstance they are made for. Ownership: what a binding points
// at is kept by that instance, and lives as long as it.
#pragma once

#include <cstdint>

#include "component/linker.h"

namespace theater::component {

// A resource builtin bound as a core function (the data of its binding).
struct ComponentInstance::ResourceBuiltin {
  Canon::Kind kind = Canon::Kind::kResourceNew;
  ComponentInstance* owner = nullptr;
  const ResourceType* type = nullptr;
};

struct CoreBindings {
  // A binding that calls export `index` of `target`, a core instance of `owner`, with `params`
  // arguments and `results` results.
  static engine::HostBinding BindForward(ComponentInstance& owner, engine::Instance* target,
                                         uint32_t index, size_t params, size_t results);
  // A binding that calls whatever `slot` holds when the call is made (a trampoline table's slot,
  // filled after the instance importing it is made: link_plan_elision.cc); a trap while empty.
  static engine::HostBinding BindSlot(engine::HostBinding& slot);
  // canon resource.new, resource.rep or resource.drop (`kind`) of `type`, over `owner`'s table.
  static HostImport BindResourceBuiltin(ComponentInstance& owner, Canon::Kind kind,
                                        const ResourceType* type);
  // Serves `import` by calling `callee`, a function `owner` lifted: the arguments are lifted out
  // of the caller's memory and lowered into the callee's, and the results come back the same
  // way, as abi::Values (value_host.h).
  static Result<HostImport> BindLifted(ComponentInstance& owner, const LoweredImport& import,
                                       const LiftedExport& callee);
};

}  // namespace theater::component
