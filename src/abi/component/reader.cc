// Theater: a WebAssembly actor runtime.
#include "abi/component/reader.h"
#include "common/bytes.h"

#include <cstdio>

#include "common/utf8.h"

namespace theater::component {

std::string Reader::Where(size_t at) const {
  return context_ + " at offset " + HexNumber(at) + ": ";
}

Status Reader::ParseErrorAt(size_t at, std::string_view what) const {
  return ParseError(Where(at) + std::string(what));
}

Status Reader::ValidationErrorAt(size_t at, std::string_view what) const {
  return ValidationError(Where(at) + std::string(what));
}

Status Reader::ExhaustedAt(size_t at, std::string_view what) const {
  return ResourceExhausted(Where(at) + std::string(what));
}

Status Reader::ExpectDone() const {
  if (done()) return Status::Ok();
  return Fail(std::to_string(remaining()) + " unexpected trailing byte(s)");
}

Result<uint8_t> Reader::ReadByte() {
  if (done()) return Fail("unexpected end of data");
  return bytes_[pos_++];
}

Result<uint8_t> Reader::PeekByte() const {
  if (done()) return Fail("unexpected end of data");
  return bytes_[pos_];
}

Result<uint64_t> Reader::ReadU64() {
  const size_t start = offset();
  uint64_t value = 0;
  for (int shift = 0;; shift += 7) {
    if (done()) return ParseErrorAt(start, "truncated LEB128 integer");
    const uint8_t byte = bytes_[pos_++];
    if (shift == 63 && (byte & 0x7e) != 0) {
      return ParseErrorAt(start, "LEB128 integer too large for 64 bits");
    }
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
    if (shift == 63) return ParseErrorAt(start, "LEB128 integer longer than 10 bytes");
  }
}

Result<uint32_t> Reader::ReadU32() {
  const size_t start = offset();
  uint32_t value = 0;
  for (int shift = 0;; shift += 7) {
    if (done()) return ParseErrorAt(start, "truncated LEB128 integer");
    const uint8_t byte = bytes_[pos_++];
    if (shift == 28 && (byte & 0x70) != 0) {
      return ParseErrorAt(start, "LEB128 integer too large for 32 bits");
    }
    value |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
    if (shift == 28) return ParseErrorAt(start, "LEB128 integer longer than 5 bytes");
  }
}

Result<int64_t> Reader::ReadS33() {
  const size_t start = offset();
  int64_t value = 0;
  for (int shift = 0;; shift += 7) {
    if (done()) return ParseErrorAt(start, "truncated LEB128 integer");
    const uint8_t byte = bytes_[pos_++];
    if (shift == 28) {
      // Bits 33 and up must all repeat the sign bit (bit 32, which is bit 4 of this byte).
      const uint8_t high = byte & 0x70;
      const bool negative = (byte & 0x10) != 0;
      if ((byte & 0x80) != 0 || high != (negative ? 0x70 : 0x00)) {
        return ParseErrorAt(start, "LEB128 integer too large for 33 bits");
      }
      value |= static_cast<int64_t>(byte & 0x1f) << shift;
      if (negative) value -= int64_t{1} << 33;
      return value;
    }
    value |= static_cast<int64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      const int bits = shift + 7;
      if ((byte & 0x40) != 0) value -= int64_t{1} << bits;
      return value;
    }
  }
}

Result<std::span<const uint8_t>> Reader::ReadBytes(size_t n) {
  if (n > remaining()) {
    return Fail("needs " + std::to_string(n) + " bytes, only " + std::to_string(remaining()) +
                " left");
  }
  auto out = bytes_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Result<uint32_t> Reader::ReadCount(std::string_view what, uint32_t max) {
  const size_t start = offset();
  THEATER_ASSIGN_OR_RETURN(const uint32_t count, ReadU32());
  if (count > remaining()) {
    return ParseErrorAt(start, std::string(what) + " count " + std::to_string(count) +
                                   " exceeds the " + std::to_string(remaining()) + " bytes left");
  }
  if (count > max) {
    return ExhaustedAt(start, std::string(what) + " count " + std::to_string(count) +
                                  " exceeds the limit of " + std::to_string(max));
  }
  return count;
}

Result<std::string> Reader::ReadName() {
  const size_t start = offset();
  THEATER_ASSIGN_OR_RETURN(const uint32_t length, ReadU32());
  if (length > remaining()) {
    return ParseErrorAt(start, "name of " + std::to_string(length) + " bytes exceeds the " +
                                   std::to_string(remaining()) + " bytes left");
  }
  std::string name(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
  pos_ += length;
  if (!IsValidUtf8(name)) return ParseErrorAt(start, "name is not valid UTF-8");
  return name;
}

Result<Reader> Reader::Sub(size_t n, std::string context) {
  const size_t start = offset();
  THEATER_ASSIGN_OR_RETURN(auto bytes, ReadBytes(n));
  return Reader(bytes, start, std::move(context));
}

}  // namespace theater::component
