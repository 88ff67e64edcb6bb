// Theater: a WebAssembly actor runtime.
//
// WasiPreopen: a directory granted to a component through wasi:filesystem — what a handler offers
// (Handler::WasiPreopens, theater/handler.h) and what the WASI preview-2 host serves. A plain
// value; the descriptor stays its owner's (the host duplicates it).
#pragma once

#include <string>

namespace theater {

struct WasiPreopen {
  int directory_fd = -1;    // duplicated by the host; the owner keeps its own
  std::string guest_path;   // the name the guest sees, e.g. "/"
  bool read = true;         // read files, list directories, stat
  bool write = false;       // create, write, truncate, remove and rename files
  bool create_dir = false;  // create directories
};

}  // namespace theater
