// Theater: a WebAssembly actor runtime.
//
// `theater compile --engine js --world W`: prepares the JavaScript engine of a world before any
// actor of it exists. Every componentize-js component of one world, built by `theater build`,
// has the same code (the engine and the world's glue); only its data (the JavaScript snapshot)
// differs, and the compile cache is keyed by the code (docs/compile-cache.md). So compiling any
// component of the world compiles the engine of all of them: this builds a stub actor of the
// world (each export throws) in $THEATER_HOME/js-engine/<world>/, a JavaScript project like the
// ones `theater create --lang js` writes (npm ci the first time), and returns its component for
// the caller to compile.
//
// Thread-safety: reentrant (one directory per world: two concurrent calls for one world race).
// Ownership: plain values.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "theater/abi/wit.h"
#include "theater/status.h"

namespace theater::cli {

// The stub's JavaScript: for each exported interface an object whose functions throw, for each
// exported function of the world a function that throws. Errors: the world exports a resource
// (kInvalidArgument: componentize-js would need a class).
Result<std::string> JsEngineStubSource(const wit::World& world);

// Builds the stub of `world` (from Theater's WIT as embedded, or the .wit files of `wit_dir`)
// under `home`/js-engine/; returns the component's path. Errors: an unknown world (naming the
// worlds there are), and those of `theater build` of a JavaScript project (js_build.h).
Result<std::filesystem::path> BuildJsEngineStub(
    const std::filesystem::path& home, const std::string& world,
    const std::optional<std::filesystem::path>& wit_dir);

}  // namespace theater::cli
