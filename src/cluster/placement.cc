// Theater: a WebAssembly actor runtime.
#include "cluster/placement.h"

#include <string>
#include <utility>

namespace theater::cluster {

Result<LatticeHost> ChoosePlacement(const std::vector<LatticeHost>& hosts,
                                    std::string_view placement, std::string_view lattice,
                                    PlacementNeeds needs) {
  const bool need_address = needs == PlacementNeeds::kManagementAddress;
  const LatticeHost* chosen = nullptr;
  for (const LatticeHost& host : hosts) {
    if (placement == "least-loaded") {
      // A host that has not said where its management server listens cannot be asked to start
      // anything.
      if (need_address && host.management_address.empty() && !host.self) continue;
      const auto key = [](const LatticeHost& h) { return std::make_pair(h.actors, h.load); };
      if (chosen == nullptr || key(host) < key(*chosen)) chosen = &host;
    } else if (host.host_id == placement) {
      chosen = &host;
    }
  }
  if (chosen == nullptr) {
    return NotFound("placement \"" + std::string(placement) + "\": no host of that name in lattice " +
                    std::string(lattice) + " (`theater hosts` lists them)");
  }
  if (need_address && !chosen->self && chosen->management_address.empty()) {
    return Unavailable("placement \"" + std::string(placement) + "\": host " + chosen->host_id +
                       " has not announced its management address yet");
  }
  return *chosen;
}

}  // namespace theater::cluster
