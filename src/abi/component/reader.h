// Theater: a WebAssembly actor runtime.
//
// A bounds-checked cursor over part of a component binary: bytes, LEB128 integers, vector counts
// and UTF-8 names, with every error naming where it happened. The decoder creates one per section
// (and per nested core module), so messages read
//   "component section 6 (alias) at offset 0x1a3: ..."
// with offsets relative to the start of the whole input.
//
// Thread-safety: a Reader is a small value used by one thread; it does not own the bytes it reads,
// which must outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "theater/status.h"

namespace theater::component {

class Reader {
 public:
  // `bytes` are the bytes to read, found at `base` in the whole input; `context` names them in
  // errors ("component section 6 (alias)").
  Reader(std::span<const uint8_t> bytes, size_t base, std::string context)
      : bytes_(bytes), base_(base), context_(std::move(context)) {}

  // Absolute offset of the next byte.
  size_t offset() const { return base_ + pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  bool done() const { return pos_ == bytes_.size(); }
  const std::string& context() const { return context_; }

  Result<uint8_t> ReadByte();
  Result<uint8_t> PeekByte() const;
  // Unsigned LEB128 of at most 32 (64) significant bits, in at most 5 (10) bytes.
  Result<uint32_t> ReadU32();
  Result<uint64_t> ReadU64();
  // Signed LEB128 of 33 bits (the encoding of type indices in value-type positions).
  Result<int64_t> ReadS33();
  // The next `n` bytes.
  Result<std::span<const uint8_t>> ReadBytes(size_t n);
  // A vector length. Each element takes at least one byte, so a count above the bytes left is a
  // truncation (kParseError) and never makes the caller reserve memory; `max` is a further cap
  // (kResourceExhausted). `what` names the vector in errors.
  Result<uint32_t> ReadCount(std::string_view what, uint32_t max = UINT32_MAX);
  // A length-prefixed UTF-8 string.
  Result<std::string> ReadName();
  // A reader over the next `n` bytes, which this one skips; `context` names them.
  Result<Reader> Sub(size_t n, std::string context);

  // Errors located at `at` (an absolute offset), prefixed with this reader's context.
  Status ParseErrorAt(size_t at, std::string_view what) const;
  Status ValidationErrorAt(size_t at, std::string_view what) const;
  Status ExhaustedAt(size_t at, std::string_view what) const;
  // A parse error at the current offset.
  Status Fail(std::string_view what) const { return ParseErrorAt(offset(), what); }
  // kParseError unless every byte was consumed.
  Status ExpectDone() const;

 private:
  std::string Where(size_t at) const;
  // LEB128 as common/leb128.h reads it, with errors located at its first byte.
  Result<uint64_t> ReadLeb(unsigned bits, bool is_signed);

  std::span<const uint8_t> bytes_;
  size_t base_ = 0;
  size_t pos_ = 0;
  std::string context_;
};

}  // namespace theater::component
