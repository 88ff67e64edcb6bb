// Theater: a WebAssembly actor runtime.
#include "abi/canonical/lower.h"
#include "common/bytes.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "common/utf8.h"

namespace theater::abi::canonical_internal {
namespace {

static_assert(std::endian::native == std::endian::little,
              "wasm memory is little-endian; a big-endian host needs byte swaps here");

template <typename T>
void StoreLE(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(v));
}

uint32_t CanonicalF32Bits(const Value& v) {
  return std::isnan(v.as_f32()) ? 0x7fc00000u : static_cast<uint32_t>(v.as_u64());
}

uint64_t CanonicalF64Bits(const Value& v) {
  return std::isnan(v.as_f64()) ? 0x7ff8000000000000ull : v.as_u64();
}

// The i32 form of a value of at most 32 bits: signed kinds wrap to their two's complement,
// zero-extended into the 64-bit carrier.
uint64_t I32Bits(const Value& v) {
  return static_cast<uint32_t>(v.as_u64());
}

// Bit `label` of a flags value lives in word label / 32.
uint32_t FlagsWord(const Value& v, uint32_t word) {
  const std::vector<bool>& set = v.flags();
  uint32_t bits = 0;
  const size_t end = std::min<size_t>(set.size(), size_t{32} * (word + 1));
  for (size_t i = size_t{32} * word; i < end; ++i) {
    if (set[i]) bits |= uint32_t{1} << (i % 32);
  }
  return bits;
}

}  // namespace

// Error messages are built in cold, out-of-line functions so that the recursive Check frames stay
// small (lowering may run on a fiber stack with little room left).
namespace {

[[gnu::cold, gnu::noinline]] Status BudgetError(uint64_t limit) {
  return ResourceExhausted("lowered values need more than the limit of " + std::to_string(limit) +
                           " bytes of guest memory");
}

[[gnu::cold, gnu::noinline]] Status MismatchError(const Plan& plan, uint32_t index, TypeKind got) {
  return InvalidArgument("expected a value of type " + plan.Describe(index) + ", got a " +
                         TypeKindName(got) + " value");
}

[[gnu::cold, gnu::noinline]] Status CharValueError(uint64_t code) {
  return InvalidArgument("char value " + HexNumber(code) + " is not a Unicode scalar value");
}

[[gnu::cold, gnu::noinline]] Status StringLimitError(size_t length, uint32_t limit) {
  return ResourceExhausted("string value with length " + std::to_string(length) +
                           " exceeds the limit of " + std::to_string(limit) + " bytes");
}

[[gnu::cold, gnu::noinline]] Status Utf8Error(const std::string& s, size_t offset) {
  return InvalidArgument("string value is not valid UTF-8 (byte " +
                         HexNumber(static_cast<unsigned char>(s[offset])) + " at offset " +
                         std::to_string(offset) + ")");
}

[[gnu::cold, gnu::noinline]] Status CountError(const Plan& plan, uint32_t index, const char* what,
                                               size_t expected, size_t got) {
  return InvalidArgument(plan.Describe(index) + " has " + std::to_string(expected) + " " + what +
                         ", the value has " + std::to_string(got));
}

[[gnu::cold, gnu::noinline]] Status BytesError(const Plan& plan, uint32_t index) {
  return InvalidArgument("a byte-vector value cannot be lowered as " + plan.Describe(index) +
                         "; only list<u8> takes bytes");
}

[[gnu::cold, gnu::noinline]] Status DigestError(const Plan& plan, uint32_t index) {
  return InvalidArgument("a byte list recorded by its digest cannot be lowered as " +
                         plan.Describe(index) + ": its bytes are not in the value");
}

[[gnu::cold, gnu::noinline]] Status ListLimitError(const Plan& plan, uint32_t index, size_t count) {
  return ResourceExhausted(plan.Describe(index) + " value with length " + std::to_string(count) +
                           " exceeds the limit of " +
                           std::to_string(plan.limits().max_list_length) + " elements");
}

[[gnu::cold, gnu::noinline]] Status ListSizeError(const Plan& plan, uint32_t index, size_t count) {
  return ResourceExhausted(plan.Describe(index) + " value with length " + std::to_string(count) +
                           " does not fit in 32-bit guest memory");
}

[[gnu::cold, gnu::noinline]] Status CaseError(const Plan& plan, uint32_t index,
                                              uint32_t case_index) {
  return InvalidArgument("case " + std::to_string(case_index) + " out of range for " +
                         plan.Describe(index) + " (" + std::to_string(plan.node(index).case_count) +
                         " cases)");
}

[[gnu::cold, gnu::noinline]] Status PayloadError(const Plan& plan, uint32_t index,
                                                 uint32_t case_index, bool type_has_payload) {
  return InvalidArgument("case " + std::to_string(case_index) + " of " + plan.Describe(index) +
                         (type_has_payload ? " carries a payload; the value has none"
                                           : " carries no payload; the value has one"));
}

}  // namespace

