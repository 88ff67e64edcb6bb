// Theater: a WebAssembly actor runtime.
//
// The commands about the server and its actors (docs/protocol.md, section 3): listing them,
// starting and stopping them, their status, manifest, metrics and component. Which thread each
// runs on: server_impl.h.
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "cluster/placement.h"
#include "common/bytes.h"
#include "common/uuid.h"
#include "server/server_impl.h"

#include "common/nesting_guard.h"
#include "theater/chain_store.h"
#include "theater/limits.h"
#include "theater/manifest.h"

namespace theater::server {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;

json ManifestToJson(const Manifest& m) {
  json out = json::object();
  out["name"] = m.name;
  out["version"] = m.version;
  out["component"] = m.component;
  out["description"] = m.description ? json(*m.description) : json(nullptr);
  out["long_description"] = m.long_description ? json(*m.long_description) : json(nullptr);
  out["save_chain"] = m.save_chain ? json(*m.save_chain) : json(nullptr);
  out["init_state"] = m.init_state ? json(*m.init_state) : json(nullptr);
  out["permission_policy"] = m.permission_policy;
  json handlers = json::array();
  for (const HandlerConfig& h : m.handlers) {
    json entry = h.config.is_object() ? h.config : json::object();
    entry["type"] = h.type;
    handlers.push_back(std::move(entry));
  }
  out["handler"] = std::move(handlers);
  return out;
}

json MetricsToJson(const ActorMetrics& m) {
  json out = {{"calls", m.calls},
              {"failures", m.failures},
              {"latency_min_ns", m.latency_min_ns},
              {"latency_avg_ns", m.latency_avg_ns},
              {"latency_max_ns", m.latency_max_ns},
              {"mailbox_depth", m.mailbox_depth},
              {"mailbox_peak", m.mailbox_peak},
              {"memory_bytes", m.memory_bytes},
              {"memory_peak_bytes", m.memory_peak_bytes},
              {"uptime_ms", m.uptime_ms},
              {"events", m.events}};
  out["custom"] = json::object();
  for (const auto& [name, value] : m.custom) out["custom"][name] = value;
  return out;
}

}  // namespace

namespace {

json LocalActorDetails(TheaterRuntime& runtime, const std::string& host_id) {
  json details = json::array();
  for (const ActorSummary& a : runtime.List()) {
    json detail{{"id", a.id},
                {"name", a.name},
                {"phase", std::string(ActorPhaseName(a.phase))},
                {"parent_id", a.parent_id ? json(*a.parent_id) : json(nullptr)},
                {"manifest", a.manifest_source}};
    if (!host_id.empty()) detail["host"] = host_id;
    details.push_back(std::move(detail));
  }
  return details;
}

// Another host's answer, as details naming it; a malformed or oversized answer is that host's
// problem, reported, never this server's.
Result<json> RemoteActorDetails(const LatticeActorList& answer) {
  if (!answer.actors.ok()) return answer.actors.status();
  const std::string& text = *answer.actors;
  if (text.size() > 1 << 20) return ResourceExhausted("its list is past 1 MiB");
  THEATER_RETURN_IF_ERROR(CheckJsonNesting(text, 4, "a host's actor list"));
  json parsed = json::parse(text, nullptr, false);
  if (!parsed.is_array()) {
    return FailedPrecondition("it has more actors than one answer holds; ask it directly");
  }
  json details = json::array();
  for (json& detail : parsed) {
    if (!detail.is_object() || !detail.contains("id") || !detail["id"].is_string()) continue;
    detail["host"] = answer.host_id;
    details.push_back(std::move(detail));
  }
  return details;
}

}  // namespace

std::string LocalActorDetailsJson(TheaterRuntime& runtime, const std::string& host_id) {
  return LocalActorDetails(runtime, host_id).dump();
}

