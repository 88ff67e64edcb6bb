// Theater: a WebAssembly actor runtime.
//
// Value: a host-side WIT value, the C++ side of the canonical ABI. Lifting reads a Value out of
// guest memory by a Type; lowering writes one in.
//
// A Value records the TypeKind it was built as, and lowering checks that it matches the Type it is
// lowered by. Representation choices:
//   * `list<u8>` values are kept as a byte vector (Value::Bytes): state blobs and messages are
//     list<u8>, and a vector of per-byte Values would cost 40x the memory. Lowering a kList of u8
//     accepts both Bytes and a List of U8 values; lifting always produces Bytes.
//   * record and tuple hold their fields in order (names live in the Type).
//   * variant, enum, option and result hold a case index and an optional payload:
//       option: case 0 = none, case 1 = some(payload);
//       result: case 0 = ok(payload?), case 1 = err(payload?);
//       enum:   case = label index, never a payload.
//   * flags hold one bool per label.
//   * own/borrow hold the 32-bit handle.
//   * a `list<u8>` that an event chain recorded by its SHA-256 and size instead of its bytes
//     (docs/chain-format.md, "Large byte lists") decodes as a BytesDigest: it renders and
//     compares, but cannot be lowered into a guest (the bytes are not there).
//
// Thread-safety: a plain value type; distinct objects may be used from distinct threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "theater/abi/type.h"

namespace theater::abi {

// A byte list known by its SHA-256 and size only (see Value::BytesByDigest).
struct BytesDigest {
  uint64_t size = 0;
  std::array<uint8_t, 32> sha256{};
  friend bool operator==(const BytesDigest&, const BytesDigest&) = default;
};

class Value {
 public:
  Value() : kind_(TypeKind::kBool) {}

  static Value Bool(bool v) { return Scalar(TypeKind::kBool, v ? 1 : 0); }
  static Value S8(int8_t v) { return Scalar(TypeKind::kS8, static_cast<uint64_t>(int64_t{v})); }
  static Value U8(uint8_t v) { return Scalar(TypeKind::kU8, v); }
  static Value S16(int16_t v) { return Scalar(TypeKind::kS16, static_cast<uint64_t>(int64_t{v})); }
  static Value U16(uint16_t v) { return Scalar(TypeKind::kU16, v); }
  static Value S32(int32_t v) { return Scalar(TypeKind::kS32, static_cast<uint64_t>(int64_t{v})); }
  static Value U32(uint32_t v) { return Scalar(TypeKind::kU32, v); }
  static Value S64(int64_t v) { return Scalar(TypeKind::kS64, static_cast<uint64_t>(v)); }
  static Value U64(uint64_t v) { return Scalar(TypeKind::kU64, v); }
  static Value F32(float v);
  static Value F64(double v);
  static Value Char(char32_t v) { return Scalar(TypeKind::kChar, v); }
  static Value String(std::string v);
  static Value Bytes(std::vector<uint8_t> v);
  // A list<u8> over immutable bytes it shares rather than copies (an actor's state, passed into
  // every export call). It reads like Bytes; mutable_bytes() takes a private copy first.
  static Value SharedBytes(std::shared_ptr<const std::vector<uint8_t>> bytes);
  // A kList of u8 standing for bytes that are not here (a chain's record of a large list).
  static Value BytesByDigest(BytesDigest digest);
  static Value List(std::vector<Value> items);
  static Value Record(std::vector<Value> fields);
  static Value Tuple(std::vector<Value> elements);
  static Value Variant(uint32_t case_index, std::optional<Value> payload = std::nullopt);
  static Value Enum(uint32_t label_index) { return Scalar(TypeKind::kEnum, label_index); }
  static Value Flags(std::vector<bool> set);
  static Value None() { return Scalar(TypeKind::kOption, 0); }
  static Value Some(Value v);
  static Value Ok(std::optional<Value> v = std::nullopt);
  static Value Err(std::optional<Value> v = std::nullopt);
  static Value Own(uint32_t handle) { return Scalar(TypeKind::kOwn, handle); }
  static Value Borrow(uint32_t handle) { return Scalar(TypeKind::kBorrow, handle); }

