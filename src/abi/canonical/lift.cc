// Theater: a WebAssembly actor runtime.
#include "abi/canonical/lift.h"
#include "common/bytes.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "common/utf8.h"

namespace theater::abi::canonical_internal {
namespace {

static_assert(std::endian::native == std::endian::little,
              "wasm memory is little-endian; a big-endian host needs byte swaps here");

template <typename T>
T LoadLE(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// A little-endian integer of `size` bytes (1, 2, 4 or 8), zero-extended.
uint64_t ReadLE(const uint8_t* p, uint32_t size) {
  switch (size) {
    case 1:
      return p[0];
    case 2:
      return LoadLE<uint16_t>(p);
    case 4:
      return LoadLE<uint32_t>(p);
    default:
      return LoadLE<uint64_t>(p);
  }
}

// NaNs come out canonical (see canonical.h).
Value F32FromBits(uint32_t bits) {
  const auto f = std::bit_cast<float>(bits);
  return Value::F32(std::isnan(f) ? std::bit_cast<float>(uint32_t{0x7fc00000}) : f);
}

Value F64FromBits(uint64_t bits) {
  const auto f = std::bit_cast<double>(bits);
  return Value::F64(std::isnan(f) ? std::bit_cast<double>(uint64_t{0x7ff8000000000000}) : f);
}

// The value of case `case_index` of a variant-shaped kind, without and with a payload.
Value MakeCase(TypeKind kind, uint32_t case_index) {
  switch (kind) {
    case TypeKind::kEnum:
      return Value::Enum(case_index);
    case TypeKind::kOption:
      return Value::None();
    case TypeKind::kResult:
      return case_index == 0 ? Value::Ok() : Value::Err();
    default:
      return Value::Variant(case_index);
  }
}

Value MakeCase(TypeKind kind, uint32_t case_index, Value&& payload) {
  switch (kind) {
    case TypeKind::kOption:
      return Value::Some(std::move(payload));
    case TypeKind::kResult:
      return case_index == 0 ? Value::Ok(std::move(payload)) : Value::Err(std::move(payload));
    default:
      return Value::Variant(case_index, std::move(payload));
  }
}

// Error messages are built in cold, out-of-line functions: lifting recurses once per nesting
// level, possibly on a fiber stack with little room left, so the recursive frames must stay small.

[[gnu::cold, gnu::noinline]] Status BudgetError(uint64_t limit) {
  return ResourceExhausted("lifted values exceed the limit of " + std::to_string(limit) + " bytes");
}

[[gnu::cold, gnu::noinline]] Status CaseError(const Plan& plan, uint32_t index,
                                              uint64_t case_index) {
  return GuestError("discriminant " + std::to_string(case_index) + " out of range for " +
                    plan.Describe(index) + " (" + std::to_string(plan.node(index).case_count) +
                    " cases)");
}

[[gnu::cold, gnu::noinline]] Status CharError(uint32_t code) {
  return GuestError("char " + HexNumber(code) + " is not a Unicode scalar value" +
                    (code <= 0x10FFFF ? " (surrogate)" : " (above 0x10ffff)"));
}

[[gnu::cold, gnu::noinline]] Status FlagsError(const Plan& plan, uint32_t index, uint32_t bits) {
  return GuestError(plan.Describe(index) + " value " + HexNumber(bits) +
                    " has bits set beyond its " + std::to_string(plan.node(index).case_count) +
                    " labels");
}

[[gnu::cold, gnu::noinline]] Status StringError(uint32_t begin, uint32_t length,
                                                std::string_view problem) {
  return GuestError("string at " + HexNumber(begin) + " with length " + std::to_string(length) +
                    " " + std::string(problem));
}

[[gnu::cold, gnu::noinline]] Status StringLimitError(uint32_t begin, uint32_t length,
                                                     uint32_t limit) {
  return ResourceExhausted("string at " + HexNumber(begin) + " with length " +
                           std::to_string(length) + " exceeds the limit of " +
                           std::to_string(limit) + " bytes");
}

[[gnu::cold, gnu::noinline]] Status Utf8Error(uint32_t begin, std::string_view text,
                                              size_t offset) {
  return StringError(begin, static_cast<uint32_t>(text.size()),
                     "is not valid UTF-8 (byte " +
                         HexNumber(static_cast<unsigned char>(text[offset])) + " at offset " +
                         std::to_string(offset) + ")");
}

[[gnu::cold, gnu::noinline]] Status ListAlignmentError(const Plan& plan, uint32_t index,
                                                       uint32_t begin, uint32_t align) {
  return GuestError(plan.Describe(index) + " at " + HexNumber(begin) +
                    " is misaligned (element alignment " + std::to_string(align) + ")");
}

[[gnu::cold, gnu::noinline]] Status ListBoundsError(const Plan& plan, uint32_t index,
                                                    uint32_t begin, uint32_t length,
                                                    size_t memory_size) {
  return GuestError(plan.Describe(index) + " at " + HexNumber(begin) + " with length " +
                    std::to_string(length) + " exceeds guest memory (" +
                    std::to_string(memory_size) + " bytes)");
}

[[gnu::cold, gnu::noinline]] Status ListLimitError(const Plan& plan, uint32_t index, uint32_t begin,
                                                   uint32_t length) {
  return ResourceExhausted(plan.Describe(index) + " at " + HexNumber(begin) + " with length " +
                           std::to_string(length) + " exceeds the limit of " +
                           std::to_string(plan.limits().max_list_length) + " elements");
}

}  // namespace

Status Lifter::Charge(uint64_t bytes) {
  if (bytes > budget_) return BudgetError(plan_.limits().max_total_bytes);
  budget_ -= bytes;
  return Status::Ok();
}

Status Lifter::CheckCase(uint32_t index, uint64_t case_index) const {
  if (case_index >= plan_.node(index).case_count) return CaseError(plan_, index, case_index);
  return Status::Ok();
}

Result<Value> Lifter::Char(uint32_t code) const {
  if (!IsScalarValue(code)) return CharError(code);
  return Value::Char(code);
}

// `word(i)` yields the i-th 32-bit word of the bit vector. Bits beyond the last label are an
// error: the specification ignores them, Theater does not, because a guest that sets them has a
// different idea of the type than the host and the event chain should not record a silent guess.
template <typename WordFn>
Result<Value> MakeFlags(const Plan& plan, uint32_t index, WordFn word) {
  const uint32_t labels = plan.node(index).case_count;
  std::vector<bool> set(labels);
  const uint32_t words = (labels + 31) / 32;
  for (uint32_t w = 0; w < words; ++w) {
    const uint32_t bits = word(w);
    const uint32_t in_word = std::min<uint32_t>(32, labels - 32 * w);
    if (in_word < 32 && (bits >> in_word) != 0) return FlagsError(plan, index, bits);
    for (uint32_t b = 0; b < in_word; ++b) set[32 * w + b] = (bits >> b) & 1;
  }
  return Value::Flags(std::move(set));
}

[[gnu::noinline]] Result<Value> Lifter::LoadString(uint32_t begin, uint32_t length) {
  if (uint64_t{begin} + length > memory_.size()) {
    return StringError(begin, length,
                       "exceeds guest memory (" + std::to_string(memory_.size()) + " bytes)");
  }
  if (length > plan_.limits().max_string_length) {
    return StringLimitError(begin, length, plan_.limits().max_string_length);
  }
  THEATER_RETURN_IF_ERROR(Charge(length));
  std::string_view text(reinterpret_cast<const char*>(memory_.data()) + begin, length);
  if (auto bad = FindInvalidUtf8(text)) return Utf8Error(begin, text, *bad);
  return Value::String(std::string(text));
}

[[gnu::noinline]] Result<Value> Lifter::LoadList(uint32_t index, uint32_t begin, uint32_t length) {
  const uint32_t element = plan_.children(plan_.node(index))[0].node;
  const Node& e = plan_.node(element);
  if (begin % e.align != 0) return ListAlignmentError(plan_, index, begin, e.align);
  // Both factors are below 2^32, so the product and the sum fit in 64 bits.
  if (uint64_t{begin} + uint64_t{length} * e.size > memory_.size()) {
    return ListBoundsError(plan_, index, begin, length, memory_.size());
  }
  if (length > plan_.limits().max_list_length) return ListLimitError(plan_, index, begin, length);
  const uint8_t* data = memory_.data() + begin;
  if (e.kind == TypeKind::kU8) {
    THEATER_RETURN_IF_ERROR(Charge(length));
    return Value::Bytes(std::vector<uint8_t>(data, data + length));
  }
  // Charged before reserving, so a guest cannot make the host reserve more than the budget.
  THEATER_RETURN_IF_ERROR(Charge(uint64_t{length} * sizeof(Value)));
  std::vector<Value> items;
  items.reserve(length);
  for (uint32_t i = 0; i < length; ++i) {
    auto item = Load(element, uint64_t{begin} + uint64_t{i} * e.size);
    if (!item.ok()) return InChild(item.status(), plan_, index, i);
    items.push_back(std::move(item).value());
  }
  return Value::List(std::move(items));
}

// Out of line so that the recursive Load and LiftFlat frames do not carry these locals.
template <typename FieldFn>
[[gnu::noinline]] Result<Value> Lifter::LiftFields(uint32_t index, FieldFn lift_field) {
  const Node& n = plan_.node(index);
  std::span<const Child> fields = plan_.children(n);
  THEATER_RETURN_IF_ERROR(Charge(fields.size() * sizeof(Value)));
  std::vector<Value> values;
  values.reserve(fields.size());
  for (size_t i = 0; i < fields.size(); ++i) {
    auto field = lift_field(fields[i]);
    if (!field.ok()) return InChild(field.status(), plan_, index, i);
    values.push_back(std::move(field).value());
  }
  return n.kind == TypeKind::kRecord ? Value::Record(std::move(values))
                                     : Value::Tuple(std::move(values));
}

template <typename PayloadFn>
[[gnu::noinline]] Result<Value> Lifter::LiftCase(uint32_t index, uint32_t case_index,
                                                 PayloadFn lift_payload) {
  THEATER_RETURN_IF_ERROR(CheckCase(index, case_index));
  const Node& n = plan_.node(index);
  const uint32_t payload_node =
      n.kind == TypeKind::kEnum ? kNoNode : plan_.children(n)[case_index].node;
  if (payload_node == kNoNode) return MakeCase(n.kind, case_index);
  THEATER_RETURN_IF_ERROR(Charge(sizeof(Value)));
  auto payload = lift_payload(payload_node);
  if (!payload.ok()) return InChild(payload.status(), plan_, index, case_index);
  return MakeCase(n.kind, case_index, std::move(payload).value());
}

[[gnu::noinline]] Result<Value> Lifter::Scalar(TypeKind kind, uint64_t bits) const {
  // Narrow integers keep their low bits, as lift_flat_unsigned/signed do; an i32 slot holding an
  // i64 (a joined variant slot) is wrapped the same way.
  switch (kind) {
    case TypeKind::kBool:
      return Value::Bool(static_cast<uint32_t>(bits) != 0);
    case TypeKind::kS8:
      return Value::S8(static_cast<int8_t>(bits));
    case TypeKind::kU8:
      return Value::U8(static_cast<uint8_t>(bits));
    case TypeKind::kS16:
      return Value::S16(static_cast<int16_t>(bits));
    case TypeKind::kU16:
      return Value::U16(static_cast<uint16_t>(bits));
    case TypeKind::kS32:
      return Value::S32(static_cast<int32_t>(bits));
    case TypeKind::kU32:
      return Value::U32(static_cast<uint32_t>(bits));
    case TypeKind::kS64:
      return Value::S64(static_cast<int64_t>(bits));
    case TypeKind::kU64:
      return Value::U64(bits);
    case TypeKind::kF32:
      return F32FromBits(static_cast<uint32_t>(bits));
    case TypeKind::kF64:
      return F64FromBits(bits);
    case TypeKind::kChar:
      return Char(static_cast<uint32_t>(bits));
    case TypeKind::kOwn:
      return Value::Own(static_cast<uint32_t>(bits));
    case TypeKind::kBorrow:
      return Value::Borrow(static_cast<uint32_t>(bits));
    default:
      return InternalError(std::string("lift: ") + TypeKindName(kind) + " is not a scalar");
  }
}

// Load and LiftFlat recurse once per nesting level; they only dispatch, so that their frames stay
// small, and leave the work to out-of-line helpers.
Result<Value> Lifter::Load(uint32_t index, uint64_t ptr) {
  const Node& n = plan_.node(index);
  const uint8_t* p = memory_.data() + ptr;
  switch (n.kind) {
    case TypeKind::kString:
      return LoadString(LoadLE<uint32_t>(p), LoadLE<uint32_t>(p + 4));
    case TypeKind::kList:
      return LoadList(index, LoadLE<uint32_t>(p), LoadLE<uint32_t>(p + 4));
    case TypeKind::kRecord:
    case TypeKind::kTuple:
      return LiftFields(
          index, [this, ptr](const Child& field) { return Load(field.node, ptr + field.offset); });
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: {
      const uint64_t payload_ptr = ptr + n.payload_offset;
      return LiftCase(index, static_cast<uint32_t>(ReadLE(p, n.discriminant_size)),
                      [this, payload_ptr](uint32_t payload) { return Load(payload, payload_ptr); });
    }
    case TypeKind::kFlags:
      return LoadFlags(index, p);
    default:
      return Scalar(n.kind, ReadLE(p, n.size));
  }
}

Result<Value> Lifter::LiftFlat(uint32_t index, std::span<const uint64_t> flat, size_t* pos) {
  const Node& n = plan_.node(index);
  switch (n.kind) {
    case TypeKind::kString:
    case TypeKind::kList: {
      // An i32 slot holds its value zero-extended.
      const auto begin = static_cast<uint32_t>(flat[*pos]);
      const auto length = static_cast<uint32_t>(flat[*pos + 1]);
      *pos += 2;
      return n.kind == TypeKind::kString ? LoadString(begin, length)
                                         : LoadList(index, begin, length);
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple:
      return LiftFields(
          index, [this, flat, pos](const Child& field) { return LiftFlat(field.node, flat, pos); });
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: {
      const size_t end = *pos + n.flat_count;
      const auto disc = static_cast<uint32_t>(flat[(*pos)++]);
      auto value = LiftCase(index, disc, [this, flat, pos](uint32_t payload) {
        return LiftFlat(payload, flat, pos);
      });
      *pos = end;  // skip the slots of wider cases
      return value;
    }
    case TypeKind::kFlags: {
      const size_t first = *pos;
      *pos += n.flat_count;
      return LiftFlags(index, flat.subspan(first, n.flat_count));
    }
    default:
      return Scalar(n.kind, flat[(*pos)++]);
  }
}

[[gnu::noinline]] Result<Value> Lifter::LoadFlags(uint32_t index, const uint8_t* p) {
  const Node& n = plan_.node(index);
  THEATER_RETURN_IF_ERROR(Charge(n.case_count / 8 + 1));
  return MakeFlags(plan_, index, [&](uint32_t w) -> uint32_t {
    if (n.size <= 2) return static_cast<uint32_t>(ReadLE(p, n.size));
    return LoadLE<uint32_t>(p + 4 * uint64_t{w});
  });
}

[[gnu::noinline]] Result<Value> Lifter::LiftFlags(uint32_t index, std::span<const uint64_t> words) {
  THEATER_RETURN_IF_ERROR(Charge(plan_.node(index).case_count / 8 + 1));
  return MakeFlags(plan_, index, [&](uint32_t w) { return static_cast<uint32_t>(words[w]); });
}

}  // namespace theater::abi::canonical_internal
