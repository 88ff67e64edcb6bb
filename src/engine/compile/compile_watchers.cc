// Theater: a WebAssembly actor runtime.
#include "engine/compile/compile_watchers.h"

namespace theater::engine {

CompileWatch CompileWatchers::Add(CompileObserver observer) {
  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    id = ++next_id_;
    observers_.emplace(id, std::move(observer));
    count_.store(observers_.size(), std::memory_order_relaxed);
  }
  return CompileWatch([self = shared_from_this(), id] { self->Remove(id); });
}

void CompileWatchers::Remove(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  observers_.erase(id);
  count_.store(observers_.size(), std::memory_order_relaxed);
}

void CompileWatchers::Tell(const CompileProgress& progress) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [id, observer] : observers_) observer(progress);
}

}  // namespace theater::engine
