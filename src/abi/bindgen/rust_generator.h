// Theater: a WebAssembly actor runtime.
//
// Rust guest bindings for a WIT world (`theater bindgen --lang rust`): one file, `<w>.rs`, that
// a crate includes as a module (`#[path = "../bindings/<w>.rs"] mod bindings;`). It holds
//   - a Rust type for every WIT type the world names: structs for records, enums for variants
//     and enums, a bit-set struct for flags, `String`, `Vec`, `Option`, `Result` and tuples for
//     the rest, and handle types for resources;
//   - a safe function per import (`bindings::runtime::log("hi")`), and methods on imported
//     resources;
//   - a trait per exported interface (`bindings::exports::actor::Guest`) whose functions the
//     actor implements, with a default for the optional handler callbacks (export_defaults.h),
//     and a trait per exported resource;
//   - `export_<w>!(Type)`, the macro that exports the actor's implementation;
//   - the canonical-ABI glue (rust_prelude.h), which needs only `std` of Rust 1.63.
//
// Limits (errors of kind kInvalidArgument): a `borrow<..>` handle only as a parameter (not inside
// a list, record, variant or result); a borrowed handle of an exported resource only in that
// interface's own functions.
//
// Thread-safety: a call builds and returns a string; it only reads the WorldModel.
#pragma once

#include <string>

#include "abi/bindgen/model.h"
#include "theater/status.h"

namespace theater::bindgen {

// The contents of <w>.rs (without the banner line bindgen.cc adds).
Result<std::string> GenerateRust(const WorldModel& model);

}  // namespace theater::bindgen
