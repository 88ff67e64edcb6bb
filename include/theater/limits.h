// Theater: a WebAssembly actor runtime.
//
// The limits the runtime applies to untrusted input it reads on behalf of a spawn (manifests —
// files, inline text, URLs, store references —, initial states and modules) and to what one
// actor may hold in the runtime's messaging (channels, requests, queued message bytes). Every
// limit is documented in docs/security.md; an input or call past one is refused with an error
// that names it.
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

// Channels one participant (an actor or an external client) is in at once, open or still
// opening, whichever end opened them: past it, opening one more is refused (Router::OpenChannel,
// which every opening passes). A channel costs the host a table entry for as long as it is
// open, so without a cap one guest could hold the host's memory by opening without end.
inline constexpr size_t kMaxChannelsPerActor = 1024;
// Requests one actor has received and not answered (queued, running, or left for a later
// respond-to-request): past it, a new request to that actor is refused. Each holds its
// requester's reply until it is answered or the actor stops.
inline constexpr size_t kMaxOutstandingRequestsPerActor = 1024;
// Bytes of message payloads (sends, requests, channel messages) queued in one actor's mailbox
// and not yet handled: past it, a new message to that actor is refused. The mailbox's operation
// count alone would let 1,024 messages of 16 MiB each (the ABI's list limit) queue 16 GiB.
inline constexpr size_t kMaxQueuedMessageBytesPerActor = 64u << 20;

}  // namespace theater::limits
