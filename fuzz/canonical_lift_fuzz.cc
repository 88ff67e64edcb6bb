// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for canonical ABI lifting: the input chooses a type (a random tree of bounded
// depth), a pointer and flat core values, and the rest becomes guest memory. Lifting must never
// crash, hang or allocate without bound, whatever the guest memory holds. Whenever a lift
// succeeds, the value is lowered back into the same memory and lifted again, and must come back
// identical (lift and lower agree).
//
// Built and run by scripts/fuzz.sh, in the sanitizer build (docs/canonical-abi.md).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "abi/canonical/vector_guest_memory.h"
#include "theater/abi/canonical.h"

namespace {

using theater::abi::AbiLimits;
using theater::abi::Case;
using theater::abi::Context;
using theater::abi::Field;
using theater::abi::FunctionPlan;
using theater::abi::FunctionType;
using theater::abi::Type;
using theater::abi::TypeKind;
using theater::abi::TypePtr;
using theater::abi::Value;
using theater::abi::VectorGuestMemory;

constexpr int kMaxDepth = 6;

// Keeps one input's work small: a lift may not materialise more than 1 MiB.
AbiLimits FuzzLimits() {
  AbiLimits limits;
  limits.max_list_length = 1 << 16;
  limits.max_string_length = 1 << 16;
  limits.max_total_bytes = 1 << 20;
  return limits;
}

std::vector<std::string> Labels(size_t n) {
  std::vector<std::string> labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = "l" + std::to_string(i);
  return labels;
}

// Builds a type from the input; `budget` caps the number of composite nodes.
TypePtr BuildType(FuzzedDataProvider& in, int depth, int* budget) {
  const bool leaf = depth >= kMaxDepth || *budget <= 0;
  const int choice = in.ConsumeIntegralInRange<int>(0, leaf ? 15 : 23);
  if (choice <= 12) return Type::Primitive(static_cast<TypeKind>(choice));  // bool .. string
  switch (choice) {
    case 13:
      return Type::Own("r");
    case 14:
      return Type::Enum("e", Labels(in.ConsumeIntegralInRange<size_t>(1, 300)));
    case 15:
      return Type::Flags("f", Labels(in.ConsumeIntegralInRange<size_t>(0, 70)));
    default:
      break;
  }
  --*budget;
  auto child = [&] { return BuildType(in, depth + 1, budget); };
  switch (choice) {
    case 16:
      return Type::List(child());
    case 17:
      return Type::List(Type::Primitive(TypeKind::kU8));
    case 18: {
      std::vector<Field> fields(in.ConsumeIntegralInRange<size_t>(1, 4));
      for (size_t i = 0; i < fields.size(); ++i) fields[i] = {"f" + std::to_string(i), child()};
      return Type::Record("r", std::move(fields));
    }
    case 19: {
      std::vector<TypePtr> elements(in.ConsumeIntegralInRange<size_t>(0, 4));
      for (TypePtr& e : elements) e = child();
      return Type::Tuple(std::move(elements));
    }
    case 20: {
      // Up to 300 cases so that 16-bit discriminants are exercised; few carry payloads.
      std::vector<Case> cases(in.ConsumeIntegralInRange<size_t>(1, 300));
      for (size_t i = 0; i < cases.size(); ++i) {
        cases[i].name = "c" + std::to_string(i);
        if (i < 4 && in.ConsumeBool()) cases[i].type = child();
      }
      return Type::Variant("v", std::move(cases));
    }
    case 21:
      return Type::Option(child());
    case 22: {
      TypePtr ok = in.ConsumeBool() ? child() : nullptr;
      TypePtr err = in.ConsumeBool() ? child() : nullptr;
      return Type::Result(std::move(ok), std::move(err));
    }
    default:
      return Type::Borrow("r");
  }
}

// A pointer that is usually near the interesting part of memory, sometimes anything at all.
uint32_t ChoosePointer(FuzzedDataProvider& in, uint32_t memory_size) {
  const uint32_t raw = in.ConsumeIntegral<uint32_t>();
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      return raw;
    case 1:
      return memory_size - (raw % 64);  // near the end, possibly past it
    default:
      return raw % 512;
  }
}

