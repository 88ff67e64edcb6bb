// Theater: a WebAssembly actor runtime.
//
// Test-only byte builder for component binaries: LEB128 integers, names, sections, preambles and
// tiny core modules, so tests can write valid and deliberately broken components byte by byte.
//
// Thread-safety: plain values; not shared.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/leb128.h"

namespace theater::component::testing {

class Bytes {
 public:
  Bytes() = default;
  Bytes(std::initializer_list<uint8_t> bytes) : data_(bytes) {}

  Bytes& Byte(uint8_t b) {
    data_.push_back(b);
    return *this;
  }
  Bytes& Raw(std::initializer_list<uint8_t> bytes) {
    data_.insert(data_.end(), bytes.begin(), bytes.end());
    return *this;
  }
  Bytes& U32(uint64_t value) {  // unsigned LEB128 (any width)
    AppendUleb(data_, value);
    return *this;
  }
  // Signed LEB128 of a non-negative value: how type indices are written where a value type may
  // also be a primitive opcode (indices from 64 on take two bytes).
  Bytes& S33(uint32_t value) {
    uint64_t v = value;
    while (true) {
      const uint8_t b = v & 0x7f;
      v >>= 7;
      if (v == 0 && (b & 0x40) == 0) {
        data_.push_back(b);
        return *this;
      }
      data_.push_back(b | 0x80);
    }
  }
  Bytes& Name(std::string_view name) {
    U32(name.size());
    data_.insert(data_.end(), name.begin(), name.end());
    return *this;
  }
  // An import or export name with the 0x00 prefix of current binaries.
  Bytes& ExternName(std::string_view name) { return Byte(0x00).Name(name); }
  Bytes& Append(const Bytes& other) {
    data_.insert(data_.end(), other.data_.begin(), other.data_.end());
    return *this;
  }

  const std::vector<uint8_t>& data() const { return data_; }
  size_t size() const { return data_.size(); }

 private:
  std::vector<uint8_t> data_;
};

// id, LEB128 size, contents.
inline Bytes Section(uint8_t id, const Bytes& contents) {
  return Bytes().Byte(id).U32(contents.size()).Append(contents);
}

// A vector section: LEB128 count then the items.
inline Bytes VecSection(uint8_t id, std::initializer_list<Bytes> items) {
  Bytes contents;
  contents.U32(items.size());
  for (const Bytes& item : items) contents.Append(item);
  return Section(id, contents);
}

inline Bytes ComponentPreamble() {
  return Bytes{0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00};
}

inline Bytes ComponentBytes(std::initializer_list<Bytes> sections) {
  Bytes out = ComponentPreamble();
  for (const Bytes& s : sections) out.Append(s);
  return out;
}

// Section ids.
inline constexpr uint8_t kCustom = 0, kCoreModule = 1, kCoreInstance = 2, kCoreType = 3,
                         kComponentSection = 4, kInstance = 5, kAlias = 6, kType = 7, kCanon = 8,
                         kStart = 9, kImport = 10, kExport = 11, kValue = 12;

// A core module with function types, function imports, defined functions (bodies trap), an
// optional memory, and exports. Enough for linking tests; the decoder does not read code.
struct CoreModuleSpec {
  struct FuncType {
    std::vector<uint8_t> params, results;  // core value type bytes (0x7f i32, ...)
  };
  struct Import {
    std::string module, name;
    uint32_t type;
  };
  struct Export {
    std::string name;
    uint8_t kind;  // 0 func, 1 table, 2 memory, 3 global
    uint32_t index;
  };
  std::vector<FuncType> types;
  std::vector<Import> imports;
  std::vector<uint32_t> funcs;  // type index of each defined function
  bool memory = false;
  std::vector<Export> exports;
};

inline Bytes CoreModuleBytes(const CoreModuleSpec& spec) {
  Bytes out{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  auto section = [&](uint8_t id, const Bytes& contents) { out.Append(Section(id, contents)); };
  if (!spec.types.empty()) {
    Bytes s;
    s.U32(spec.types.size());
    for (const auto& t : spec.types) {
      s.Byte(0x60).U32(t.params.size());
      for (uint8_t p : t.params) s.Byte(p);
      s.U32(t.results.size());
      for (uint8_t r : t.results) s.Byte(r);
    }
    section(1, s);
  }
  if (!spec.imports.empty()) {
    Bytes s;
    s.U32(spec.imports.size());
    for (const auto& i : spec.imports) s.Name(i.module).Name(i.name).Byte(0x00).U32(i.type);
    section(2, s);
  }
  if (!spec.funcs.empty()) {
    Bytes s;
    s.U32(spec.funcs.size());
    for (uint32_t t : spec.funcs) s.U32(t);
    section(3, s);
  }
  if (spec.memory) section(5, Bytes{0x01, 0x00, 0x01});
  if (!spec.exports.empty()) {
    Bytes s;
    s.U32(spec.exports.size());
    for (const auto& e : spec.exports) s.Name(e.name).Byte(e.kind).U32(e.index);
    section(7, s);
  }
  if (!spec.funcs.empty()) {
    Bytes s;
    s.U32(spec.funcs.size());
    for (size_t i = 0; i < spec.funcs.size(); ++i) s.Raw({0x03, 0x00, 0x00, 0x0b});
    section(10, s);
  }
  return out;
}

}  // namespace theater::component::testing
