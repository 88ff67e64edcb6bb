// Theater: a WebAssembly actor runtime.
//
// The management server's commands about the lattice of hosts (docs/distribution.md).
#include "server/server_impl.h"

namespace theater::server {

using json = nlohmann::json;

void ServerImpl::ListHosts(CommandCall& call) {
  if (!options_.lattice_hosts) {
    call.Finish(ErrorResponse(ManagementError::kInvalidRequest,
                              "ListHosts: this server is not in a lattice (start it with "
                              "--cluster nats://HOST:PORT)"));
    return;
  }
  json hosts = json::array();
  for (const LatticeHost& host : options_.lattice_hosts()) {
    hosts.push_back(json{{"host_id", host.host_id},
                         {"incarnation", host.incarnation},
                         {"management_address", host.management_address},
                         {"actors", host.actors},
                         {"load", host.load},
                         {"heartbeat_age_ms", host.heartbeat_age.count()},
                         {"self", host.self}});
  }
  call.Finish(MakeVariant(
      "HostList",
      json{{"lattice", options_.lattice}, {"host_id", options_.host_id}, {"hosts", hosts}}));
}

void ServerImpl::MoveActor(CommandCall& call) {
  // Passed to the host that runs the actor (Dispatch), which moves it: {id, to}.
  auto to = call.fields.find("to");
  if (to == call.fields.end() || !to->is_string() || to->get<std::string>().empty()) {
    return call.Finish(ErrorResponse(ManagementError::kInvalidRequest,
                                     "MoveActor: 'to' (the host to move the actor to) is missing"));
  }
  if (to->get<std::string>().size() > 256) {
    return call.Finish(ErrorResponse(ManagementError::kInvalidRequest,
                                     "MoveActor: 'to' is longer than a host's name may be (256)"));
  }
  Blocking(call.conn, call.ctx, [this, id = call.actor_id, host = to->get<std::string>()]() -> json {
    Status moved = runtime_.Move(id, host);
    if (!moved.ok()) return ErrorResponse(moved, Subject::kActor);
    return MakeVariant("ActorMoved", json{{"id", id}, {"host", host}});
  });
}

}  // namespace theater::server
