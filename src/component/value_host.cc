// Theater: a WebAssembly actor runtime.
#include "component/value_host.h"

#include <utility>

namespace theater::component {
namespace {

Result<const ResourceType*> ResourceFor(const ResourceNames& resources, const abi::Type& handle) {
  auto it = resources.find(handle.resource_name);
  if (it == resources.end()) {
    return InternalError("no resource type named '" + handle.resource_name + "'");
  }
  return it->second;
}

// Handles the guest passes to the host (import parameters, export results) become
// representations; an own handle leaves the table.
HandleMapper FromGuest(const ResourceNames& resources, ResourceTable& table) {
  return [&resources, &table](const abi::Type& handle, uint32_t value) -> Result<uint32_t> {
    THEATER_ASSIGN_OR_RETURN(const ResourceType* type, ResourceFor(resources, handle));
    THEATER_ASSIGN_OR_RETURN(ResourceTable::Entry entry, table.Get(value, *type));
    if (handle.kind == abi::TypeKind::kBorrow) return entry.rep;
    if (!entry.own) {
      return GuestError("resource handle " + std::to_string(value) +
                        " is borrowed and cannot be given away");
    }
    THEATER_RETURN_IF_ERROR(table.Remove(value, *type).status());
    return entry.rep;
  };
}

// Representations the host passes to the guest (import results, export parameters) become
// handles, except a borrow of a resource the guest implements, which it gets as is.
HandleMapper ToGuest(const ResourceNames& resources, ResourceTable& table) {
  return [&resources, &table](const abi::Type& handle, uint32_t rep) -> Result<uint32_t> {
    THEATER_ASSIGN_OR_RETURN(const ResourceType* type, ResourceFor(resources, handle));
    if (handle.kind == abi::TypeKind::kOwn) return table.Insert(*type, rep, /*own=*/true);
    if (!type->host) return rep;
    return table.Insert(*type, rep, /*own=*/false, /*lent_for_call=*/true);
  };
}

}  // namespace

namespace {

int ServeImport(engine::Instance& caller, void* data, const uint64_t* args, uint64_t* results) {
  auto* b = static_cast<ValueImport*>(data);
  LoweredImport& import = b->import;
  std::span<const uint64_t> flat_args(args, b->plan.signature().params.size());
  Result<std::vector<abi::Value>> params = b->plan.LiftImportParams(import.memory, flat_args);
  if (!params.ok()) return caller.Fail(params.status().WithContext("arguments of " + b->where));
  HandleMapper from_guest = FromGuest(import.resources, *import.table);
  for (size_t i = 0; i < params->size(); ++i) {
    Status mapped = MapHandles(*import.type->params[i].type, (*params)[i], from_guest);
    if (!mapped.ok()) return caller.Fail(mapped.WithContext("arguments of " + b->where));
  }
  Result<std::vector<abi::Value>> output = b->fn(import, *params);
  if (!output.ok()) return caller.Fail(output.status().WithContext(b->where));
  std::vector<abi::TypePtr> result_types = import.type->ResultTypes();
  if (output->size() != result_types.size()) {
    return caller.Fail(InternalError(b->where + " returned " + std::to_string(output->size()) +
                                     " results, the function has " +
                                     std::to_string(result_types.size())));
  }
  HandleMapper to_guest = ToGuest(import.resources, *import.table);
  for (size_t i = 0; i < output->size(); ++i) {
    Status mapped = MapHandles(*result_types[i], (*output)[i], to_guest);
    if (!mapped.ok()) return caller.Fail(mapped.WithContext("results of " + b->where));
  }
  std::vector<uint64_t> flat_results;
  Status lowered = b->plan.LowerImportResults(import.memory, *output, flat_args, &flat_results);
  if (!lowered.ok()) return caller.Fail(lowered.WithContext("results of " + b->where));
  for (size_t i = 0; i < flat_results.size(); ++i) results[i] = flat_results[i];
  return 0;
}

}  // namespace

ValueHost::ValueHost() = default;
ValueHost::~ValueHost() = default;

void ValueHost::Define(std::string interface_name, std::string function, Function fn) {
  functions_[{std::move(interface_name), std::move(function)}] = std::move(fn);
}

void ValueHost::OnDrop(std::function<void(const ResourceType&, uint32_t)> fn) {
  on_drop_ = std::move(fn);
}

void ValueHost::BindResource(ResourceType& type) {
  type.on_host_drop = [this, &type](uint32_t rep) {
    if (on_drop_) on_drop_(type, rep);
  };
}

Result<HostImport> BindValueImport(const LoweredImport& import, ValueHost::Function fn,
                                   std::vector<std::unique_ptr<ValueImport>>* keep) {
  THEATER_ASSIGN_OR_RETURN(abi::FunctionPlan plan,
                           import.plan
                               ? Result<abi::FunctionPlan>(*import.plan)
                               : abi::FunctionPlan::Build(*import.type, abi::Context::kLower));
  engine::FuncSig sig{plan.signature().ParamLetters(), plan.signature().ResultLetters()};
  std::string where = import.interface_name.empty() ? import.function
                                                    : import.interface_name + "#" + import.function;
  keep->push_back(std::make_unique<ValueImport>(
      ValueImport{std::move(fn), import, std::move(plan), std::move(where)}));
  return HostImport{engine::HostBinding{ServeImport, keep->back().get()}, std::move(sig)};
}

Result<HostImport> ValueHost::LowerImport(const LoweredImport& import) {
  auto it = functions_.find({import.interface_name, import.function});
  if (it == functions_.end()) return NotFound("the host does not provide this function");
  return BindValueImport(import, it->second, &bindings_);
}

Status GiveArgumentsToGuest(ComponentInstance& instance, const LiftedExport& e,
                            std::vector<abi::Value>& args) {
  if (args.size() != e.type->params.size()) {
    return InvalidArgument(e.interface_name + "#" + e.function + " takes " +
                           std::to_string(e.type->params.size()) + " arguments, not " +
                           std::to_string(args.size()));
  }
  HandleMapper to_guest = ToGuest(e.resources, instance.resource_table());
  for (size_t i = 0; i < args.size(); ++i) {
    THEATER_RETURN_IF_ERROR(MapHandles(*e.type->params[i].type, args[i], to_guest));
  }
  return Status::Ok();
}

Result<std::vector<abi::Value>> CallExport(ComponentInstance& instance, const LiftedExport& e,
                                           std::vector<abi::Value> args) {
  const std::string where =
      e.interface_name.empty() ? e.function : e.interface_name + "#" + e.function;
  if (args.size() != e.type->params.size()) {
    return InvalidArgument(where + " takes " + std::to_string(e.type->params.size()) +
                           " arguments, not " + std::to_string(args.size()));
  }
  ResourceTable& table = instance.resource_table();
  HandleMapper to_guest = ToGuest(e.resources, table);
  for (size_t i = 0; i < args.size(); ++i) {
    THEATER_RETURN_IF_ERROR_WITH_CONTEXT(MapHandles(*e.type->params[i].type, args[i], to_guest),
                                         "arguments of " + where);
  }
  THEATER_ASSIGN_OR_RETURN(abi::FunctionPlan plan,
                           e.plan ? Result<abi::FunctionPlan>(*e.plan)
                                  : abi::FunctionPlan::Build(*e.type, abi::Context::kLift));
  LinkedMemory memory = e.memory;
  std::vector<uint64_t> flat_args;
  std::vector<uint64_t> flat_results(plan.signature().results.size());
  Status status = plan.LowerExportParams(memory, args, &flat_args);
  if (status.ok()) status = e.instance->Call(e.index, flat_args, flat_results);
  Result<std::vector<abi::Value>> results = status.ok()
                                                ? plan.LiftExportResults(memory, flat_results)
                                                : Result<std::vector<abi::Value>>(status);
  if (results.ok()) {
    HandleMapper from_guest = FromGuest(e.resources, table);
    std::vector<abi::TypePtr> result_types = e.type->ResultTypes();
    for (size_t i = 0; i < results->size() && status.ok(); ++i) {
      status = MapHandles(*result_types[i], (*results)[i], from_guest);
    }
    if (status.ok() && e.post_return) {
      status = e.instance->Call(*e.post_return, flat_results, {});
    }
  } else {
    status = results.status();
  }
  if (status.ok() && table.call_borrows() != 0) {
    status = GuestError("returned without dropping " + std::to_string(table.call_borrows()) +
                        " borrowed handle(s) it was given");
  }
  table.RemoveCallBorrows();
  if (!status.ok()) return status.WithContext(where);
  return results;
}

Status DropResource(const ResourceType& type, uint32_t rep) {
  if (type.host) return InvalidArgument(type.QualifiedName() + " is implemented by the host");
  if (type.dtor_instance == nullptr) return Status::Ok();
  const uint64_t args[1] = {rep};
  return type.dtor_instance->Call(type.dtor_index, args, {})
      .WithContext("the destructor of " + type.QualifiedName());
}

}  // namespace theater::component
