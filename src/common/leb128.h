// Theater: a WebAssembly actor runtime.
//
// LEB128, the variable-length integers of the WebAssembly binary formats and of the chain's
// payload encoding: one decoder for each signedness and one encoder. The readers that use them
// (engine/compile/wasm_reader.h, abi/component/reader.h, chain/payload.cc) each word the errors for
// their own context; the rules are here once:
//   - a number of `bits` significant bits takes at most ceil(bits / 7) bytes;
//   - in that last allowed byte, the bits beyond `bits` must be zero (unsigned) or repeat the
//     sign bit (signed), and the continuation bit must be clear.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace theater {

enum class LebProblem : uint8_t {
  kNone,
  kTruncated,  // the bytes end before the number does
  kTooLarge,   // the last allowed byte carries bits beyond `bits` (or, signed, not the sign's)
  kTooLong,    // the last allowed byte says another follows
};

struct LebValue {
  // Unsigned: the number. Signed: its two's complement, sign-extended to 64 bits (cast it to the
  // signed type).
  uint64_t value = 0;
  // The bytes read; on a problem, up to and including the byte that showed it (all of them when
  // kTruncated), so that a reader can say where it stopped.
  size_t length = 0;
  LebProblem problem = LebProblem::kNone;

  bool ok() const { return problem == LebProblem::kNone; }
};

namespace leb128_detail {

// The shared loop: `is_signed` selects the check of the last byte and the sign extension.
constexpr LebValue Decode(std::span<const uint8_t> bytes, unsigned bits, bool is_signed) {
  LebValue out;
  const size_t max_bytes = (bits + 6) / 7;
  for (size_t i = 0; i < max_bytes; ++i) {
    if (i >= bytes.size()) {
      out.length = bytes.size();
      out.problem = LebProblem::kTruncated;
      return out;
    }
    const uint8_t byte = bytes[i];
    const uint64_t payload = byte & 0x7f;
    const unsigned shift = static_cast<unsigned>(7 * i);
    out.length = i + 1;
    if (i + 1 == max_bytes) {
      const unsigned left = bits - shift;  // 1..7 bits of the number in this byte
      const uint64_t beyond = payload >> left;
      const bool negative = is_signed && ((payload >> (left - 1)) & 1) != 0;
      const uint64_t expected = negative ? (uint64_t{0x7f} >> left) : 0;
      if (beyond != expected) {
        out.problem = LebProblem::kTooLarge;
        return out;
      }
      if ((byte & 0x80) != 0) {
        out.problem = LebProblem::kTooLong;
        return out;
      }
      out.value |= (payload & ((uint64_t{1} << left) - 1)) << shift;
      if (negative && bits < 64) out.value |= ~uint64_t{0} << bits;
      return out;
    }
    out.value |= payload << shift;
    if ((byte & 0x80) == 0) {
      if (is_signed && (byte & 0x40) != 0 && shift + 7 < 64)
        out.value |= ~uint64_t{0} << (shift + 7);
      return out;
    }
  }
  return out;  // not reached: the last allowed byte returns above
}

}  // namespace leb128_detail

// Unsigned LEB128 of at most `bits` (1 to 64) significant bits at the start of `bytes`.
constexpr LebValue DecodeUleb(std::span<const uint8_t> bytes, unsigned bits) {
  return leb128_detail::Decode(bytes, bits, /*is_signed=*/false);
}

// Signed LEB128 of `bits` (1 to 64) bits at the start of `bytes`: 32 for an i32.const, 33 for a
// component's type index in a value-type position.
constexpr LebValue DecodeSleb(std::span<const uint8_t> bytes, unsigned bits) {
  return leb128_detail::Decode(bytes, bits, /*is_signed=*/true);
}

// How many bytes the shortest unsigned LEB128 of `value` takes.
constexpr size_t UlebSize(uint64_t value) {
  size_t n = 1;
  while (value >>= 7) ++n;
  return n;
}

// Appends `value` as unsigned LEB128 in its shortest form.
inline void AppendUleb(std::vector<uint8_t>& out, uint64_t value) {
  do {
    uint8_t byte = value & 0x7f;
    value >>= 7;
    if (value != 0) byte |= 0x80;
    out.push_back(byte);
  } while (value != 0);
}

}  // namespace theater
