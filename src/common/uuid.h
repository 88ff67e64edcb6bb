// Theater: a WebAssembly actor runtime.
//
// UUIDs: random (version 4) ones, the ids of actors and stores, and cheap process-unique ones
// for ids that need only be distinct, such as request ids.
//
// Thread-safety: every function may be called from any thread. NewUuid draws from the OS
// generator 4 KiB at a time per thread (a forked child draws afresh); NewProcessUniqueUuid from a
// per-process random prefix and an atomic counter (no system call after the first).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace theater {

// A random RFC 4122 version-4 UUID in lower-case hyphenated form.
std::string NewUuid();
// A version-4-shaped UUID that no other call in this process returns: 64 random bits drawn once
// per process, then a counter. Unguessable only across processes, so never for an id that grants
// anything: request ids qualify (only the actor that received a request can answer it).
std::string NewProcessUniqueUuid();
// 16 random bytes as a version-4 UUID: sets the version and RFC 4122 variant bits and writes
// the lower-case hyphenated 8-4-4-4-12 form (for a guest's own random source, random.uuid).
std::string FormatUuidV4(std::array<uint8_t, 16> bytes);
// True for a hyphenated 8-4-4-4-12 hex UUID (either case).
bool IsUuid(std::string_view text);

}  // namespace theater
