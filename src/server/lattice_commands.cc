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

}  // namespace theater::server