Status Lowerer::CountAllocation(uint64_t bytes) {
  allocated_ += bytes;
  if (allocated_ > plan_.limits().max_total_bytes) {
    return BudgetError(plan_.limits().max_total_bytes);
  }
  return Status::Ok();
}

Status Lowerer::Check(uint32_t index, const Value& value) {
  const Node& n = plan_.node(index);
  if (value.kind() != n.kind) return MismatchError(plan_, index, value.kind());
  switch (n.kind) {
    case TypeKind::kChar:
      if (!IsScalarValue(value.as_u64())) return CharValueError(value.as_u64());
      return Status::Ok();
    case TypeKind::kString:
      return CheckString(value.as_string());
    case TypeKind::kList:
      return CheckList(index, value);
    case TypeKind::kRecord:
    case TypeKind::kTuple:
      return CheckFields(index, value);
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult:
      return CheckVariant(index, value);
    case TypeKind::kFlags:
      if (value.flags().size() != n.case_count) {
        return CountError(plan_, index, "labels", n.case_count, value.flags().size());
      }
      return Status::Ok();
    default:
      return Status::Ok();  // a scalar of the right kind is always in range
  }
}

[[gnu::noinline]] Status Lowerer::CheckString(const std::string& s) {
  if (s.size() > plan_.limits().max_string_length) {
    return StringLimitError(s.size(), plan_.limits().max_string_length);
  }
  if (auto bad = FindInvalidUtf8(s)) return Utf8Error(s, *bad);
  return CountAllocation(s.size());
}

[[gnu::noinline]] Status Lowerer::CheckFields(uint32_t index, const Value& value) {
  std::span<const Child> fields = plan_.children(plan_.node(index));
  const std::vector<Value>& items = value.items();
  if (items.size() != fields.size()) {
    return CountError(plan_, index, "fields", fields.size(), items.size());
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    Status status = Check(fields[i].node, items[i]);
    if (!status.ok()) return InChild(status, plan_, index, i);
  }
  return Status::Ok();
}

[[gnu::noinline]] Status Lowerer::CheckList(uint32_t index, const Value& value) {
  const uint32_t element = plan_.children(plan_.node(index))[0].node;
  const Node& e = plan_.node(element);
  if (value.is_bytes() && e.kind != TypeKind::kU8) return BytesError(plan_, index);
  if (value.is_bytes_digest()) return DigestError(plan_, index);
  const size_t count = value.is_bytes() ? value.as_bytes().size() : value.items().size();
  if (count > plan_.limits().max_list_length) return ListLimitError(plan_, index, count);
  const uint64_t bytes = uint64_t{count} * e.size;
  if (bytes > UINT32_MAX) return ListSizeError(plan_, index, count);
  THEATER_RETURN_IF_ERROR(CountAllocation(bytes));
  if (value.is_bytes()) return Status::Ok();
  const std::vector<Value>& items = value.items();
  for (size_t i = 0; i < items.size(); ++i) {
    Status status = Check(element, items[i]);
    if (!status.ok()) return InChild(status, plan_, index, i);
  }
  return Status::Ok();
}

[[gnu::noinline]] Status Lowerer::CheckVariant(uint32_t index, const Value& value) {
  const Node& n = plan_.node(index);
  const uint32_t case_index = value.case_index();
  if (case_index >= n.case_count) return CaseError(plan_, index, case_index);
  const uint32_t payload_node =
      n.kind == TypeKind::kEnum ? kNoNode : plan_.children(n)[case_index].node;
  const Value* payload = value.payload();
  if ((payload_node != kNoNode) != (payload != nullptr)) {
    return PayloadError(plan_, index, case_index, payload_node != kNoNode);
  }
  if (payload == nullptr) return Status::Ok();
  Status status = Check(payload_node, *payload);
  return status.ok() ? status : InChild(status, plan_, index, case_index);
}

