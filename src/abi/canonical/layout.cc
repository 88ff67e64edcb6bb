// Theater: a WebAssembly actor runtime.
#include "abi/canonical/layout.h"

#include <algorithm>

#include "theater/abi/canonical.h"

namespace theater::abi {
namespace canonical_internal {

uint64_t ClampSize(uint64_t size) {
  return std::min(size, kSizeClamp);
}

uint32_t ClampFlat(uint64_t count) {
  return static_cast<uint32_t>(std::min<uint64_t>(count, kFlatCountClamp));
}

Layout LeafLayout(TypeKind kind) {
  switch (kind) {
    case TypeKind::kBool:
    case TypeKind::kS8:
    case TypeKind::kU8:
      return {1, 1};
    case TypeKind::kS16:
    case TypeKind::kU16:
      return {2, 2};
    case TypeKind::kS32:
    case TypeKind::kU32:
    case TypeKind::kF32:
    case TypeKind::kChar:
    case TypeKind::kOwn:
    case TypeKind::kBorrow:
      return {4, 4};
    case TypeKind::kS64:
    case TypeKind::kU64:
    case TypeKind::kF64:
      return {8, 8};
    case TypeKind::kString:
    case TypeKind::kList:
      return {8, 4};  // (ptr, len)
    default:
      return {0, 1};
  }
}

uint32_t LeafFlatCount(TypeKind kind) {
  return kind == TypeKind::kString || kind == TypeKind::kList ? 2 : 1;
}

Layout FlagsLayout(uint64_t label_count) {
  if (label_count == 0) return {0, 1};
  if (label_count <= 8) return {1, 1};
  if (label_count <= 16) return {2, 2};
  return {ClampSize(4 * uint64_t{FlagsFlatCount(label_count)}), 4};
}

uint32_t FlagsFlatCount(uint64_t label_count) {
  return ClampFlat((label_count + 31) / 32);
}

uint64_t RecordLayoutBuilder::Add(const Layout& field) {
  const uint64_t offset = AlignUp(size_, field.align);
  size_ = ClampSize(offset + field.size);
  align_ = std::max(align_, field.align);
  return offset;
}

Layout RecordLayoutBuilder::Finish() const {
  return {ClampSize(AlignUp(size_, align_)), align_};
}

VariantLayoutBuilder::VariantLayoutBuilder(uint64_t case_count)
    : discriminant_size_(DiscriminantSize(case_count)) {}

void VariantLayoutBuilder::AddPayload(const Layout& payload) {
  max_payload_size_ = std::max(max_payload_size_, payload.size);
  max_payload_align_ = std::max(max_payload_align_, payload.align);
}

uint64_t VariantLayoutBuilder::payload_offset() const {
  return AlignUp(discriminant_size_, max_payload_align_);
}

Layout VariantLayoutBuilder::Finish() const {
  const uint32_t align = std::max(discriminant_size_, max_payload_align_);
  return {ClampSize(AlignUp(payload_offset() + max_payload_size_, align)), align};
}

namespace {

Layout ComputeLayout(const Type& type) {
  switch (type.kind) {
    case TypeKind::kRecord: {
      RecordLayoutBuilder record;
      for (const Field& field : type.fields) record.Add(ComputeLayout(*field.type));
      return record.Finish();
    }
    case TypeKind::kTuple: {
      RecordLayoutBuilder record;
      for (const TypePtr& element : type.elements) record.Add(ComputeLayout(*element));
      return record.Finish();
    }
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: {
      VariantLayoutBuilder variant(CaseCount(type));
      ForEachCase(type, [&](const TypePtr& payload) {
        if (payload) variant.AddPayload(ComputeLayout(*payload));
      });
      return variant.Finish();
    }
    case TypeKind::kFlags:
      return FlagsLayout(type.labels.size());
    default:
      return LeafLayout(type.kind);
  }
}

void FlattenInto(const Type& type, std::vector<CoreType>* out) {
  switch (type.kind) {
    case TypeKind::kS64:
    case TypeKind::kU64:
      out->push_back(CoreType::kI64);
      return;
    case TypeKind::kF32:
      out->push_back(CoreType::kF32);
      return;
    case TypeKind::kF64:
      out->push_back(CoreType::kF64);
      return;
    case TypeKind::kString:
    case TypeKind::kList:
      out->insert(out->end(), 2, CoreType::kI32);
      return;
    case TypeKind::kRecord:
      for (const Field& field : type.fields) FlattenInto(*field.type, out);
      return;
    case TypeKind::kTuple:
      for (const TypePtr& element : type.elements) FlattenInto(*element, out);
      return;
    case TypeKind::kFlags:
      out->insert(out->end(), FlagsFlatCount(type.labels.size()), CoreType::kI32);
      return;
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: {
      out->push_back(CoreType::kI32);  // discriminant
      std::vector<CoreType> joined;
      std::vector<CoreType> payload_flat;
      ForEachCase(type, [&](const TypePtr& payload) {
        if (!payload) return;
        payload_flat.clear();
        FlattenInto(*payload, &payload_flat);
        for (size_t i = 0; i < payload_flat.size(); ++i) {
          if (i < joined.size()) {
            joined[i] = Join(joined[i], payload_flat[i]);
          } else {
            joined.push_back(payload_flat[i]);
          }
        }
      });
      out->insert(out->end(), joined.begin(), joined.end());
      return;
    }
    default:
      out->push_back(CoreType::kI32);
      return;  // bool, 8-32 bit ints, char, handles
  }
}

}  // namespace
}  // namespace canonical_internal

using canonical_internal::ComputeLayout;

uint32_t SizeOf(const Type& type) {
  return static_cast<uint32_t>(std::min<uint64_t>(ComputeLayout(type).size, UINT32_MAX));
}

uint32_t AlignmentOf(const Type& type) {
  return ComputeLayout(type).align;
}

uint32_t DiscriminantSize(uint64_t case_count) {
  if (case_count <= (uint64_t{1} << 8)) return 1;
  if (case_count <= (uint64_t{1} << 16)) return 2;
  return 4;
}

std::vector<uint32_t> FieldOffsets(const Type& type) {
  std::vector<uint32_t> offsets;
  canonical_internal::RecordLayoutBuilder record;
  auto add = [&](const Type& field) {
    const uint64_t offset = record.Add(ComputeLayout(field));
    offsets.push_back(static_cast<uint32_t>(std::min<uint64_t>(offset, UINT32_MAX)));
  };
  if (type.kind == TypeKind::kRecord) {
    for (const Field& field : type.fields) add(*field.type);
  } else if (type.kind == TypeKind::kTuple) {
    for (const TypePtr& element : type.elements) add(*element);
  }
  return offsets;
}

uint32_t PayloadOffset(const Type& type) {
  if (!canonical_internal::IsVariantShaped(type.kind)) return 0;
  canonical_internal::VariantLayoutBuilder variant(canonical_internal::CaseCount(type));
  canonical_internal::ForEachCase(type, [&](const TypePtr& payload) {
    if (payload) variant.AddPayload(ComputeLayout(*payload));
  });
  return static_cast<uint32_t>(std::min<uint64_t>(variant.payload_offset(), UINT32_MAX));
}

char CoreTypeLetter(CoreType type) {
  switch (type) {
    case CoreType::kI32:
      return 'i';
    case CoreType::kI64:
      return 'I';
    case CoreType::kF32:
      return 'f';
    case CoreType::kF64:
      return 'F';
  }
  return '?';
}

std::string CoreTypeLetters(std::span<const CoreType> types) {
  std::string out;
  out.reserve(types.size());
  for (CoreType type : types) out.push_back(CoreTypeLetter(type));
  return out;
}

std::vector<CoreType> Flatten(const Type& type) {
  std::vector<CoreType> out;
  canonical_internal::FlattenInto(type, &out);
  return out;
}

CoreType Join(CoreType a, CoreType b) {
  if (a == b) return a;
  const bool a32 = a == CoreType::kI32 || a == CoreType::kF32;
  const bool b32 = b == CoreType::kI32 || b == CoreType::kF32;
  return a32 && b32 ? CoreType::kI32 : CoreType::kI64;
}

bool CoreSignature::Matches(std::string_view param_letters, std::string_view result_letters) const {
  if (param_letters.size() != params.size() || result_letters.size() != results.size()) {
    return false;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (CoreTypeLetter(params[i]) != param_letters[i]) return false;
  }
  for (size_t i = 0; i < results.size(); ++i) {
    if (CoreTypeLetter(results[i]) != result_letters[i]) return false;
  }
  return true;
}

CoreSignature LowerSignature(const FunctionType& function, Context context) {
  CoreSignature sig;
  for (const Field& param : function.params) {
    canonical_internal::FlattenInto(*param.type, &sig.params);
  }
  if (sig.params.size() > kMaxFlatParams) {
    sig.params.assign(1, CoreType::kI32);
    sig.params_in_memory = true;
  }
  for (const TypePtr& result : function.ResultTypes()) {
    canonical_internal::FlattenInto(*result, &sig.results);
  }
  if (sig.results.size() > kMaxFlatResults) {
    sig.results_in_memory = true;
    if (context == Context::kLift) {
      sig.results.assign(1, CoreType::kI32);
    } else {
      sig.params.push_back(CoreType::kI32);
      sig.results.clear();
    }
  }
  return sig;
}

}  // namespace theater::abi
