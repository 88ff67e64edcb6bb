// Theater: a WebAssembly actor runtime.
#include "runtime/rate_limiter.h"

#include <algorithm>

namespace theater::runtime {

bool ByteRateLimiter::Admit(uint64_t bytes, int64_t now_ns) {
  if (rate_ == 0) return true;
  const double capacity = static_cast<double>(rate_);
  if (started_ && now_ns > last_refill_ns_) {
    tokens_ = std::min(capacity,
                       tokens_ + static_cast<double>(now_ns - last_refill_ns_) * 1e-9 * capacity);
  }
  started_ = true;
  last_refill_ns_ = std::max(last_refill_ns_, now_ns);
  const double need = std::min(static_cast<double>(bytes), capacity);
  if (tokens_ >= need) {
    tokens_ -= need;
    return true;
  }
  ++dropped_.items;
  dropped_.bytes += bytes;
  return false;
}

std::optional<ByteRateLimiter::Dropped> ByteRateLimiter::TakeNotice(int64_t now_ns) {
  if (dropped_.items == 0 || now_ns - last_notice_ns_ < notice_interval_ns_) return std::nullopt;
  last_notice_ns_ = now_ns;
  Dropped out = dropped_;
  dropped_ = Dropped{};
  return out;
}

std::optional<ByteRateLimiter::Dropped> ByteRateLimiter::TakeAll() {
  if (dropped_.items == 0) return std::nullopt;
  Dropped out = dropped_;
  dropped_ = Dropped{};
  return out;
}

}  // namespace theater::runtime
