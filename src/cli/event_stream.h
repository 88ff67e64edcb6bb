// Theater: a WebAssembly actor runtime.
//
// Following an actor's chain live from a management server: the subscription (SubscribeToActor)
// and the loop that hands each pushed event on until the actor stops, Ctrl-C, the caller has
// had enough or nothing came for a while. `theater events --follow`, `subscribe` and `logs -f`
// share it; each decides what an event is worth printing.
//
// Thread-safety: functions over one client, which they use from the calling thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "cli/event_query.h"
#include "server/client.h"
#include "theater/status.h"

namespace theater::cli {

class CommandContext;

// Subscribes the connection to the actor's new events; returns the subscription's id.
Result<std::string> SubscribeToActor(server::ManagementClient& client, const std::string& id);

// An actor's chain about to be read, from a connection to the server: its id resolved from
// what the user gave (ResolveActorId), and, when it is to be followed, subscribed before the
// history is read, so that no event falls between the two (the overlap is skipped by chain
// index: FollowActorEvents' skip_below).
struct ActorChainReader {
  std::unique_ptr<server::ManagementClient> client;
  std::string id;
  std::string subscription;  // empty unless following
};
Result<ActorChainReader> OpenActorChain(const CommandContext& ctx, const std::string& given,
                                        bool follow);

// Hands each event the subscription pushes, from chain index `skip_below` on (those below were
// read with the history), to `on_event` until it returns false (0), the actor stops (0), Ctrl-C
// (130, CatchInterrupts first) or nothing came for `idle_timeout` (0; zero: no timeout). Events
// the server dropped for a slow reader are counted in a warning. Returns the command's exit code.
int FollowActorEvents(const CommandContext& ctx, server::ManagementClient& client,
                      const std::string& id, const std::string& subscription_id, size_t skip_below,
                      std::chrono::milliseconds idle_timeout,
                      const std::function<bool(const IndexedEvent&)>& on_event);

}  // namespace theater::cli
