// Theater: a WebAssembly actor runtime.
//
// The management server's commands (docs/protocol.md, section 3): what each does against the
// runtime, and which thread it runs on (server_impl.h).
#include <spdlog/spdlog.h>

#include <set>
#include <string>
#include <vector>

#include "common/uuid.h"
#include "server/event_pages.h"
#include "server/server_impl.h"
#include "theater/chain_store.h"
#include "theater/version.h"

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

json ActorResultPush(const ChildEvent& event) {
  json body;
  switch (event.kind) {
    case ChildEvent::Kind::kExit:
      body = MakeVariant("Success",
                         json{{"actor_id", event.child_id},
                              {"result", event.data ? BytesToJson(*event.data) : json(nullptr)}});
      break;
    case ChildEvent::Kind::kError: {
      json error = json::object();
      error["UnexpectedError"] = event.error.ToString();
      body = MakeVariant("Error", json{{"actor_id", event.child_id}, {"error", error}});
      break;
    }
    case ChildEvent::Kind::kExternalStop:
      body = MakeVariant("ExternalStop", json{{"actor_id", event.child_id}});
      break;
  }
  json out = json::object();
  out["ActorResult"] = std::move(body);
  return out;
}

}  // namespace

bool HasLargeReply(const Variant& command) {
  return command.name == "GetActorEvents" || command.name == "GetActorState" ||
         command.name == "VerifyChain" || command.name == "GetStoreContent";
}

std::function<void(json, std::vector<std::string>)> ServerImpl::Replier(
    const std::shared_ptr<Connection>& conn, const Connection::PendingCommand& ctx) {
  return [this, weak = std::weak_ptr<Connection>(conn), ctx](json response,
                                                             std::vector<std::string> after) {
    asio::post(io_,
               [weak, ctx, response = std::move(response), after = std::move(after)]() mutable {
                 if (auto c = weak.lock()) c->Finish(ctx, response, std::move(after));
               });
  };
}

void ServerImpl::Blocking(const std::shared_ptr<Connection>& conn, const Connection::PendingCommand& ctx,
                          std::function<json()> work) {
  asio::post(*blocking_,
             [reply = Replier(conn, ctx), work = std::move(work)] { reply(work(), {}); });
}

void ServerImpl::BlockingText(const std::shared_ptr<Connection>& conn,
                              const Connection::PendingCommand& ctx, std::function<std::string()> work) {
  asio::post(*blocking_,
             [this, weak = std::weak_ptr<Connection>(conn), ctx, work = std::move(work)] {
               asio::post(io_, [weak, ctx, text = work()]() mutable {
                 if (auto c = weak.lock()) c->FinishText(ctx, std::move(text));
               });
             });
}

void ServerImpl::OnTopLevelEvent(const ChildEvent& event) {
  auto it = parents_.find(event.child_id);
  if (it == parents_.end()) return;
  std::shared_ptr<Connection> conn = it->second.lock();
  parents_.erase(it);
  if (conn) conn->Push(ActorResultPush(event));
}

