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

// The ActorReplayed reply (`id` empty for a chain the client sent).
json ReplayedReply(const std::string& id, const Result<ReplayReport>& report) {
  if (!report.ok()) return ErrorResponse(report.status(), Subject::kActor);
  return MakeVariant(
      "ActorReplayed",
      json{{"id", id.empty() ? json(nullptr) : json(id)},
           {"identical", report->identical()},
           {"events", report->events},
           {"total", report->total},
           {"divergence", report->divergence ? DivergenceJson(*report->divergence) : json()},
           {"state", report->state ? BytesToJson(*report->state) : json()}});
}

}  // namespace

// ReplayOptions from a replay command's fields (`until`, `module`); nullopt once an error has been
// replied.
std::optional<ReplayOptions> ServerImpl::ReplayOptionsOf(CommandCall& call) {
  const json& fields = call.fields;
  ReplayOptions options;
  if (auto until = fields.find("until"); until != fields.end() && !until->is_null()) {
    if (!until->is_number_unsigned()) {
      call.Invalid(InvalidArgument("field 'until' must be a non-negative integer"));
      return std::nullopt;
    }
    options.until = until->get<uint64_t>();
  }
  if (HasField(fields, "module")) {
    Result<std::string> module = StringField(fields, "module");
    if (!module.ok()) {
      call.Invalid(module.status());
      return std::nullopt;
    }
    // A path on the server's machine: from beyond loopback, only under a manifest root.
    if (!call.conn->peer_is_loopback()) {
      module = manifest_roots_.AdmitReferenced(*module, "module");
      if (!module.ok()) {
        call.Finish(ErrorResponse(ManagementError::kUnauthorized, module.status().message()));
        return std::nullopt;
      }
    }
    options.module = *module;
  }
  return options;
}

void ServerImpl::ReplayActor(CommandCall& call) {
  std::optional<ReplayOptions> options = ReplayOptionsOf(call);
  if (!options) return;
  Blocking(call.conn, call.ctx, [this, id = call.actor_id, options = *options]() -> json {
    return ReplayedReply(id, runtime_.Replay(id, options));
  });
}

void ServerImpl::ReplayChain(CommandCall& call) {
  std::optional<ReplayOptions> options = ReplayOptionsOf(call);
  if (!options) return;
  auto list = call.fields.find("events");
  if (list == call.fields.end() || !list->is_array()) {
    return call.Invalid(InvalidArgument("field 'events' must be an array of ChainEvent"));
  }
  std::vector<chain::Event> events;
  events.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    Result<chain::Event> event = ChainEventFromJson((*list)[i]);
    if (!event.ok()) {
      return call.Invalid(event.status().WithContext("events[" + std::to_string(i) + "]"));
    }
    events.push_back(std::move(event).value());
  }
  // The actor the client says the chain is of: its event #0 must bind the chain to it (a file
  // whose actor_id was changed is refused, as a stored chain's binding is checked).
  std::string id;
  if (auto named = call.fields.find("id"); named != call.fields.end() && !named->is_null()) {
    if (!named->is_string() || named->get<std::string>().size() > 128) {
      return call.Invalid(InvalidArgument("field 'id' must be an actor id"));
    }
    id = named->get<std::string>();
    if (Status bound = chain::VerifyActorBinding(events, 0, id); !bound.ok()) {
      return call.Finish(ErrorResponse(bound.WithContext("the chain to replay"), Subject::kActor));
    }
  }
  Blocking(call.conn, call.ctx,
           [this, id, events = std::move(events), options = *options]() mutable -> json {
             return ReplayedReply(id, runtime_.ReplayEvents(std::move(events), options));
           });
}

}  // namespace theater::server
