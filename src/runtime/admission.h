// Theater: a WebAssembly actor runtime.
//
// Admission control: whether one more actor fits, asked before a spawn instantiates anything, so
// that running out of address space (each guard-page memory reserves 8 GiB of the 128 TiB user
// address space: about 15,000 actors) or of memory refuses the newcomer with an error that says
// which, instead of failing every start for everyone with no warning.
//
// Thread-safety: all functions may be called from any thread. Reading /proc costs some
// microseconds, so the memory figure is cached for 100 ms.
#pragma once

#include <cstdint>

#include "theater/runtime.h"
#include "theater/status.h"

namespace theater::runtime {

// This process's resident memory in bytes (from /proc/self/statm; 0 when it cannot be read).
uint64_t ResidentBytes();

class Admission {
 public:
  // `reservation_per_actor`: address space one actor's memory reserves; `memory_floor`: spawns
  // are refused while MemAvailable is below it (0: never); `address_space_limit`: what live
  // memories may reserve in all (0: the user address space or RLIMIT_AS, less a sixteenth).
  Admission(uint64_t reservation_per_actor, uint64_t memory_floor,
            uint64_t address_space_limit = 0);

  // OK, or kResourceExhausted naming what is short and by how much.
  [[nodiscard]] Status AdmitOne() const;
  // The figures behind AdmitOne, with an estimate of how many more actors fit.
  RuntimeCapacity Capacity(uint64_t live_actors) const;

 private:
  uint64_t AddressSpaceLimit() const;
  uint64_t MemoryAvailable() const;

  const uint64_t reservation_per_actor_;
  const uint64_t memory_floor_;
  const uint64_t address_space_limit_;
};

}  // namespace theater::runtime