Result<uint32_t> Lowerer::Allocate(uint32_t align, uint32_t size, uint32_t node) {
  auto allocated = memory_.Realloc(0, 0, align, size);
  if (!allocated.ok()) {
    return allocated.status().WithContext("cabi_realloc of " + std::to_string(size) +
                                          " bytes for " + plan_.Describe(node));
  }
  const size_t old_size = bytes_.size();
  bytes_ = memory_.Bytes();
  // Wasm memory only grows; the regions validated so far must stay valid.
  if (bytes_.size() < old_size) {
    return InternalError("guest memory shrank from " + std::to_string(old_size) + " to " +
                         std::to_string(bytes_.size()) + " bytes during lowering");
  }
  const uint32_t ptr = *allocated;
  if (ptr % align != 0) {
    return GuestError("cabi_realloc returned " + HexNumber(ptr) + " for " + plan_.Describe(node) +
                      ", misaligned for alignment " + std::to_string(align));
  }
  if (uint64_t{ptr} + size > bytes_.size()) {
    return GuestError("cabi_realloc returned " + HexNumber(ptr) + " for " + std::to_string(size) +
                      " bytes of " + plan_.Describe(node) + ", beyond guest memory (" +
                      std::to_string(bytes_.size()) + " bytes)");
  }
  return ptr;
}

Result<std::pair<uint32_t, uint32_t>> Lowerer::StoreContents(uint32_t index, const Value& value) {
  if (value.kind() == TypeKind::kString) {
    const std::string& s = value.as_string();
    const auto length = static_cast<uint32_t>(s.size());
    THEATER_ASSIGN_OR_RETURN(uint32_t ptr, Allocate(1, length, index));
    if (length > 0) std::memcpy(bytes_.data() + ptr, s.data(), length);
    return std::make_pair(ptr, length);
  }
  const Node& n = plan_.node(index);
  const uint32_t element = plan_.children(n)[0].node;
  const Node& e = plan_.node(element);
  if (value.is_bytes()) {
    const std::vector<uint8_t>& bytes = value.as_bytes();
    const auto length = static_cast<uint32_t>(bytes.size());
    THEATER_ASSIGN_OR_RETURN(uint32_t ptr, Allocate(e.align, length, index));
    if (length > 0) std::memcpy(bytes_.data() + ptr, bytes.data(), length);
    return std::make_pair(ptr, length);
  }
  const std::vector<Value>& items = value.items();
  const auto length = static_cast<uint32_t>(items.size());
  // Check() bounded length * e.size by UINT32_MAX.
  THEATER_ASSIGN_OR_RETURN(uint32_t ptr, Allocate(e.align, length * e.size, index));
  for (uint32_t i = 0; i < length; ++i) {
    THEATER_RETURN_IF_ERROR(Store(element, items[i], uint64_t{ptr} + uint64_t{i} * e.size));
  }
  return std::make_pair(ptr, length);
}

