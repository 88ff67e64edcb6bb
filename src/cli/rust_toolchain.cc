// Theater: a WebAssembly actor runtime.
#include "cli/rust_toolchain.h"

#include <array>
#include <string_view>
#include <vector>

#include "engine/compile/subprocess.h"

namespace theater::cli {
namespace {

namespace fs = std::filesystem;

// `rustc --print sysroot` answers at once; this bounds a broken proxy only.
constexpr std::chrono::seconds kProbeTimeout{60};
// Newest name first: a toolchain that knows both has the same library under each.
constexpr std::array<std::string_view, 2> kWasmTargets = {"wasm32-wasip1", "wasm32-wasi"};

constexpr std::string_view kInstallHint =
    "Debian: apt install rustc cargo libstd-rust-dev-wasm32; rustup: rustup target add "
    "wasm32-wasip1";

// The rustc that goes with `cargo`: the one beside it (a rustup proxy beside a rustup proxy, a
// distribution's rustc beside its cargo), else the first on PATH.
Result<fs::path> RustcFor(const fs::path& cargo) {
  const fs::path beside = cargo.parent_path() / "rustc";
  Result<fs::path> found = engine::FindExecutable(beside.string());
  if (found.ok()) return found;
  return engine::FindExecutable("rustc");
}

}  // namespace

Result<RustToolchain> FindRustToolchain(const fs::path& project_dir) {
  const std::vector<fs::path> cargos = engine::FindExecutables("cargo");
  if (cargos.empty()) return Unavailable("cargo not found (" + std::string(kInstallHint) + ")");
  std::string tried;
  for (const fs::path& cargo : cargos) {
    if (!tried.empty()) tried += "; ";
    tried += cargo.string();
    Result<fs::path> rustc = RustcFor(cargo);
    if (!rustc.ok()) {
      tried += " (no rustc)";
      continue;
    }
    Result<engine::SubprocessResult> probe =
        engine::RunSubprocess({rustc->string(), "--print", "sysroot"}, project_dir, kProbeTimeout);
    if (!probe.ok() || !probe->ok()) {
      tried += " (" + rustc->string() + " --print sysroot failed" +
               (probe.ok() ? ": " + engine::TailLines(probe->output, 2) : "") + ")";
      continue;
    }
    std::string sysroot = probe->output;
    while (!sysroot.empty() && (sysroot.back() == '\n' || sysroot.back() == '\r')) {
      sysroot.pop_back();
    }
    // Tools may print notes before the answer (a rustup proxy syncing): the path is the last line.
    if (const size_t nl = sysroot.rfind('\n'); nl != std::string::npos) {
      sysroot.erase(0, nl + 1);
    }
    const fs::path rustlib = fs::path(sysroot) / "lib" / "rustlib";
    for (std::string_view target : kWasmTargets) {
      std::error_code ec;
      if (fs::is_directory(rustlib / std::string(target) / "lib", ec)) {
        return RustToolchain{cargo, *rustc, std::string(target)};
      }
    }
    tried += " (" + rustc->string() + ": no wasm32-wasip1 or wasm32-wasi standard library in " +
             rustlib.string() + ")";
  }
  return Unavailable("no Rust toolchain here can build for wasm; tried " + tried + " (" +
                     std::string(kInstallHint) + ")");
}

}  // namespace theater::cli
