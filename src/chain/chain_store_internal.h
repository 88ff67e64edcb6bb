// Theater: a WebAssembly actor runtime.
//
// What ChainStore's two source files share (chain_store.cc: schema, opening, reads;
// chain_store_write.cc: appends and the writer): the checks an event passes before it is queued.
// Private to src/chain.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>

#include "theater/chain.h"
#include "theater/status.h"

namespace theater::chain {

// The event's own hash against its parent, type and payload (kValidationError on a mismatch).
Status CheckHash(const Event& event);
// The event's parent against the chain's current head, the event at `index`.
Status CheckLink(const Event& event, size_t index, const std::optional<Hash>& previous);

}  // namespace theater::chain
