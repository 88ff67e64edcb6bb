// Theater: a WebAssembly actor runtime.
#include "common/sha256.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace theater {
namespace sha256_internal {
namespace {

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
alignas(16) constexpr uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr uint32_t Rotr(uint32_t x, int n) {
  return (x >> n) | (x << (32 - n));
}

uint32_t LoadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

bool DetectShaExtensions() {
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  const bool ssse3 = (ecx & bit_SSSE3) != 0, sse41 = (ecx & bit_SSE4_1) != 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  return ssse3 && sse41 && (ebx & bit_SHA) != 0;
#else
  return false;
#endif
}

}  // namespace

bool HasShaExtensions() {
  static const bool has = DetectShaExtensions();
  return has;
}

void CompressPortable(uint32_t state[8], const uint8_t* data, size_t blocks) {
  for (; blocks > 0; --blocks, data += 64) {
    uint32_t w[64];
    for (int t = 0; t < 16; ++t) w[t] = LoadBigEndian32(data + 4 * t);
    for (int t = 16; t < 64; ++t) {
      uint32_t s0 = Rotr(w[t - 15], 7) ^ Rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
      uint32_t s1 = Rotr(w[t - 2], 17) ^ Rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; ++t) {
      uint32_t big_s1 = Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25);
      uint32_t choose = (e & f) ^ (~e & g);
      uint32_t t1 = h + big_s1 + choose + kRoundConstants[t] + w[t];
      uint32_t big_s0 = Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22);
      uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
      uint32_t t2 = big_s0 + majority;
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
  }
}

#if defined(__x86_64__)
// The SHA extensions keep the working variables as two vectors, (A,B,E,F) and (C,D,G,H), and run
// two rounds per sha256rnds2; the message schedule advances four words per msg1/msg2 pair.
__attribute__((target("sha,ssse3,sse4.1"))) void CompressWithShaExtensions(uint32_t state[8],
                                                                           const uint8_t* data,
                                                                           size_t blocks) {
  // Byte-swaps each 32-bit lane: message words are big-endian.
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[0]));
  __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[4]));
  __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
  __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
  __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
  __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);

  for (; blocks > 0; --blocks, data += 64) {
    const __m128i abef_before = abef, cdgh_before = cdgh;
    __m128i words[4];  // the last sixteen message words, four per vector, oldest first
                       // Unrolled, so that `words` lives in registers and the constants are folded.
#pragma GCC unroll 16
    for (int group = 0; group < 16; ++group) {
      __m128i current;
      if (group < 4) {
        current = _mm_shuffle_epi8(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * group)), byte_swap);
      } else {
        // W[t] = W[t-16] + s0(W[t-15]) + W[t-7] + s1(W[t-2]), four at a time.
        __m128i partial = _mm_sha256msg1_epu32(words[0], words[1]);
        partial = _mm_add_epi32(partial, _mm_alignr_epi8(words[3], words[2], 4));
        current = _mm_sha256msg2_epu32(partial, words[3]);
        words[0] = words[1];
        words[1] = words[2];
        words[2] = words[3];
      }
      words[group < 4 ? group : 3] = current;
      __m128i scheduled = _mm_add_epi32(
          current, _mm_load_si128(reinterpret_cast<const __m128i*>(&kRoundConstants[4 * group])));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, scheduled);
      scheduled = _mm_shuffle_epi32(scheduled, 0x0E);
      // The first two rounds left the new (A,B,E,F) in `cdgh` and the old one, which is now
      // (C,D,G,H), in `abef`; the next two put each back in its place.
      abef = _mm_sha256rnds2_epu32(abef, cdgh, scheduled);
    }
    abef = _mm_add_epi32(abef, abef_before);
    cdgh = _mm_add_epi32(cdgh, cdgh_before);
  }

  __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
  __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
  dcba = _mm_blend_epi16(feba, dchg, 0xF0);
  hgfe = _mm_alignr_epi8(dchg, feba, 8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[0]), dcba);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[4]), hgfe);
}
#else
void CompressWithShaExtensions(uint32_t state[8], const uint8_t* data, size_t blocks) {
  CompressPortable(state, data, blocks);
}
#endif

}  // namespace sha256_internal

namespace {

void Compress(uint32_t state[8], const uint8_t* data, size_t blocks) {
  if (sha256_internal::HasShaExtensions()) {
    sha256_internal::CompressWithShaExtensions(state, data, blocks);
  } else {
    sha256_internal::CompressPortable(state, data, blocks);
  }
}

constexpr std::array<uint32_t, 8> kInitialState = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// Pads the last `tail_size` (< 64) bytes of a `total_bytes` message, compresses them in one call
// (one block, or two when the length does not fit beside the tail) and returns the digest.
// Padding: a 1 bit, zeros up to 56 mod 64, then the message length in bits, big-endian.
Sha256Digest FinishDigest(uint32_t state[8], const uint8_t* tail, size_t tail_size,
                          uint64_t total_bytes) {
  uint8_t last[128] = {};
  if (tail_size > 0) std::memcpy(last, tail, tail_size);
  last[tail_size] = 0x80;
  const size_t blocks = tail_size < 56 ? 1 : 2;
  const uint64_t total_bits = total_bytes * 8;
  for (int i = 0; i < 8; ++i) {
    last[blocks * 64 - 1 - i] = static_cast<uint8_t>(total_bits >> (8 * i));
  }
  Compress(state, last, blocks);
  Sha256Digest out;
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = static_cast<uint8_t>(state[i] >> 24);
    out[4 * i + 1] = static_cast<uint8_t>(state[i] >> 16);
    out[4 * i + 2] = static_cast<uint8_t>(state[i] >> 8);
    out[4 * i + 3] = static_cast<uint8_t>(state[i]);
  }
  return out;
}

}  // namespace

Sha256Hasher::Sha256Hasher() : state_(kInitialState) {}

void Sha256Hasher::Update(std::span<const uint8_t> data) {
  // An empty span may have a null data pointer, which memcpy must not be given even for 0 bytes.
  if (data.empty()) return;
  total_bytes_ += data.size();
  const uint8_t* p = data.data();
  size_t left = data.size();
  if (pending_size_ > 0) {
    size_t take = std::min(left, pending_.size() - pending_size_);
    std::memcpy(pending_.data() + pending_size_, p, take);
    pending_size_ += take;
    p += take;
    left -= take;
    if (pending_size_ < pending_.size()) return;
    Compress(state_.data(), pending_.data(), 1);
    pending_size_ = 0;
  }
  if (left >= 64) {
    Compress(state_.data(), p, left / 64);
    p += left - left % 64;
    left %= 64;
  }
  if (left > 0) std::memcpy(pending_.data(), p, left);
  pending_size_ = left;
}

Sha256Digest Sha256Hasher::Final() {
  return FinishDigest(state_.data(), pending_.data(), pending_size_, total_bytes_);
}

Sha256Digest Sha256(std::span<const uint8_t> data) {
  // One pass without the hasher's staging: whole blocks straight from `data`, then the tail. For
  // the short messages the chain hashes, staging copies would cost as much as the compression.
  std::array<uint32_t, 8> state = kInitialState;
  const size_t whole = data.size() / 64;
  if (whole > 0) Compress(state.data(), data.data(), whole);
  return FinishDigest(state.data(), data.data() + whole * 64, data.size() % 64, data.size());
}

}  // namespace theater
