// Theater: a WebAssembly actor runtime.
//
// The dashboard's web files (src/dashboard/web) as they were at build time, so that the server
// serves them without a source tree, a network fetch or a CDN.
//
// Thread-safety: immutable static data.
#pragma once

#include <span>
#include <string_view>

namespace theater::dashboard {

struct EmbeddedDashboardFile {
  std::string_view name;  // e.g. "app.js"
  std::string_view contents;
};

std::span<const EmbeddedDashboardFile> EmbeddedDashboardFiles();

// The file called `name` (no directories: the dashboard's files are one flat folder), or null.
inline const EmbeddedDashboardFile* FindDashboardFile(std::string_view name) {
  for (const EmbeddedDashboardFile& file : EmbeddedDashboardFiles()) {
    if (file.name == name) return &file;
  }
  return nullptr;
}

}  // namespace theater::dashboard
