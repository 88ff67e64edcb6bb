// Theater: a WebAssembly actor runtime.
//
// Small helpers the built-in handlers share (src/handlers/*): how permission checks print lists
// and compare paths. Header-only; pure functions, safe from any thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace theater::handlers {

// `["a", "b"]`, as the permission checks print lists in their messages.
inline std::string FormatList(const std::vector<std::string>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) out += ", ";
    out += "\"" + list[i] + "\"";
  }
  return out + "]";
}

// Whether the lexically normal absolute `path` equals `dir` or lies below it, compared by whole
// components (so /data2 is not within /data).
inline bool PathWithin(const std::filesystem::path& path, const std::filesystem::path& dir) {
  auto p = path.begin();
  for (auto d = dir.begin(); d != dir.end(); ++d, ++p) {
    if (d->empty()) continue;  // a trailing separator
    if (p == path.end() || *p != *d) return false;
  }
  return true;
}

}  // namespace theater::handlers
