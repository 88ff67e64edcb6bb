// Theater: a WebAssembly actor runtime.
#include "cli/event_stream.h"

#include <iostream>

#include "cli/context.h"

namespace theater::cli {
namespace {

using namespace std::chrono_literals;

// How long a live stream waits for a push before asking whether the actor still runs.
constexpr auto kIdleCheck = 1s;

// Whether the actor still runs (an unknown or stopped actor does not).
bool StillRunning(server::ManagementClient& client, const std::string& id) {
  Result<Variant> status = client.Call(MakeVariant("GetActorStatus", {{"id", id}}));
  return status.ok() && JsonString(status->fields, "status") == "Running";
}

}  // namespace

Result<std::string> SubscribeToActor(server::ManagementClient& client, const std::string& id) {
  THEATER_ASSIGN_OR_RETURN(
      Variant reply,
      CallExpect(client, MakeVariant("SubscribeToActor", {{"id", id}}), "Subscribed"));
  const json& sub =
      reply.fields.contains("subscription_id") ? reply.fields["subscription_id"] : json();
  return sub.is_string() ? sub.get<std::string>() : sub.dump();
}

Result<ActorChainReader> OpenActorChain(const CommandContext& ctx, const std::string& given,
                                        bool follow) {
  ActorChainReader reader;
  THEATER_ASSIGN_OR_RETURN(reader.client, ctx.Connect());
  THEATER_ASSIGN_OR_RETURN(reader.id, ResolveActorId(*reader.client, given));
  if (follow) {
    THEATER_ASSIGN_OR_RETURN(reader.subscription, SubscribeToActor(*reader.client, reader.id));
  }
  return reader;
}

int FollowActorEvents(const CommandContext& ctx, server::ManagementClient& client,
                      const std::string& id, const std::string& subscription_id, size_t skip_below,
                      std::chrono::milliseconds idle_timeout,
                      const std::function<bool(const IndexedEvent&)>& on_event) {
  const Output& out = ctx.out();
  auto last_event = std::chrono::steady_clock::now();
  auto last_check = last_event;
  for (;;) {
    if (InterruptCount() > 0) {
      client
          .Call(MakeVariant("UnsubscribeFromActor",
                            {{"id", id}, {"subscription_id", subscription_id}}))
          .status()
          .IgnoreError();  // leaving anyway; the server also ends it when we disconnect
      return kExitInterrupted;
    }
    Result<std::optional<Variant>> push = client.NextPush(200ms);
    if (!push.ok()) return out.Error(push.status().WithContext("following actor " + id));
    const auto now = std::chrono::steady_clock::now();
    if (!*push) {
      if (idle_timeout.count() > 0 && now - last_event >= idle_timeout) return kExitOk;
      if (now - last_check >= kIdleCheck) {
        last_check = now;
        if (!StillRunning(client, id)) {
          // Pushes that arrived while we asked are still queued: hand them on first.
          while (true) {
            Result<std::optional<Variant>> rest = client.NextPush(0ms);
            if (!rest.ok() || !*rest) break;
            if ((*rest)->name != "ActorEvent") continue;
            Result<ActorEventPush> event = ReadActorEventPush((*rest)->fields);
            if (event.ok() && event->event && event->event->index >= skip_below &&
                !on_event(*event->event)) {
              break;
            }
          }
          if (!out.json()) std::cerr << "actor " << id << " is no longer running\n";
          return kExitOk;
        }
      }
      continue;
    }
    if ((*push)->name != "ActorEvent") continue;
    Result<ActorEventPush> event = ReadActorEventPush((*push)->fields);
    if (!event.ok()) return out.Error(event.status());
    if (JsonString((*push)->fields, "subscription_id") != subscription_id &&
        !JsonString((*push)->fields, "subscription_id").empty()) {
      continue;
    }
    last_event = now;
    if (event->dropped > 0) {
      out.Warning(std::to_string(event->dropped) + " events dropped (reading too slowly)");
    }
    if (!event->event || event->event->index < skip_below) continue;
    if (!on_event(*event->event)) return kExitOk;
  }
}

}  // namespace theater::cli
