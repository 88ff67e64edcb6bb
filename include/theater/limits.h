// Theater: a WebAssembly actor runtime.
//
// The limits the runtime applies to untrusted input it reads on behalf of a spawn: manifests
// (files, inline text, URLs, store references), initial states and modules. Every limit is
// documented in docs/security.md; an input past one is refused with an error that names it.
//
// Thread-safety: constants only.
#pragma once

#include <cstddef>

namespace theater::limits {

// A manifest's text, before and after template substitution.
inline constexpr size_t kMaxManifestBytes = 1u << 20;
// An initial state (the manifest's `init_state` or the JSON given at spawn).
inline constexpr size_t kMaxInitStateBytes = 16u << 20;
// A module or component file or download.
inline constexpr size_t kMaxModuleBytes = 256u << 20;
// Nesting of JSON arrays and objects in an initial state or a handler's config.
inline constexpr size_t kMaxJsonDepth = 128;
// Nesting of TOML arrays and inline tables, and components of one dotted key or table header.
inline constexpr size_t kMaxTomlDepth = 64;
// A reference a spawn follows: a manifest's path, store:// or http(s):// reference, and the
// component and init_state it names (PATH_MAX; longer than any URL a web server takes).
inline constexpr size_t kMaxReferenceBytes = 4096;
// Warnings a template may produce before the rest are summarised in one line.
inline constexpr size_t kMaxTemplateWarnings = 16;

}  // namespace theater::limits
