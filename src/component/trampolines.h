// Theater: a WebAssembly actor runtime.
//
// Recognises the three glue modules the standard component tools (wit-component) put around a
// component's main module, so that a link plan can do their work itself instead of instantiating
// them at every spawn (ElideGlueInstances in link_plan.h):
//   - the trampoline table: a module that defines only a funcref table, exported, and functions
//     that each call one fixed slot of it with their own arguments (`local.get 0..n-1;
//     i32.const slot; call_indirect` of their own type). The main module imports these in place
//     of the lowered host functions, which cannot exist before the main module's memory does;
//   - the table filler: a module that imports that table and some functions and only puts the
//     functions into the table's slots with active element segments, once the lowered functions
//     exist;
//   - the start forwarder: a module that imports one function of type () -> () and names it as
//     its start function (how a component runs the main module's `_initialize`).
// Anything else about a module (another section, instruction, local, type or import) means it is
// not recognised, and it is then instantiated as written.
//
// Thread-safety: pure functions over caller-owned bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "theater/abi/component.h"

namespace theater::component {

struct TrampolineTable {
  std::string table_export;  // the name the table is exported as
  uint64_t table_size = 0;   // its minimum size (every slot below it exists)
  struct Function {
    std::string export_name;
    uint32_t slot = 0;  // the table slot it calls
    CoreFuncType type;  // its type, and the type the call expects in the slot
  };
  std::vector<Function> functions;
};

struct TableFiller {
  std::string table_module;  // the imported table
  std::string table_name;
  struct Entry {
    uint64_t slot = 0;
    std::string module;  // the imported function put there
    std::string name;
  };
  std::vector<Entry> entries;  // in the order the segments write them
};

struct StartForwarder {
  std::string module;  // the imported function it runs at instantiation
  std::string name;
};

// Each: what the core module `wasm` is, when it is exactly that glue; nullopt otherwise
// (including for bytes that do not parse).
std::optional<TrampolineTable> RecognizeTrampolineTable(std::span<const uint8_t> wasm);
std::optional<TableFiller> RecognizeTableFiller(std::span<const uint8_t> wasm);
std::optional<StartForwarder> RecognizeStartForwarder(std::span<const uint8_t> wasm);

}  // namespace theater::component
