// Theater: a WebAssembly actor runtime.
#include "common/uuid.h"

#include "common/os_entropy.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <pthread.h>

namespace theater {

namespace {

// Bumped in a forked child, so that it never hands out the bytes its parent's threads buffered.
std::atomic<uint64_t> fork_generation{0};

// Each thread's unread bytes from the OS generator. A getrandom per UUID was ~3 % of a spawn (the
// generator's locks and fork check cost more than the 16 bytes); one draw now serves 256 UUIDs.
struct EntropyBuffer {
  static constexpr size_t kBytes = 4096;
  uint8_t bytes[kBytes];
  size_t next = kBytes;  // empty
  uint64_t generation = 0;

  void Take(uint8_t* out, size_t n) {
    const uint64_t now = fork_generation.load(std::memory_order_relaxed);
    if (next + n > kBytes || generation != now) {
      if (!FillOsEntropy(bytes).ok()) std::abort();  // no entropy: nothing sane to continue with
      next = 0;
      generation = now;
    }
    std::memcpy(out, bytes + next, n);
    next += n;
  }
};

}  // namespace

std::string NewUuid() {
  static const bool fork_hook = [] {
    pthread_atfork(nullptr, nullptr,
                   [] { fork_generation.fetch_add(1, std::memory_order_relaxed); });
    return true;
  }();
  (void)fork_hook;
  thread_local EntropyBuffer buffer;
  std::array<uint8_t, 16> b;
  buffer.Take(b.data(), b.size());
  return FormatUuidV4(b);
}

std::string NewProcessUniqueUuid() {
  static const uint64_t prefix = [] {
    uint8_t random[8];
    if (!FillOsEntropy(random).ok()) std::abort();
    uint64_t v = 0;
    for (uint8_t byte : random) v = (v << 8) | byte;
    return v;
  }();
  static std::atomic<uint64_t> counter{0};
  // The variant bits take the counter's top two: 2^62 ids before one repeats.
  const uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
  std::array<uint8_t, 16> b;
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(prefix >> (56 - 8 * i));
    b[8 + i] = static_cast<uint8_t>(n >> (56 - 8 * i));
  }
  return FormatUuidV4(b);
}

std::string FormatUuidV4(std::array<uint8_t, 16> b) {
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant: 8, 9, a or b
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t at = 0;
  for (uint8_t byte : b) {
    if (at == 8 || at == 13 || at == 18 || at == 23) ++at;
    out[at++] = kDigits[byte >> 4];
    out[at++] = kDigits[byte & 0x0f];
  }
  return out;
}

bool IsUuid(std::string_view text) {
  // On every message an actor sends: a table and one pass without a branch per character.
  static constexpr auto kHex = [] {
    std::array<bool, 256> hex{};
    for (int c = '0'; c <= '9'; ++c) hex[c] = true;
    for (int c = 'a'; c <= 'f'; ++c) hex[c] = hex[c - 'a' + 'A'] = true;
    return hex;
  }();
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return false;
  }
  bool all_hex = true;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    all_hex &= dash | kHex[static_cast<unsigned char>(text[i])];
  }
  return all_hex;
}

}  // namespace theater
