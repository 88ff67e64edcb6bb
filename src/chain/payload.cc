// Theater: a WebAssembly actor runtime.
//
// The canonical binary encoding of chain payloads and values (docs/chain-format.md). The decoder
// is the exact inverse of the encoder: it accepts only what the encoder can produce, so a payload
// that decodes re-encodes to the same bytes and therefore to the same hash.
#include <algorithm>
#include <bit>
#include <string>

#include "common/leb128.h"
#include "theater/chain.h"

namespace theater::chain {
namespace {

using abi::TypeKind;
using abi::Value;

// Payload kinds (the first byte of every payload).
enum PayloadTag : uint8_t {
  kHostCallTag = 0x01,
  kExportCallTag = 0x02,
  // 0x03 is not assigned.
  kLifecycleTag = 0x04,
  kLogTag = 0x05,
  kInitialStateTag = 0x06,
};

// Value kinds (the first byte of every encoded value).
enum ValueTag : uint8_t {
  kBoolTag = 0x01,
  kS8Tag = 0x02,
  kU8Tag = 0x03,
  kS16Tag = 0x04,
  kU16Tag = 0x05,
  kS32Tag = 0x06,
  kU32Tag = 0x07,
  kS64Tag = 0x08,
  kU64Tag = 0x09,
  kF32Tag = 0x0a,
  kF64Tag = 0x0b,
  kCharTag = 0x0c,
  kStringTag = 0x0d,
  kListTag = 0x0e,
  kBytesTag = 0x0f,
  kRecordTag = 0x10,
  kTupleTag = 0x11,
  kVariantTag = 0x12,
  kEnumTag = 0x13,
  kFlagsTag = 0x14,
  kOptionTag = 0x15,
  kResultTag = 0x16,
  kOwnTag = 0x17,
  kBorrowTag = 0x18,
  kBytesDigestTag = 0x19,
};

// The smallest encoding of any value or list element is two bytes (a tag and one content byte),
// which bounds how many elements a count can honestly announce.
constexpr size_t kMinValueSize = 2;
// Vectors grow as elements actually decode; a lying count cannot reserve more than this.
constexpr size_t kMaxReserve = 4096;

// ----- encoder ---------------------------------------------------------------------------------

// Appends encodings to a caller's buffer. EventChain::AppendWith hands it a payload buffer
// recycled from an evicted event, so a chain at its memory limit encodes without allocating.
class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out, const ByteSpill* spill = nullptr)
      : out_(out), spill_(spill) {}

