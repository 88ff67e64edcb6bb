// Theater: a WebAssembly actor runtime.
//
// SHA-256 (FIPS 180-4), computed in-process: with the x86 SHA extensions when the CPU has them,
// portably otherwise. The event chain hashes every event it appends, most of them a few hundred
// bytes long; at that size a library's per-digest setup (context initialisation, provider
// lookup, cleansing on free) costs more than the compression itself, so the hasher here is a plain
// value on the stack that costs nothing to start.
//
// Thread-safety: a Sha256Hasher is a value; use one from one thread at a time. The free functions
// are pure.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace theater {

using Sha256Digest = std::array<uint8_t, 32>;

// Incremental SHA-256 over several pieces: the digest equals Sha256() of their concatenation.
class Sha256Hasher {
 public:
  Sha256Hasher();
  void Update(std::span<const uint8_t> data);
  void Update(std::string_view text) {
    Update({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  // The digest of everything passed to Update(). The hasher must not be used afterwards.
  Sha256Digest Final();

 private:
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> pending_;  // the partial block not yet compressed
  size_t pending_size_ = 0;
  uint64_t total_bytes_ = 0;
};

Sha256Digest Sha256(std::span<const uint8_t> data);

namespace sha256_internal {
// Whether this CPU has the SHA extensions (and hence which compression the hasher uses).
bool HasShaExtensions();
// Compresses `blocks` 64-byte blocks into `state` with the portable code, whatever the CPU has, so
// tests can check both paths on machines with the extensions.
void CompressPortable(uint32_t state[8], const uint8_t* data, size_t blocks);
// The same with the SHA extensions; only call when HasShaExtensions().
void CompressWithShaExtensions(uint32_t state[8], const uint8_t* data, size_t blocks);
}  // namespace sha256_internal

}  // namespace theater
