// Theater: a WebAssembly actor runtime.
#include "theater/durability.h"

#include <string>

namespace theater {

std::string_view DurabilityName(Durability durability) {
  switch (durability) {
    case Durability::kNone:
      return "none";
    case Durability::kBatched:
      return "batched";
    case Durability::kStrict:
      return "strict";
  }
  return "unknown";
}

Result<Durability> ParseDurability(std::string_view name) {
  for (Durability d : {Durability::kNone, Durability::kBatched, Durability::kStrict}) {
    if (DurabilityName(d) == name) return d;
  }
  return InvalidArgument("unknown durability '" + std::string(name) +
                         "' (expected none, batched or strict)");
}

}  // namespace theater
