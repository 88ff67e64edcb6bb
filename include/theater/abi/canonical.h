// Theater: a WebAssembly actor runtime.
//
// The host side of the component model's canonical ABI: how WIT values are laid out in a guest's
// linear memory and flattened into core wasm parameters and results, and how the host lifts
// (reads) and lowers (writes) them. Only the UTF-8 string encoding is supported, which is what
// every guest toolchain Theater targets produces.
//
// Layers, from cheap and pure to stateful:
//   * layout and flattening (SizeOf, AlignmentOf, Flatten, LowerSignature): pure functions of a
//     well-formed Type tree, as the WIT parser produces it;
//   * lifting and lowering single values (Load, Store, LiftFlatValues, LowerFlatValues);
//   * FunctionPlan: everything about one function precomputed once (layouts, the core signature,
//     where parameters and results travel), so that a call costs only the copying of its values.
//     The engine builds one plan per export it calls and per import it serves.
//
// Hostile guests: every pointer and length read from a guest is bounds-checked with 64-bit
// arithmetic, alignment is checked as the specification says, strings must be UTF-8 and chars
// Unicode scalar values, discriminants and flags must be in range. A guest that breaks the
// contract gets a Status with code kGuestError naming the offending value and address; a guest
// asking for more than AbiLimits allows gets kResourceExhausted. Nothing here crashes or makes
// an allocation whose size a guest chose beyond those limits. Host-side mistakes (a Value that
// does not match its Type, a string that is not UTF-8) are kInvalidArgument.
//
// Thread-safety: the free functions are reentrant. A FunctionPlan is immutable after Build and
// may be shared by any number of threads; each call needs its own GuestMemory.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "theater/abi/type.h"
#include "theater/abi/value.h"
#include "theater/status.h"

namespace theater::abi {

// ---------------------------------------------------------------------------------------------
// Guest memory

// One guest instance's linear memory and allocator, as lifting and lowering see them. The engine
// implements it over a live instance; VectorGuestMemory (src/abi/canonical/) is a test double.
//
// Bytes() may return a different span after Realloc (the guest may grow its memory), so callers
// re-fetch it after every Realloc. Implementations are not expected to be thread-safe: a guest
// instance runs one call at a time.
class GuestMemory {
 public:
  virtual ~GuestMemory() = default;
  virtual std::span<uint8_t> Bytes() = 0;
  // Calls the guest's cabi_realloc(old_ptr, old_size, align, new_size). The returned pointer is
  // untrusted: lowering checks its alignment and bounds itself.
  virtual Result<uint32_t> Realloc(uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                   uint32_t new_size) = 0;
};

// ---------------------------------------------------------------------------------------------
// Limits

// What one lift or one lower may cost, so that a guest cannot make the host allocate or loop
// without bound. Exceeding a limit is kResourceExhausted.
struct AbiLimits {
  // Elements in one list (list<u8> included). Guards lists of zero-sized elements, which pass
  // every bounds check.
  uint32_t max_list_length = 16u << 20;  // 16 Mi elements
  // Bytes in one string.
  uint32_t max_string_length = 16u << 20;  // 16 MiB
  // Lift: host memory one lift may produce, counted as string and list<u8> contents plus
  // sizeof(Value) for every other value created. Lower: guest memory one lower may allocate
  // through cabi_realloc (sum of the requested sizes).
  uint64_t max_total_bytes = uint64_t{64} << 20;  // 64 MiB
  // Nesting depth of a type (u32 is 1, list<u32> is 2, option<list<u32>> is 3). Checked when a
  // plan is built, before any memory is touched. Lifting and lowering through a plan recurse once
  // per level, ~0.35 KiB of stack each (g++ 12 -O2): 32 levels stay near 11 KiB, within the
  // 16 KiB an engine keeps free for host code on a guest's fiber. Building a plan takes ~0.7 KiB
  // per level, so plans are built outside guest calls. Real WIT types nest fewer than 10 deep.
  uint32_t max_depth = 32;
};

// ---------------------------------------------------------------------------------------------
// Layout

// Size and alignment of a value of `type` in linear memory (CanonicalABI.md "Alignment" and
// "Element Size"). Sizes that would exceed 4 GiB saturate at UINT32_MAX; plans reject such types.
uint32_t SizeOf(const Type& type);
uint32_t AlignmentOf(const Type& type);

// Bytes of the discriminant of a variant (enum, option, result) with `case_count` cases: 1 up to
// 256 cases, 2 up to 65536, else 4.
uint32_t DiscriminantSize(uint64_t case_count);

// Offsets of the fields of a record or the elements of a tuple; empty for other kinds.
std::vector<uint32_t> FieldOffsets(const Type& type);

// Offset of the payload of a variant, enum, option or result (the discriminant, padded to the
// largest payload alignment); 0 for other kinds.
uint32_t PayloadOffset(const Type& type);

// ---------------------------------------------------------------------------------------------
// Flattening

enum class CoreType : uint8_t { kI32, kI64, kF32, kF64 };

inline constexpr size_t kMaxFlatParams = 16;
inline constexpr size_t kMaxFlatResults = 1;

// The letter the engine uses for a core type: i (i32), I (i64), f (f32), F (f64).
char CoreTypeLetter(CoreType type);
// The letters of a list of core types, e.g. "iiI".
std::string CoreTypeLetters(std::span<const CoreType> types);

// The core value types a value of `type` flattens to, with variant payloads joined slot by slot
// (i32 and f32 join to i32, any other mix to i64).
std::vector<CoreType> Flatten(const Type& type);
CoreType Join(CoreType a, CoreType b);

// Which side of the boundary the host is on for a function.
enum class Context : uint8_t {
  kLift,   // a guest export the host calls ("canon lift")
  kLower,  // a guest import the host serves ("canon lower")
};

// The core wasm signature of a WIT function.
struct CoreSignature {
  std::vector<CoreType> params;
  std::vector<CoreType> results;
  // More than kMaxFlatParams flat parameters: params is one i32 pointer to a tuple of them. For an
  // export the host allocates it with cabi_realloc; for an import the guest passes it.
  bool params_in_memory = false;
  // More than kMaxFlatResults flat results. For an export the guest returns an i32 pointer to
  // them; for an import the guest passes a return pointer as an extra trailing i32 parameter,
  // the host writes the results there, and the core function returns nothing.
  bool results_in_memory = false;