void ServerImpl::ListActors(CommandCall& call) {
  json details = LocalActorDetails(runtime_, options_.host_id);
  auto reply_with = [](json details, json unreachable) {
    json actors = json::array();
    for (const json& d : details) actors.push_back(json::array({d["id"], d.value("name", "")}));
    json fields{{"actors", std::move(actors)}, {"details", std::move(details)}};
    if (!unreachable.empty()) fields["unreachable"] = std::move(unreachable);
    return MakeVariant("ActorList", fields);
  };
  if (!options_.lattice_actors) return call.Finish(reply_with(std::move(details), json::array()));
  // The other hosts' actors, asked at once; the reply waits for their answers (at most the
  // lattice's timeout), never on this thread.
  options_.lattice_actors([reply = Replier(call.conn, call.ctx), details = std::move(details),
                           reply_with](std::vector<LatticeActorList> answers) mutable {
    json unreachable = json::array();
    for (const LatticeActorList& answer : answers) {
      Result<json> theirs = RemoteActorDetails(answer);
      if (!theirs.ok()) {
        unreachable.push_back({{"host", answer.host_id}, {"error", theirs.status().message()}});
        continue;
      }
      for (json& d : *theirs) details.push_back(std::move(d));
    }
    reply(reply_with(std::move(details), std::move(unreachable)), {});
  });
}

void ServerImpl::GetServerInfo(CommandCall& call) {
  call.Finish(ServerInfo());
}

void ServerImpl::StartActor(CommandCall& call) {
  const json& fields = call.fields;
  Result<std::string> manifest = StringField(fields, "manifest");
  if (!manifest.ok()) return call.Invalid(manifest.status());
  Result<std::optional<std::vector<uint8_t>>> state = OptionalBytesField(fields, "initial_state");
  if (!state.ok()) return call.Invalid(state.status());
  Result<bool> parent = BoolField(fields, "parent", false);
  if (!parent.ok()) return call.Invalid(parent.status());
  Result<bool> subscribe = BoolField(fields, "subscribe", false);
  if (!subscribe.ok()) return call.Invalid(subscribe.status());
  Result<ByteEncoding> encoding = ByteEncodingField(fields);
  if (!encoding.ok()) return call.Invalid(encoding.status());
  const std::shared_ptr<Connection>& conn = call.conn;

  // A client beyond loopback names actors, not files: a manifest path only under a manifest
  // root, and then the file checked (resolved) is the file read.
  if (!conn->peer_is_loopback() && ClassifyManifest(*manifest) == ManifestForm::kFile) {
    Result<std::string> admitted = manifest_roots_.Admit(*manifest);
    if (!admitted.ok()) {
      spdlog::info("management: connection {} ({}): refused a manifest path", conn->serial(),
                   conn->peer());
      return call.Finish(
          ErrorResponse(ManagementError::kUnauthorized, admitted.status().message()));
    }
    *manifest = std::move(*admitted);
  }
  if (*subscribe && conn->AtSubscriptionLimit()) {
    return call.Finish(
        SubscriptionLimitError(call, "start it without subscribe, or unsubscribe from one first"));
  }
  std::optional<std::string> placement;
  if (const auto it = fields.find("placement"); it != fields.end() && !it->is_null()) {
    if (!it->is_string()) return call.Invalid(InvalidArgument("placement: must be a string"));
    placement = it->get<std::string>();
  }
  // In a lattice, where it runs is decided here, once (a start this or another server placed
  // carries kForwardedField): by the command's placement, else by the manifest's, which is read
  // for that when it is inline or a file (the runtime reports what else is wrong with it).
  const ManifestForm form = ClassifyManifest(*manifest);
  const bool placed = fields.contains(kForwardedField);
  if (options_.lattice_hosts && !placed &&
      (placement || form == ManifestForm::kInline || form == ManifestForm::kFile)) {
    json admitted_fields = fields;
    admitted_fields["manifest"] = *manifest;
    return PlaceThenStart(call.conn, std::move(call.ctx),
                          Variant{std::string(call.name), std::move(admitted_fields)},
                          std::move(placement), *subscribe || *parent);
  }
  if (placement && !options_.lattice_hosts && *placement != "least-loaded") {
    return call.Finish(ErrorResponse(
        ManagementError::kInvalidRequest,
        "placement \"" + *placement + "\": this server is not in a lattice (--cluster)"));
  }

  SpawnRequest request;
  request.placed = placed || placement.has_value();
  request.manifest = std::move(*manifest);
  request.state = std::move(*state);
  request.actor_id = NewUuid();
  // And every other local file the spawn reads for it (component, init_state), its restarts
  // and recoveries read, and its descendants' spawns read, obeys the same rule.
  if (!conn->peer_is_loopback()) request.read_roots = manifest_roots_.ReadRoots();
  // Its spawns' fetches count against this connection's share (max_spawn_fetches_per_client).
  request.client =
      "management connection " + std::to_string(conn->serial()) + " (" + conn->peer() + ")";
  const std::string id = *request.actor_id;
  std::string subscription_id;
  if (*subscribe) {
    Result<TheaterRuntime::Subscription> sub = runtime_.SubscribeBeforeSpawn(
        id, options_.subscription_queue, chain::OverflowPolicy::kLossy);
    if (!sub.ok()) return call.Finish(ErrorResponse(sub.status(), Subject::kSpawn));
    subscription_id = NewUuid();
    conn->AddSubscription(subscription_id, id, std::move(*sub), *encoding);
  }
  if (*parent) parents_[id] = conn;
  runtime_.SpawnAsync(std::move(request),
                      [this, reply = Replier(conn, call.ctx), id, subscription_id,
                       weak = std::weak_ptr<Connection>(conn)](Result<std::string> spawned) {
                        if (spawned.ok()) {
                          json started{{"id", id}};
                          if (!options_.host_id.empty()) started["host"] = options_.host_id;
                          return reply(MakeVariant("ActorStarted", started), {});
                        }
                        reply(ErrorResponse(spawned.status(), Subject::kSpawn), {});
                        asio::post(io_, [this, id, subscription_id, weak] {
                          parents_.erase(id);
                          if (auto c = weak.lock(); c && !subscription_id.empty())
                            c->RemoveSubscription(subscription_id, id);
                        });
                      });
}

