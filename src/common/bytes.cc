// Theater: a WebAssembly actor runtime.
#include "common/bytes.h"

#include <array>
#include <cerrno>
#include <cstdio>
#include <fstream>

namespace theater {
namespace {

template <typename Container>
Result<Container> ReadWhole(const std::filesystem::path& path, std::string_view what) {
  std::error_code ec;
  std::string name(what);
  if (!std::filesystem::exists(path, ec)) return NotFound(name + " not found: " + path.string());
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidArgument(name + " is a directory: " + path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError("opening " + name + " " + path.string(), errno);
  // One read of the whole file: a character-at-a-time stream iterator costs ~10x more on
  // modules of a few hundred KiB, and spawning reads one per actor.
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  Container out;
  if (size > 0) {
    out.resize(static_cast<size_t>(size));
    in.read(reinterpret_cast<char*>(out.data()), size);
    out.resize(static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return ErrnoError("reading " + name + " " + path.string(), errno);
  return out;
}

}  // namespace

std::string HexEncode(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

Result<std::vector<uint8_t>> ReadFileBytes(const std::filesystem::path& path,
                                           std::string_view what) {
  return ReadWhole<std::vector<uint8_t>>(path, what);
}

Result<std::string> ReadFileText(const std::filesystem::path& path, std::string_view what) {
  return ReadWhole<std::string>(path, what);
}

namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Each character's 6-bit value, or 0xff for a character outside the alphabet ('=' included).
struct Base64Values {
  std::array<uint8_t, 256> value{};
  constexpr Base64Values() {
    for (auto& v : value) v = 0xff;
    for (int i = 0; i < 64; ++i) value[static_cast<uint8_t>(kBase64[i])] = static_cast<uint8_t>(i);
  }
};
constexpr Base64Values kBase64Values;

}  // namespace

// Both directions write through a pointer into storage sized up front: the management server
// runs every streamed event through them twice, and a push_back per character costs as much
// again as the conversion.
void Base64Append(std::span<const uint8_t> in, std::string& out) {
  const size_t old_size = out.size();
  out.resize(old_size + (in.size() + 2) / 3 * 4);
  char* p = out.data() + old_size;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    *p++ = kBase64[v >> 18];
    *p++ = kBase64[(v >> 12) & 63];
    *p++ = kBase64[(v >> 6) & 63];
    *p++ = kBase64[v & 63];
  }
  if (size_t rest = in.size() - i; rest > 0) {
    uint32_t v = uint32_t{in[i]} << 16;
    if (rest == 2) v |= uint32_t{in[i + 1]} << 8;
    *p++ = kBase64[v >> 18];
    *p++ = kBase64[(v >> 12) & 63];
    *p++ = rest == 2 ? kBase64[(v >> 6) & 63] : '=';
    *p++ = '=';
  }
}

bool Base64Decode(std::string_view in, std::vector<uint8_t>* out) {
  out->clear();
  if (in.size() % 4 != 0) return false;
  if (in.empty()) return true;
  const size_t pad = (in[in.size() - 1] == '=') + (in[in.size() - 2] == '=');
  out->resize(in.size() / 4 * 3 - pad);
  uint8_t* p = out->data();
  const auto* s = reinterpret_cast<const uint8_t*>(in.data());
  const size_t full = in.size() / 4 - (pad ? 1 : 0);  // quads without padding
  for (size_t q = 0; q < full; ++q, s += 4) {
    const uint32_t a = kBase64Values.value[s[0]], b = kBase64Values.value[s[1]],
                   c = kBase64Values.value[s[2]], d = kBase64Values.value[s[3]];
    if ((a | b | c | d) & 0x80) return false;
    const uint32_t bits = (a << 18) | (b << 12) | (c << 6) | d;
    *p++ = static_cast<uint8_t>(bits >> 16);
    *p++ = static_cast<uint8_t>(bits >> 8);
    *p++ = static_cast<uint8_t>(bits);
  }
  if (pad) {
    const uint32_t a = kBase64Values.value[s[0]], b = kBase64Values.value[s[1]];
    const uint32_t c = pad == 1 ? kBase64Values.value[s[2]] : 0;
    if ((a | b | c) & 0x80) return false;
    const uint32_t bits = (a << 18) | (b << 12) | (c << 6);
    *p++ = static_cast<uint8_t>(bits >> 16);
    if (pad == 1) *p++ = static_cast<uint8_t>(bits >> 8);
  }
  return true;
}

std::string CStringLiteral(std::string_view bytes) {
  std::string out = "\"";
  for (unsigned char c : bytes) {
    // '?' is escaped so that no "??x" trigraph can form; octal escapes are at most three
    // digits, so a following digit is never swallowed.
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '?') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\%03o", c);
      out += buf;
    }
  }
  return out + "\"";
}

}  // namespace theater
