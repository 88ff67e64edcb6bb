// Theater: a WebAssembly actor runtime.
//
// Replica frames: how a replicated actor's chain events travel in the lattice's chains stream
// (chain_replicator.h, docs/distribution.md, "Replicated actors"): one stream message per batch
// of consecutive events, the index of the first one, then each event whole (its hash included,
// so that the host that takes the actor over checks every link before it trusts any).
//
// Layout, little-endian: version (u8), first index (u64), event count (u32), then per event:
// timestamp (u64), type (u16 length + bytes), payload (u32 + bytes), description flag (u8) and
// text (u32 + bytes), hash (32 bytes), parent flag (u8) and parent (32 bytes).
//
// A frame comes from the lattice's stream and is parsed as untrusted: every length is checked
// against what is left and against a limit named in the error, without recursion.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "theater/chain.h"
#include "theater/status.h"

namespace theater::cluster {

// Appends a frame of `events`, the first of which has chain index `first_index`.
void EncodeReplicaFrame(uint64_t first_index, std::span<const chain::Event> events,
                        std::string& out);
// The same for `count` events that `event(i)` gives (held elsewhere than in one span).
void EncodeReplicaFrameOf(uint64_t first_index, size_t count,
                          const std::function<const chain::Event&(size_t)>& event,
                          std::string& out);
// The bytes EncodeReplicaFrame would write for `event` alone past the frame's header.
size_t ReplicaEventSize(const chain::Event& event);

struct ReplicaFrame {
  uint64_t first_index = 0;
  std::vector<chain::Event> events;
};
// kInvalidArgument naming what is malformed or past which limit. Hashes are not checked here
// (chain::VerifyEvents does, over the whole chain).
[[nodiscard]] Result<ReplicaFrame> ParseReplicaFrame(std::string_view frame);

}  // namespace theater::cluster