void ServerImpl::PlaceThenStart(const std::shared_ptr<Connection>& conn,
                                Connection::PendingCommand ctx, Variant command,
                                std::optional<std::string> placement, bool attached) {
  auto owned = std::make_shared<Variant>(std::move(command));
  auto reply = Replier(conn, ctx);
  asio::post(*blocking_, [this, conn, ctx = std::move(ctx), owned, reply = std::move(reply),
                          placement = std::move(placement), attached]() mutable {
    const std::string manifest = owned->fields.value("manifest", "");
    const ManifestForm form = ClassifyManifest(manifest);
    if (!placement) {
      // An unreadable or malformed manifest starts here, where the runtime says what is wrong.
      Result<std::string> text = form == ManifestForm::kInline
                                     ? Result<std::string>(manifest)
                                     : ReadFileText(manifest, "manifest", limits::kMaxManifestBytes);
      if (text.ok()) {
        Result<std::optional<std::string>> from_manifest = ManifestPlacement(*text);
        if (from_manifest.ok()) placement = std::move(*from_manifest);
      }
    }
    LatticeHost here;
    here.host_id = options_.host_id;
    here.self = true;
    Result<LatticeHost> chosen =
        placement ? cluster::ChoosePlacement(options_.lattice_hosts(), *placement, options_.lattice)
                  : Result<LatticeHost>(std::move(here));
    if (!chosen.ok()) return reply(ErrorResponse(chosen.status(), Subject::kSpawn), {});
    owned->fields[kForwardedField] = true;
    if (chosen->self) {
      // Here: the start goes on as any other, on the network thread.
      asio::post(io_, [this, conn, ctx = std::move(ctx), owned]() mutable {
        CommandCall call{conn, std::move(ctx), owned->name, owned->fields, {}};
        StartActor(call);
      });
      return;
    }
    if (attached) {
      return reply(ErrorResponse(FailedPrecondition(
                                     "the actor is placed on host " + chosen->host_id +
                                     ", and a start that subscribes or waits for its result "
                                     "needs a connection to that host: `theater start --on " +
                                     chosen->host_id + "` makes one"),
                                 Subject::kSpawn),
                   {});
    }
    // A manifest path takes the client's locality with it (as a command naming a file does).
    if (form == ManifestForm::kFile && !conn->peer_is_loopback()) {
      return reply(ErrorResponse(ManagementError::kUnauthorized,
                                 "the actor is placed on host " + chosen->host_id +
                                     ", and a start that names a file is passed there only for "
                                     "clients on loopback; send it to that host"),
                   {});
    }
    ManagementClient::Options options;
    options.address = chosen->management_address;
    options.token = options_.token;
    Result<std::unique_ptr<ManagementClient>> client = ManagementClient::Connect(options);
    if (!client.ok()) {
      return reply(ErrorResponse(client.status().WithContext("placing the actor on host " +
                                                             chosen->host_id),
                                 Subject::kSpawn),
                   {});
    }
    Result<Variant> answer = (*client)->CallRaw(MakeVariant(owned->name, owned->fields));
    if (!answer.ok()) return reply(ErrorResponse(answer.status(), Subject::kSpawn), {});
    if (answer->name == "ActorStarted") answer->fields["host"] = chosen->host_id;
    reply(MakeVariant(answer->name, answer->fields), {});
  });
}

