// Theater: a WebAssembly actor runtime.
//
// Durability: how hard the runtime's SQLite database (chains, content stores) works to keep what
// it has committed across crashes. Shared by ChainStore and ContentStore, which map it onto
// SQLite's `PRAGMA synchronous` (docs/persistence.md, docs/store.md).
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <string_view>

#include "theater/status.h"

namespace theater {

enum class Durability {
  // PRAGMA synchronous=OFF: no fsync at all. Survives a process crash in most cases, not an OS
  // crash or power loss. Fastest.
  kNone,
  // PRAGMA synchronous=NORMAL (the default): committed transactions survive a process crash
  // (kill -9); the last ones may be lost on power loss.
  kBatched,
  // PRAGMA synchronous=FULL: every commit is synced before it counts as done.
  kStrict,
};

// "none", "batched", "strict".
std::string_view DurabilityName(Durability durability);
// The inverse of DurabilityName; kInvalidArgument otherwise.
Result<Durability> ParseDurability(std::string_view name);

}  // namespace theater
