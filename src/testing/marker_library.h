// Theater: a WebAssembly actor runtime.
//
// For tests of what a program can be made to load: a shared object, built in a test's directory
// with the system's C compiler (as a hostile actor could have written one into its grant), whose
// constructor creates a marker file — so whether any of its code ran is a file's existence.
// Test-only, header-only.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/compile/subprocess.h"
#include "theater/status.h"

namespace theater::testing_util {

// Writes `dir`/evil.c and builds `dir`/evil.so from it; loading evil.so creates `marker` (an
// absolute path). Errors: kNotFound without `cc` on PATH, kInternal when it fails to build.
inline Status BuildMarkerLibrary(const std::filesystem::path& dir,
                                 const std::filesystem::path& marker) {
  std::ofstream(dir / "evil.c") << "#include <fcntl.h>\n#include <unistd.h>\n"
                                   "__attribute__((constructor)) static void Evil(void) {\n"
                                   "  int fd = open(\""
                                << marker.string()
                                << "\", O_CREAT | O_WRONLY, 0644);\n"
                                   "  if (fd >= 0) close(fd);\n}\n";
  Result<std::filesystem::path> cc = engine::FindExecutable("cc");
  if (!cc.ok()) return NotFound("no cc to build evil.so with: " + cc.status().message());
  Result<engine::SubprocessResult> built =
      engine::RunSubprocess({cc->string(), "-shared", "-fPIC", "-o", "evil.so", "evil.c"}, dir,
                            std::chrono::seconds(120));
  if (!built.ok()) return built.status();
  if (!built->ok()) return InternalError("cc failed to build evil.so: " + built->output);
  return Status::Ok();
}

}  // namespace theater::testing_util
