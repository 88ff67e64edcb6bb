// Theater: a WebAssembly actor runtime.
//
// WatchActors and UnwatchActors (docs/protocol.md): a client that watches is pushed a snapshot
// of the actors table every `interval_ms`, with what a table of running actors shows (status,
// parent, handlers, mailbox depth, events, memory), so that a dashboard keeps a live table with
// one message a second instead of one command per actor.
//
// A snapshot is built on the blocking pool (a thousand actors' metrics and their JSON take a
// millisecond or two, which the network thread should not spend) and pushed from the network
// thread. The next one is scheduled only after that, so a slow pool never piles snapshots up,
// and a tick is skipped while the client has not read what it was sent before
// (kWriteHighWater): a client that reads slowly sees a slower table, never a longer queue.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/json_writer.h"
#include "common/uuid.h"
#include "server/server_impl.h"

namespace theater::server {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;

constexpr uint64_t kMinIntervalMs = 100;
constexpr uint64_t kMaxIntervalMs = 60'000;
constexpr uint64_t kDefaultIntervalMs = 1000;

std::string BuildSnapshot(TheaterRuntime& runtime, const std::string& watch_id) {
  json actors = json::array();
  for (const ActorSummary& a : runtime.List()) {
    json row = {{"id", a.id},
                {"name", a.name},
                {"phase", std::string(ActorPhaseName(a.phase))},
                {"parent_id", a.parent_id ? json(*a.parent_id) : json(nullptr)},
                {"handlers", a.handlers}};
    if (Result<ActorMetrics> m = runtime.Metrics(a.id); m.ok()) {
      row["mailbox_depth"] = m->mailbox_depth;
      row["events"] = m->events;
      row["memory_bytes"] = m->memory_bytes;
      row["calls"] = m->calls;
      row["failures"] = m->failures;
      row["hibernated"] = m->hibernated;
    }
    actors.push_back(std::move(row));
  }
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return JsonText(MakeVariant("ActorsSnapshot",
                              json{{"watch_id", watch_id}, {"at_ms", now_ms}, {"actors", actors}}));
}

}  // namespace

void ServerImpl::UnwatchActors(CommandCall& call) {
  std::unique_ptr<Connection::ActorWatch>& watch = call.conn->actor_watch();
  Result<std::string> id = StringField(call.fields, "watch_id");
  if (!id.ok()) return call.Invalid(id.status());
  if (!watch || watch->id != *id) {
    return call.Finish(
        ErrorResponse(ManagementError::kInvalidRequest, "UnwatchActors: no watch '" + *id + "'"));
  }
  watch->timer->cancel();
  watch.reset();
  call.Finish(MakeVariant("UnwatchedActors", json{{"watch_id", *id}}));
}

void ServerImpl::WatchActors(CommandCall& call) {
  uint64_t interval_ms = kDefaultIntervalMs;
  if (auto it = call.fields.find("interval_ms"); it != call.fields.end() && !it->is_null()) {
    if (!it->is_number_unsigned() || it->get<uint64_t>() < kMinIntervalMs ||
        it->get<uint64_t>() > kMaxIntervalMs) {
      return call.Finish(ErrorResponse(ManagementError::kInvalidRequest,
                                       "WatchActors: field 'interval_ms' must be an integer from " +
                                           std::to_string(kMinIntervalMs) + " to " +
                                           std::to_string(kMaxIntervalMs)));
    }
    interval_ms = it->get<uint64_t>();
  }
  // One watch per connection: a new one replaces the old (its id changes).
  std::unique_ptr<Connection::ActorWatch>& watch = call.conn->actor_watch();
  if (watch) watch->timer->cancel();
  watch = std::make_unique<Connection::ActorWatch>();
  watch->id = NewUuid();
  watch->interval = std::chrono::milliseconds(interval_ms);
  watch->timer = std::make_unique<asio::steady_timer>(io_);
  call.Finish(
      MakeVariant("WatchingActors", json{{"watch_id", watch->id}, {"interval_ms", interval_ms}}));
  PushActorsSnapshot(call.conn);  // the first at once, after the reply
}

void ServerImpl::ScheduleActorsSnapshot(const std::shared_ptr<Connection>& conn) {
  Connection::ActorWatch* watch = conn->actor_watch().get();
  if (watch == nullptr || conn->closed()) return;
  watch->timer->expires_after(watch->interval);
  watch->timer->async_wait([this, weak = std::weak_ptr<Connection>(conn),
                            id = watch->id](const boost::system::error_code& ec) {
    if (ec) return;
    auto c = weak.lock();
    if (!c || !c->actor_watch() || c->actor_watch()->id != id) return;
    if (c->outbox_bytes() > kWriteHighWater) return ScheduleActorsSnapshot(c);  // skip a tick
    PushActorsSnapshot(c);
  });
}

void ServerImpl::PushActorsSnapshot(const std::shared_ptr<Connection>& conn) {
  Connection::ActorWatch* watch = conn->actor_watch().get();
  if (watch == nullptr || watch->building) return;
  watch->building = true;
  asio::post(*blocking_, [this, weak = std::weak_ptr<Connection>(conn), id = watch->id] {
    std::string snapshot = BuildSnapshot(runtime_, id);
    asio::post(io_, [this, weak, id, snapshot = std::move(snapshot)] {
      auto c = weak.lock();
      if (!c || c->closed() || !c->actor_watch() || c->actor_watch()->id != id) return;
      c->actor_watch()->building = false;
      c->Push(snapshot);
      ScheduleActorsSnapshot(c);
    });
  });
}

}  // namespace theater::server
