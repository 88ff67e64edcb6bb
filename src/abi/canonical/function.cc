// Theater: a WebAssembly actor runtime.
//
// The value-level and function-level entry points of canonical.h, on top of Plan, Lifter and
// Lowerer.
#include <string>
#include <utility>
#include <vector>

#include "abi/canonical/lift.h"
#include "abi/canonical/lower.h"
#include "abi/canonical/plan.h"
#include "abi/canonical/vector_guest_memory.h"
#include "theater/abi/canonical.h"

namespace theater::abi {
namespace canonical_internal {

// Everything a FunctionPlan needs, built once.
struct FunctionData {
  Plan plan;
  std::vector<TypePtr> types;     // keeps the nodes' types alive
  std::vector<uint32_t> params;   // root node per parameter
  std::vector<uint32_t> results;  // root node per result
  uint32_t params_tuple = kNoNode;
  uint32_t results_tuple = kNoNode;
  std::vector<std::string> param_labels;  // "param 'name'", for messages
  std::vector<std::string> result_labels;
  CoreSignature signature;  // for the plan's context
};

}  // namespace canonical_internal

using canonical_internal::CheckRegion;
using canonical_internal::FunctionData;
using canonical_internal::kFlatCountClamp;
using canonical_internal::Lifter;
using canonical_internal::Lowerer;
using canonical_internal::Node;
using canonical_internal::Plan;
using canonical_internal::PlanBuilder;

namespace {

std::string CountMismatch(std::string_view what, size_t expected, size_t got) {
  return std::string(what) + ": expected " + std::to_string(expected) + ", got " +
         std::to_string(got);
}

Status Labeled(const Status& status, const std::string& label) {
  return status.ok() ? status : status.WithContext(label);
}

// The number of flat values of `roots`, or an error when a root is too large for flat form.
Result<size_t> FlatCount(const Plan& plan, std::span<const uint32_t> roots) {
  size_t total = 0;
  for (uint32_t root : roots) {
    const uint32_t count = plan.node(root).flat_count;
    if (count >= kFlatCountClamp) {
      return InvalidArgument(plan.Describe(root) + " flattens to too many core values");
    }
    total += count;
  }
  return total;
}

}  // namespace

Result<Value> Load(GuestMemory& memory, const Type& type, uint32_t ptr, const AbiLimits& limits) {
  PlanBuilder builder(limits);
  THEATER_ASSIGN_OR_RETURN(uint32_t root, builder.Add(type));
  const Plan plan = std::move(builder).Finish();
  const std::span<const uint8_t> bytes = memory.Bytes();
  THEATER_RETURN_IF_ERROR(CheckRegion(plan, root, ptr, bytes.size(), "value"));
  Lifter lifter(plan, bytes);
  THEATER_RETURN_IF_ERROR(lifter.ChargeRoot());
  return lifter.Load(root, ptr);
}

Status Store(GuestMemory& memory, const Type& type, const Value& value, uint32_t ptr,
             const AbiLimits& limits) {
  PlanBuilder builder(limits);
  THEATER_ASSIGN_OR_RETURN(uint32_t root, builder.Add(type));
  const Plan plan = std::move(builder).Finish();
  Lowerer lowerer(plan, memory);
  THEATER_RETURN_IF_ERROR(lowerer.Check(root, value));
  THEATER_RETURN_IF_ERROR(CheckRegion(plan, root, ptr, lowerer.bytes().size(), "destination"));
  return lowerer.Store(root, value, ptr);
}

Result<std::vector<Value>> LiftFlatValues(GuestMemory& memory, std::span<const TypePtr> types,
                                          std::span<const uint64_t> flat, const AbiLimits& limits) {
  PlanBuilder builder(limits);
  for (const TypePtr& type : types) THEATER_RETURN_IF_ERROR(builder.Add(type).status());
  const Plan plan = std::move(builder).Finish();
  THEATER_ASSIGN_OR_RETURN(size_t count, FlatCount(plan, plan.roots()));
  if (count != flat.size()) {
    return InvalidArgument(CountMismatch("flat values", count, flat.size()));
  }
  Lifter lifter(plan, memory.Bytes());
  std::vector<Value> values;
  values.reserve(types.size());
  size_t pos = 0;
  for (uint32_t root : plan.roots()) {
    THEATER_RETURN_IF_ERROR(lifter.ChargeRoot());
    THEATER_ASSIGN_OR_RETURN(Value value, lifter.LiftFlat(root, flat, &pos));
    values.push_back(std::move(value));
  }
  return values;
}

namespace {

// The plan of one value per type, once `values` holds as many values as there are types.
Result<Plan> PlanForValues(std::span<const TypePtr> types, std::span<const Value> values,
                           const AbiLimits& limits) {
  if (types.size() != values.size()) {
    return InvalidArgument(CountMismatch("values", types.size(), values.size()));
  }
  PlanBuilder builder(limits);
  for (const TypePtr& type : types) THEATER_RETURN_IF_ERROR(builder.Add(type).status());
  return std::move(builder).Finish();
}

// The first pass of lowering (Lowerer::Check) over every value.
Status CheckAll(const Plan& plan, Lowerer& lowerer, std::span<const Value> values) {
  for (size_t i = 0; i < values.size(); ++i) {
    THEATER_RETURN_IF_ERROR(lowerer.Check(plan.roots()[i], values[i]));
  }
  return Status::Ok();
}

}  // namespace

Status CheckValues(std::span<const TypePtr> types, std::span<const Value> values,
                   const AbiLimits& limits) {
  THEATER_ASSIGN_OR_RETURN(const Plan plan, PlanForValues(types, values, limits));
  // Check() reads no memory: an empty one stands in for the guest's.
  VectorGuestMemory none(0, 0);
  Lowerer lowerer(plan, none);
  return CheckAll(plan, lowerer, values);
}

Status LowerFlatValues(GuestMemory& memory, std::span<const TypePtr> types,
                       std::span<const Value> values, std::vector<uint64_t>* flat_out,
                       const AbiLimits& limits) {
  THEATER_ASSIGN_OR_RETURN(const Plan plan, PlanForValues(types, values, limits));
  THEATER_RETURN_IF_ERROR(FlatCount(plan, plan.roots()).status());
  Lowerer lowerer(plan, memory);
  THEATER_RETURN_IF_ERROR(CheckAll(plan, lowerer, values));
  flat_out->clear();
  for (size_t i = 0; i < values.size(); ++i) {
    THEATER_RETURN_IF_ERROR(lowerer.LowerFlat(plan.roots()[i], values[i], flat_out));
  }
  return Status::Ok();
}

Result<FunctionPlan> FunctionPlan::Build(const FunctionType& function, Context context,
                                         const AbiLimits& limits) {
  auto data = std::make_shared<FunctionData>();
  PlanBuilder builder(limits);
  for (const Field& param : function.params) {
    const std::string label = "param '" + param.name + "'";
    auto root = builder.Add(param.type);
    if (!root.ok()) return root.status().WithContext(label);
    data->params.push_back(*root);
    data->param_labels.push_back(label);
    data->types.push_back(param.type);
  }
  const std::vector<TypePtr> results = function.ResultTypes();
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string label =
        function.result ? std::string("result") : "result '" + function.named_results[i].name + "'";
    auto root = builder.Add(results[i]);
    if (!root.ok()) return root.status().WithContext(label);
    data->results.push_back(*root);
    data->result_labels.push_back(label);
    data->types.push_back(results[i]);
  }
  THEATER_ASSIGN_OR_RETURN(data->params_tuple, builder.AddTuple(data->params, "parameters"));
  THEATER_ASSIGN_OR_RETURN(data->results_tuple, builder.AddTuple(data->results, "results"));
  data->plan = std::move(builder).Finish();
  // Safe only now: the plan has bounded the depth and size of every type that Flatten walks.
  data->signature = LowerSignature(function, context);
  return FunctionPlan(std::move(data), context);
}

