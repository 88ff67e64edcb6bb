// Theater: a WebAssembly actor runtime.
//
// Fuzzer support: a private directory for one fuzzer process (under /dev/shm when it exists, so
// per-input files cost no disk I/O), removed with everything in it when the process exits
// normally. libFuzzer runs many processes at once with -jobs/-fork, so the name carries the pid.
//
// Thread-safety: FuzzTempDir() may be called from any thread (a function-local static).
#pragma once

#include <filesystem>

namespace theater::fuzz {

// The process's directory, created on first call.
const std::filesystem::path& FuzzTempDir();

// A fresh, empty subdirectory `name` of FuzzTempDir() (whatever was there is removed first).
std::filesystem::path FreshSubdir(const char* name);

}  // namespace theater::fuzz
