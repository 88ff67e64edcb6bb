// Theater: a WebAssembly actor runtime.
//
// libFuzzer target for the WIT parser and resolver: any byte string must produce a Package or a
// located error, without crashing, leaking, hanging or recursing without bound. Seed it with the
// files of wit/.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "theater/abi/wit.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  theater::Result<theater::wit::Package> package = theater::wit::ParseWitText(text, "fuzz.wit");
  if (package.ok()) {
    // Walk what the consumers walk, so that bad trees are found here rather than by them.
    for (const auto& interface : package->interfaces) {
      for (const auto& type : interface->types) {
        if (type.type) (void)type.type->ToWit();
      }
      for (const auto& function : interface->functions) (void)function.type.ResultTypes();
    }
  } else if (package.status().message().rfind("fuzz.wit:", 0) != 0) {
    __builtin_trap();  // every error must start with "file:line:column: "
  }
  return 0;
}