const CoreSignature& FunctionPlan::signature() const {
  return data_->signature;
}

const AbiLimits& FunctionPlan::limits() const {
  return data_->plan.limits();
}

Status FunctionPlan::RequireContext(Context wanted, std::string_view operation) const {
  if (context_ == wanted) return Status::Ok();
  return FailedPrecondition(
      std::string(operation) + " needs a plan built for " +
      (wanted == Context::kLift ? "an export (Context::kLift)" : "an import (Context::kLower)"));
}

Status FunctionPlan::LowerExportParams(GuestMemory& memory, std::span<const Value> params,
                                       std::vector<uint64_t>* flat_args) const {
  THEATER_RETURN_IF_ERROR(RequireContext(Context::kLift, "LowerExportParams"));
  const FunctionData& d = *data_;
  if (params.size() != d.params.size()) {
    return InvalidArgument(CountMismatch("parameters", d.params.size(), params.size()));
  }
  Lowerer lowerer(d.plan, memory);
  for (size_t i = 0; i < params.size(); ++i) {
    THEATER_RETURN_IF_ERROR(Labeled(lowerer.Check(d.params[i], params[i]), d.param_labels[i]));
  }
  flat_args->clear();
  flat_args->reserve(data_->signature.params.size());  // one allocation, not one per doubling
  if (!data_->signature.params_in_memory) {
    for (size_t i = 0; i < params.size(); ++i) {
      THEATER_RETURN_IF_ERROR(
          Labeled(lowerer.LowerFlat(d.params[i], params[i], flat_args), d.param_labels[i]));
    }
    return Status::Ok();
  }
  const Node& area = d.plan.node(d.params_tuple);
  THEATER_RETURN_IF_ERROR(lowerer.CountAllocation(area.size));
  THEATER_ASSIGN_OR_RETURN(uint32_t ptr, lowerer.Allocate(area.align, area.size, d.params_tuple));
  std::span<const canonical_internal::Child> slots = d.plan.children(area);
  for (size_t i = 0; i < params.size(); ++i) {
    THEATER_RETURN_IF_ERROR(Labeled(
        lowerer.Store(d.params[i], params[i], uint64_t{ptr} + slots[i].offset), d.param_labels[i]));
  }
  flat_args->push_back(ptr);
  return Status::Ok();
}

