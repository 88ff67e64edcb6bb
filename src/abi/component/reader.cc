// Theater: a WebAssembly actor runtime.
#include "abi/component/reader.h"
#include "common/bytes.h"

#include <cstdio>

#include "common/leb128.h"
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

Result<uint64_t> Reader::ReadLeb(unsigned bits, bool is_signed) {
  const size_t start = offset();
  const std::span<const uint8_t> rest = bytes_.subspan(pos_);
  const LebValue v = is_signed ? DecodeSleb(rest, bits) : DecodeUleb(rest, bits);
  pos_ += v.length;
  const std::string width = std::to_string(bits);
  switch (v.problem) {
    case LebProblem::kNone:
      return v.value;
    case LebProblem::kTruncated:
      return ParseErrorAt(start, "truncated LEB128 integer");
    case LebProblem::kTooLarge:
      return ParseErrorAt(start, "LEB128 integer too large for " + width + " bits");
    case LebProblem::kTooLong:
      break;
  }
  // A signed number's last byte is wrong either way: its bits do not fit.
  if (is_signed) return ParseErrorAt(start, "LEB128 integer too large for " + width + " bits");
  return ParseErrorAt(start,
                      "LEB128 integer longer than " + std::to_string((bits + 6) / 7) + " bytes");
}

Result<uint64_t> Reader::ReadU64() {
  return ReadLeb(64, /*is_signed=*/false);
}

Result<uint32_t> Reader::ReadU32() {
  THEATER_ASSIGN_OR_RETURN(const uint64_t value, ReadLeb(32, /*is_signed=*/false));
  return static_cast<uint32_t>(value);
}

Result<int64_t> Reader::ReadS33() {
  THEATER_ASSIGN_OR_RETURN(const uint64_t value, ReadLeb(33, /*is_signed=*/true));
  return static_cast<int64_t>(value);
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
