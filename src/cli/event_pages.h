// Theater: a WebAssembly actor runtime.
//
// Reading what can be large from the management server in pages (docs/protocol.md, "Paging"):
// an actor's chain, event by event (GetActorEvents with from_index and max_bytes), and its state,
// slice by slice (GetActorState with offset and max_bytes), so that neither the server nor this
// client holds a long chain's reply whole. Against a server that does not page (its replies have
// no next_index / total_bytes) the original one-reply form is read instead.
//
// Thread-safety: functions over one client, which they use from the calling thread.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/event_query.h"
#include "server/client.h"
#include "theater/status.h"

namespace theater::cli {

// The bytes of one page the CLI asks for (under the server's default max_reply_bytes).
inline constexpr size_t kPageBytes = 1u << 20;

// What ForEachEvent learned about the chain besides its events.
struct ChainPages {
  size_t first_index = 0;  // the index of the chain's first stored event (after pruning)
  size_t next_index = 0;   // the index after the last event read
};

// Hands every event of the actor's chain from `from_index` on, with its index, to `visit` until
// it returns false. Errors: the server's, or a malformed reply.
Result<ChainPages> ForEachEvent(server::ManagementClient& client, const std::string& id,
                                const std::function<bool(IndexedEvent&&)>& visit,
                                size_t from_index = 0, size_t page_bytes = kPageBytes);

// The actor's state (nullopt: it has none), read in slices.
Result<std::optional<std::vector<uint8_t>>> ReadState(server::ManagementClient& client,
                                                      const std::string& id,
                                                      size_t page_bytes = kPageBytes);

}  // namespace theater::cli
