// Theater: a WebAssembly actor runtime.
//
// The pure parts of the random handler (theater:simple/random), kept apart from the handler so
// they can be tested without a runtime: parsing the `[[handler]] type = "random"` config, the
// per-request limit checks, and RandomSource, the per-actor generator the host functions draw
// from.
//
// Generators (docs/handlers.md, "random"):
//   * unseeded: every draw comes from OpenSSL's RAND_bytes (the OS-seeded CSPRNG);
//   * seeded: a ChaCha20 keystream (OpenSSL EVP, all-zero nonce and counter start) whose 256-bit
//     key is SHA-256("theater:simple/random/v1" || seed as 8 little-endian bytes || actor id).
//     The same seed and actor id always give the same sequence, and two actors sharing a seed
//     get unrelated sequences;
//   * unseeded without crypto-secure permission: the ChaCha20 stream above, keyed once from
//     RAND_bytes instead of from a seed, so the actor is not handed the OS CSPRNG directly.
//
// Thread-safety: the free functions are pure. A RandomSource is not thread-safe; it belongs to
// one handler instance (one actor), whose host functions run one at a time.
// Ownership: a RandomSource owns its OpenSSL cipher context and releases it when destroyed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "handlers/random/random_permissions.h"
#include "theater/permissions.h"
#include "theater/status.h"

namespace theater::handlers {

// The most bytes one random-bytes call may return whatever the config and permissions say: the
// WIT length is a u32, and a guest asking for 4 GiB should get an error, not exhaust the host.
inline constexpr uint64_t kRandomBytesHardCap = uint64_t{16} << 20;  // 16 MiB

// The random handler's config: `seed`, plus limits that narrow the actor's random permission.
struct RandomConfig {
  std::optional<uint64_t> seed;
  RandomPermissions limits;  // max_bytes, max_int, allow_crypto_secure
};

// Parses the `[[handler]]` table's config object. Keys: `seed`, `max_bytes`, `max_int`
// (non-negative integers) and `allow_crypto_secure` (boolean). Errors: kInvalidArgument naming
// the key, for unknown keys and values of the wrong type.
Result<RandomConfig> ParseRandomConfig(const nlohmann::json& config);

// OK when a random-bytes call for `length` bytes is allowed by the actor's permissions, the
// handler's own limits and kRandomBytesHardCap; otherwise a status whose message is the text
// the call returns as its error.
Status CheckRandomBytesRequest(const EffectivePermissions& actor, const RandomPermissions& own,
                               uint64_t length);

// The same for random-range(min, max): "Invalid range: min (X) >= max (Y)" when min >= max, and
// "Requested max value (X) exceeds configured maximum (Y)" when max exceeds the smaller of the
// permission's and the handler's max_int.
Status CheckRandomRangeRequest(const EffectivePermissions& actor, const RandomPermissions& own,
                               uint64_t min, uint64_t max);

class RandomSource {
 public:
  // Draws straight from RAND_bytes.
  static std::unique_ptr<RandomSource> OsEntropy();
  // The deterministic ChaCha20 stream for (seed, actor_id).
  static Result<std::unique_ptr<RandomSource>> Seeded(uint64_t seed, std::string_view actor_id);
  // A ChaCha20 stream keyed once from RAND_bytes (not reproducible).
  static Result<std::unique_ptr<RandomSource>> KeyedFromOsEntropy();

  virtual ~RandomSource() = default;

  // Fills `out` with random bytes. Fails only when OpenSSL does.
  virtual Status Fill(std::span<uint8_t> out) = 0;

  Result<uint64_t> NextU64();
  // Uniform in [min, max), without modulo bias (rejection sampling). min >= max is an error.
  Result<uint64_t> Range(uint64_t min, uint64_t max);
  // Uniform in [0, 1): 53 random bits / 2^53, so every result is exactly representable.
  Result<double> Float();
  // A version 4, variant 1 UUID in lower-case hyphenated form (36 characters).
  Result<std::string> Uuid();
};

}  // namespace theater::handlers
