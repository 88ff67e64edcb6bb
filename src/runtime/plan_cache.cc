// Theater: a WebAssembly actor runtime.
#include "runtime/plan_cache.h"

namespace theater::runtime {

Result<abi::FunctionPlan> PlanCache::Get(const abi::FunctionType& type, abi::Context context) {
  const Key key{&type, context};
  {
    ReaderLock lock(mu_);
    if (auto it = plans_.find(key); it != plans_.end()) return it->second;
  }
  // Built outside the lock: two first uses may both build, and the first stored wins.
  THEATER_ASSIGN_OR_RETURN(abi::FunctionPlan plan, abi::FunctionPlan::Build(type, context));
  WriterLock lock(mu_);
  return plans_.emplace(key, std::move(plan)).first->second;
}

size_t PlanCache::size() const {
  ReaderLock lock(mu_);
  return plans_.size();
}

}  // namespace theater::runtime