Result<std::vector<Value>> FunctionPlan::LiftExportResults(
    GuestMemory& memory, std::span<const uint64_t> flat_results) const {
  THEATER_RETURN_IF_ERROR(RequireContext(Context::kLift, "LiftExportResults"));
  const FunctionData& d = *data_;
  if (flat_results.size() != data_->signature.results.size()) {
    return InvalidArgument(
        CountMismatch("core results", data_->signature.results.size(), flat_results.size()));
  }
  const std::span<const uint8_t> bytes = memory.Bytes();
  Lifter lifter(d.plan, bytes);
  std::vector<Value> values;
  values.reserve(d.results.size());
  if (!data_->signature.results_in_memory) {
    size_t pos = 0;
    for (size_t i = 0; i < d.results.size(); ++i) {
      THEATER_RETURN_IF_ERROR(lifter.ChargeRoot());
      auto value = lifter.LiftFlat(d.results[i], flat_results, &pos);
      if (!value.ok()) return value.status().WithContext(d.result_labels[i]);
      values.push_back(std::move(value).value());
    }
    return values;
  }
  const auto ptr = static_cast<uint32_t>(flat_results[0]);
  THEATER_RETURN_IF_ERROR(CheckRegion(d.plan, d.results_tuple, ptr, bytes.size(), "result area"));
  std::span<const canonical_internal::Child> slots = d.plan.children(d.plan.node(d.results_tuple));
  for (size_t i = 0; i < d.results.size(); ++i) {
    THEATER_RETURN_IF_ERROR(lifter.ChargeRoot());
    auto value = lifter.Load(d.results[i], uint64_t{ptr} + slots[i].offset);
    if (!value.ok()) return value.status().WithContext(d.result_labels[i]);
    values.push_back(std::move(value).value());
  }
  return values;
}

Result<std::vector<Value>> FunctionPlan::LiftImportParams(
    GuestMemory& memory, std::span<const uint64_t> flat_args) const {
  THEATER_RETURN_IF_ERROR(RequireContext(Context::kLower, "LiftImportParams"));
  const FunctionData& d = *data_;
  if (flat_args.size() != data_->signature.params.size()) {
    return InvalidArgument(
        CountMismatch("core arguments", data_->signature.params.size(), flat_args.size()));
  }
  const std::span<const uint8_t> bytes = memory.Bytes();
  Lifter lifter(d.plan, bytes);
  std::vector<Value> values;
  values.reserve(d.params.size());
  if (!data_->signature.params_in_memory) {
    size_t pos = 0;  // a trailing return pointer, if any, is left for LowerImportResults
    for (size_t i = 0; i < d.params.size(); ++i) {
      THEATER_RETURN_IF_ERROR(lifter.ChargeRoot());
      auto value = lifter.LiftFlat(d.params[i], flat_args, &pos);
      if (!value.ok()) return value.status().WithContext(d.param_labels[i]);
      values.push_back(std::move(value).value());
    }
    return values;
  }
  const auto ptr = static_cast<uint32_t>(flat_args[0]);
  THEATER_RETURN_IF_ERROR(CheckRegion(d.plan, d.params_tuple, ptr, bytes.size(), "parameter area"));
  std::span<const canonical_internal::Child> slots = d.plan.children(d.plan.node(d.params_tuple));
  for (size_t i = 0; i < d.params.size(); ++i) {
    THEATER_RETURN_IF_ERROR(lifter.ChargeRoot());
    auto value = lifter.Load(d.params[i], uint64_t{ptr} + slots[i].offset);
    if (!value.ok()) return value.status().WithContext(d.param_labels[i]);
    values.push_back(std::move(value).value());
  }
  return values;
}