Status Lowerer::Store(uint32_t index, const Value& value, uint64_t ptr) {
  const Node& n = plan_.node(index);
  // Recomputed after anything that can allocate: an allocation may move guest memory.
  uint8_t* p = bytes_.data() + ptr;
  switch (n.kind) {
    case TypeKind::kBool:
      p[0] = value.as_bool() ? 1 : 0;
      return Status::Ok();
    case TypeKind::kS8:
    case TypeKind::kU8:
      p[0] = static_cast<uint8_t>(value.as_u64());
      return Status::Ok();
    case TypeKind::kS16:
    case TypeKind::kU16:
      StoreLE(p, static_cast<uint16_t>(value.as_u64()));
      return Status::Ok();
    case TypeKind::kS32:
    case TypeKind::kU32:
    case TypeKind::kChar:
    case TypeKind::kOwn:
    case TypeKind::kBorrow:
      StoreLE(p, static_cast<uint32_t>(value.as_u64()));
      return Status::Ok();
    case TypeKind::kS64:
    case TypeKind::kU64:
      StoreLE(p, value.as_u64());
      return Status::Ok();
    case TypeKind::kF32:
      StoreLE(p, CanonicalF32Bits(value));
      return Status::Ok();
    case TypeKind::kF64:
      StoreLE(p, CanonicalF64Bits(value));
      return Status::Ok();
    case TypeKind::kString:
    case TypeKind::kList: {
      THEATER_ASSIGN_OR_RETURN(auto contents, StoreContents(index, value));
      p = bytes_.data() + ptr;
      StoreLE(p, contents.first);
      StoreLE(p + 4, contents.second);
      return Status::Ok();
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple: {
      std::span<const Child> fields = plan_.children(n);
      const std::vector<Value>& items = value.items();
      for (size_t i = 0; i < fields.size(); ++i) {
        THEATER_RETURN_IF_ERROR(Store(fields[i].node, items[i], ptr + fields[i].offset));
      }
      return Status::Ok();
    }
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: {
      const uint32_t case_index = value.case_index();
      if (n.discriminant_size == 1) {
        p[0] = static_cast<uint8_t>(case_index);
      } else if (n.discriminant_size == 2) {
        StoreLE(p, static_cast<uint16_t>(case_index));
      } else {
        StoreLE(p, case_index);
      }
      if (const Value* payload = value.payload()) {
        return Store(plan_.children(n)[case_index].node, *payload, ptr + n.payload_offset);
      }
      return Status::Ok();
    }
    case TypeKind::kFlags:
      if (n.size == 1) {
        p[0] = static_cast<uint8_t>(FlagsWord(value, 0));
      } else if (n.size == 2) {
        StoreLE(p, static_cast<uint16_t>(FlagsWord(value, 0)));
      } else {
        for (uint32_t w = 0; w < n.flat_count; ++w)
          StoreLE(p + 4 * uint64_t{w}, FlagsWord(value, w));
      }
      return Status::Ok();
  }
  return InternalError("lower: unknown type kind");
}

Status Lowerer::LowerFlat(uint32_t index, const Value& value, std::vector<uint64_t>* out) {
  const Node& n = plan_.node(index);
  switch (n.kind) {
    case TypeKind::kBool:
      out->push_back(value.as_bool() ? 1 : 0);
      return Status::Ok();
    case TypeKind::kS8:
    case TypeKind::kU8:
    case TypeKind::kS16:
    case TypeKind::kU16:
    case TypeKind::kS32:
    case TypeKind::kU32:
    case TypeKind::kChar:
    case TypeKind::kOwn:
    case TypeKind::kBorrow:
      out->push_back(I32Bits(value));
      return Status::Ok();
    case TypeKind::kS64:
    case TypeKind::kU64:
      out->push_back(value.as_u64());
      return Status::Ok();
    case TypeKind::kF32:
      out->push_back(CanonicalF32Bits(value));
      return Status::Ok();
    case TypeKind::kF64:
      out->push_back(CanonicalF64Bits(value));
      return Status::Ok();
    case TypeKind::kString:
    case TypeKind::kList: {
      THEATER_ASSIGN_OR_RETURN(auto contents, StoreContents(index, value));
      out->push_back(contents.first);
      out->push_back(contents.second);
      return Status::Ok();
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple: {
      std::span<const Child> fields = plan_.children(n);
      const std::vector<Value>& items = value.items();
      for (size_t i = 0; i < fields.size(); ++i) {
        THEATER_RETURN_IF_ERROR(LowerFlat(fields[i].node, items[i], out));
      }
      return Status::Ok();
    }
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: {
      // With i32 and f32 zero-extended in the carrier, every join coercion of the spec (f32 to
      // i32, i32 or f32 to i64, f64 to i64) keeps the same 64 bits: no conversion is needed.
      const size_t end = out->size() + n.flat_count;
      out->push_back(value.case_index());
      if (const Value* payload = value.payload()) {
        THEATER_RETURN_IF_ERROR(
            LowerFlat(plan_.children(n)[value.case_index()].node, *payload, out));
      }
      out->resize(end, 0);  // narrower cases leave the remaining slots zero
      return Status::Ok();
    }
    case TypeKind::kFlags:
      for (uint32_t w = 0; w < n.flat_count; ++w) out->push_back(FlagsWord(value, w));
      return Status::Ok();
  }
  return InternalError("lower: unknown type kind");
}

}  // namespace theater::abi::canonical_internal
