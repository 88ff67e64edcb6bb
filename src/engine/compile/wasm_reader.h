// Theater: a WebAssembly actor runtime.
//
// WasmReader: a bounds-checked cursor over a core wasm binary, for the compile pipeline's own
// reading of modules before wasm2c sees them (wasm_inspect.h, data_split.h); its numbers are
// LEB128 as common/leb128.h reads them. Every read that fails says where, with offsets formatted
// like wabt's so they read the same as wasm2c's errors.
//
// Thread-safety: a small value used by one thread; it does not own the bytes, which must outlive
// it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/leb128.h"
#include "theater/status.h"

namespace theater::engine {

// Section ids of the core binary format.
inline constexpr uint8_t kSectionCustom = 0;
inline constexpr uint8_t kSectionType = 1;
inline constexpr uint8_t kSectionImport = 2;
inline constexpr uint8_t kSectionFunction = 3;
inline constexpr uint8_t kSectionMemory = 5;
inline constexpr uint8_t kSectionExport = 7;
inline constexpr uint8_t kSectionStart = 8;
inline constexpr uint8_t kSectionCode = 10;
inline constexpr uint8_t kSectionData = 11;
inline constexpr uint8_t kSectionDataCount = 12;

// An offset as wabt prints it ("0000017").
inline std::string WasmOffsetText(size_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%07zx", offset);
  return buf;
}

// Appends a section (`id`, its size, `payload`) to a binary being written.
inline void AppendSection(std::vector<uint8_t>& out, uint8_t id, std::span<const uint8_t> payload) {
  out.push_back(id);
  AppendUleb(out, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
}

class WasmReader {
 public:
  explicit WasmReader(std::span<const uint8_t> bytes, size_t pos = 0, size_t end = SIZE_MAX)
      : bytes_(bytes), pos_(pos), end_(end == SIZE_MAX ? bytes.size() : end) {}

  size_t pos() const { return pos_; }
  size_t end() const { return end_; }
  size_t left() const { return end_ - pos_; }
  bool AtEnd() const { return pos_ >= end_; }
  // Callers check `n` against left() first.
  void Skip(size_t n) { pos_ += n; }

  Status Error(std::string what) const {
    return ParseError(WasmOffsetText(pos_) + ": " + std::move(what));
  }

  Result<uint8_t> Byte(std::string_view what) {
    if (pos_ >= end_) return Error("unexpected end while reading " + std::string(what));
    return bytes_[pos_++];
  }

  // Unsigned LEB128 of at most `bits` bits (32 or 64).
  Result<uint64_t> Leb(int bits, std::string_view what) {
    THEATER_ASSIGN_OR_RETURN(const LebValue v, ReadLeb(bits, /*is_signed=*/false, what));
    return v.value;
  }
  Result<uint32_t> U32(std::string_view what) {
    THEATER_ASSIGN_OR_RETURN(uint64_t v, Leb(32, what));
    return static_cast<uint32_t>(v);
  }

  // Signed LEB128 of 32 bits (an i32.const immediate), in at most 5 bytes.
  Result<int32_t> S32(std::string_view what) {
    THEATER_ASSIGN_OR_RETURN(const LebValue v, ReadLeb(32, /*is_signed=*/true, what));
    return static_cast<int32_t>(v.value);
  }

  Result<std::string> Name(std::string_view what) {
    THEATER_ASSIGN_OR_RETURN(uint32_t size, U32(what));
    if (size > end_ - pos_) {
      return Error(std::string(what) + " extends past the end of its section");
    }
    std::string name(reinterpret_cast<const char*>(bytes_.data() + pos_), size);
    pos_ += size;
    return name;
  }

  // The next `n` bytes.
  Result<std::span<const uint8_t>> Bytes(size_t n, std::string_view what) {
    if (n > end_ - pos_) return Error(std::string(what) + " extends past the end of its section");
    std::span<const uint8_t> out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

  // A count of items that each take at least one byte, so it cannot exceed the bytes left;
  // checking that keeps a hostile count from reserving memory.
  Result<uint32_t> Count(std::string_view what) {
    THEATER_ASSIGN_OR_RETURN(uint32_t n, U32(what));
    if (n > end_ - pos_) {
      return Error(std::string(what) + " count " + std::to_string(n) + " exceeds the section size");
    }
    return n;
  }

 private:
  // common/leb128.h's rules; the position moves past what was read, so an error says where the
  // number stopped making sense.
  Result<LebValue> ReadLeb(int bits, bool is_signed, std::string_view what) {
    const std::span<const uint8_t> rest = bytes_.subspan(pos_, end_ - pos_);
    const LebValue v = is_signed ? DecodeSleb(rest, bits) : DecodeUleb(rest, bits);
    pos_ += v.length;
    if (v.problem == LebProblem::kTruncated) {
      return Error("unexpected end while reading " + std::string(what));
    }
    if (!v.ok()) return Error("invalid LEB128 for " + std::string(what));
    return v;
  }

  std::span<const uint8_t> bytes_;
  size_t pos_;
  size_t end_;
};

}  // namespace theater::engine
