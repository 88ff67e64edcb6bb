// Theater: a WebAssembly actor runtime.
//
// The directory layout the filesystem tests try to escape from (the filesystem handler's and
// wasi:filesystem's): a granted `base` and, beside it, an `outside` holding secret.txt, reachable
// from inside the base only through symbolic links the kernel must refuse to follow out. Test-only.
//
// Thread-safety: plain functions on the test's own directories.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace theater::testing_util {

// The whole file as text ("" when it cannot be read).
inline std::string ReadFileText(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
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

}  // namespace theater::testing_util
