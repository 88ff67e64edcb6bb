// Theater: a WebAssembly actor runtime.
#include "cluster/lattice_names.h"

namespace theater::cluster {

constexpr size_t kMaxNameBytes = 64;

Status CheckLatticeName(std::string_view name, std::string_view what) {
  bool ok = !name.empty() && name.size() <= kMaxNameBytes;
  for (char c : name) ok = ok && IsLatticeNameChar(c);
  if (ok) return Status::Ok();
  std::string shown(name.substr(0, kMaxNameBytes));
  if (name.size() > kMaxNameBytes) shown += "...";
  return InvalidArgument(std::string(what) + " '" + shown +
                         "' is not a lattice name: 1 to 64 letters, digits, '-' or '_'");
}

std::string LatticeNames::Heartbeat(std::string_view host) const {
  return "theater." + lattice_ + ".hb." + std::string(host);
}

std::string LatticeNames::HeartbeatsOfAll() const {
  return "theater." + lattice_ + ".hb.*";
}

std::string LatticeNames::Ping(std::string_view host) const {
  return "theater." + lattice_ + ".h." + std::string(host) + ".ctl.ping";
}

std::string LatticeNames::ActorsOf(std::string_view host) const {
  return "theater." + lattice_ + ".h." + std::string(host) + ".ctl.actors";
}

std::string LatticeNames::HostsBucket() const {
  return "THEATER_" + lattice_ + "_HOSTS";
}

std::string LatticeNames::HostKey(std::string_view host) {
  return "h." + std::string(host);
}

std::string LatticeNames::ActorsBucket() const {
  return "THEATER_" + lattice_ + "_ACTORS";
}

std::string LatticeNames::ActorKey(std::string_view actor_id) {
  return "a." + std::string(actor_id);
}

std::string LatticeNames::ReplicaKeyPrefix(std::string_view host) {
  return "r." + std::string(host) + ".";
}

std::string LatticeNames::ReplicaKey(std::string_view host, std::string_view actor_id) {
  return ReplicaKeyPrefix(host) + std::string(actor_id);
}

std::string LatticeNames::Messages(std::string_view host) const {
  return "theater." + lattice_ + ".h." + std::string(host) + ".msg";
}

std::string LatticeNames::ChainsStream() const {
  return "THEATER_" + lattice_ + "_CHAINS";
}

std::string LatticeNames::ChainSubject(std::string_view actor_id) const {
  return "theater." + lattice_ + ".chain." + std::string(actor_id);
}

std::string LatticeNames::ReplicasBucket() const {
  return "THEATER_" + lattice_ + "_REPLICAS";
}

std::string LatticeNames::EventsSubject(std::string_view actor_id) const {
  return "theater." + lattice_ + ".events." + std::string(actor_id);
}

}  // namespace theater::cluster