  void Byte(uint8_t b) { out_.push_back(b); }
  void Fixed(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void Uleb(uint64_t v) { AppendUleb(out_, v); }
  void Blob(std::span<const uint8_t> bytes) {
    Uleb(bytes.size());
    out_.insert(out_.end(), bytes.begin(), bytes.end());
  }
  void Str(std::string_view s) { Blob({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }
  void Scalar(uint8_t tag, uint64_t bits, int width) {
    Byte(tag);
    Fixed(bits, width);
  }

  void Val(const Value& v) {
    switch (v.kind()) {
      case TypeKind::kBool:
        return Scalar(kBoolTag, v.as_bool() ? 1 : 0, 1);
      case TypeKind::kS8:
        return Scalar(kS8Tag, v.as_u64(), 1);
      case TypeKind::kU8:
        return Scalar(kU8Tag, v.as_u64(), 1);
      case TypeKind::kS16:
        return Scalar(kS16Tag, v.as_u64(), 2);
      case TypeKind::kU16:
        return Scalar(kU16Tag, v.as_u64(), 2);
      case TypeKind::kS32:
        return Scalar(kS32Tag, v.as_u64(), 4);
      case TypeKind::kU32:
        return Scalar(kU32Tag, v.as_u64(), 4);
      case TypeKind::kS64:
        return Scalar(kS64Tag, v.as_u64(), 8);
      case TypeKind::kU64:
        return Scalar(kU64Tag, v.as_u64(), 8);
      case TypeKind::kF32:
        return Scalar(kF32Tag, std::bit_cast<uint32_t>(v.as_f32()), 4);
      case TypeKind::kF64:
        return Scalar(kF64Tag, std::bit_cast<uint64_t>(v.as_f64()), 8);
      case TypeKind::kChar:
        return Scalar(kCharTag, v.as_char(), 4);
      case TypeKind::kString:
        Byte(kStringTag);
        Str(v.as_string());
        return;
      case TypeKind::kList:
        if (v.is_bytes_digest()) {
          BytesDigest(v.bytes_digest().size, v.bytes_digest().sha256);
        } else if (v.is_bytes()) {
          if (!Spilled(v.as_bytes())) {
            Byte(kBytesTag);
            Blob(v.as_bytes());
          }
        } else {
          Byte(kListTag);
          Vals(v.items());
        }
        return;
      case TypeKind::kRecord:
        Byte(kRecordTag);
        Vals(v.items());
        return;
      case TypeKind::kTuple:
        Byte(kTupleTag);
        Vals(v.items());
        return;
      case TypeKind::kVariant:
        Byte(kVariantTag);
        Uleb(v.case_index());
        OptionalVal(v.payload());
        return;
      case TypeKind::kEnum:
        Byte(kEnumTag);
        Uleb(v.case_index());
        return;
      case TypeKind::kFlags: {
        Byte(kFlagsTag);
        const std::vector<bool>& flags = v.flags();
        Uleb(flags.size());
        for (size_t i = 0; i < flags.size(); i += 8) {
          uint8_t b = 0;
          for (size_t j = 0; j < 8 && i + j < flags.size(); ++j) {
            if (flags[i + j]) b |= static_cast<uint8_t>(1u << j);
          }
          Byte(b);
        }
        return;
      }
      case TypeKind::kOption:
        Byte(kOptionTag);
        if (v.is_some() && v.payload() != nullptr) {
          Byte(1);
          Val(*v.payload());
        } else {
          Byte(0);
        }
        return;
      case TypeKind::kResult:
        Byte(kResultTag);
        Byte(v.is_err() ? 1 : 0);
        OptionalVal(v.payload());
        return;
      case TypeKind::kOwn:
        return Scalar(kOwnTag, v.handle(), 4);
      case TypeKind::kBorrow:
        return Scalar(kBorrowTag, v.handle(), 4);
    }
  }

  void BytesDigest(uint64_t size, const Hash& sha256) {
    Byte(kBytesDigestTag);
    Uleb(size);
    out_.insert(out_.end(), sha256.begin(), sha256.end());
  }

  // Records `bytes` by digest when a spill takes them (chain.h, ByteSpill).
  bool Spilled(std::span<const uint8_t> bytes) {
    if (spill_ == nullptr || !spill_->keep || bytes.size() <= spill_->inline_max) return false;
    const Hash sha256 = Sha256(bytes);
    if (!spill_->keep(bytes, sha256)) return false;
    BytesDigest(bytes.size(), sha256);
    return true;
  }

  void Vals(std::span<const Value> values) {
    Uleb(values.size());
    for (const Value& v : values) Val(v);
  }

  void OptionalVal(const Value* v) {
    if (v) {
      Byte(1);
      Val(*v);
    } else {
      Byte(0);
    }
  }

  void Outcome(const CallOutcomeView& o) {
    if (o.error == nullptr) {
      Byte(0);
      Vals(o.values);
    } else {
      Byte(1);
      Str(*o.error);
    }
  }

  void State(const StateRecordView& s) {
    Byte(static_cast<uint8_t>(s.form));
    switch (s.form) {
      case StateRecord::Form::kNone:
        return;
      case StateRecord::Form::kInline:
        Blob(s.bytes);
        return;
      case StateRecord::Form::kDigest:
        Uleb(s.size);
        out_.insert(out_.end(), s.digest.begin(), s.digest.end());
        return;
    }
  }

 private:
  std::vector<uint8_t>& out_;
  const ByteSpill* spill_;
};

// ----- decoder ---------------------------------------------------------------------------------

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}

  size_t remaining() const { return in_.size() - pos_; }

  Status Fail(std::string what) const {
    return ParseError("malformed chain payload at byte " + std::to_string(pos_) + ": " + what);
  }

  Status End() const {
    if (pos_ != in_.size()) return Fail(std::to_string(remaining()) + " trailing bytes");
    return Status::Ok();
  }

  Result<uint8_t> Byte(const char* what) {
    if (remaining() < 1) return Fail(std::string("truncated ") + what);
    return in_[pos_++];
  }

  Result<bool> Flag(const char* what) {
    THEATER_ASSIGN_OR_RETURN(uint8_t b, Byte(what));
    if (b > 1) return Fail(std::string(what) + " must be 0 or 1, got " + std::to_string(b));
    return b == 1;
  }

  Result<uint64_t> Fixed(int width, const char* what) {
    if (remaining() < static_cast<size_t>(width)) return Fail(std::string("truncated ") + what);
    uint64_t v = 0;
    for (int i = 0; i < width; ++i) v |= uint64_t{in_[pos_ + i]} << (8 * i);
    pos_ += width;
    return v;
  }

  // Unsigned LEB128, at most 64 bits, in its shortest form (so that one value has one encoding,
  // and one event one hash).
  Result<uint64_t> Uleb(const char* what) {
    const LebValue v = DecodeUleb(in_.subspan(pos_), 64);
    pos_ += v.length;
    if (v.problem == LebProblem::kTruncated) return Fail(std::string("truncated ") + what);
    if (!v.ok()) return Fail(std::string(what) + " overflows 64 bits");
    if (v.length != UlebSize(v.value)) {
      return Fail(std::string(what) + " is not in its shortest form");
    }
    return v.value;
  }

  // A count of elements, each at least `min_size` bytes long (checked against what is left).
  Result<size_t> Count(const char* what, size_t min_size) {
    THEATER_ASSIGN_OR_RETURN(uint64_t n, Uleb(what));
    if (n > remaining() / min_size) {
      return Fail(std::string(what) + " " + std::to_string(n) + " exceeds the remaining input");
    }
    return static_cast<size_t>(n);
  }

  Result<std::span<const uint8_t>> Blob(const char* what) {
    THEATER_ASSIGN_OR_RETURN(size_t n, Count(what, 1));
    std::span<const uint8_t> out = in_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

  Result<std::string> Str(const char* what) {
    THEATER_ASSIGN_OR_RETURN(std::span<const uint8_t> b, Blob(what));
    return std::string(b.begin(), b.end());
  }

  // `depth` is 1 for a top-level value and grows by one per element, field or payload.
  Result<Value> Val(int depth) {
    if (depth > kMaxValueDepth) {
      return Fail("values nested deeper than " + std::to_string(kMaxValueDepth));
    }
    THEATER_ASSIGN_OR_RETURN(uint8_t tag, Byte("value tag"));
    switch (tag) {
      case kBoolTag: {
        THEATER_ASSIGN_OR_RETURN(bool b, Flag("bool"));
        return Value::Bool(b);
      }
      case kS8Tag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t v, Fixed(1, "s8"));
        return Value::S8(static_cast<int8_t>(v));
      }
      case kU8Tag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t v, Fixed(1, "u8"));
        return Value::U8(static_cast<uint8_t>(v));
      }
      case kS16Tag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t v, Fixed(2, "s16"));
        return Value::S16(static_cast<int16_t>(v));
      }
      case kU16Tag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t v, Fixed(2, "u16"));
        return Value::U16(static_cast<uint16_t>(v));
      }
      case kS32Tag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t v, Fixed(4, "s32"));
        return Value::S32(static_cast<int32_t>(v));
      }
      case kU32Tag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t v, Fixed(4, "u32"));
        return Value::U32(static_cast<uint32_t>(v));
      }
      case kS64Tag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t v, Fixed(8, "s64"));
        return Value::S64(static_cast<int64_t>(v));
      }
      case kU64Tag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t v, Fixed(8, "u64"));
        return Value::U64(v);
      }
      case kF32Tag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t v, Fixed(4, "f32"));
        return Value::F32(std::bit_cast<float>(static_cast<uint32_t>(v)));
      }
      case kF64Tag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t v, Fixed(8, "f64"));
        return Value::F64(std::bit_cast<double>(v));
      }
      case kCharTag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t v, Fixed(4, "char"));
        return Value::Char(static_cast<char32_t>(v));
      }
      case kStringTag: {
        THEATER_ASSIGN_OR_RETURN(std::string s, Str("string length"));
        return Value::String(std::move(s));
      }
      case kBytesTag: {
        THEATER_ASSIGN_OR_RETURN(std::span<const uint8_t> b, Blob("byte list length"));
        return Value::Bytes(std::vector<uint8_t>(b.begin(), b.end()));
      }
      case kBytesDigestTag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t size, Uleb("digest-recorded byte list size"));
        abi::BytesDigest digest;
        digest.size = size;
        if (remaining() < digest.sha256.size()) return Fail("truncated byte list digest");
        std::copy_n(in_.begin() + pos_, digest.sha256.size(), digest.sha256.begin());
        pos_ += digest.sha256.size();
        return Value::BytesByDigest(digest);
      }
      case kListTag: {
        THEATER_ASSIGN_OR_RETURN(std::vector<Value> items, Vals("list length", depth));
        return Value::List(std::move(items));
      }
      case kRecordTag: {
        THEATER_ASSIGN_OR_RETURN(std::vector<Value> items, Vals("record field count", depth));
        return Value::Record(std::move(items));
      }
      case kTupleTag: {
        THEATER_ASSIGN_OR_RETURN(std::vector<Value> items, Vals("tuple length", depth));
        return Value::Tuple(std::move(items));
      }
      case kVariantTag: {
        THEATER_ASSIGN_OR_RETURN(uint32_t index, CaseIndex("variant case"));
        THEATER_ASSIGN_OR_RETURN(std::optional<Value> payload, OptionalVal(depth));
        return Value::Variant(index, std::move(payload));
      }
      case kEnumTag: {
        THEATER_ASSIGN_OR_RETURN(uint32_t index, CaseIndex("enum label"));
        return Value::Enum(index);
      }
      case kFlagsTag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t n, Uleb("flag count"));
        // n / 8 + (n % 8 != 0), not (n + 7) / 8: that wraps to 0 for a count near 2^64.
        if (n / 8 + (n % 8 != 0 ? 1 : 0) > remaining()) {
          return Fail("flag count " + std::to_string(n) + " exceeds the remaining input");
        }
        std::vector<bool> flags(n);
        for (size_t i = 0; i < n; i += 8) {
          THEATER_ASSIGN_OR_RETURN(uint8_t b, Byte("flags"));
          size_t bits = std::min<size_t>(8, n - i);
          if (bits < 8 && (b >> bits) != 0) return Fail("unused flag bits are set");
          for (size_t j = 0; j < bits; ++j) flags[i + j] = (b >> j) & 1;
        }
        return Value::Flags(std::move(flags));
      }
      case kOptionTag: {
        THEATER_ASSIGN_OR_RETURN(std::optional<Value> payload, OptionalVal(depth));
        if (!payload) return Value::None();
        return Value::Some(std::move(*payload));
      }
      case kResultTag: {
        THEATER_ASSIGN_OR_RETURN(bool is_err, Flag("result case"));
        THEATER_ASSIGN_OR_RETURN(std::optional<Value> payload, OptionalVal(depth));
        return is_err ? Value::Err(std::move(payload)) : Value::Ok(std::move(payload));
      }
      case kOwnTag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t v, Fixed(4, "own handle"));
        return Value::Own(static_cast<uint32_t>(v));
      }
      case kBorrowTag: {
        THEATER_ASSIGN_OR_RETURN(uint64_t v, Fixed(4, "borrow handle"));
        return Value::Borrow(static_cast<uint32_t>(v));
      }
      default:
        --pos_;
        return Fail("unknown value tag " + std::to_string(tag));
    }
  }

  Result<std::vector<Value>> Vals(const char* what, int depth) {
    THEATER_ASSIGN_OR_RETURN(size_t n, Count(what, kMinValueSize));
    std::vector<Value> out;
    out.reserve(std::min(n, kMaxReserve));
    for (size_t i = 0; i < n; ++i) {
      THEATER_ASSIGN_OR_RETURN(Value v, Val(depth + 1));
      out.push_back(std::move(v));
    }
    return out;
  }

  Result<std::optional<Value>> OptionalVal(int depth) {
    THEATER_ASSIGN_OR_RETURN(bool present, Flag("payload flag"));
    if (!present) return std::optional<Value>();
    THEATER_ASSIGN_OR_RETURN(Value v, Val(depth + 1));
    return std::optional<Value>(std::move(v));
  }

  Result<uint32_t> CaseIndex(const char* what) {
    THEATER_ASSIGN_OR_RETURN(uint64_t v, Uleb(what));
    if (v > UINT32_MAX) return Fail(std::string(what) + " exceeds 32 bits");
    return static_cast<uint32_t>(v);
  }

  Result<CallOutcome> Outcome() {
    THEATER_ASSIGN_OR_RETURN(bool failed, Flag("outcome flag"));
    if (failed) {
      THEATER_ASSIGN_OR_RETURN(std::string error, Str("error length"));
      return CallOutcome::Error(std::move(error));
    }
    THEATER_ASSIGN_OR_RETURN(std::vector<Value> values, Vals("result count", 0));
    return CallOutcome::Ok(std::move(values));
  }

  Result<StateRecord> State() {
    THEATER_ASSIGN_OR_RETURN(uint8_t form, Byte("state form"));
    StateRecord s;
    switch (form) {
      case 0:
        return s;
      case 1: {
        THEATER_ASSIGN_OR_RETURN(std::span<const uint8_t> b, Blob("inline state length"));
        if (StateRecordedByDigest(b.size())) {
          return Fail("inline state of " + std::to_string(b.size()) +
                      " bytes exceeds the inline limit");
        }
        s.form = StateRecord::Form::kInline;
        s.size = b.size();
        s.bytes.assign(b.begin(), b.end());
        return s;
      }
      case 2: {
        THEATER_ASSIGN_OR_RETURN(uint64_t size, Uleb("state size"));
        if (!StateRecordedByDigest(size)) {
          return Fail("state of " + std::to_string(size) + " bytes must be recorded inline");
        }
        if (remaining() < s.digest.size()) return Fail("truncated state digest");
        s.form = StateRecord::Form::kDigest;
        s.size = size;
        std::copy_n(in_.begin() + pos_, s.digest.size(), s.digest.begin());
        pos_ += s.digest.size();
        return s;
      }
      default:
        --pos_;
        return Fail("unknown state form " + std::to_string(form));
    }
  }

  Result<Payload> Pay() {
    THEATER_ASSIGN_OR_RETURN(uint8_t tag, Byte("payload kind"));
    switch (tag) {
      case kHostCallTag: {
        HostCall p;
        THEATER_ASSIGN_OR_RETURN(p.interface, Str("interface length"));
        THEATER_ASSIGN_OR_RETURN(p.function, Str("function length"));
        THEATER_ASSIGN_OR_RETURN(p.input, Vals("input count", 0));
        THEATER_ASSIGN_OR_RETURN(p.output, Outcome());
        return Payload(std::move(p));
      }
      case kExportCallTag: {
        ExportCall p;
        THEATER_ASSIGN_OR_RETURN(p.function, Str("function length"));
        THEATER_ASSIGN_OR_RETURN(p.params, Vals("param count", 0));
        THEATER_ASSIGN_OR_RETURN(p.result, Outcome());
        THEATER_ASSIGN_OR_RETURN(p.new_state, State());
        return Payload(std::move(p));
      }
      case kLifecycleTag: {
        Lifecycle p;
        THEATER_ASSIGN_OR_RETURN(p.kind, Str("kind length"));
        THEATER_ASSIGN_OR_RETURN(p.message, Str("message length"));
        return Payload(std::move(p));
      }
      case kLogTag: {
        Log p;
        THEATER_ASSIGN_OR_RETURN(p.level, Str("level length"));
        THEATER_ASSIGN_OR_RETURN(p.message, Str("message length"));
        return Payload(std::move(p));
      }
      case kInitialStateTag: {
        InitialState p;
        THEATER_ASSIGN_OR_RETURN(p.source, Str("source length"));
        THEATER_ASSIGN_OR_RETURN(p.state, Val(1));
        return Payload(std::move(p));
      }
      default:
        --pos_;
        return Fail("unknown payload kind " + std::to_string(tag));
    }
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

}  // namespace