  std::string ParamLetters() const { return CoreTypeLetters(params); }
  std::string ResultLetters() const { return CoreTypeLetters(results); }
  // True when a module's function with these signature strings is the one WIT describes.
  bool Matches(std::string_view param_letters, std::string_view result_letters) const;

  friend bool operator==(const CoreSignature&, const CoreSignature&) = default;
};

CoreSignature LowerSignature(const FunctionType& function, Context context);

// ---------------------------------------------------------------------------------------------
// Values
//
// Flat values travel as uint64_t, the engine's calling convention: i32 zero-extended, i64 as is,
// f32 and f64 as their bit patterns (f32 zero-extended). NaNs are canonicalised in both directions
// (0x7fc00000, 0x7ff8000000000000) so that a recorded call replays bit for bit.

// Reads a value of `type` stored at `ptr`. The pointer must be aligned for `type` and the value
// inside guest memory (kGuestError otherwise).
Result<Value> Load(GuestMemory& memory, const Type& type, uint32_t ptr,
                   const AbiLimits& limits = {});

// Writes `value` at `ptr`, allocating strings and lists through cabi_realloc. The value is checked
// against the type first: a mismatch fails before guest memory is touched.
Status Store(GuestMemory& memory, const Type& type, const Value& value, uint32_t ptr,
             const AbiLimits& limits = {});

// Lifts one value per type from flat core values; `flat` must hold exactly the flattening of
// `types` (kInvalidArgument otherwise).
Result<std::vector<Value>> LiftFlatValues(GuestMemory& memory, std::span<const TypePtr> types,
                                          std::span<const uint64_t> flat,
                                          const AbiLimits& limits = {});

// Checks one value per type as lowering them would (kinds, field and case counts, payloads,
// UTF-8, chars, the sizes within `limits`) without touching any memory: for values that come from
// elsewhere than a lift (a chain's record) before code that assumes their shape reads them.
// Errors name the type and where in it the first mismatch is.
Status CheckValues(std::span<const TypePtr> types, std::span<const Value> values,
                   const AbiLimits& limits = {});

// Lowers one value per type to flat core values, replacing the contents of `flat_out`.
Status LowerFlatValues(GuestMemory& memory, std::span<const TypePtr> types,
                       std::span<const Value> values, std::vector<uint64_t>* flat_out,
                       const AbiLimits& limits = {});

// ---------------------------------------------------------------------------------------------
// Functions

namespace canonical_internal {
struct FunctionData;
}

// One WIT function compiled for the side of the boundary the host is on. Build it once (at link
// time) and reuse it for every call: lifting and lowering through a plan makes no allocation
// beyond the values themselves and the guest's own cabi_realloc calls.
//
// A FunctionPlan is a cheap, copyable, immutable handle; any thread may use it.
class FunctionPlan {
 public:
  // Fails with kInvalidArgument for a malformed type (a missing element type) and with
  // kResourceExhausted for a type nested deeper than limits.max_depth or larger than 4 GiB.
  static Result<FunctionPlan> Build(const FunctionType& function, Context context,
                                    const AbiLimits& limits = {});

