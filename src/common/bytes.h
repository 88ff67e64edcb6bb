// Theater: a WebAssembly actor runtime.
//
// Small byte utilities shared by every area: SHA-256 (OpenSSL), lower-case hex, and reading a
// whole file with errors that name it. Stateless; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "theater/status.h"

namespace theater {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::span<const uint8_t> data);

// Incremental SHA-256 over several pieces (the same digest as Sha256 of their concatenation),
// without building the concatenation. Reuses one OpenSSL context per thread. Not copyable; use
// within one function (it must not be kept across a fiber suspension).
class Sha256Hasher {
 public:
  Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(std::span<const uint8_t> data);
  void Update(std::string_view text) {
    Update({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  Sha256Digest Final();

 private:
  void* ctx_;  // EVP_MD_CTX*, owned by the thread
};
// Lower-case hex, two digits per byte.
std::string HexEncode(std::span<const uint8_t> bytes);
inline std::string Sha256Hex(std::span<const uint8_t> data) {
  return HexEncode(Sha256(data));
}

// The whole file. `what` names it in errors ("manifest not found: m.toml"): kNotFound when it
// does not exist, kInvalidArgument for a directory, kIOError otherwise.
Result<std::vector<uint8_t>> ReadFileBytes(const std::filesystem::path& path,
                                           std::string_view what = "file");
Result<std::string> ReadFileText(const std::filesystem::path& path, std::string_view what = "file");

}  // namespace theater
