// Theater: a WebAssembly actor runtime.
//
// LinkPlan: the steps one instantiation of a component took, each value it met named by position
// (the n-th core instance, host import or resource type) instead of by pointer, so that later
// instantiations of the same component replay them (ReplayLinkPlan) instead of walking its index
// spaces again (LinkCache in linker.h; docs/components.md, "Link plans"). The linker's walk
// records a plan (linker.cc); this file replays it.
//
// The glue modules the component tools put around a main module (a trampoline table, its filler,
// a start forwarder: trampolines.h) are not instantiated by replays: ElideGlueInstances rewrites
// a recorded plan so that the main module's imports go through slots the replay fills with the
// lowered functions, and the start forwarder becomes a call.
//
// Thread-safety: a plan is immutable once recorded and shared by concurrent replays. Ownership:
// a replayed ComponentInstance keeps its plan (it builds its exports from it on first use).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "component/linker.h"

namespace theater::component {

// Positions name what each instantiation makes anew: the n-th core instance (in creation order),
// the n-th host import (lowered import, lifted function lowered again, or resource builtin, in
// creation order) and the n-th resource type.
struct LinkPlan {
  // An export of the n-th core instance: a function (by export index) or a memory, table or
  // global (by extern export index).
  struct CoreRef {
    uint32_t instance = 0;
    uint32_t index = 0;
  };
  // What one core import was bound to, in the order the module asked for them.
  struct Binding {
    enum class Kind : uint8_t { kForward, kHost, kExtern, kSlot } kind = Kind::kForward;
    CoreRef target;       // kForward: the function; kExtern: the memory, table or global
    uint32_t host = 0;    // kHost: the host import
    uint32_t slot = 0;    // kSlot: the slot (filled by a later kFillSlots step)
    uint32_t params = 0;  // kForward: the function's core arity
    uint32_t results = 0;
  };
  // kFillSlots: slot `slot` gets what `content` binds (kHost or kForward); a host import's core
  // signature must be `sig`.
  struct SlotFill {
    uint32_t slot = 0;
    Binding content;
    engine::FuncSig sig;
  };
  struct Memory {
    std::optional<CoreRef> memory;   // an extern export
    std::optional<CoreRef> realloc;  // a function export
  };
  struct ResourceName {
    std::string name;
    uint32_t resource = 0;
  };
  // A lowered import or a lifted export without what points into one instantiation.
  struct Lowered {
    LoweredImport import;  // memory, resources and table blank
    Memory memory;
    std::vector<ResourceName> resources;
    std::string where;  // "import 'interface.function'", for messages
  };
  struct Lifted {
    LiftedExport function;  // instance, memory and resources blank
    uint32_t instance = 0;
    Memory memory;
    std::vector<ResourceName> resources;
  };
  struct Resource {
    bool host = false;
    std::string interface_name;
    std::string name;
    std::optional<CoreRef> dtor;  // defined resources with a destructor
  };
  struct Step {
    enum class Kind : uint8_t {
      kCoreInstance,
      kLower,
      kLowerLifted,
      kBuiltin,
      kFillSlots,
      kRunStart
    } kind = Kind::kCoreInstance;
    // kCoreInstance
    std::shared_ptr<const engine::Module> module;
    std::vector<Binding> bindings;
    std::string where;  // "component: core instance 2", for messages (also kRunStart's)
    // The module's bytes, for ElideGlueInstances only: they belong to the component, and are
    // cleared once it has run.
    std::span<const uint8_t> wasm;
    // kFillSlots
    std::vector<SlotFill> fills;
    // kRunStart: the function a start forwarder ran, called with the start timeout
    CoreRef start;
    // kLower, kLowerLifted (the lowered side)
    Lowered lowered;
    // kLowerLifted: the function lowered again
    Lifted callee;
    // kBuiltin
    Canon::Kind builtin = Canon::Kind::kResourceDrop;
    uint32_t resource = 0;
  };

  std::vector<Resource> resources;  // created first, in this order
  std::vector<Step> steps;
  size_t core_instances = 0;  // how many kCoreInstance steps there are
  size_t slots = 0;           // how many slots kSlot bindings name
  std::vector<Lifted> exports;
};

// Rewrites a plan recorded by a walk so that its replays skip the glue instances it recognises
// (trampolines.h): each trampoline table with its filler becomes slots, each start forwarder a
// kRunStart step. Whatever it does not recognise, or finds used in any other way, stays as
// recorded. Clears the steps' `wasm`.
void ElideGlueInstances(LinkPlan& plan);

// Instantiates a component again as `plan` says, with `host` serving its imports anew (its
// signatures checked as the walk checks them) and `options` for every core instance. An error is
// the one the walk would have given.
Result<std::unique_ptr<ComponentInstance>> ReplayLinkPlan(std::shared_ptr<const LinkPlan> plan,
                                                          ComponentHost& host,
                                                          const engine::InstanceOptions& options);

}  // namespace theater::component
