// Theater: a WebAssembly actor runtime.
#include "common/bytes.h"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace theater {
namespace {

// The rest of an open descriptor's file (see ReadOpenFile in bytes.h); `shown` names it.
template <typename Container>
Result<Container> ReadWholeFd(int fd, std::string_view what, std::string_view shown,
                              size_t max_bytes) {
  const std::string name(what);
  const std::string path(shown);
  struct stat info {};
  if (::fstat(fd, &info) != 0) return ErrnoError("reading " + name + " " + path, errno);
  if (S_ISDIR(info.st_mode)) return InvalidArgument(name + " is a directory: " + path);
  if (!S_ISREG(info.st_mode)) {
    return InvalidArgument(name + " is not a regular file: " + path);
  }
  if (static_cast<uint64_t>(info.st_size) > max_bytes) {
    return ResourceExhausted(name + " " + path + " is " + std::to_string(info.st_size) +
                             " bytes, over the limit of " + std::to_string(max_bytes) + " bytes");
  }
  // One byte more than the file's size: reading it shows a file that grew (a /proc file reports
  // 0); it grows past the limit only by a read that would fill max_bytes + 1.
  Container out;
  out.resize(static_cast<size_t>(info.st_size) + 1);
  size_t filled = 0;
  for (;;) {
    if (filled == out.size()) {
      if (filled > max_bytes) {
        return ResourceExhausted(name + " " + path + " grew past the limit of " +
                                 std::to_string(max_bytes) + " bytes while it was read");
      }
      out.resize(std::min(max_bytes + 1, std::max<size_t>(out.size() * 2, 4096)));
    }
    const ssize_t n = ::read(fd, reinterpret_cast<char*>(out.data()) + filled, out.size() - filled);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("reading " + name + " " + path, errno);
    }
    if (n == 0) break;
    filled += static_cast<size_t>(n);
  }
  out.resize(filled);
  return out;
}

template <typename Container>
Result<Container> ReadWhole(const std::filesystem::path& path, std::string_view what,
                            size_t max_bytes) {
  const std::string name(what);
  // O_NONBLOCK: opening a FIFO must not wait for a writer (a FIFO given as a manifest would
  // otherwise hold the thread that reads it until someone writes). Only regular files are read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return NotFound(name + " not found: " + path.string());
    return ErrnoError("opening " + name + " " + path.string(), err);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  return ReadWholeFd<Container>(fd, what, path.string(), max_bytes);
}

}  // namespace

std::string HexNumber(uint64_t value, int min_digits) {
  char digits[16];
  const char* end = std::to_chars(digits, digits + sizeof(digits), value, 16).ptr;
  const int length = static_cast<int>(end - digits);
  std::string out = "0x";
  if (min_digits > length) out.append(static_cast<size_t>(min_digits - length), '0');
  out.append(digits, static_cast<size_t>(length));
  return out;
}

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

namespace {

// Each character's value as a hex digit, or -1: a table, so that a digest's 64 digits parse
// without a branch to mispredict (the content store parses one on every lookup by hash).
struct HexDigitTable {
  int8_t values[256];
  constexpr HexDigitTable() : values() {
    for (int8_t& v : values) v = -1;
    for (int c = '0'; c <= '9'; ++c) values[c] = static_cast<int8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) values[c] = static_cast<int8_t>(c - 'a' + 10);
    for (int c = 'A'; c <= 'F'; ++c) values[c] = static_cast<int8_t>(c - 'A' + 10);
  }
};
constexpr HexDigitTable kHexDigitTable;

}  // namespace

int HexDigitValue(char c) {
  return kHexDigitTable.values[static_cast<unsigned char>(c)];
}

bool HexDecode(std::string_view text, std::vector<uint8_t>* out) {
  if (text.size() % 2 != 0) return false;
  out->clear();
  out->reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    const int high = HexDigitValue(text[i]), low = HexDigitValue(text[i + 1]);
    if (high < 0 || low < 0) return false;
    out->push_back(static_cast<uint8_t>(high << 4 | low));
  }
  return true;
}

Result<std::vector<uint8_t>> ReadFileBytes(const std::filesystem::path& path, std::string_view what,
                                           size_t max_bytes) {
  return ReadWhole<std::vector<uint8_t>>(path, what, max_bytes);
}

Result<std::string> ReadFileText(const std::filesystem::path& path, std::string_view what,
                                 size_t max_bytes) {
  return ReadWhole<std::string>(path, what, max_bytes);
}

Result<std::vector<uint8_t>> ReadOpenFile(int fd, std::string_view what, std::string_view shown,
                                          size_t max_bytes) {
  return ReadWholeFd<std::vector<uint8_t>>(fd, what, shown, max_bytes);
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
