// Theater: a WebAssembly actor runtime.
//
// Lifter: reads Values out of guest memory and flat core values by a Plan (CanonicalABI.md
// "Loading" and "Flat Lifting"). Everything it reads is untrusted; see canonical.h for the error
// contract.
//
// A Lifter serves one lift operation (one call's parameters or results): it holds that
// operation's budget (AbiLimits::max_total_bytes) and a view of guest memory, which lifting never
// changes (no guest code runs while lifting). Not thread-safe; short-lived, on the stack.
#pragma once

#include <cstdint>
#include <span>

#include "abi/canonical/plan.h"
#include "theater/abi/value.h"
#include "theater/status.h"

namespace theater::abi::canonical_internal {

class Lifter {
 public:
  Lifter(const Plan& plan, std::span<const uint8_t> memory)
      : plan_(plan), memory_(memory), budget_(plan.limits().max_total_bytes) {}

  // Charges the top-level Value itself; call once per value returned to the caller.
  Status ChargeRoot() { return Charge(sizeof(Value)); }

  // Loads the value of `node` at `ptr`. The caller has checked the region with CheckRegion.
  Result<Value> Load(uint32_t node, uint64_t ptr);

  // Lifts the value of `node` from flat[*pos...], advancing *pos by the node's flat count. The
  // caller has checked that `flat` holds enough values.
  Result<Value> LiftFlat(uint32_t node, std::span<const uint64_t> flat, size_t* pos);

 private:
  Status Charge(uint64_t bytes);
  Result<Value> Scalar(TypeKind kind, uint64_t bits) const;
  Result<Value> LoadString(uint32_t begin, uint32_t length);
  Result<Value> LoadFlags(uint32_t node, const uint8_t* p);
  Result<Value> LiftFlags(uint32_t node, std::span<const uint64_t> words);
  Result<Value> LoadList(uint32_t node, uint32_t begin, uint32_t length);
  Status CheckCase(uint32_t node, uint64_t case_index) const;
  // Record and tuple fields, and the case of a variant-shaped value, for both forms: the callback
  // lifts one field or the payload.
  template <typename FieldFn>
  Result<Value> LiftFields(uint32_t node, FieldFn lift_field);
  template <typename PayloadFn>
  Result<Value> LiftCase(uint32_t node, uint32_t case_index, PayloadFn lift_payload);
  Result<Value> Char(uint32_t code) const;

  const Plan& plan_;
  std::span<const uint8_t> memory_;
  uint64_t budget_;
};

}  // namespace theater::abi::canonical_internal
