// Theater: a WebAssembly actor runtime.
//
// Which Rust toolchain builds an actor. A machine may have several cargos on its PATH (a rustup
// proxy in ~/.cargo/bin ahead of Debian's /usr/bin/cargo), and not every one can build for wasm:
// a rustup toolchain has only the targets added to it, and Rust renamed the WASI target from
// `wasm32-wasi` to `wasm32-wasip1` (1.78) and dropped the old name (1.84). So the first cargo
// on PATH is not necessarily the right one, nor is one target name: each cargo's rustc (the one
// beside it, else the one on PATH) is asked for its sysroot, and the first whose sysroot holds a
// standard library for wasm32-wasip1 or wasm32-wasi (in that order) is used, with that target.
//
// Thread-safety: reentrant. Ownership: plain values.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "theater/status.h"

namespace theater::cli {

struct RustToolchain {
  std::filesystem::path cargo;
  std::filesystem::path rustc;  // passed to cargo as build.rustc, so it is the one probed
  std::string target;           // "wasm32-wasip1" or "wasm32-wasi"
};

// The Rust target a toolchain-less machine should name (what Debian's libstd-rust-dev-wasm32
// provides, and what `theater create` writes into .cargo/config.toml when it finds no toolchain).
inline constexpr std::string_view kDefaultRustWasmTarget = "wasm32-wasi";

// Finds the toolchain, probing from `project_dir` (a rustup toolchain file there picks the
// toolchain). Errors: kUnavailable when there is no cargo on PATH, or none whose rustc has a wasm
// standard library; the message names each cargo tried and how to add the target.
Result<RustToolchain> FindRustToolchain(const std::filesystem::path& project_dir);

}  // namespace theater::cli
