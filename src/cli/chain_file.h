// Theater: a WebAssembly actor runtime.
//
// A chain exported to a file (`theater chain export`, or the server's `chain save`): read whole,
// bounded, into events, and verified on its own, with no server: every hash and parent link, and
// that its event #0 binds it to the actor the file names. `theater replay FILE` and `theater
// chain verify FILE` read files through it.
//
// Thread-safety: free functions over values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "theater/chain.h"
#include "theater/status.h"

namespace theater::cli {

// {"actor_id", "anchor", "events": [{hash, parent, type, timestamp_ms, description,
// payload_hex}, ...], "first_index"}.
struct ChainFile {
  std::string actor_id;
  std::optional<chain::Hash> anchor;  // the hash of the event before the first one held
  uint64_t first_index = 0;
  std::vector<chain::Event> events;
};

// Reads and parses `path` (at most 256 MiB, JSON nesting bounded). Errors name the file and the
// event at fault.
[[nodiscard]] Result<ChainFile> ReadChainFile(const std::string& path);

// Every hash and parent link from the file's anchor, and the binding of event #0 to the file's
// actor_id (a file whose actor_id was changed is refused: kValidationError naming both ids).
[[nodiscard]] Status VerifyChainFile(const ChainFile& file);

}  // namespace theater::cli
