// Theater: a WebAssembly actor runtime.
//
// The command table (command_table.h), Dispatch, and what every command uses to reply from
// another thread (server_impl.h says which thread runs what).
#include "server/command_table.h"

#include <array>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/client.h"
#include "server/server_impl.h"

namespace theater::server {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;

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

std::span<const CommandSpec> ServerImpl::Commands() {
  using S = CommandScope;
  using R = ReplySize;
  static const CommandSpec kCommands[] = {
      // The server and its actors.
      {"GetServerInfo", S::kServer, R::kSmall, &ServerImpl::GetServerInfo},
      {"ListActors", S::kServer, R::kSmall, &ServerImpl::ListActors},
      {"StartActor", S::kServer, R::kSmall, &ServerImpl::StartActor},
      {"StopActor", S::kActor, R::kSmall, &ServerImpl::StopActor},
      {"TerminateActor", S::kActor, R::kSmall, &ServerImpl::TerminateActor},
      {"RestartActor", S::kActor, R::kSmall, &ServerImpl::RestartPauseOrResume},
      {"PauseActor", S::kActor, R::kSmall, &ServerImpl::RestartPauseOrResume},
      {"ResumeActor", S::kActor, R::kSmall, &ServerImpl::RestartPauseOrResume},
      {"ListChildren", S::kActor, R::kSmall, &ServerImpl::ListChildren},
      {"GetActorStatus", S::kActor, R::kSmall, &ServerImpl::GetActorStatus},
      {"GetActorManifest", S::kActor, R::kSmall, &ServerImpl::GetActorManifest},
      {"GetActorMetrics", S::kActor, R::kSmall, &ServerImpl::GetActorMetrics},
      {"UpdateActorComponent", S::kActor, R::kSmall, &ServerImpl::UpdateActorComponent},
      {"WatchActors", S::kServer, R::kSmall, &ServerImpl::WatchActors},
      {"UnwatchActors", S::kServer, R::kSmall, &ServerImpl::UnwatchActors},
      // The lattice of hosts.
      {"ListHosts", S::kServer, R::kSmall, &ServerImpl::ListHosts},
      {"MoveActor", S::kActor, R::kSmall, &ServerImpl::MoveActor},
      // Chains and states.
      {"GetActorEvents", S::kActor, R::kLarge, &ServerImpl::GetActorEvents},
      {"GetActorState", S::kActor, R::kLarge, &ServerImpl::GetActorState},
      {"VerifyChain", S::kActor, R::kLarge, &ServerImpl::VerifyChain},
      {"SaveChain", S::kActor, R::kSmall, &ServerImpl::SaveChain},
      {"ListStored", S::kServer, R::kSmall, &ServerImpl::ListStored},
      {"ReplayActor", S::kActor, R::kSmall, &ServerImpl::ReplayActor},
      {"ReplayChain", S::kServer, R::kSmall, &ServerImpl::ReplayChain},
      // Messages, subscriptions and channels.
      {"SendActorMessage", S::kActor, R::kSmall, &ServerImpl::SendActorMessage},
      {"RequestActorMessage", S::kActor, R::kSmall, &ServerImpl::RequestActorMessage},
      {"SubscribeToActor", S::kActor, R::kSmall, &ServerImpl::SubscribeToActor},
      {"UnsubscribeFromActor", S::kActor, R::kSmall, &ServerImpl::UnsubscribeFromActor},
      {"OpenChannel", S::kServer, R::kSmall, &ServerImpl::OpenChannel},
      {"SendOnChannel", S::kServer, R::kSmall, &ServerImpl::SendOnChannel},
      {"CloseChannel", S::kServer, R::kSmall, &ServerImpl::CloseChannel},
      // Content stores.
      {"NewStore", S::kServer, R::kSmall, &ServerImpl::NewStore},
      {"ListStores", S::kServer, R::kSmall, &ServerImpl::ListStores},
      {"ListStoreContent", S::kServer, R::kSmall, &ServerImpl::ListStoreContent},
      {"GetStoreContent", S::kServer, R::kLarge, &ServerImpl::GetStoreContent},
  };
  return kCommands;
}

const CommandSpec* FindCommand(std::string_view name) {
  static const auto* const kByName = [] {
    auto* by_name = new std::unordered_map<std::string_view, const CommandSpec*>();
    for (const CommandSpec& spec : ServerImpl::Commands()) by_name->emplace(spec.name, &spec);
    return by_name;
  }();
  auto it = kByName->find(name);
  return it == kByName->end() ? nullptr : it->second;
}

bool HasLargeReply(const Variant& command) {
  const CommandSpec* spec = FindCommand(command.name);
  return spec != nullptr && spec->reply == ReplySize::kLarge;
}

void ServerImpl::Dispatch(const std::shared_ptr<Connection>& conn, Connection::PendingCommand ctx,
                          const Variant& command) {
  // Authentication is the connection's (Connection::Handle): only authenticated commands come
  // here.
  CommandCall call{conn, std::move(ctx), command.name, command.fields, {}};
  const CommandSpec* spec = FindCommand(command.name);
  if (spec == nullptr) {
    return call.Finish(
        ErrorResponse(ManagementError::kInvalidRequest, "unknown command '" + command.name + "'"));
  }
  if (spec->scope == CommandScope::kActor) {
    Result<std::string> id = ActorIdField(command.fields, "id");
    if (!id.ok()) return call.Invalid(id.status());
    call.actor_id = std::move(id).value();
    // Messages route themselves across hosts; subscriptions stay with the server that holds
    // them; a command another host forwarded is never forwarded again (two stale directories
    // would pass it back and forth). An actor running here needs no lookup.
    if (options_.lattice_locate && !command.fields.contains(kForwardedField) &&
        spec->run != &ServerImpl::SendActorMessage && spec->run != &ServerImpl::RequestActorMessage &&
        spec->run != &ServerImpl::SubscribeToActor && spec->run != &ServerImpl::UnsubscribeFromActor &&
        !runtime_.Phase(call.actor_id).ok()) {
      // A command that names a file takes the client's locality with it: the other host would
      // see this server's connection, and judge a client beyond loopback as this server (a
      // loopback client, when both run on one machine). Such a command is passed on for
      // clients on loopback only.
      const bool names_a_file =
          spec->run == &ServerImpl::UpdateActorComponent ||
          (spec->run == &ServerImpl::ReplayActor && command.fields.contains("module"));
      if (names_a_file && !conn->peer_is_loopback()) {
        return call.Finish(ErrorResponse(
            ManagementError::kUnauthorized,
            std::string(command.name) + ": actor " + call.actor_id +
                " runs on another host of the lattice, and a command that names a file is passed "
                "there only for clients on loopback; send it to that host (theater hosts lists "
                "their management addresses)"));
      }
      return DispatchInLattice(conn, std::move(call.ctx), command, *spec, std::move(call.actor_id));
    }
  }
  (this->*spec->run)(call);
}

void ServerImpl::DispatchInLattice(const std::shared_ptr<Connection>& conn,
                                   Connection::PendingCommand ctx, const Variant& command,
                                   const CommandSpec& spec, std::string actor_id) {
  auto owned = std::make_shared<Variant>(command);  // outlives this call
  auto reply = Replier(conn, ctx);
  asio::post(*blocking_, [this, conn, ctx = std::move(ctx), owned, spec = &spec,
                          id = std::move(actor_id), reply = std::move(reply)]() mutable {
    Result<std::optional<std::string>> where = options_.lattice_locate(id);
    if (!where.ok()) return reply(ErrorResponse(where.status(), Subject::kActor), {});
    if (!*where) {
      // No other host holds it: the command runs here (a stopped actor's chain, say), on the
      // network thread as every command does.
      asio::post(io_, [this, conn, ctx = std::move(ctx), owned, spec, id = std::move(id)]() mutable {
        CommandCall call{conn, std::move(ctx), owned->name, owned->fields, std::move(id)};
        (this->*spec->run)(call);
      });
      return;
    }
    ManagementClient::Options options;
    options.address = **where;
    options.token = options_.token;
    Result<std::unique_ptr<ManagementClient>> client = ManagementClient::Connect(options);
    if (!client.ok()) {
      return reply(ErrorResponse(client.status().WithContext("actor " + id + " is on the host at " +
                                                             **where),
                                 Subject::kActor),
                   {});
    }
    json fields = owned->fields;
    fields[kForwardedField] = true;
    Result<Variant> answer = (*client)->CallRaw(MakeVariant(owned->name, fields));
    if (!answer.ok()) return reply(ErrorResponse(answer.status(), Subject::kActor), {});
    reply(MakeVariant(answer->name, answer->fields), {});
  });
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

void ServerImpl::Blocking(const std::shared_ptr<Connection>& conn,
                          const Connection::PendingCommand& ctx, std::function<json()> work) {
  asio::post(*blocking_,
             [reply = Replier(conn, ctx), work = std::move(work)] { reply(work(), {}); });
}

void ServerImpl::BlockingText(const std::shared_ptr<Connection>& conn,
                              const Connection::PendingCommand& ctx,
                              std::function<std::string()> work) {
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

}  // namespace theater::server
