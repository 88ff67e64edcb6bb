// Theater: a WebAssembly actor runtime.
//
// The directory layout the filesystem tests try to escape from (the filesystem handler's and
// wasi:filesystem's): a granted `base` and, beside it, an `outside` holding secret.txt, reachable
// from inside the base only through symbolic links the kernel must refuse to follow out. Test-only.
//
// EscapeLayoutFixture: an ActorTestFixture with that layout in its home and manifests for a probe
// actor granted the base (the filesystem handler's runtime test with a core module, the WASI
// filesystem test with a component).
//
// Thread-safety: used from the test's thread.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "common/bytes.h"
#include "testing/actor_test_fixture.h"

namespace theater::testing_util {

// The whole file as text ("" when it cannot be read, never an exception).
inline std::string ReadFileText(const std::filesystem::path& path) {
  return theater::ReadFileText(path).value_or("");
}

// Creates `base` and `outside` (with secret.txt = "secret"), and in `base` the links
//   out -> ../outside         (relative, climbing)
//   abs -> <outside>          (absolute)
//   secretlink -> ../outside/secret.txt
//   loop1 -> loop2, loop2 -> loop1
inline void MakeEscapeLayout(const std::filesystem::path& base,
                             const std::filesystem::path& outside) {
  namespace fs = std::filesystem;
  fs::create_directories(base);
  fs::create_directories(outside);
  std::ofstream(outside / "secret.txt") << "secret";
  fs::create_directory_symlink("../" + outside.filename().string(), base / "out");
  fs::create_directory_symlink(outside, base / "abs");
  fs::create_symlink("../" + outside.filename().string() + "/secret.txt", base / "secretlink");
  fs::create_symlink("loop2", base / "loop1");
  fs::create_symlink("loop1", base / "loop2");
}

class EscapeLayoutFixture : public ActorTestFixture {
 protected:
  // `probe` is the wasm file the manifests run.
  EscapeLayoutFixture(std::string home_prefix, std::string probe)
      : ActorTestFixture(std::move(home_prefix)), probe_(std::move(probe)) {}

  void SetUp() override {
    ActorTestFixture::SetUp();
    base_ = home_ / "base";
    outside_ = home_ / "outside";
    MakeEscapeLayout(base_, outside_);
  }

  // A manifest for the probe, `extra` (TOML lines) after its top-level fields and, unless
  // `handler` is empty, a filesystem handler table holding `handler`.
  std::string Manifest(const std::string& handler, const std::string& extra = "") {
    std::string manifest =
        "name = \"probe\"\nversion = \"0.1.0\"\ncomponent = \"" + probe_ + "\"\n" + extra;
    manifest += "\n[[handler]]\ntype = \"message-server\"\n";
    if (!handler.empty()) manifest += "\n[[handler]]\ntype = \"filesystem\"\n" + handler;
    return manifest;
  }
  // The same with the handler's `path` the base directory, plus `more` handler lines.
  std::string BaseManifest(const std::string& more = "", const std::string& extra = "") {
    return Manifest("path = \"" + base_.string() + "\"\n" + more, extra);
  }

  std::filesystem::path base_, outside_;

 private:
  std::string probe_;
};

}  // namespace theater::testing_util
