// Theater: a WebAssembly actor runtime.
#include "runtime/failed_children.h"

#include <algorithm>

namespace theater::runtime {

std::optional<std::string> FailedChildren::Keep(const std::string& child_id, Record record) {
  MutexLock lock(mu_);
  auto it = std::find_if(records_.begin(), records_.end(),
                         [&](const auto& kept) { return kept.first == child_id; });
  if (it != records_.end()) {
    it->second = std::move(record);
    return std::nullopt;
  }
  records_.emplace_back(child_id, std::move(record));
  if (records_.size() <= kMaxKept) return std::nullopt;
  std::string let_go = std::move(records_.front().first);
  records_.pop_front();
  return let_go;
}

std::optional<FailedChildren::Record> FailedChildren::Take(std::string_view child_id) {
  MutexLock lock(mu_);
  auto it = std::find_if(records_.begin(), records_.end(),
                         [&](const auto& kept) { return kept.first == child_id; });
  if (it == records_.end()) return std::nullopt;
  Record record = std::move(it->second);
  records_.erase(it);
  return record;
}

std::optional<FailedChildren::Record> FailedChildren::Find(std::string_view child_id) const {
  MutexLock lock(mu_);
  for (const auto& [id, record] : records_) {
    if (id == child_id) return record;
  }
  return std::nullopt;
}

bool FailedChildren::Contains(std::string_view child_id) const {
  return Find(child_id).has_value();
}

}  // namespace theater::runtime
