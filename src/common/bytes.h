// Theater: a WebAssembly actor runtime.
//
// Small byte utilities shared by every area: SHA-256 (common/sha256.h), lower-case hex, base64, and
// reading a whole file with errors that name it. Stateless; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/sha256.h"
#include "theater/status.h"

namespace theater {

// Lower-case hex, two digits per byte.
std::string HexEncode(std::span<const uint8_t> bytes);
// `value` as "0x" and lowercase hex digits, at least `min_digits` of them ("0x1f"; "0x0a" with
// 2): how error messages name offsets, codes and bytes.
std::string HexNumber(uint64_t value, int min_digits = 1);
// The value of a hex digit (either case), or -1 for any other character.
int HexDigitValue(char c);
// Two hex digits per byte (either case), nothing else; false (and `out` unspecified) otherwise.
bool HexDecode(std::string_view text, std::vector<uint8_t>* out);
// Standard base64 with padding (RFC 4648 section 4). Appends to `out`.
void Base64Append(std::span<const uint8_t> bytes, std::string& out);
inline std::string Base64Encode(std::span<const uint8_t> bytes) {
  std::string out;
  Base64Append(bytes, out);
  return out;
}
// Strict decoding: padding required, no whitespace, nothing after the padding; false otherwise.
bool Base64Decode(std::string_view text, std::vector<uint8_t>* out);
inline std::string Sha256Hex(std::span<const uint8_t> data) {
  return HexEncode(Sha256(data));
}

// `bytes` as a C string literal (with the quotes), safe for any byte values: printable ASCII stays,
// everything else (and '"', '\\', '?', so no trigraph can form) becomes a three-digit octal escape.
// For code generators (the module compiler's shim, `theater bindgen`).
std::string CStringLiteral(std::string_view bytes);

// The whole file. `what` names it in errors ("manifest not found: m.toml"): kNotFound when it
// does not exist, kInvalidArgument for a directory or anything else that is not a regular file
// (a FIFO, a device: opened without blocking, never read), kResourceExhausted past `max_bytes`,
// kIOError otherwise.
inline constexpr size_t kDefaultMaxFileBytes = size_t{1} << 30;
Result<std::vector<uint8_t>> ReadFileBytes(const std::filesystem::path& path,
                                           std::string_view what = "file",
                                           size_t max_bytes = kDefaultMaxFileBytes);
Result<std::string> ReadFileText(const std::filesystem::path& path, std::string_view what = "file",
                                 size_t max_bytes = kDefaultMaxFileBytes);
// The same for a file already open (from its current offset; the descriptor stays the
// caller's): `shown` is the path errors name. Open it with O_NONBLOCK so that a FIFO cannot hold
// the opener; it is refused here without a read.
Result<std::vector<uint8_t>> ReadOpenFile(int fd, std::string_view what, std::string_view shown,
                                          size_t max_bytes = kDefaultMaxFileBytes);

}  // namespace theater