void Check(bool condition) {
  if (!condition) std::abort();
}

// A lifted value must lower back and lift again to itself.
void CheckReLift(VectorGuestMemory& memory, const TypePtr& type, const Value& value) {
  const AbiLimits limits = FuzzLimits();
  auto area = memory.Realloc(0, 0, theater::abi::AlignmentOf(*type), theater::abi::SizeOf(*type));
  if (!area.ok()) return;  // the fuzz memory's own limit; not what is under test
  theater::Status stored = theater::abi::Store(memory, *type, value, *area, limits);
  if (!stored.ok()) {
    // Only running out of guest memory (a trap, or the lowering budget, which counts guest bytes
    // where lifting counted host bytes) is acceptable: the value itself came from a lift.
    Check(stored.code() == theater::StatusCode::kTrap ||
          stored.code() == theater::StatusCode::kResourceExhausted);
    return;
  }
  auto again = theater::abi::Load(memory, *type, *area, limits);
  Check(again.ok());
  Check(*again == value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  int budget = 24;
  const TypePtr type = BuildType(in, 0, &budget);
  const int mode = in.ConsumeIntegralInRange<int>(0, 3);
  const uint32_t ptr_seed = in.ConsumeIntegral<uint32_t>();
  std::vector<uint64_t> flat(theater::abi::Flatten(*type).size());
  for (uint64_t& v : flat) {
    v = in.ConsumeBool() ? in.ConsumeIntegral<uint32_t>() : in.ConsumeIntegral<uint64_t>();
  }
  const std::vector<uint8_t> contents = in.ConsumeRemainingBytes<uint8_t>();
  VectorGuestMemory memory(contents, uint64_t{4} << 20);
  const auto memory_size = static_cast<uint32_t>(memory.Bytes().size());
  FuzzedDataProvider pointer_in(reinterpret_cast<const uint8_t*>(&ptr_seed), sizeof(ptr_seed));
  const uint32_t ptr = ChoosePointer(pointer_in, memory_size);
  const AbiLimits limits = FuzzLimits();

  switch (mode) {
    case 0: {
      auto value = theater::abi::Load(memory, *type, ptr, limits);
      if (value.ok()) CheckReLift(memory, type, *value);
      break;
    }
    case 1: {
      const TypePtr types[] = {type};
      auto values = theater::abi::LiftFlatValues(memory, types, flat, limits);
      if (values.ok()) CheckReLift(memory, type, values->front());
      break;
    }
    case 2: {
      // Serving an import: flat arguments, or one parameter pointer when they do not fit.
      FunctionType function;
      function.params = {{"a", type}, {"b", type}};
      function.result = type;
      auto plan = FunctionPlan::Build(function, Context::kLower, limits);
      Check(plan.ok());
      std::vector<uint64_t> args(plan->signature().params.size());
      for (size_t i = 0; i < args.size(); ++i) args[i] = i < flat.size() ? flat[i] : ptr;
      if (plan->signature().params_in_memory) args[0] = ptr;
      auto values = plan->LiftImportParams(memory, args);
      if (values.ok()) {
        std::vector<uint64_t> results;
        theater::Status lowered =
            plan->LowerImportResults(memory, {&values->front(), 1}, args, &results);
        Check(lowered.ok() || lowered.code() == theater::StatusCode::kGuestError ||
              lowered.code() == theater::StatusCode::kTrap ||
              lowered.code() == theater::StatusCode::kResourceExhausted);
      }
      break;
    }
    default: {
      // Reading an export's results: flat, or through the returned pointer.
      FunctionType function;
      function.result = type;
      auto plan = FunctionPlan::Build(function, Context::kLift, limits);
      Check(plan.ok());
      std::vector<uint64_t> results(plan->signature().results.size());
      if (!results.empty()) results[0] = plan->signature().results_in_memory ? ptr : flat[0];
      auto values = plan->LiftExportResults(memory, results);
      if (values.ok()) CheckReLift(memory, type, values->front());
      break;
    }
  }
  return 0;
}
