// Theater: a WebAssembly actor runtime.
#include "theater/abi/value.h"

#include "common/bytes.h"
#include "common/utf8.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>

namespace theater::abi {
namespace {

// Lists are cut short in ToString beyond this many elements: a 1 MiB state blob in a log line
// helps nobody.
constexpr size_t kMaxRenderedItems = 32;

void AppendHex(uint32_t v, std::string* out) {
  char buf[16];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, 16);
  out->append(buf, end);
}

// Escapes quotes, backslashes and control characters; other bytes (UTF-8 included) pass through.
void AppendQuoted(std::string_view s, char quote, std::string* out) {
  out->push_back(quote);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (ch == quote || ch == '\\') {
      out->push_back('\\');
      out->push_back(ch);
    } else if (ch == '\n') {
      out->append("\\n");
    } else if (ch == '\t') {
      out->append("\\t");
    } else if (ch == '\r') {
      out->append("\\r");
    } else if (c < 0x20 || c == 0x7F) {
      out->append("\\u{");
      AppendHex(c, out);
      out->push_back('}');
    } else {
      out->push_back(ch);
    }
  }
  out->push_back(quote);
}

template <typename T>
void AppendNumber(T v, std::string* out) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, end);
}

template <typename F>
void AppendFloat(F v, std::string* out) {
  if (std::isnan(v)) {
    out->append("nan");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "inf" : "-inf");
  } else {
    AppendNumber(v, out);  // shortest representation that round-trips
  }
}

void Render(const Value& v, std::string* out);

template <typename Items, typename Fn>
void AppendSequence(const Items& items, char open, char close, Fn render_one, std::string* out) {
  out->push_back(open);
  const size_t shown = std::min(items.size(), kMaxRenderedItems);
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) out->append(", ");
    render_one(items[i]);
  }
  if (shown < items.size()) {
    out->append(", ... (");
    AppendNumber(items.size(), out);
    out->append(" items)");
  }
  out->push_back(close);
}

void AppendPayload(const Value& v, std::string* out) {
  if (const Value* payload = v.payload()) {
    out->push_back('(');
    Render(*payload, out);
    out->push_back(')');
  }
}

void Render(const Value& v, std::string* out) {
  switch (v.kind()) {
    case TypeKind::kBool:
      out->append(v.as_bool() ? "true" : "false");
      return;
    case TypeKind::kS8:
    case TypeKind::kS16:
    case TypeKind::kS32:
    case TypeKind::kS64:
      AppendNumber(v.as_s64(), out);
      return;
    case TypeKind::kU8:
    case TypeKind::kU16:
    case TypeKind::kU32:
    case TypeKind::kU64:
      AppendNumber(v.as_u64(), out);
      return;
    case TypeKind::kF32:
      AppendFloat(v.as_f32(), out);
      return;
    case TypeKind::kF64:
      AppendFloat(v.as_f64(), out);
      return;
    case TypeKind::kChar: {
      const char32_t c = v.as_char();
      if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        out->append("'\\u{");
        AppendHex(c, out);
        out->append("}'");
      } else {
        std::string utf8;
        theater::AppendUtf8(c, &utf8);
        AppendQuoted(utf8, '\'', out);
      }
      return;
    }
    case TypeKind::kString:
      AppendQuoted(v.as_string(), '"', out);
      return;
    case TypeKind::kList:
      if (v.is_bytes_digest()) {
        const BytesDigest& d = v.bytes_digest();
        out->append("<" + std::to_string(d.size) + " bytes, sha256 ");
        out->append(HexEncode(std::span<const uint8_t>(d.sha256).first(8)));
        out->append("...>");
      } else if (v.is_bytes()) {
        AppendSequence(
            v.as_bytes(), '[', ']', [&](uint8_t b) { AppendNumber(b, out); }, out);
      } else {
        AppendSequence(
            v.items(), '[', ']', [&](const Value& e) { Render(e, out); }, out);
      }
      return;
    case TypeKind::kRecord:
      AppendSequence(
          v.items(), '{', '}', [&](const Value& e) { Render(e, out); }, out);
      return;
    case TypeKind::kTuple:
      AppendSequence(
          v.items(), '(', ')', [&](const Value& e) { Render(e, out); }, out);
      return;
    case TypeKind::kVariant:
      out->push_back('#');
      AppendNumber(v.case_index(), out);
      AppendPayload(v, out);
      return;
    case TypeKind::kEnum:
      out->push_back('#');
      AppendNumber(v.case_index(), out);
      return;
    case TypeKind::kFlags: {
      // The set labels by index: names live in the Type.
      out->append("flags{");
      bool first = true;
      for (size_t i = 0; i < v.flags().size(); ++i) {
        if (!v.flags()[i]) continue;
        if (!first) out->append(", ");
        first = false;
        AppendNumber(i, out);
      }
      out->push_back('}');
      return;
    }
    case TypeKind::kOption:
      out->append(v.is_some() ? "some" : "none");
      AppendPayload(v, out);
      return;
    case TypeKind::kResult:
      out->append(v.is_ok() ? "ok" : "err");
      AppendPayload(v, out);
      return;
    case TypeKind::kOwn:
      out->append("own#");
      AppendNumber(v.handle(), out);
      return;
    case TypeKind::kBorrow:
      out->append("borrow#");
      AppendNumber(v.handle(), out);
      return;
  }
  out->append("<invalid value>");
}

