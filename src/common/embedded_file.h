// Theater: a WebAssembly actor runtime.
//
// A file built into the binary (cmake/EmbedFiles.cmake writes the tables of them): the runtime's
// WIT, the compile step's runtime headers, the CLI's templates and C SDK, the dashboard's web
// files. A binary carries these so that it runs without a source tree.
//
// Thread-safety: immutable static data; the views point into the binary's read-only data.
#pragma once

#include <span>
#include <string_view>

namespace theater {

struct EmbeddedFile {
  std::string_view name;  // file name without directory, e.g. "runtime.wit"
  std::string_view contents;
};

// The file called `name` among `files`, or null.
inline const EmbeddedFile* FindEmbeddedFile(std::span<const EmbeddedFile> files,
                                            std::string_view name) {
  for (const EmbeddedFile& file : files) {
    if (file.name == name) return &file;
  }
  return nullptr;
}

}  // namespace theater
