// Theater: a WebAssembly actor runtime.
//
// The children of one actor that failed with no restart strategy to restart them: each stays
// its parent's (listed by list-children, its state and chain readable) until the parent restarts
// it (supervisor.restart-child, from its manifest, its chain going on) or stops it
// (supervisor.stop-child, which lets it go). docs/supervision.md, "A failed child".
//
// Thread-safety: every member may be called from any thread. Ownership: owned by the parent
// Actor; a record holds the failed child's chain and last state, shared with nobody else.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/actor_host.h"
#include "theater/chain.h"
#include "theater/mutex.h"
#include "theater/runtime.h"

namespace theater::runtime {

class FailedChildren {
 public:
  // What a failed child leaves for its parent to restart it from.
  struct Record {
    SpawnRequest origin;                       // how it was spawned
    std::shared_ptr<chain::EventChain> chain;  // goes on when it is restarted
    Status error;                              // why it failed
    StateBytes state;                          // its last committed state
  };
  // At most this many are kept per parent: a parent that never restarts nor stops its failed
  // children lets the oldest go past it.
  static constexpr size_t kMaxKept = 1024;

  // Keeps `record` for `child_id` (replacing one kept already). Returns the id of the oldest
  // record let go to stay within kMaxKept, for the parent to take off its children.
  [[nodiscard]] std::optional<std::string> Keep(const std::string& child_id, Record record);
  // Removes and returns the record of `child_id`; nullopt when it is not a failed child.
  std::optional<Record> Take(std::string_view child_id);
  // A copy of the record (its chain and state shared, not copied).
  std::optional<Record> Find(std::string_view child_id) const;
  bool Contains(std::string_view child_id) const;

 private:
  mutable Mutex mu_;
  std::deque<std::pair<std::string, Record>> records_ THEATER_GUARDED_BY(mu_);  // oldest first
};

}  // namespace theater::runtime
