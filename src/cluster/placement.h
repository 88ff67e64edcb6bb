// Theater: a WebAssembly actor runtime.
//
// Placement: which host of a lattice a placement names (docs/distribution.md, "Placement"). The
// one rule the management server applies to a start's placement, whether a client gave it
// (`theater start --on`) or the manifest did (`placement = ...`).
//
// Thread-safety: a pure function.
#pragma once

#include <string_view>
#include <vector>

#include "theater/cluster.h"
#include "theater/status.h"

namespace theater::cluster {

// The host `placement` names among `hosts` (as LatticeMember::Hosts lists them): "least-loaded"
// is the host with the fewest actors, of equals the lowest load, among this host and the hosts
// that have announced where their management server listens; any other placement is the host
// of that name. kNotFound (naming the lattice) when there is none; kUnavailable when the named
// host has not announced its management address yet.
// What the chosen host must offer: a management server (a start the management server passes
// on), or only the lattice's messages (a child spawned by its parent's host, which any host of
// the lattice can receive).
enum class PlacementNeeds { kManagementAddress, kMessages };
Result<LatticeHost> ChoosePlacement(const std::vector<LatticeHost>& hosts,
                                    std::string_view placement, std::string_view lattice,
                                    PlacementNeeds needs = PlacementNeeds::kManagementAddress);

}  // namespace theater::cluster
