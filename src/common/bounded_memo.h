// Theater: a WebAssembly actor runtime.
//
// BoundedMemo<V>: remembers the results of a pure function of text (parsing a manifest, say),
// so that the thousandth spawn from the same manifest does not parse it again. Bounded twice: at
// most `max_entries` results, whose keys and values weigh at most `max_bytes` together (the caller
// says what a value weighs); past either bound the oldest entries are forgotten first.
// FindOrCompute remembers only successes, so an error is always computed anew.
//
// MemoKey joins the function's inputs into one key, each part prefixed by its length, so that no
// two different input lists make the same key.
//
// Thread-safety: Find and Insert may be called from any thread. Ownership: values are held by
// shared_ptr, so a value found stays valid after it is forgotten.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "theater/status.h"
#include "theater/string_hash.h"

namespace theater {

inline std::string MemoKey(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (std::string_view part : parts) size += sizeof(uint64_t) + part.size();
  std::string key;
  key.reserve(size);
  for (std::string_view part : parts) {
    const uint64_t length = part.size();
    key.append(reinterpret_cast<const char*>(&length), sizeof(length));
    key.append(part);
  }
  return key;
}

template <typename V>
class BoundedMemo {
 public:
  BoundedMemo(size_t max_entries, size_t max_bytes)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // The remembered value for `key`, or null.
  std::shared_ptr<const V> Find(std::string_view key) const {
    std::lock_guard lock(mu_);
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : it->second.value;
  }

  // Remembers `value` for `key` (a value already remembered for it stays). A value heavier than
  // the whole budget is not remembered.
  void Insert(std::string key, std::shared_ptr<const V> value, size_t value_bytes) {
    const size_t weight = key.size() + value_bytes;
    if (weight > max_bytes_ || max_entries_ == 0) return;
    std::lock_guard lock(mu_);
    if (values_.contains(key)) return;
    while (!order_.empty() && (values_.size() >= max_entries_ || bytes_ + weight > max_bytes_)) {
      auto oldest = values_.find(*order_.front());
      bytes_ -= oldest->second.weight;
      order_.pop_front();
      values_.erase(oldest);
    }
    auto it = values_.emplace(std::move(key), Entry{std::move(value), weight}).first;
    order_.push_back(&it->first);
    bytes_ += weight;
  }

  // The remembered value for `key`; else `compute()` (a Result<V>), remembered when it succeeds
  // with the weight `value_bytes`. Two threads missing at once may both compute; the first to
  // insert is kept.
  template <typename Compute>
  Result<std::shared_ptr<const V>> FindOrCompute(std::string key, size_t value_bytes,
                                                 Compute&& compute) {
    if (std::shared_ptr<const V> found = Find(key)) return found;
    Result<V> computed = std::forward<Compute>(compute)();
    if (!computed.ok()) return computed.status();
    auto value = std::make_shared<const V>(std::move(computed).value());
    Insert(std::move(key), value, value_bytes);
    return value;
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return values_.size();
  }

 private:
  struct Entry {
    std::shared_ptr<const V> value;
    size_t weight;
  };
  const size_t max_entries_;
  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> values_;
  std::deque<const std::string*> order_;  // the keys in values_ (nodes do not move), oldest first
  size_t bytes_ = 0;
};

}  // namespace theater
