// Theater: a WebAssembly actor runtime.
//
// Small byte utilities shared by every area: SHA-256 (common/sha256.h), lower-case hex, and reading a
// whole file with errors that name it. Stateless; safe from any thread.
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
inline std::string Sha256Hex(std::span<const uint8_t> data) {
  return HexEncode(Sha256(data));
}

// The whole file. `what` names it in errors ("manifest not found: m.toml"): kNotFound when it
// does not exist, kInvalidArgument for a directory, kIOError otherwise.
Result<std::vector<uint8_t>> ReadFileBytes(const std::filesystem::path& path,
                                           std::string_view what = "file");
Result<std::string> ReadFileText(const std::filesystem::path& path, std::string_view what = "file");

}  // namespace theater
