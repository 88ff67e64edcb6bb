// Theater: a WebAssembly actor runtime.
//
// Random (version 4) UUIDs, the ids of actors, stores and requests.
//
// Thread-safety: pure functions; NewUuid draws from OpenSSL's thread-safe generator.
#pragma once

#include <string>
#include <string_view>

namespace theater {

// A random RFC 4122 version-4 UUID in lower-case hyphenated form.
std::string NewUuid();
// True for a hyphenated 8-4-4-4-12 hex UUID (either case).
bool IsUuid(std::string_view text);

}  // namespace theater
