// Theater: a WebAssembly actor runtime.
#include "common/bytes.h"

#include <cerrno>
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

}  // namespace theater
