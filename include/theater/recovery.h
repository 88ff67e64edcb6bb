// Theater: a WebAssembly actor runtime.
//
// Recovery: bringing back, after the host restarts, the actors a persisting runtime was running
// when it stopped or crashed (docs/persistence.md, "Recovery"). A runtime with
// RuntimeOptions::durable_actors records in its database, for every actor whose chain it saves,
// what it takes to start it again (its manifest, kept by SHA-256 in the store, the module it
// runs, its parent); a clean shutdown leaves those actors recorded as running. Recover() starts
// each again under its id, from the state its last durable event left, without calling `init`;
// its chain goes on from its head with an "actor-recovered" event, and parents come back before
// their children.
//
// Thread-safety: plain values.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "theater/status.h"

namespace theater {

// What became of one actor the database recorded as running.
struct RecoveredActor {
  std::string id;
  std::string name;
  std::optional<std::string> parent_id;
  // OK: running again. Otherwise why it stays stopped (its module is gone, its chain's tail does
  // not verify, its parent did not come back, ...); its chain is untouched but for the events of
  // a setup that failed.
  Status status;
  // The event whose state it resumed from (an export call, or the state it started with).
  size_t resumed_after_event = 0;
  // Where that state came from: "none" (it had none), "chain" (recorded inline), "store" (kept
  // by its digest) or "replay" (recomputed by replaying the chain up to that event).
  std::string state_source;
};

struct RecoveryReport {
  std::vector<RecoveredActor> actors;  // parents before their children
  size_t recovered = 0;
  size_t failed = 0;
  std::chrono::milliseconds elapsed{0};
};

}  // namespace theater