void ServerImpl::StopActor(CommandCall& call) {
  runtime_.StopAsync(call.actor_id, [reply = Replier(call.conn, call.ctx),
                                     id = call.actor_id](Result<bool> found) {
    if (!found.ok()) return reply(ErrorResponse(found.status(), Subject::kActor), {});
    if (!*found) {
      return reply(ErrorResponse(ManagementError::kActorNotFound, "actor " + id + " not found"),
                   {});
    }
    reply(MakeVariant("ActorStopped", json{{"id", id}}), {});
  });
}

void ServerImpl::TerminateActor(CommandCall& call) {
  Blocking(call.conn, call.ctx, [this, id = call.actor_id]() -> json {
    Status s = runtime_.Terminate(id);
    if (!s.ok()) return ErrorResponse(s, Subject::kActor);
    // A forced stop reports nothing to a supervisor; a client attached with `parent` still
    // hears that the actor is gone.
    ChildEvent event;
    event.kind = ChildEvent::Kind::kExternalStop;
    event.child_id = id;
    asio::post(io_, [this, event] { OnTopLevelEvent(event); });
    return MakeVariant("ActorStopped", json{{"id", id}});
  });
}

void ServerImpl::RestartPauseOrResume(CommandCall& call) {
  // PauseActor's `when_idle` (an addition): wait for the running operation instead of refusing.
  Result<bool> when_idle_or = BoolField(call.fields, "when_idle", false);
  if (!when_idle_or.ok()) return call.Invalid(when_idle_or.status());
  const std::string name(call.name);
  const bool when_idle = name == "PauseActor" && *when_idle_or;
  Blocking(call.conn, call.ctx, [this, id = call.actor_id, name, when_idle]() -> json {
    Status s = name == "RestartActor" ? runtime_.Restart(id)
               : name == "PauseActor"
                   ? runtime_.Pause(id, when_idle ? TheaterRuntime::PauseWhen::kWhenIdle
                                                  : TheaterRuntime::PauseWhen::kNow)
                   : runtime_.Resume(id);
    if (!s.ok()) return ErrorResponse(s, Subject::kActor);
    return MakeVariant(name == "RestartActor" ? "Restarted"
                       : name == "PauseActor" ? "ActorPaused"
                                              : "ActorResumed",
                       json{{"id", id}});
  });
}

