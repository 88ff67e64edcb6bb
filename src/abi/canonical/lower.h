// Theater: a WebAssembly actor runtime.
//
// Lowerer: writes host Values into guest memory and flat core values by a Plan (CanonicalABI.md
// "Storing" and "Flat Lowering").
//
// Lowering is two passes. Check() walks the values against the plan without touching the guest:
// kinds must match the types, strings must be UTF-8, chars scalar values, and the sizes within
// AbiLimits. Only then do Store()/LowerFlat() call cabi_realloc and write. So a host-side mistake
// never leaves half a value allocated in the guest; the only failures of the second pass are the
// guest's own (a trapping or lying cabi_realloc), after which the instance is not to be trusted
// anyway.
//
// Guest memory may grow during the second pass (cabi_realloc can call memory.grow); the Lowerer
// re-reads GuestMemory::Bytes() after every allocation.
//
// One Lowerer serves one lower operation. Not thread-safe; short-lived, on the stack.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "abi/canonical/plan.h"
#include "theater/abi/canonical.h"
#include "theater/abi/value.h"
#include "theater/status.h"

namespace theater::abi::canonical_internal {

class Lowerer {
 public:
  Lowerer(const Plan& plan, GuestMemory& memory)
      : plan_(plan), memory_(memory), bytes_(memory.Bytes()) {}

  // First pass: validates `value` as a value of `node` and adds up what storing it will allocate.
  Status Check(uint32_t node, const Value& value);

  // Second pass. Store writes at `ptr`, whose region the caller has checked (CheckRegion or
  // Allocate); LowerFlat appends node.flat_count core values to `out`.
  Status Store(uint32_t node, const Value& value, uint64_t ptr);
  Status LowerFlat(uint32_t node, const Value& value, std::vector<uint64_t>* out);

  // Counts an allocation the caller will make itself (the parameter area of an export call)
  // against AbiLimits::max_total_bytes.
  Status CountAllocation(uint64_t bytes);

  // Calls cabi_realloc(0, 0, align, size) and checks the guest's answer; `node` is what the
  // memory is for, for messages.
  Result<uint32_t> Allocate(uint32_t align, uint32_t size, uint32_t node);

  std::span<uint8_t> bytes() const { return bytes_; }

 private:
  Status CheckString(const std::string& value);
  Status CheckFields(uint32_t node, const Value& value);
  Status CheckList(uint32_t node, const Value& value);
  Status CheckVariant(uint32_t node, const Value& value);
  // Allocates and fills the elements of a string or list; returns (ptr, length).
  Result<std::pair<uint32_t, uint32_t>> StoreContents(uint32_t node, const Value& value);

  const Plan& plan_;
  GuestMemory& memory_;
  std::span<uint8_t> bytes_;
  uint64_t allocated_ = 0;  // bytes the checked values will allocate
};

}  // namespace theater::abi::canonical_internal
