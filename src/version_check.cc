// Theater: a WebAssembly actor runtime.
//
// The version every part reports (`theater --version`, the runtime handler's
// get-theater-version, the management server's ServerInfo, the Debian package) is kVersion; the
// version the build declares is CMakeLists.txt's project(VERSION). They are one: a release bumps
// both, and a build where they differ stops here.
#include "theater/version.h"

static_assert(
    theater::kVersion == THEATER_PROJECT_VERSION,
    "include/theater/version.h's kVersion differs from CMakeLists.txt's project(VERSION)");
