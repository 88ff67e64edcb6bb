// Theater: a WebAssembly actor runtime.
//
// The management server's commands, one row each (docs/protocol.md, section 3): the command's
// name; whether it is about one actor (then its `id` field is read and checked before the command
// runs); whether its reply may be large (a connection runs such a command only when every earlier
// reply is out, connection.cc); and the ServerImpl member that reads its fields, runs it and
// writes its reply. Dispatch looks the name up here, and nothing else lists command names: a new
// command is a row and a member, in the file of its area (actor_commands.cc, chain_commands.cc,
// message_commands.cc, store_commands.cc, replay_commands.cc, watch_commands.cc).
//
// Thread-safety: the table is immutable; a CommandCall lives on the network thread.
// Ownership: the table is static; a call shares its connection.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "server/connection.h"
#include "server/protocol.h"

namespace theater::server {

class ServerImpl;

// One command being handled: where its reply goes, and what it asked.
struct CommandCall {
  std::shared_ptr<Connection> conn;
  Connection::PendingCommand ctx;
  std::string_view name;
  const nlohmann::json& fields;
  std::string actor_id;  // the actor a command about one actor names (its `id`, checked)

  void Finish(const nlohmann::json& reply) const { conn->Finish(ctx, reply); }
  // An InvalidRequest reply that names the command: "StopActor: field 'id' is missing".
  void Invalid(const Status& why) const {
    Finish(
        ErrorResponse(ManagementError::kInvalidRequest, std::string(name) + ": " + why.ToString()));
  }
};

enum class CommandScope { kServer, kActor };
enum class ReplySize { kSmall, kLarge };

struct CommandSpec {
  std::string_view name;
  CommandScope scope;
  ReplySize reply;
  void (ServerImpl::*run)(CommandCall& call);
};

// The row of `name`, or nullptr for a name the server does not know.
const CommandSpec* FindCommand(std::string_view name);

// Whether a command's reply may be large (a chain's events, a state) or its work long (a chain
// verified page by page): a connection runs such a command only when every earlier reply is out.
bool HasLargeReply(const Variant& command);

}  // namespace theater::server
