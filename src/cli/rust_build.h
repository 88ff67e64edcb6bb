// Theater: a WebAssembly actor runtime.
//
// Building an actor project written in Rust (what `theater create --lang rust` writes): a Cargo
// package of crate type cdylib whose src/lib.rs includes the bindings `theater bindgen --lang rust`
// generated (bindings/<w>.rs) and needs nothing beyond std. The build finds a toolchain that can
// build for wasm (rust_toolchain.h: the first cargo on PATH whose rustc has a wasm32-wasip1 or
// wasm32-wasi standard library) and runs
//   cargo build --target <target> --config build.rustc="<rustc>" --offline --message-format short
//               --manifest-path <dir>/Cargo.toml --release
// under the spawn shim (engine/compile/subprocess.h), so cargo dies with the command, and copies
// target/<target>/<profile>/<crate>.wasm to the manifest's component. Debian's rustc 1.63,
// cargo and libstd-rust-dev-wasm32 are enough; a rustup toolchain with the wasm32-wasip1 target
// works as well, and one without it on PATH before Debian's is passed over.
//
// Thread-safety: reentrant. Ownership: plain values.
#pragma once

#include "cli/project_build.h"

namespace theater::cli {

// The front-end for a directory holding a Cargo.toml (then it is a Rust project, or a broken
// one). Planning errors: a Cargo.toml that is not TOML or has no [package] name, no src/lib.rs.
// Building runs cargo, then copies the module to plan.output; errors: no cargo, or none that can
// build for wasm (kUnavailable, naming the Debian packages and the rustup command), the build
// failing (kFailedPrecondition with cargo's messages, each "file:line:column: error..." first),
// the module missing after a build that succeeded.
extern const ProjectFrontEnd kRustFrontEnd;

}  // namespace theater::cli
