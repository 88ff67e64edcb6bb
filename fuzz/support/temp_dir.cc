// Theater: a WebAssembly actor runtime.
//
// Fuzzer support: the per-process temporary directory (temp_dir.h).
#include "support/temp_dir.h"

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <system_error>

namespace theater::fuzz {
namespace {

namespace fs = std::filesystem;

struct Owner {
  fs::path path;
  Owner() {
    std::error_code ec;
    fs::path base =
        fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    path = base / ("theater-fuzz-" + std::to_string(getpid()));
    fs::remove_all(path, ec);
    fs::create_directories(path);
  }
  ~Owner() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

const fs::path& FuzzTempDir() {
  static Owner owner;
  return owner.path;
}

fs::path FreshSubdir(const char* name) {
  fs::path dir = FuzzTempDir() / name;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  return dir;
}

}  // namespace theater::fuzz
