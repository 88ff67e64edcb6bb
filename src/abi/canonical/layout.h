// Theater: a WebAssembly actor runtime.
//
// Layout arithmetic of the canonical ABI, shared by the pure layout functions of canonical.h
// (which walk a Type) and by plans (which compute each node once from its children). Keeping the
// rules in one place is what guarantees that SizeOf and a plan agree.
//
// Sizes are carried as uint64_t and clamped to kSizeClamp at every node, so no sum over a
// pathological type can overflow; anything above UINT32_MAX is "too large" for 32-bit memory.
//
// Thread-safety: pure functions and value types.
#pragma once

#include <cstdint>

#include "theater/abi/type.h"

namespace theater::abi::canonical_internal {

inline constexpr uint64_t kSizeClamp = uint64_t{1} << 33;
// Flat counts saturate here; only counts up to kMaxFlatParams + 1 ever matter for a signature.
inline constexpr uint32_t kFlatCountClamp = 1u << 20;

inline uint64_t AlignUp(uint64_t value, uint32_t align) {
  return (value + align - 1) / align * align;
}

struct Layout {
  uint64_t size = 0;
  uint32_t align = 1;
};

// Bool, integers, floats, char, string, list, own, borrow: the kinds whose layout does not depend
// on other types.
Layout LeafLayout(TypeKind kind);
Layout FlagsLayout(uint64_t label_count);
uint32_t FlagsFlatCount(uint64_t label_count);
uint32_t LeafFlatCount(TypeKind kind);

// Accumulates the fields of a record or tuple in order.
class RecordLayoutBuilder {
 public:
  // Returns the field's offset.
  uint64_t Add(const Layout& field);
  Layout Finish() const;

 private:
  uint64_t size_ = 0;
  uint32_t align_ = 1;
};

// Accumulates the payloads of a variant-shaped type (variant, enum, option, result).
class VariantLayoutBuilder {
 public:
  explicit VariantLayoutBuilder(uint64_t case_count);
  void AddPayload(const Layout& payload);
  Layout Finish() const;
  uint64_t payload_offset() const;
  uint32_t discriminant_size() const { return discriminant_size_; }

 private:
  uint32_t discriminant_size_;
  uint64_t max_payload_size_ = 0;
  uint32_t max_payload_align_ = 1;
};

uint64_t ClampSize(uint64_t size);
uint32_t ClampFlat(uint64_t count);

// Variant-shaped kinds, seen as the variant they despecialise to (CanonicalABI.md
// "Despecialization"): enum labels are payload-less cases, option is none|some(T), result is
// ok(T?)|err(E?).
inline bool IsVariantShaped(TypeKind kind) {
  return kind == TypeKind::kVariant || kind == TypeKind::kEnum || kind == TypeKind::kOption ||
         kind == TypeKind::kResult;
}

inline uint64_t CaseCount(const Type& type) {
  switch (type.kind) {
    case TypeKind::kVariant:
      return type.cases.size();
    case TypeKind::kEnum:
      return type.labels.size();
    case TypeKind::kOption:
    case TypeKind::kResult:
      return 2;
    default:
      return 0;
  }
}

// Calls fn(const TypePtr& payload) for each case in order; payload is null for a case without one.
template <typename Fn>
void ForEachCase(const Type& type, Fn&& fn) {
  static const TypePtr kNone;
  switch (type.kind) {
    case TypeKind::kVariant:
      for (const Case& c : type.cases) fn(c.type);
      return;
    case TypeKind::kEnum:
      for (size_t i = 0; i < type.labels.size(); ++i) fn(kNone);
      return;
    case TypeKind::kOption:
      fn(kNone);
      fn(type.element);
      return;
    case TypeKind::kResult:
      fn(type.ok);
      fn(type.err);
      return;
    default:
      return;
  }
}

}  // namespace theater::abi::canonical_internal
