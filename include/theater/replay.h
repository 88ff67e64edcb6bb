// Theater: a WebAssembly actor runtime.
//
// Replay: re-running an actor from its event chain (docs/replay.md). The module the chain names
// (by its SHA-256) is instantiated again and driven through the recorded export calls, in order,
// with their recorded params; every host call the guest makes is answered from the chain (after
// checking that it is the call recorded next) and touches nothing outside the replay: no message
// is sent, no file read, no clock or entropy source asked. Every event the replay produces is
// hashed as the live run hashed it and compared with the recording, so a replay that ends
// identical proves that the chain is what this code does with these inputs.
//
// TheaterRuntime::Replay (theater/runtime.h) replays an actor's chain; TheaterRuntime::ReplayEvents
// a chain given as events (an exported chain file).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace theater {

struct ReplayOptions {
  // Time travel: stop once event `until` is replayed (the state is then the one the actor had
  // after it: the state the last export call at or before it left). Nothing after it runs.
  std::optional<uint64_t> until;
  // Replays with this module (a path to a .wasm) instead of the ones the chain names: another
  // build of the actor, checked against recorded histories (it diverges at the first event whose
  // recording it would not reproduce). Empty: the recorded modules, by their SHA-256.
  std::string module;
};

// Where a replay first differs from its recording.
struct ReplayDivergence {
  uint64_t index = 0;       // the event's index in the chain
  std::string event_type;   // the recorded event's type
  std::string expected;     // the recorded event, decoded (one line)
  std::string got;          // what the replay did there instead (one line)
  std::string detail;       // more, when there is more to say: the two states, line by line
};

struct ReplayReport {
  uint64_t events = 0;  // events replayed and compared (identical up to the divergence)
  // Events of the chain the replay read: all of them, unless it stopped early (a divergence,
  // `until`), when reading stops too.
  uint64_t total = 0;
  std::optional<ReplayDivergence> divergence;
  // The actor's state after the last event replayed; nullopt: no state (the WIT's `none`).
  std::optional<std::vector<uint8_t>> state;

  bool identical() const { return !divergence.has_value(); }
};

}  // namespace theater