// A list<u8> may be held either way; equality looks through the representation.
bool BytesEqualItems(const std::vector<uint8_t>& bytes, const std::vector<Value>& items) {
  if (bytes.size() != items.size()) return false;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (items[i].kind() != TypeKind::kU8 || items[i].as_u64() != bytes[i]) return false;
  }
  return true;
}

}  // namespace

// Floats keep their bit pattern in bits_ so that equality and the event chain see exactly what
// crossed the boundary (NaN payloads included).
Value Value::F32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return Scalar(TypeKind::kF32, bits);
}

Value Value::F64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return Scalar(TypeKind::kF64, bits);
}

float Value::as_f32() const {
  const auto bits = static_cast<uint32_t>(bits_);
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

double Value::as_f64() const {
  double v;
  std::memcpy(&v, &bits_, sizeof(v));
  return v;
}

Value Value::String(std::string v) {
  return WithData(TypeKind::kString, std::move(v));
}

Value Value::Bytes(std::vector<uint8_t> v) {
  return WithData(TypeKind::kList, std::move(v));
}

Value Value::SharedBytes(std::shared_ptr<const std::vector<uint8_t>> bytes) {
  if (bytes == nullptr) return Bytes({});
  return WithData(TypeKind::kList, SharedByteVector(std::move(bytes)));
}

std::vector<uint8_t>& Value::mutable_bytes() {
  if (auto* shared = std::get_if<SharedByteVector>(&data_)) {
    std::vector<uint8_t> copy(**shared);
    data_ = std::move(copy);
  }
  return std::get<std::vector<uint8_t>>(data_);
}

Value Value::BytesByDigest(BytesDigest digest) {
  return WithData(TypeKind::kList, digest);
}

Value Value::List(std::vector<Value> items) {
  return WithData(TypeKind::kList, std::move(items));
}

Value Value::Record(std::vector<Value> fields) {
  return WithData(TypeKind::kRecord, std::move(fields));
}

Value Value::Tuple(std::vector<Value> elements) {
  return WithData(TypeKind::kTuple, std::move(elements));
}

// A payload is kept as the single element of a vector<Value> (ValuesOf moves it in: it may be a
// whole state blob): Value cannot hold an optional of itself, and the vector costs nothing when
// there is no payload.

Value Value::Variant(uint32_t case_index, std::optional<Value> payload) {
  Value out = Scalar(TypeKind::kVariant, case_index);
  if (payload) out.data_ = ValuesOf(std::move(*payload));
  return out;
}

Value Value::Flags(std::vector<bool> set) {
  Value out;
  out.kind_ = TypeKind::kFlags;
  out.data_ = std::move(set);
  return out;
}

Value Value::Some(Value v) {
  Value out = Scalar(TypeKind::kOption, 1);
  out.data_ = ValuesOf(std::move(v));
  return out;
}

Value Value::Ok(std::optional<Value> v) {
  Value out = Scalar(TypeKind::kResult, 0);
  if (v) out.data_ = ValuesOf(std::move(*v));
  return out;
}

Value Value::Err(std::optional<Value> v) {
  Value out = Scalar(TypeKind::kResult, 1);
  if (v) out.data_ = ValuesOf(std::move(*v));
  return out;
}

const Value* Value::payload() const {
  switch (kind_) {
    case TypeKind::kVariant:
    case TypeKind::kOption:
    case TypeKind::kResult: {
      const auto* items = std::get_if<std::vector<Value>>(&data_);
      return items && !items->empty() ? &items->front() : nullptr;
    }
    default:
      return nullptr;
  }
}

std::string Value::ToString() const {
  std::string out;
  Render(*this, &out);
  return out;
}

// Structural equality. Floats compare by bit pattern (a NaN equals the same NaN, 0.0 differs from
// -0.0), which is what "the same value crossed the boundary" means; a list<u8> held as Bytes
// equals the same list held as U8 items.
bool operator==(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_ || a.bits_ != b.bits_) return false;
  if (a.kind_ == TypeKind::kList && a.is_bytes() != b.is_bytes()) {
    const Value& bytes = a.is_bytes() ? a : b;
    const Value& items = a.is_bytes() ? b : a;
    const auto* list = std::get_if<std::vector<Value>>(&items.data_);
    return list != nullptr && BytesEqualItems(bytes.as_bytes(), *list);
  }
  // Owned or shared, bytes compare by content.
  if (a.is_bytes()) return a.as_bytes() == b.as_bytes();
  return a.data_ == b.data_;
}

}  // namespace theater::abi
