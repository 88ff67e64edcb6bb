// Theater: a WebAssembly actor runtime.
//
// The data split: a module compiled apart from its data.
//
// Why: modules made by the same tool from the same engine share their code and differ only in
// their data. Every JavaScript actor made by componentize-js carries the same 9 MB of
// SpiderMonkey code (for one world) and its own snapshot of the engine's heap, taken after the
// actor's script ran: thousands of active data segments, and a memory sized to hold them.
// Compiling that engine takes minutes; compiling it once per actor would make every new actor
// wait for it. So such a module is compiled as its code module, which is the module with its
// active data segments taken out and its memory's initial size set to zero; the compile cache is
// keyed by that. Each actor's own ModuleData (the segments and the initial size) is written into
// every instance's memory right after instantiation, before anything runs: what instantiation
// does with active segments.
//
// A module is split when all of these hold, and compiled whole otherwise (the split never
// changes what a module does):
//   - its code section has at least `min_code_bytes` (below that a compile is cheap, and the
//     split would only add work to every instantiation);
//   - it defines one 32-bit, unshared memory, exported as "memory" (which is how the host
//     reaches it), and imports none;
//   - it has no start function (which would run before the data is written);
//   - every data segment is active, in memory 0, at an `i32.const` offset, within the initial
//     memory. Passive segments, or offsets read from globals, keep the module whole.
// A module that uses `memory.init`/`data.drop` is not valid without its segments; wasm2c then
// refuses the code module and the compiler compiles the module whole (module_compiler.h).
//
// Thread-safety: pure functions; a ModuleData is immutable once made and shared by the instances
// of its module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/compile/wasm_inspect.h"

namespace theater::engine {

// What the split takes out of a module: its active data segments and its memory's initial size.
class ModuleData {
 public:
  struct Segment {
    uint32_t memory_offset = 0;  // where it goes in linear memory
    uint32_t size = 0;
  };

  ModuleData(uint64_t initial_pages, std::vector<Segment> segments, std::vector<uint8_t> bytes);

  // The memory's initial size, in 64 KiB pages.
  uint64_t initial_pages() const { return initial_pages_; }
  const std::vector<Segment>& segments() const { return segments_; }
  // Every segment's bytes, one after another, in the module's order.
  std::span<const uint8_t> bytes() const { return bytes_; }

  // Writes every segment, in order, into `memory`, which holds initial_pages() pages (the split
  // checked that each segment fits).
  void WriteTo(uint8_t* memory) const;

 private:
  uint64_t initial_pages_;
  std::vector<Segment> segments_;
  std::vector<uint8_t> bytes_;
};

struct DataSplit {
  std::vector<uint8_t> code;  // the code module: compiled, and keyed, instead of the module
  std::shared_ptr<const ModuleData> data;
};

// Splits `wasm` (inspected as `info`), or returns nullopt with why it is kept whole in
// `*whole_reason` (may be null). A malformed data or memory section keeps the module whole too:
// wasm2c then reports what is wrong with it.
std::optional<DataSplit> SplitModuleData(std::span<const uint8_t> wasm, const WasmModuleInfo& info,
                                         size_t min_code_bytes, std::string* whole_reason);

}  // namespace theater::engine