  TypeKind kind() const { return kind_; }

  // Scalars. Signed kinds are sign-extended, unsigned zero-extended.
  bool as_bool() const { return bits_ != 0; }
  int64_t as_s64() const { return static_cast<int64_t>(bits_); }
  uint64_t as_u64() const { return bits_; }
  float as_f32() const;
  double as_f64() const;
  char32_t as_char() const { return static_cast<char32_t>(bits_); }
  uint32_t handle() const { return static_cast<uint32_t>(bits_); }

  // kString.
  const std::string& as_string() const { return std::get<std::string>(data_); }
  // kList kept as bytes (list<u8>); is_bytes() tells which representation a kList uses.
  bool is_bytes() const {
    return std::holds_alternative<std::vector<uint8_t>>(data_) ||
           std::holds_alternative<SharedByteVector>(data_);
  }
  const std::vector<uint8_t>& as_bytes() const {
    if (const auto* shared = std::get_if<SharedByteVector>(&data_)) return **shared;
    return std::get<std::vector<uint8_t>>(data_);
  }
  std::vector<uint8_t>& mutable_bytes();
  // kList standing for absent bytes (BytesByDigest); neither is_bytes() nor a list of items.
  bool is_bytes_digest() const { return std::holds_alternative<BytesDigest>(data_); }
  const BytesDigest& bytes_digest() const { return std::get<BytesDigest>(data_); }
  // kList (non-byte), kRecord, kTuple.
  const std::vector<Value>& items() const { return std::get<std::vector<Value>>(data_); }
  std::vector<Value>& mutable_items() { return std::get<std::vector<Value>>(data_); }
  // kFlags.
  const std::vector<bool>& flags() const { return std::get<std::vector<bool>>(data_); }

  // kVariant, kEnum, kOption, kResult: the case index (see the table above).
  uint32_t case_index() const { return static_cast<uint32_t>(bits_); }
  // The payload of a variant/option/result case, or nullptr when the case has none.
  const Value* payload() const;
  Value* mutable_payload() { return const_cast<Value*>(std::as_const(*this).payload()); }
  bool is_some() const { return kind_ == TypeKind::kOption && bits_ == 1; }
  bool is_ok() const { return kind_ == TypeKind::kResult && bits_ == 0; }
  bool is_err() const { return kind_ == TypeKind::kResult && bits_ == 1; }

  // A readable rendering for logs and test failures, e.g. `some([1, 2])`, `ok("x")`.
  std::string ToString() const;

  friend bool operator==(const Value& a, const Value& b);

 private:
  template <typename Data>
  static Value WithData(TypeKind kind, Data data) {
    Value v;
    v.kind_ = kind;
    v.data_ = std::move(data);
    return v;
  }
  static Value Scalar(TypeKind kind, uint64_t bits) {
    Value v;
    v.kind_ = kind;
    v.bits_ = bits;
    return v;
  }

  using SharedByteVector = std::shared_ptr<const std::vector<uint8_t>>;  // never null

  TypeKind kind_;
  uint64_t bits_ = 0;
  std::variant<std::monostate, std::string, std::vector<uint8_t>, std::vector<Value>,
               std::vector<bool>, BytesDigest, SharedByteVector>
      data_;
};

// A vector of `values`, each moved in. A braced list (`std::vector<Value>{a, b}`) copies every
// element, its bytes and strings too: initializer_list elements are const.
template <typename... Values>
std::vector<Value> ValuesOf(Values&&... values) {
  std::vector<Value> out;
  out.reserve(sizeof...(values));
  (out.push_back(std::forward<Values>(values)), ...);
  return out;
}

}  // namespace theater::abi
