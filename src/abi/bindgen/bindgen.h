// Theater: a WebAssembly actor runtime.
//
// `theater bindgen`: generates guest bindings, in C (C11), C++ (C++20) or Rust, for any WIT world,
// so that an actor written against them is a wasm32-wasi core module the host can run without a
// hand-written SDK; and TypeScript declarations of a world for actors in JavaScript. The generated
// code lifts and lowers every value by the canonical ABI (sdk/c/theater/abi.h states the
// conventions; docs/bindgen.md describes the output).
//
// Errors: kNotFound (unknown world, unreadable path, an interface whose package is not loaded),
// the WIT parser's kParseError / kValidationError (messages start with file:line:column), and
// kInvalidArgument for WIT that has no C representation (e.g. the empty tuple).
//
// Thread-safety: reentrant. Ownership: results are plain values.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "theater/abi/wit.h"
#include "theater/status.h"

namespace theater::bindgen {

enum class Language { kC, kCpp, kTypeScript, kRust };

struct GeneratedFile {
  std::string name;  // file name, no directory: "message_server_actor.h"
  std::string contents;
};

// Parses a .wit file or every .wit file of a directory.
Result<wit::Package> LoadWit(const std::filesystem::path& path);

// The bindings of `world_name` (may be empty when the package has exactly one world):
//   C:   <w>.h and <w>.c          C++: <w>.hpp and <w>.cpp
//   TypeScript: <w>.d.ts, declarations for a componentize-js actor (ts_generator.h)
//   Rust: <w>.rs, a module for a cdylib crate built for wasm32-wasi (rust_generator.h)
// where <w> is the world's name in snake case.
Result<std::vector<GeneratedFile>> Generate(const wit::Package& package,
                                            const std::string& world_name, Language language);

}  // namespace theater::bindgen
