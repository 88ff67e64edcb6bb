// Theater: a WebAssembly actor runtime.
//
// Supervision records: what a parent's host and its children's hosts send each other
// (docs/distribution.md, "Supervision across hosts"), as the payload of a kSupervise link record
// (link_frames.h). The record's `channel` names the operation, `sender` is the parent's id and
// `target` the child's:
//
//   spawn            the child's spawn (EncodeRemoteSpawn), answered with the outcome of its init
//   event            what became of the child (EncodeChildEvent): no answer
//   stop, restart, restart-failed, release
//                    a ChildControl (the payload is the reason, as text), answered with whether
//                    the child was there
//   fence            a host took replicated actor `target` over from this one: its copy here
//                    stops (no answer; the old host may be frozen or gone)
//   state            the child's state: answered with it as the message (none: not accepted)
//   events           the child's events, at most the payload's number of bytes (8, little
//                    endian): answered with them as a replica frame (replica_frames.h)
//   move             actor `target` moves to this host (EncodeMove: what recovers it, its
//                    state when it travels, whether it is replicated); its chain is in the
//                    lattice's chains stream. Answered once it runs here, or why not.
//   moved            the host `target` moved from has passed on what it held for it: what
//                    this host held for it may go to it (no answer)
//   watch            the sending host subscribes to `target`'s events: they are published on
//                    its events subject for a while (no answer; renewed while wanted)
//
// The spawn's and the child event's payload is JSON. It comes from another host of the lattice and is parsed as untrusted:
// bounded in nesting before it is parsed, every field's type checked, ids checked to be UUIDs.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "theater/lattice_link.h"
#include "theater/runtime.h"
#include "theater/status.h"

namespace theater::cluster {

// The operation names of a kSupervise record.
inline constexpr std::string_view kSuperviseSpawn = "spawn";
inline constexpr std::string_view kSuperviseEvent = "event";
inline constexpr std::string_view kSuperviseState = "state";
inline constexpr std::string_view kSuperviseEvents = "events";
std::string_view ControlName(ChildControl op);
// kInvalidArgument for a name that is no ChildControl.
[[nodiscard]] Result<ChildControl> ParseControlName(std::string_view name);

// A child's spawn: `request` with remote_parent and actor_id set.
std::vector<uint8_t> EncodeRemoteSpawn(const SpawnRequest& request);
// The request as SpawnForRemoteParent takes it; the parent's host is `origin` (the batch's).
[[nodiscard]] Result<SpawnRequest> ParseRemoteSpawn(std::string_view payload,
                                                    const std::string& origin);

inline constexpr std::string_view kSuperviseWatch = "watch";
inline constexpr std::string_view kSuperviseMove = "move";
inline constexpr std::string_view kSuperviseMoved = "moved";
// What a move record carries besides its target.
struct MoveRequest {
  std::string record;                        // ReplicaRecord's JSON: what recovers the actor
  std::optional<std::vector<uint8_t>> state;  // its last state, when it travels with the move
  bool replicated = false;                   // its chain stays in the stream once it arrived
};
std::vector<uint8_t> EncodeMove(const MoveRequest& move);
[[nodiscard]] Result<MoveRequest> ParseMove(std::string_view payload);

std::vector<uint8_t> EncodeChildEvent(const ChildEvent& event);
[[nodiscard]] Result<ChildEvent> ParseChildEvent(std::string_view payload);

}  // namespace theater::cluster
