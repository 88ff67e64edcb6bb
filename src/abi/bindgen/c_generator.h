// Theater: a WebAssembly actor runtime.
//
// The C layer of the guest bindings: canonical-layout C types for every WIT type the world uses,
// free helpers, wrappers around the host's core imports, and export trampolines that lift
// arguments, call the user's C function and lower its result. The C++ bindings are built on the
// same layer (compiled as C++), which is why everything emitted here is also valid C++20.
//
// Thread-safety: a CLayer is built and used on one thread; it only reads the WorldModel.
#pragma once

#include <set>
#include <string>

#include "abi/bindgen/model.h"
#include "theater/status.h"

namespace theater::bindgen {

// How the C layer spells types and helpers; shared with the C++ generator.
class CNames {
 public:
  explicit CNames(const WorldModel& model) : model_(model) {}

  // The C type of a WIT type: "uint32_t", "<w>_string_t", "<w>_list_u8_t", "<w>_types_chain_t".
  std::string CName(const abi::Type& type) const;
  // The C type of an anonymous (list, option, result, tuple) type, or of the shape a type alias
  // names, ignoring the alias.
  std::string StructuralCName(const abi::Type& type) const;
  // The identifier part for a type inside other type names: "u8", "list_string", "types_chain".
  std::string Mangle(const abi::Type& type) const;
  // "<c type without _t>_free" for types that own memory, else "".
  std::string FreeFunction(const abi::Type& type) const;
  // The type of `type`'s discriminant: "uint8_t", "uint16_t" or "uint32_t".
  static std::string DiscriminantType(size_t case_count);

 private:
  std::string MangleShape(const abi::Type& type) const;
  const WorldModel& model_;
};

struct CLayer {
  std::string header;  // declarations, meant to sit inside the generated .h / .hpp
  std::string source;  // definitions, meant to sit inside the generated .c / .cpp
};

// Builds the C layer (the caller adds file headers, include guards and includes).
// With `for_cpp`, the C exports are implemented by the C++ layer's adapters, and their comments
// say so.
Result<CLayer> GenerateCLayer(const WorldModel& model, bool for_cpp);

}  // namespace theater::bindgen
