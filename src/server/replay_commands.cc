// Theater: a WebAssembly actor runtime.
//
// The replay commands (docs/protocol.md): ReplayActor re-runs an actor from its chain,
// ReplayChain a chain the client sends whole (an exported chain file); both answer
// ActorReplayed. A replay runs guest code for as long as the chain is long, so it runs on the
// blocking pool, never on the network thread.
#include "server/server_impl.h"

namespace theater::server {
namespace {

using nlohmann::json;

// The divergence as the reply carries it.
json DivergenceJson(const ReplayDivergence& d) {
  return json{{"index", d.index},
              {"event_type", d.event_type},
              {"expected", d.expected},
              {"got", d.got},
              {"detail", d.detail}};
}

}  // namespace

void ServerImpl::Replay(const std::shared_ptr<Connection>& conn, const Connection::PendingCommand& ctx,
                        const std::string& name, const json& fields) {
  auto invalid = [&](const Status& status) {
    conn->Finish(ctx, ErrorResponse(ManagementError::kInvalidRequest, name + ": " + status.ToString()));
  };
  ReplayOptions options;
  if (auto until = fields.find("until"); until != fields.end() && !until->is_null()) {
    if (!until->is_number_unsigned()) {
      return invalid(InvalidArgument("field 'until' must be a non-negative integer"));
    }
    options.until = until->get<uint64_t>();
  }
  if (HasField(fields, "module")) {
    Result<std::string> module = StringField(fields, "module");
    if (!module.ok()) return invalid(module.status());
    // A path on the server's machine: from beyond loopback, only under a manifest root.
    if (!conn->peer_is_loopback()) {
      module = manifest_roots_.AdmitReferenced(*module, "module");
      if (!module.ok()) {
        return conn->Finish(
            ctx, ErrorResponse(ManagementError::kUnauthorized, module.status().message()));
      }
    }
    options.module = *module;
  }
  auto reply = [](const std::string& id, const Result<ReplayReport>& report) -> json {
    if (!report.ok()) return ErrorResponse(report.status(), Subject::kActor);
    return MakeVariant(
        "ActorReplayed",
        json{{"id", id.empty() ? json(nullptr) : json(id)},
             {"identical", report->identical()},
             {"events", report->events},
             {"total", report->total},
             {"divergence", report->divergence ? DivergenceJson(*report->divergence) : json()},
             {"state", report->state ? BytesToJson(*report->state) : json()}});
  };
  if (name == "ReplayActor") {
    Result<std::string> id = ActorIdField(fields, "id");
    if (!id.ok()) return invalid(id.status());
    return Blocking(conn, ctx, [this, id = *id, options, reply]() -> json {
      return reply(id, runtime_.Replay(id, options));
    });
  }
  auto list = fields.find("events");
  if (list == fields.end() || !list->is_array()) {
    return invalid(InvalidArgument("field 'events' must be an array of ChainEvent"));
  }
  std::vector<chain::Event> events;
  events.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    Result<chain::Event> event = ChainEventFromJson((*list)[i]);
    if (!event.ok()) return invalid(event.status().WithContext("events[" + std::to_string(i) + "]"));
    events.push_back(std::move(event).value());
  }
  Blocking(conn, ctx, [this, events = std::move(events), options, reply]() mutable -> json {
    return reply("", runtime_.ReplayEvents(std::move(events), options));
  });
}

}  // namespace theater::server