StateRecord StateRecord::OfBytes(std::span<const uint8_t> state) {
  const StateRecordView view =
      StateRecordView::OfBytes(state, StateRecordedByDigest(state.size()) ? Sha256(state) : Hash{});
  return {view.form, view.size, {view.bytes.begin(), view.bytes.end()}, view.digest};
}

StateRecordView StateRecordView::OfBytes(std::span<const uint8_t> state, const Hash& digest) {
  StateRecordView s;
  s.size = state.size();
  if (StateRecordedByDigest(state.size())) {
    s.form = StateRecord::Form::kDigest;
    s.digest = digest;
  } else {
    s.form = StateRecord::Form::kInline;
    s.bytes = state;
  }
  return s;
}

StateRecord StateRecord::Of(const std::optional<std::vector<uint8_t>>& state) {
  return state ? OfBytes(*state) : None();
}

std::string EventTypeFor(const Payload& payload) {
  struct Visitor {
    std::string operator()(const HostCall& p) const { return p.interface + "/" + p.function; }
    std::string operator()(const ExportCall&) const { return "wasm"; }
    std::string operator()(const Lifecycle&) const { return std::string(kLifecycleEventType); }
    std::string operator()(const Log&) const { return "theater:simple/runtime/log"; }
    std::string operator()(const InitialState&) const { return std::string(kLifecycleEventType); }
  };
  return std::visit(Visitor{}, payload);
}

