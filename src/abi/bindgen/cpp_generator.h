// Theater: a WebAssembly actor runtime.
//
// The C++ layer of the guest bindings, built over the C layer (c_generator.h): owning C++ types
// for WIT values (std::string, std::vector, std::optional, std::tuple, structs, std::variant-
// based variants, theater_bindgen::Result), RAII classes for imported resources, wrappers of the
// imports that take borrowed inputs (std::string_view, std::span) and return owning values, and
// adapters that implement the C layer's exports by calling the user's C++ functions. Nothing
// throws, so the output builds with -fno-exceptions.
//
// Thread-safety: built and used on one thread; only reads the WorldModel.
#pragma once

#include <string>

#include "abi/bindgen/model.h"
#include "theater/status.h"

namespace theater::bindgen {

struct CppLayer {
  std::string header;  // goes after the C layer's declarations in <w>.hpp
  std::string source;  // goes after the C layer's definitions in <w>.cpp
};

Result<CppLayer> GenerateCppLayer(const WorldModel& model);

}  // namespace theater::bindgen
