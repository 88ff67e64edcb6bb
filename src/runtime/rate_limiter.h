// Theater: a WebAssembly actor runtime.
//
// ByteRateLimiter: a token bucket in bytes per second, for what a guest may emit without a
// bound of its own (log lines, custom chain events). It holds one second's worth of bytes; what
// arrives with the bucket empty is refused and counted, and the counts are handed out at most
// once per notice interval, so a flood produces one notice a second instead of one per line.
//
// Every refusal is counted in exactly one notice: a notice hands out everything refused since
// the previous one and starts the count again, so the notices of a flood add up to what it lost.
// What is still counted when the flood stops is handed out by the next TakeNotice once the
// interval has passed, or by TakeAll (the last notice, when the actor stops).
//
// Thread-safety: none; each actor's host owns its limiters and uses them on the actor's calls,
// which never run concurrently. Time is passed in, so tests need no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace theater::runtime {

class ByteRateLimiter {
 public:
  // 0 bytes per second: no limit.
  explicit ByteRateLimiter(uint64_t bytes_per_second, int64_t notice_interval_ns = 1'000'000'000)
      : rate_(bytes_per_second),
        notice_interval_ns_(notice_interval_ns),
        tokens_(static_cast<double>(bytes_per_second)) {}

  // Whether `bytes` may pass at `now_ns` (a steady clock). An item larger than the bucket passes
  // only when the bucket is full, and empties it.
  bool Admit(uint64_t bytes, int64_t now_ns);

  // What was refused since the last notice, once the interval since that notice has passed.
  struct Dropped {
    uint64_t items = 0;
    uint64_t bytes = 0;
  };
  std::optional<Dropped> TakeNotice(int64_t now_ns);
  // What was refused since the last notice, whatever the interval; nullopt when nothing was.
  std::optional<Dropped> TakeAll();
  // Whether anything was refused since the last notice (a check without a clock).
  bool has_dropped() const { return dropped_.items != 0; }

  uint64_t bytes_per_second() const { return rate_; }

 private:
  const uint64_t rate_;
  const int64_t notice_interval_ns_;
  double tokens_;
  int64_t last_refill_ns_ = 0;
  bool started_ = false;
  Dropped dropped_;
  int64_t last_notice_ns_ = INT64_MIN / 2;
};

}  // namespace theater::runtime