CallOutcomeView CallOutcome::view() const {
  return {values, error ? &*error : nullptr};
}

void EncodeHostCallTo(std::string_view interface, std::string_view function,
                      std::span<const abi::Value> input, const CallOutcomeView& output,
                      std::vector<uint8_t>& out, const ByteSpill* spill) {
  Writer w(out, spill);
  w.Byte(kHostCallTag);
  w.Str(interface);
  w.Str(function);
  w.Vals(input);
  w.Outcome(output);
}

void EncodeExportCallTo(std::string_view function, std::span<const abi::Value> params,
                        const CallOutcomeView& result, const StateRecordView& new_state,
                        std::vector<uint8_t>& out, const ByteSpill* spill) {
  Writer w(out, spill);
  w.Byte(kExportCallTag);
  w.Str(function);
  w.Vals(params);
  w.Outcome(result);
  w.State(new_state);
}

void EncodeInitialStateTo(std::string_view source, const abi::Value& state,
                          std::vector<uint8_t>& out, const ByteSpill* spill) {
  Writer w(out, spill);
  w.Byte(kInitialStateTag);
  w.Str(source);
  w.Val(state);
}

void EncodePayloadTo(const Payload& payload, std::vector<uint8_t>& out) {
  struct Visitor {
    std::vector<uint8_t>& out;
    void operator()(const HostCall& p) const {
      EncodeHostCallTo(p.interface, p.function, p.input, p.output.view(), out);
    }
    void operator()(const ExportCall& p) const {
      EncodeExportCallTo(p.function, p.params, p.result.view(), p.new_state, out);
    }
    void operator()(const Lifecycle& p) const {
      Writer w(out);
      w.Byte(kLifecycleTag);
      w.Str(p.kind);
      w.Str(p.message);
    }
    void operator()(const Log& p) const {
      Writer w(out);
      w.Byte(kLogTag);
      w.Str(p.level);
      w.Str(p.message);
    }
    void operator()(const InitialState& p) const { EncodeInitialStateTo(p.source, p.state, out); }
  };
  std::visit(Visitor{out}, payload);
}

std::vector<uint8_t> EncodePayload(const Payload& payload) {
  std::vector<uint8_t> out;
  EncodePayloadTo(payload, out);
  return out;
}

std::vector<uint8_t> EncodeValue(const abi::Value& value) {
  std::vector<uint8_t> out;
  Writer w(out);
  w.Val(value);
  return out;
}

Result<Payload> DecodePayload(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  THEATER_ASSIGN_OR_RETURN(Payload p, r.Pay());
  THEATER_RETURN_IF_ERROR(r.End());
  return p;
}

PayloadKind PeekPayloadKind(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return PayloadKind::kNone;
  switch (bytes[0]) {
    case kHostCallTag:
      return PayloadKind::kHostCall;
    case kExportCallTag:
      return PayloadKind::kExportCall;
    case kLifecycleTag:
      return PayloadKind::kLifecycle;
    case kLogTag:
      return PayloadKind::kLog;
    case kInitialStateTag:
      return PayloadKind::kInitialState;
    default:
      return PayloadKind::kNone;
  }
}

Result<abi::Value> DecodeValue(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  THEATER_ASSIGN_OR_RETURN(abi::Value v, r.Val(1));
  THEATER_RETURN_IF_ERROR(r.End());
  return v;
}

}  // namespace theater::chain
