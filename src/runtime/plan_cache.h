// Theater: a WebAssembly actor runtime.
//
// PlanCache: the canonical-ABI plans (abi::FunctionPlan) of WIT functions, built once per
// function and context and shared by every actor a runtime spawns. Building a plan walks the
// function's types and allocates a dozen nodes; an actor binds one plan per imported host
// function and one per export it calls, so without the cache every spawn rebuilt the same plans.
//
// Keyed by the FunctionType's address, which is only sound for types that outlive the cache and
// are never freed while it lives: the theater:simple package (process-wide) and the WIT of the
// runtime's registered handlers (owned by its HandlerRegistry). The runtime owns the cache and
// hands it only to the hosts of the actors it spawns, whose host functions take their types from
// exactly those packages (HandlerHostFunctions). Plans that fail to build are not cached.
//
// Thread-safety: Get may be called from any thread. Ownership: plans are shared, immutable handles.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "theater/abi/canonical.h"
#include "theater/abi/type.h"
#include "theater/mutex.h"
#include "theater/status.h"

namespace theater::runtime {

class PlanCache {
 public:
  // The plan of `type` for `context` with the default limits, built on first use.
  [[nodiscard]] Result<abi::FunctionPlan> Get(const abi::FunctionType& type, abi::Context context);
  size_t size() const;

 private:
  struct Key {
    const abi::FunctionType* type;
    abi::Context context;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& key) const {
      return std::hash<const void*>()(key.type) * 2 + static_cast<size_t>(key.context);
    }
  };
  mutable SharedMutex mu_;
  std::unordered_map<Key, abi::FunctionPlan, KeyHash> plans_ THEATER_GUARDED_BY(mu_);
};

}  // namespace theater::runtime