void ServerImpl::ListChildren(CommandCall& call) {
  Result<std::vector<std::string>> children = runtime_.Children(call.actor_id);
  if (!children.ok()) return call.Finish(ErrorResponse(children.status(), Subject::kActor));
  call.Finish(MakeVariant("ActorChildren", json{{"id", call.actor_id}, {"children", *children}}));
}

void ServerImpl::GetActorStatus(CommandCall& call) {
  const std::string& id = call.actor_id;
  Result<ActorSummary> summary = runtime_.Summary(id);
  if (summary.ok()) {
    json status{
        {"id", id}, {"status", "Running"}, {"phase", std::string(ActorPhaseName(summary->phase))}};
    // The design's Starting phase reports its setup progress (an addition to the reply).
    if (summary->phase == ActorPhase::kStarting) status["starting_step"] = summary->starting_step;
    return call.Finish(MakeVariant("ActorStatus", std::move(status)));
  }
  // Between two hosts of a lattice: alive, neither here nor yet there (a follower of its events
  // keeps following).
  if (runtime_.Moving(id)) {
    return call.Finish(
        MakeVariant("ActorStatus", json{{"id", id}, {"status", "Running"}, {"phase", "Moving"}}));
  }
  // Not running: the registry knows whether it stopped or failed.
  Blocking(call.conn, call.ctx, [this, id]() -> json {
    chain::ChainStore* store = runtime_.store();
    if (store) {
      Result<std::vector<chain::ActorRecord>> records = store->ListActors();
      if (!records.ok()) return ErrorResponse(records.status(), Subject::kStore);
      for (const chain::ActorRecord& r : *records) {
        if (r.actor_id != id) continue;
        return MakeVariant("ActorStatus",
                           json{{"id", id},
                                {"status", r.status == "failed" ? "Failed" : "Stopped"},
                                {"phase", "Stopped"}});
      }
    }
    return ErrorResponse(ManagementError::kActorNotFound, "actor " + id + " not found");
  });
}

void ServerImpl::GetActorManifest(CommandCall& call) {
  Result<Manifest> manifest = runtime_.GetManifest(call.actor_id);
  if (!manifest.ok()) return call.Finish(ErrorResponse(manifest.status(), Subject::kActor));
  call.Finish(MakeVariant("ActorManifest",
                          json{{"id", call.actor_id}, {"manifest", ManifestToJson(*manifest)}}));
}

void ServerImpl::GetActorMetrics(CommandCall& call) {
  Result<ActorMetrics> metrics = runtime_.Metrics(call.actor_id);
  if (!metrics.ok()) return call.Finish(ErrorResponse(metrics.status(), Subject::kActor));
  call.Finish(MakeVariant("ActorMetrics",
                          json{{"id", call.actor_id}, {"metrics", MetricsToJson(*metrics)}}));
}

void ServerImpl::UpdateActorComponent(CommandCall& call) {
  Result<std::string> component = StringField(call.fields, "component");
  if (!component.ok()) return call.Invalid(component.status());
  if (!call.conn->peer_is_loopback() && ClassifyReference(*component) == ReferenceKind::kFile) {
    component = manifest_roots_.AdmitReferenced(*component, "component");
    if (!component.ok()) {
      return call.Finish(
          ErrorResponse(ManagementError::kUnauthorized, component.status().message()));
    }
  }
  Blocking(call.conn, call.ctx, [this, id = call.actor_id, component = *component]() -> json {
    Status s = runtime_.UpdateComponent(id, component);
    if (!s.ok()) return ErrorResponse(s, Subject::kActor);
    return MakeVariant("ActorComponentUpdated", json{{"id", id}});
  });
}

}  // namespace theater::server