Status FunctionPlan::CheckImportReturnArea(GuestMemory& memory,
                                           std::span<const uint64_t> flat_args) const {
  THEATER_RETURN_IF_ERROR(RequireContext(Context::kLower, "CheckImportReturnArea"));
  if (!data_->signature.results_in_memory) return Status::Ok();
  if (flat_args.size() != data_->signature.params.size()) {
    return InvalidArgument(
        CountMismatch("core arguments", data_->signature.params.size(), flat_args.size()));
  }
  const auto retptr = static_cast<uint32_t>(flat_args.back());
  return CheckRegion(data_->plan, data_->results_tuple, retptr, memory.Bytes().size(),
                     "return area");
}

Status FunctionPlan::LowerImportResults(GuestMemory& memory, std::span<const Value> results,
                                        std::span<const uint64_t> flat_args,
                                        std::vector<uint64_t>* flat_results) const {
  THEATER_RETURN_IF_ERROR(RequireContext(Context::kLower, "LowerImportResults"));
  const FunctionData& d = *data_;
  if (results.size() != d.results.size()) {
    return InvalidArgument(CountMismatch("results", d.results.size(), results.size()));
  }
  if (flat_args.size() != data_->signature.params.size()) {
    return InvalidArgument(
        CountMismatch("core arguments", data_->signature.params.size(), flat_args.size()));
  }
  Lowerer lowerer(d.plan, memory);
  for (size_t i = 0; i < results.size(); ++i) {
    THEATER_RETURN_IF_ERROR(Labeled(lowerer.Check(d.results[i], results[i]), d.result_labels[i]));
  }
  flat_results->clear();
  flat_results->reserve(data_->signature.results.size());
  if (!data_->signature.results_in_memory) {
    for (size_t i = 0; i < results.size(); ++i) {
      THEATER_RETURN_IF_ERROR(
          Labeled(lowerer.LowerFlat(d.results[i], results[i], flat_results), d.result_labels[i]));
    }
    return Status::Ok();
  }
  const auto retptr = static_cast<uint32_t>(flat_args.back());
  THEATER_RETURN_IF_ERROR(
      CheckRegion(d.plan, d.results_tuple, retptr, lowerer.bytes().size(), "return area"));
  std::span<const canonical_internal::Child> slots = d.plan.children(d.plan.node(d.results_tuple));
  for (size_t i = 0; i < results.size(); ++i) {
    THEATER_RETURN_IF_ERROR(
        Labeled(lowerer.Store(d.results[i], results[i], uint64_t{retptr} + slots[i].offset),
                d.result_labels[i]));
  }
  return Status::Ok();
}

Result<std::vector<uint64_t>> LowerExportParams(GuestMemory& memory, const FunctionType& function,
                                                std::span<const Value> params,
                                                const AbiLimits& limits) {
  THEATER_ASSIGN_OR_RETURN(FunctionPlan plan,
                           FunctionPlan::Build(function, Context::kLift, limits));
  std::vector<uint64_t> flat;
  THEATER_RETURN_IF_ERROR(plan.LowerExportParams(memory, params, &flat));
  return flat;
}

Result<std::vector<Value>> LiftExportResults(GuestMemory& memory, const FunctionType& function,
                                             std::span<const uint64_t> flat_results,
                                             const AbiLimits& limits) {
  THEATER_ASSIGN_OR_RETURN(FunctionPlan plan,
                           FunctionPlan::Build(function, Context::kLift, limits));
  return plan.LiftExportResults(memory, flat_results);
}

Result<std::vector<Value>> LiftImportParams(GuestMemory& memory, const FunctionType& function,
                                            std::span<const uint64_t> flat_args,
                                            const AbiLimits& limits) {
  THEATER_ASSIGN_OR_RETURN(FunctionPlan plan,
                           FunctionPlan::Build(function, Context::kLower, limits));
  return plan.LiftImportParams(memory, flat_args);
}

Status LowerImportResults(GuestMemory& memory, const FunctionType& function,
                          std::span<const Value> results, std::span<const uint64_t> flat_args,
                          std::vector<uint64_t>* flat_results, const AbiLimits& limits) {
  THEATER_ASSIGN_OR_RETURN(FunctionPlan plan,
                           FunctionPlan::Build(function, Context::kLower, limits));
  return plan.LowerImportResults(memory, results, flat_args, flat_results);
}

}  // namespace theater::abi
