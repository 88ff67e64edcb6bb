// Theater: a WebAssembly actor runtime.
//
// The fixed part of every Rust bindings file (`theater bindgen --lang rust`): module `__rt`,
// which the generated code uses to move values across the sandbox by the canonical ABI. It
// defines the `Canon` trait (a value's canonical size, alignment, and how it is stored to and
// loaded from linear memory), its implementations for the primitives, `String`, `Vec`,
// `Option`, `Result` and `()`, the `cabi_realloc` export the host allocates through, and the
// helpers that take ownership of host-allocated strings and lists. Records, variants, enums,
// flags, tuples and handles get their `Canon` implementations from the generator, which knows
// their layouts (rust_generator.h).
//
// The text needs nothing beyond Rust 1.63's `std` (Debian 12's rustc), so that a project builds
// offline with no crates.
//
// Thread-safety: a constant.
#pragma once

#include <string_view>

namespace theater::bindgen {

// Rust source text, to be placed at the root of a bindings module.
std::string_view RustRuntimePrelude();

}  // namespace theater::bindgen