void ServerImpl::Dispatch(const std::shared_ptr<Connection>& conn, Connection::PendingCommand ctx,
                          const Variant& command) {
  const std::string& name = command.name;
  const json& fields = command.fields;
  auto finish = [&](const json& response) { conn->Finish(ctx, response); };
  auto invalid = [&](const Status& status) {
    finish(ErrorResponse(ManagementError::kInvalidRequest, name + ": " + status.ToString()));
  };

  // Authentication is the connection's (Connection::Handle): only authenticated commands come
  // here.
  // Commands about one actor all name it in `id`.
  auto actor_id = [&]() { return ActorIdField(fields, "id"); };
  auto ok_reply = [](std::string_view variant, const std::string& id) {
    return MakeVariant(variant, json{{"id", id}});
  };

  if (name == "ListActors") {
    json actors = json::array();
    json details = json::array();
    for (const ActorSummary& a : runtime_.List()) {
      actors.push_back(json::array({a.id, a.name}));
      details.push_back(json{{"id", a.id},
                             {"name", a.name},
                             {"phase", std::string(ActorPhaseName(a.phase))},
                             {"parent_id", a.parent_id ? json(*a.parent_id) : json(nullptr)},
                             {"manifest", a.manifest_source}});
    }
    return finish(MakeVariant("ActorList", json{{"actors", actors}, {"details", details}}));
  }
  if (name == "GetServerInfo") return finish(ServerInfo());
  if (name == "ReplayActor" || name == "ReplayChain") return Replay(conn, ctx, name, fields);
  if (name == "ListStores" || name == "ListStoreContent" || name == "GetStoreContent") {
    return StoreCommand(conn, ctx, name, fields);
  }
  if (name == "WatchActors" || name == "UnwatchActors") {
    return WatchCommand(conn, ctx, name, fields);
  }
  if (name == "StartActor") return StartActor(conn, ctx, fields);
  if (name == "OpenChannel") return OpenChannel(conn, ctx, fields);
  if (name == "NewStore") {
    return Blocking(conn, ctx, [this]() -> json {
      Result<store::ContentStore*> stores = runtime_.content_store();
      if (!stores.ok()) return ErrorResponse(stores.status(), Subject::kStore);
      Result<std::string> id = (*stores)->CreateStore();
      if (!id.ok()) return ErrorResponse(id.status(), Subject::kStore);
      return MakeVariant("StoreCreated", json{{"store_id", *id}});
    });
  }
  if (name == "ListStored") {
    return Blocking(conn, ctx, [this]() -> json {
      json actors = json::array();
      if (chain::ChainStore* store = runtime_.store()) {
        // Running actors' latest events may still wait in the writer's batch: count them too.
        if (Status flushed = store->Flush(); !flushed.ok()) {
          return ErrorResponse(flushed, Subject::kStore);
        }
        Result<std::vector<chain::ActorRecord>> records = store->ListActors();
        if (!records.ok()) return ErrorResponse(records.status(), Subject::kStore);
        for (const chain::ActorRecord& r : *records) {
          actors.push_back(json{{"id", r.actor_id},
                                {"name", r.name},
                                {"status", r.status},
                                {"manifest", r.manifest},
                                {"events", r.event_count}});
        }
      }
      return MakeVariant("StoredActors", json{{"actors", actors}});
    });
  }
  if (name == "SendOnChannel" || name == "CloseChannel") {
    Result<std::string> channel = StringField(fields, "channel_id");
    if (!channel.ok()) return invalid(channel.status());
    if (!conn->channels().count(*channel)) {
      return finish(ErrorResponse(ManagementError::kChannelNotFound,
                                  "channel " + *channel + " is not open on this connection"));
    }
    if (name == "CloseChannel") {
      conn->channels().erase(*channel);
      Status closed = runtime_.CloseChannel(*channel);
      if (!closed.ok()) return finish(ErrorResponse(closed, Subject::kChannel));
      return finish(MakeVariant("ChannelClosed", json{{"channel_id", *channel}}));
    }
    Result<std::vector<uint8_t>> message = BytesField(fields, "message");
    if (!message.ok()) return invalid(message.status());
    Status sent = runtime_.SendOnChannel(*channel, std::move(*message));
    if (!sent.ok()) return finish(ErrorResponse(sent, Subject::kChannel));
    return finish(MakeVariant("MessageSent", json{{"channel_id", *channel}}));
  }

  // Everything below is about one actor.
  static const std::set<std::string> kActorCommands = {
      "StopActor",           "TerminateActor",       "RestartActor",     "PauseActor",
      "ResumeActor",         "ListChildren",         "GetActorStatus",   "GetActorState",
      "GetActorManifest",    "GetActorEvents",       "GetActorMetrics",  "VerifyChain",
      "SubscribeToActor",    "UnsubscribeFromActor", "SendActorMessage", "RequestActorMessage",
      "UpdateActorComponent", "SaveChain"};
  if (!kActorCommands.count(name)) {
    return finish(
        ErrorResponse(ManagementError::kInvalidRequest, "unknown command '" + name + "'"));
  }
  Result<std::string> id_or = actor_id();
  if (!id_or.ok()) return invalid(id_or.status());
  const std::string id = *id_or;

  if (name == "StopActor") {
    runtime_.StopAsync(id, [reply = Replier(conn, ctx), id](Result<bool> found) {
      if (!found.ok()) return reply(ErrorResponse(found.status(), Subject::kActor), {});
      if (!*found) {
        return reply(ErrorResponse(ManagementError::kActorNotFound, "actor " + id + " not found"),
                     {});
      }
      reply(MakeVariant("ActorStopped", json{{"id", id}}), {});
    });
    return;
  }
  if (name == "TerminateActor") {
    return Blocking(conn, ctx, [this, id]() -> json {
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
  if (name == "RestartActor" || name == "PauseActor" || name == "ResumeActor") {
    // PauseActor's `when_idle` (an addition): wait for the running operation instead of refusing.
    Result<bool> when_idle_or = BoolField(fields, "when_idle", false);
    if (!when_idle_or.ok()) return invalid(when_idle_or.status());
    const bool when_idle = name == "PauseActor" && *when_idle_or;
    return Blocking(conn, ctx, [this, id, name, when_idle]() -> json {
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
  if (name == "ListChildren") {
    Result<std::vector<std::string>> children = runtime_.Children(id);
    if (!children.ok()) return finish(ErrorResponse(children.status(), Subject::kActor));
    return finish(MakeVariant("ActorChildren", json{{"id", id}, {"children", *children}}));
  }
  if (name == "GetActorStatus") {
    Result<ActorSummary> summary = runtime_.Summary(id);
    if (summary.ok()) {
      json status{{"id", id},
                  {"status", "Running"},
                  {"phase", std::string(ActorPhaseName(summary->phase))}};
      // The design's Starting phase reports its setup progress (an addition to the reply).
      if (summary->phase == ActorPhase::kStarting) status["starting_step"] = summary->starting_step;
      return finish(MakeVariant("ActorStatus", std::move(status)));
    }
    // Not running: the registry knows whether it stopped or failed.
    return Blocking(conn, ctx, [this, id]() -> json {
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
  const PageLimits page_limits{options_.max_reply_bytes, options_.default_page_bytes};
  // A reply that breaks a size limit is the client's to fix (ask for pages): InvalidRequest.
  auto text_or_error = [](const Result<std::string>& text) -> std::string {
    if (text.ok()) return *text;
    if (text.status().code() == StatusCode::kResourceExhausted) {
      return ErrorResponse(ManagementError::kInvalidRequest, text.status().ToString()).dump();
    }
    return ErrorResponse(text.status(), Subject::kActor).dump();
  };
  if (name == "GetActorState") {
    StateRequest request;
    request.id = id;
    Result<ByteEncoding> encoding = ByteEncodingField(fields);
    if (!encoding.ok()) return invalid(encoding.status());
    request.encoding = *encoding;
    Result<bool> decoded = BoolField(fields, "decoded", false);
    if (!decoded.ok()) return invalid(decoded.status());
    request.decoded = *decoded;
    Status paging =
        ReadPageFields(fields, "offset", &request.paged, &request.offset, &request.max_bytes);
    if (!paging.ok()) return invalid(paging);
    return BlockingText(conn, ctx, [this, request, page_limits, text_or_error] {
      return text_or_error(StateReply(runtime_, request, page_limits));
    });
  }
  if (name == "GetActorManifest") {
    Result<Manifest> manifest = runtime_.GetManifest(id);
    if (!manifest.ok()) return finish(ErrorResponse(manifest.status(), Subject::kActor));
    return finish(
        MakeVariant("ActorManifest", json{{"id", id}, {"manifest", ManifestToJson(*manifest)}}));
  }
  if (name == "GetActorMetrics") {
    Result<ActorMetrics> metrics = runtime_.Metrics(id);
    if (!metrics.ok()) return finish(ErrorResponse(metrics.status(), Subject::kActor));
    return finish(
        MakeVariant("ActorMetrics", json{{"id", id}, {"metrics", MetricsToJson(*metrics)}}));
  }
  if (name == "GetActorEvents") {
    EventsRequest request;
    request.id = id;
    Result<ByteEncoding> encoding = ByteEncodingField(fields);
    if (!encoding.ok()) return invalid(encoding.status());
    request.encoding = *encoding;
    Result<bool> decoded = BoolField(fields, "decoded", false);
    if (!decoded.ok()) return invalid(decoded.status());
    request.decoded = *decoded;
    Status paging = ReadPageFields(fields, "from_index", &request.paged, &request.from_index,
                                   &request.max_bytes);
    if (!paging.ok()) return invalid(paging);
    return BlockingText(conn, ctx, [this, request, page_limits, text_or_error] {
      return text_or_error(EventsReply(runtime_, request, page_limits));
    });
  }
  if (name == "VerifyChain") {
    return Blocking(conn, ctx, [this, id]() -> json {
      Result<json> reply = VerifyChainReply(runtime_, id);
      if (!reply.ok()) return ErrorResponse(reply.status(), Subject::kActor);
      return *reply;
    });
  }
  if (name == "SaveChain") {
    // The file is written on the server's machine, under its home (TheaterRuntime::SaveChain).
    return Blocking(conn, ctx, [this, id]() -> json {
      Result<std::filesystem::path> path = runtime_.SaveChain(id);
      if (!path.ok()) return ErrorResponse(path.status(), Subject::kActor);
      return MakeVariant("ChainSaved", json{{"id", id}, {"path", path->string()}});
    });
  }
  auto subscription_limit = [&] {
    return ErrorResponse(ManagementError::kInvalidRequest,
                         name + ": this connection has " +
                             std::to_string(conn->subscription_count()) +
                             " subscriptions, the limit (max_subscriptions_per_connection = " +
                             std::to_string(options_.max_subscriptions_per_connection) +
                             "): unsubscribe from one first, or use another connection");
  };
  if (name == "SubscribeToActor") {
    Result<ByteEncoding> encoding = ByteEncodingField(fields);
    if (!encoding.ok()) return invalid(encoding.status());
    Result<bool> decoded = BoolField(fields, "decoded", false);
    if (!decoded.ok()) return invalid(decoded.status());
    double max_events_per_s = 0;
    if (auto it = fields.find("max_events_per_s"); it != fields.end() && !it->is_null()) {
      if (!it->is_number_unsigned() || it->get<uint64_t>() == 0) {
        return invalid(InvalidArgument("field 'max_events_per_s' must be a positive integer"));
      }
      max_events_per_s = static_cast<double>(it->get<uint64_t>());
    }
    if (conn->AtSubscriptionLimit()) return finish(subscription_limit());
    Result<TheaterRuntime::Subscription> sub =
        runtime_.Subscribe(id, options_.subscription_queue, chain::OverflowPolicy::kLossy);
    if (!sub.ok()) return finish(ErrorResponse(sub.status(), Subject::kActor));
    const std::string subscription_id = NewUuid();
    // Reply first, so that the client hears Subscribed before the first event.
    finish(MakeVariant("Subscribed", json{{"id", id}, {"subscription_id", subscription_id}}));
    conn->AddSubscription(subscription_id, id, std::move(*sub), *encoding, *decoded,
                          max_events_per_s);
    return;
  }
  if (name == "UnsubscribeFromActor") {
    Result<std::string> subscription_id = StringField(fields, "subscription_id");
    if (!subscription_id.ok()) return invalid(subscription_id.status());
    if (!conn->RemoveSubscription(*subscription_id, id)) {
      return finish(ErrorResponse(
          ManagementError::kInvalidRequest,
          "no subscription " + *subscription_id + " to actor " + id + " on this connection"));
    }
    return finish(MakeVariant("Unsubscribed", json{{"id", id}}));
  }
  if (name == "SendActorMessage") {
    Result<std::vector<uint8_t>> data = BytesField(fields, "data");
    if (!data.ok()) return invalid(data.status());
    Status sent = runtime_.SendMessage(id, std::move(*data));
    if (!sent.ok()) return finish(ErrorResponse(sent, Subject::kActor));
    return finish(ok_reply("SentMessage", id));
  }
  if (name == "RequestActorMessage") {
    Result<std::vector<uint8_t>> data = BytesField(fields, "data");
    if (!data.ok()) return invalid(data.status());
    runtime_.RequestMessageAsync(
        id, std::move(*data), options_.request_timeout,
        [this, weak = std::weak_ptr<Connection>(conn), ctx, id,
         max_reply = options_.max_reply_bytes](Result<std::vector<uint8_t>> answer) {
          // Built as text, not as a JSON tree (16 bytes a byte), and only within the limit.
          std::string text;
          if (!answer.ok()) {
            text = ErrorResponse(answer.status(), Subject::kActor).dump();
          } else if (const size_t size = EncodedBytesSize(*answer, ByteEncoding::kArray);
                     size + 128 > max_reply) {
            text = ErrorResponse(ManagementError::kActorError,
                                 "the answer of actor " + id + " takes " + std::to_string(size) +
                                     " bytes as JSON, more than the reply limit of " +
                                     std::to_string(max_reply) + " bytes (max_reply_bytes)")
                       .dump();
          } else {
            text = "{\"RequestedMessage\":{\"id\":\"" + id + "\",\"message\":";
            AppendBytesJson(*answer, text);
            text += "}}";
          }
          asio::post(io_, [weak, ctx, text = std::move(text)]() mutable {
            if (auto c = weak.lock()) c->FinishText(ctx, std::move(text));
          });
        });
    return;
  }
  if (name == "UpdateActorComponent") {
    Result<std::string> component = StringField(fields, "component");
    if (!component.ok()) return invalid(component.status());
    if (!conn->peer_is_loopback() && ClassifyReference(*component) == ReferenceKind::kFile) {
      component = manifest_roots_.AdmitReferenced(*component, "component");
      if (!component.ok()) {
        return conn->Finish(
            ctx, ErrorResponse(ManagementError::kUnauthorized, component.status().message()));
      }
    }
    return Blocking(conn, ctx, [this, id, component = *component]() -> json {
      Status s = runtime_.UpdateComponent(id, component);
      if (!s.ok()) return ErrorResponse(s, Subject::kActor);
      return MakeVariant("ActorComponentUpdated", json{{"id", id}});
    });
  }
}

void ServerImpl::StartActor(const std::shared_ptr<Connection>& conn, const Connection::PendingCommand& ctx,
                            const json& fields) {
  auto invalid = [&](const Status& status) {
    conn->Finish(
        ctx, ErrorResponse(ManagementError::kInvalidRequest, "StartActor: " + status.ToString()));
  };
  Result<std::string> manifest = StringField(fields, "manifest");
  if (!manifest.ok()) return invalid(manifest.status());
  Result<std::optional<std::vector<uint8_t>>> state = OptionalBytesField(fields, "initial_state");
  if (!state.ok()) return invalid(state.status());
  Result<bool> parent = BoolField(fields, "parent", false);
  if (!parent.ok()) return invalid(parent.status());
  Result<bool> subscribe = BoolField(fields, "subscribe", false);
  if (!subscribe.ok()) return invalid(subscribe.status());
  Result<ByteEncoding> encoding = ByteEncodingField(fields);
  if (!encoding.ok()) return invalid(encoding.status());

  // A client beyond loopback names actors, not files: a manifest path only under a manifest
  // root, and then the file checked (resolved) is the file read.
  if (!conn->peer_is_loopback() && ClassifyManifest(*manifest) == ManifestForm::kFile) {
    Result<std::string> admitted = manifest_roots_.Admit(*manifest);
    if (!admitted.ok()) {
      spdlog::info("management: connection {} ({}): refused a manifest path", conn->serial(),
                   conn->peer());
      return conn->Finish(
          ctx, ErrorResponse(ManagementError::kUnauthorized, admitted.status().message()));
    }
    *manifest = std::move(*admitted);
  }
  if (*subscribe && conn->AtSubscriptionLimit()) {
    return conn->Finish(
        ctx, ErrorResponse(ManagementError::kInvalidRequest,
                           "StartActor: this connection has " +
                               std::to_string(conn->subscription_count()) +
                               " subscriptions, the limit (max_subscriptions_per_connection = " +
                               std::to_string(options_.max_subscriptions_per_connection) +
                               "): start it without subscribe, or unsubscribe from one first"));
  }

  SpawnRequest request;
  request.manifest = std::move(*manifest);
  request.state = std::move(*state);
  request.actor_id = NewUuid();
  // And every other local file the spawn reads for it (component, init_state) obeys the same rule.
  if (!conn->peer_is_loopback()) {
    request.local_files = [roots = manifest_roots_](const std::string& path,
                                                    std::string_view what) -> Result<std::string> {
      if (what == "manifest") return roots.Admit(path);
      return roots.AdmitReferenced(path, what);
    };
  }
  const std::string id = *request.actor_id;
  std::string subscription_id;
  if (*subscribe) {
    Result<TheaterRuntime::Subscription> sub = runtime_.SubscribeBeforeSpawn(
        id, options_.subscription_queue, chain::OverflowPolicy::kLossy);
    if (!sub.ok()) return conn->Finish(ctx, ErrorResponse(sub.status(), Subject::kSpawn));
    subscription_id = NewUuid();
    conn->AddSubscription(subscription_id, id, std::move(*sub), *encoding);
  }
  if (*parent) parents_[id] = conn;
  runtime_.SpawnAsync(std::move(request),
                      [this, reply = Replier(conn, ctx), id, subscription_id,
                       weak = std::weak_ptr<Connection>(conn)](Result<std::string> spawned) {
                        if (spawned.ok())
                          return reply(MakeVariant("ActorStarted", json{{"id", id}}), {});
                        reply(ErrorResponse(spawned.status(), Subject::kSpawn), {});
                        asio::post(io_, [this, id, subscription_id, weak] {
                          parents_.erase(id);
                          if (auto c = weak.lock(); c && !subscription_id.empty())
                            c->RemoveSubscription(subscription_id, id);
                        });
                      });
}

void ServerImpl::OpenChannel(const std::shared_ptr<Connection>& conn,
                             const Connection::PendingCommand& ctx, const json& fields) {
  auto invalid = [&](const std::string& why) {
    conn->Finish(ctx, ErrorResponse(ManagementError::kInvalidRequest, "OpenChannel: " + why));
  };
  // A ChannelParticipant: {"Actor": "<id>"} (a newtype variant: its value is the id itself)
  // or "External", which the server cannot open a channel to.
  auto participant = fields.find("actor_id");
  if (participant == fields.end()) return invalid("missing field 'actor_id'");
  if (!participant->is_object() || participant->size() != 1 || !participant->contains("Actor")) {
    return invalid("actor_id must be {\"Actor\": \"<id>\"}: the server opens channels to actors");
  }
  const json& value = (*participant)["Actor"];
  if (!value.is_string() || !IsUuid(value.get<std::string>())) {
    return invalid("actor_id must name an actor id");
  }
  const std::string id = value.get<std::string>();
  Result<std::vector<uint8_t>> initial = BytesField(fields, "initial_message");
  if (!initial.ok()) return invalid(initial.status().ToString());

  std::weak_ptr<Connection> weak = conn;
  ChannelListener listener;
  listener.on_message = [this, weak, id](std::string_view channel, std::vector<uint8_t> message) {
    std::string text = "{\"ChannelMessage\":{\"channel_id\":" + json(channel).dump() +
                       ",\"sender_id\":{\"Actor\":\"" + id + "\"},\"message\":";
    AppendBytesJson(message, text);
    text += "}}";
    asio::post(io_, [weak, text = std::move(text)] {
      if (auto c = weak.lock()) c->Push(text);
    });
  };
  listener.on_close = [this, weak](std::string_view channel) {
    asio::post(io_, [weak, channel = std::string(channel)] {
      auto c = weak.lock();
      if (!c || !c->channels().erase(channel)) return;
      c->Push(MakeVariant("ChannelClosed", json{{"channel_id", channel}, {"closed_by", "actor"}}));
    });
  };
  asio::post(*blocking_, [this, weak, ctx, id, initial = std::move(*initial),
                          listener = std::move(listener)]() mutable {
    Result<ExternalChannel> opened =
        runtime_.OpenChannel(id, std::move(initial), std::move(listener), options_.request_timeout);
    asio::post(io_, [this, weak, ctx, id, opened = std::move(opened)] {
      auto c = weak.lock();
      if (!opened.ok()) {
        if (c) c->Finish(ctx, ErrorResponse(opened.status(), Subject::kChannel));
        return;
      }
      if (!c || c->closed()) {
        // The client left while the actor decided.
        Status closed = runtime_.CloseChannel(opened->channel);
        (void)closed;
        return;
      }
      c->channels().insert(opened->channel);
      std::vector<std::string> after;
      if (opened->accept_message) {
        std::string text = "{\"ChannelMessage\":{\"channel_id\":" + json(opened->channel).dump() +
                           ",\"sender_id\":{\"Actor\":\"" + id + "\"},\"message\":";
        AppendBytesJson(*opened->accept_message, text);
        text += "}}";
        after.push_back(std::move(text));
      }
      json actor = json::object();
      actor["Actor"] = id;
      c->Finish(
          ctx,
          MakeVariant("ChannelOpened", json{{"channel_id", opened->channel}, {"actor_id", actor}}),
          std::move(after));
    });
  });
}

}  // namespace theater::server
