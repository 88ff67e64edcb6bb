// Theater: a WebAssembly actor runtime.
//
// SpawnFetcher: the runtime's downloads of the http(s) references of spawns (manifests,
// components, initial states), and the caps on how many run at once.
//
// A fetch runs on the host's I/O loop (StartFetch, common/fetch.h: libcurl's multi interface
// driven by the loop's sockets and timers), not on a loader thread: a URL that accepts and never
// answers costs a socket until its timeout, and no spawn of something local waits behind it
// (docs/runtime.md, "Spawning from URLs"). The loop rather than a thread of its own, because the
// loop is already there to wait on sockets (the http-client handler's transfers run on the same
// engine), and a second event loop would be a second thing to start, stop and reason about.
//
// Caps (RuntimeOptions::max_spawn_fetches, _per_client, _per_actor): a fetch over any of them is
// refused at once with kResourceExhausted naming the cap and its value. Refusing rather than
// queueing keeps the bound trivial and tells the caller now, not after other fetches' timeouts.
//
// Thread-safety: every method may be called from any thread. A FetchDone runs on a loop thread
// and must not block. Ownership: the runtime owns it; it must be Closed while the loop runs, and
// before whatever the FetchDones reach (the loader pool) is gone.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/fetch.h"
#include "theater/status.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace theater::runtime {

class SpawnFetcher {
 public:
  struct Limits {
    size_t total = 0;       // in flight at once, in all
    size_t per_client = 0;  // of the spawns one client asked for (SpawnRequest::client)
    size_t per_actor = 0;   // of the spawns one actor and its descendants asked for
  };
  // Whom a fetch is counted against; an empty client is not counted (an embedder's own spawn is
  // bound by `total` only).
  struct Requester {
    std::string client;
    // The spawning actor and each of its ancestors (empty: a top-level spawn). Counting the
    // ancestors too bounds a tree: a guest cannot pass the cap by having each of many children
    // fetch once.
    std::vector<std::string> actors;
  };

  SpawnFetcher(boost::asio::io_context& io, Limits limits);
  SpawnFetcher(const SpawnFetcher&) = delete;
  SpawnFetcher& operator=(const SpawnFetcher&) = delete;

  // Starts fetching `url` for `who`; `done` gets the outcome, once, on a loop thread, after the
  // fetch stopped counting against the caps. Errors (and then `done` is never called):
  // kResourceExhausted when a cap is reached; kFailedPrecondition once Close was called.
  [[nodiscard]] Status Start(const std::string& url, const FetchOptions& options,
                             const Requester& who, FetchDone done);

  // Refuses every later Start, cancels what is in flight, and returns once every FetchDone has
  // returned. Idempotent. Must not be called on a loop thread (it waits for the loop).
  void Close();

  // How many fetches are in flight; for tests.
  size_t in_flight() const;

 private:
  // Counts the fetch `serial` of `who` no more against the caps.
  void Release(const Requester& who, uint64_t serial);

  boost::asio::io_context& io_;
  const Limits limits_;
  mutable std::mutex mu_;
  std::condition_variable idle_;  // in_flight_ reached 0
  bool closed_ = false;           // guarded by mu_
  // Fetches whose FetchDone has not returned yet (what Close waits for). Those counted against
  // the caps (until their outcome is there) are cancels_'s entries. Guarded by mu_.
  size_t in_flight_ = 0;
  // Fetches in flight by client and by actor; entries at 0 are erased. Guarded by mu_.
  std::map<std::string, size_t> by_client_;
  std::map<std::string, size_t> by_actor_;
  // How to abort each fetch in flight, by a serial of the fetcher's own; its size is what the
  // overall cap counts. Guarded by mu_.
  std::map<uint64_t, CancelFetch> cancels_;
  uint64_t next_serial_ = 0;  // guarded by mu_
};

}  // namespace theater::runtime
