// Theater: a WebAssembly actor runtime.
//
// Arbitrary bytes into the component decoder. A successful decode is walked completely: every
// index of every space is described, and every type converted to the abi model, so that the
// invariants the decoder promises (indices in range, types resolved and bounded) are exercised.
#include <cstddef>
#include <cstdint>
#include <span>

#include "theater/abi/component.h"

namespace {

using theater::component::Component;
using theater::component::kSortCount;
using theater::component::Sort;
using theater::component::TypeDefKind;

void Walk(const Component& c) {
  for (size_t s = 0; s < kSortCount; ++s) {
    const auto sort = static_cast<Sort>(s);
    for (uint32_t i = 0; i < c.space(sort).size(); ++i) (void)c.Describe(sort, i);
  }
  for (uint32_t i = 0; i < c.space(Sort::kType).size(); ++i) {
    const auto& type = *c.TypeAt(i);
    if (type.kind == TypeDefKind::kFunc) {
      (void)theater::component::FunctionTypeOf(c, i).ok();
    } else if (type.is_value_type()) {
      (void)theater::component::ToAbiType(type).ok();
    }
  }
  for (uint32_t i = 0; i < c.space(Sort::kFunc).size(); ++i) {
    (void)theater::component::ToAbiFunctionType(*c.FuncTypeAt(i)).ok();
  }
  for (const auto& module : c.core_modules) (void)c.ModuleBytes(module);
  for (const auto& nested : c.components) Walk(*nested);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto decoded = theater::component::DecodeComponent(std::span<const uint8_t>(data, size));
  if (decoded.ok()) Walk(**decoded);
  return 0;
}
