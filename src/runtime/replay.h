// Theater: a WebAssembly actor runtime.
//
// ReplayChain: re-runs an actor from its recorded events (theater/replay.h, docs/replay.md). The
// runtime gives it where modules and large byte lists come from (its content store, its engine)
// and the handlers (whose WIT types the imports have, and whose Handler::ReplayCore replays
// core-ABI calls); nothing of the live runtime is touched.
//
// Thread-safety: a call runs on the calling thread (the guest on fibers of it) and shares nothing
// but the engine, the registry and the sources, which must be thread-safe. The recorded events are
// read by a task on the sources' blocking pool meanwhile; the call returns only once that task no
// longer calls the visitor, and the task holds what it shares with the call by shared ownership,
// so a replay may end early (or fail) whenever it likes.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "theater/chain.h"
#include "theater/engine.h"
#include "theater/handler_registry.h"
#include "theater/replay.h"
#include "theater/status.h"

namespace theater {
class BlockingPool;
}  // namespace theater

namespace theater::runtime {

struct ReplaySources {
  // The module whose wasm bytes have this SHA-256 (lower-case hex); kNotFound when it is gone.
  std::function<Result<std::shared_ptr<const engine::Module>>(const std::string& sha256_hex)>
      module;
  // The bytes of a list the chain recorded by digest (docs/chain-format.md, "Large byte lists").
  std::function<Result<std::vector<uint8_t>>(const chain::Hash& sha256)> bytes;
  const HandlerRegistry* handlers = nullptr;
  // Byte lists longer than this were recorded by digest when the chain was recorded with a
  // spill (a persisting runtime); the replay records them the same way. Decided per chain: a
  // chain that holds a longer list inline was recorded without one.
  size_t bytes_inline_max = 64 * 1024;
  // Where the recorded events are read while the replay runs (a read of a saved chain may block
  // on SQLite). Null: the replay's thread reads them itself, before it replays them.
  BlockingPool* pool = nullptr;
};

// Where a replay reads the recorded events from: `visit` hands them to `sink` in order, from
// event #0, each with its index in the chain, and stops early when `sink` returns false. It runs
// as a task on ReplaySources::pool while the replay runs the events it already has, so reading a
// saved chain overlaps with replaying it; when the pool has not started it within a moment (its
// threads are all busy), the replay's own thread runs it instead, to its end, and then replays.
// It may capture what the caller of ReplayChain owns: it is never called once ReplayChain has
// returned. The events' hashes need not have been checked (each event must name its parent): the
// replay's loader checks that each links to the one before and matches its own hash, and the
// replay ends with that error at the first that does not.
using RecordedEventVisitor =
    std::function<Status(const std::function<bool(chain::Event&& event, size_t index)>& sink)>;

// Replays the events `visit` gives. Errors (kNotFound for a module that is gone,
// kInvalidArgument for a chain that cannot be replayed, the visitor's own) are problems of the
// replay's inputs; a replay that runs reports what it found in the ReplayReport.
Result<ReplayReport> ReplayChain(RecordedEventVisitor visit, const ReplaySources& sources,
                                 const ReplayOptions& options);

}  // namespace theater::runtime
