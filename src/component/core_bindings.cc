// Theater: a WebAssembly actor runtime.
#include "component/core_bindings.h"

#include <memory>
#include <utility>
#include <vector>

#include "component/value_host.h"

namespace theater::component {
namespace {

// canon resource.new (rep -> handle), resource.rep (handle -> rep), resource.drop (handle).
int ResourceBuiltinCall(engine::Instance& caller, void* data, const uint64_t* args,
                        uint64_t* results) {
  auto* builtin = static_cast<ComponentInstance::ResourceBuiltin*>(data);
  ResourceTable& table = builtin->owner->resource_table();
  const ResourceType& type = *builtin->type;
  const auto value = static_cast<uint32_t>(args[0]);
  switch (builtin->kind) {
    case Canon::Kind::kResourceNew: {
      Result<uint32_t> handle = table.Insert(type, value, /*own=*/true);
      if (!handle.ok()) return caller.Fail(handle.status().WithContext("resource.new"));
      results[0] = *handle;
      return 0;
    }
    case Canon::Kind::kResourceRep: {
      Result<ResourceTable::Entry> entry = table.Get(value, type);
      if (!entry.ok()) return caller.Fail(entry.status().WithContext("resource.rep"));
      results[0] = entry->rep;
      return 0;
    }
    default: {
      Result<ResourceTable::Entry> entry = table.Remove(value, type);
      if (!entry.ok()) return caller.Fail(entry.status().WithContext("resource.drop"));
      if (!entry->own) return 0;
      if (type.host) {
        if (type.on_host_drop) type.on_host_drop(entry->rep);
        return 0;
      }
      if (type.dtor_instance == nullptr) return 0;
      const uint64_t rep[1] = {entry->rep};
      Status status = type.dtor_instance->Call(type.dtor_index, rep, {});
      return status.ok()
                 ? 0
                 : caller.Fail(status.WithContext("the destructor of " + type.QualifiedName()));
    }
  }
}

int ForwardCall(engine::Instance& caller, void* data, const uint64_t* args, uint64_t* results) {
  auto* forward = static_cast<ComponentInstance::Forward*>(data);
  Status status =
      forward->target->Call(forward->index, {args, forward->params}, {results, forward->results});
  return status.ok() ? 0 : caller.Fail(std::move(status));
}

int SlotCall(engine::Instance& caller, void* data, const uint64_t* args, uint64_t* results) {
  auto* slot = static_cast<engine::HostBinding*>(data);
  if (slot->fn == nullptr) [[unlikely]] {
    return caller.Fail(
        TrapError("uninitialized table element: an import called before the "
                  "component linked it"));
  }
  return slot->fn(caller, slot->data, args, results);
}

}  // namespace

engine::HostBinding CoreBindings::BindSlot(engine::HostBinding& slot) {
  return engine::HostBinding{SlotCall, &slot};
}

engine::HostBinding CoreBindings::BindForward(ComponentInstance& owner, engine::Instance* target,
                                              uint32_t index, size_t params, size_t results) {
  ComponentInstance::Forward& forward = owner.forwards_.emplace_back();
  forward.target = target;
  forward.index = index;
  forward.params = params;
  forward.results = results;
  return engine::HostBinding{ForwardCall, &forward};
}

HostImport CoreBindings::BindResourceBuiltin(ComponentInstance& owner, Canon::Kind kind,
                                             const ResourceType* type) {
  auto builtin = std::make_unique<ComponentInstance::ResourceBuiltin>();
  builtin->kind = kind;
  builtin->owner = &owner;
  builtin->type = type;
  HostImport bound{engine::HostBinding{ResourceBuiltinCall, builtin.get()},
                   engine::FuncSig{"i", kind == Canon::Kind::kResourceDrop ? "" : "i"}};
  owner.builtins_.push_back(std::move(builtin));
  return bound;
}

Result<HostImport> CoreBindings::BindLifted(ComponentInstance& owner, const LoweredImport& import,
                                            const LiftedExport& callee) {
  ComponentInstance* instance = &owner;
  auto target = std::make_shared<const LiftedExport>(callee);
  ValueHost::Function call = [instance, target](const LoweredImport&,
                                                std::vector<abi::Value>& params) {
    return CallExport(*instance, *target, std::move(params));
  };
  return BindValueImport(import, std::move(call), &owner.value_imports_);
}

}  // namespace theater::component