  Context context() const { return context_; }
  const CoreSignature& signature() const;
  const AbiLimits& limits() const;

  // Calling an export (context kLift).
  //
  // Lowers the arguments into `flat_args` (replaced), allocating the parameter area through
  // cabi_realloc when they do not fit in kMaxFlatParams core values.
  Status LowerExportParams(GuestMemory& memory, std::span<const Value> params,
                           std::vector<uint64_t>* flat_args) const;
  // Lifts what the export returned, reading through the returned pointer when the results do not
  // fit in kMaxFlatResults core values. The caller runs cabi_post_return afterwards.
  Result<std::vector<Value>> LiftExportResults(GuestMemory& memory,
                                               std::span<const uint64_t> flat_results) const;

  // Serving an import (context kLower).
  //
  // Lifts the guest's arguments (through the parameter pointer when they are in memory).
  Result<std::vector<Value>> LiftImportParams(GuestMemory& memory,
                                              std::span<const uint64_t> flat_args) const;
  // Checks the return area the guest passed (its trailing return pointer, when the results
  // travel in memory) for alignment and bounds; OK when the results travel flat. Memory never
  // shrinks, so an area that passes stays valid: the host checks it before serving the call,
  // so that a call whose results could never be delivered has no effects.
  Status CheckImportReturnArea(GuestMemory& memory, std::span<const uint64_t> flat_args) const;
  // Lowers the host's results: into `flat_results` (replaced), or, when they travel in memory,
  // into the return area whose pointer is the last of `flat_args` (flat_results is then cleared).
  Status LowerImportResults(GuestMemory& memory, std::span<const Value> results,
                            std::span<const uint64_t> flat_args,
                            std::vector<uint64_t>* flat_results) const;

 private:
  FunctionPlan(std::shared_ptr<const canonical_internal::FunctionData> data, Context context)
      : data_(std::move(data)), context_(context) {}

  Status RequireContext(Context wanted, std::string_view operation) const;

  // Everything but the context is shared by the copies (the core signature too): copying a
  // plan allocates nothing.
  std::shared_ptr<const canonical_internal::FunctionData> data_;
  Context context_;
};

// One-shot forms of the FunctionPlan operations: they build a plan for every call, which costs a
// few allocations. Prefer a stored FunctionPlan on hot paths.
Result<std::vector<uint64_t>> LowerExportParams(GuestMemory& memory, const FunctionType& function,
                                                std::span<const Value> params,
                                                const AbiLimits& limits = {});
Result<std::vector<Value>> LiftExportResults(GuestMemory& memory, const FunctionType& function,
                                             std::span<const uint64_t> flat_results,
                                             const AbiLimits& limits = {});
Result<std::vector<Value>> LiftImportParams(GuestMemory& memory, const FunctionType& function,
                                            std::span<const uint64_t> flat_args,
                                            const AbiLimits& limits = {});
Status LowerImportResults(GuestMemory& memory, const FunctionType& function,
                          std::span<const Value> results, std::span<const uint64_t> flat_args,
                          std::vector<uint64_t>* flat_results, const AbiLimits& limits = {});

}  // namespace theater::abi
