// Theater: a WebAssembly actor runtime.
//
// RandomSource and the random handler's config parsing and limit checks (random_source.h).
#include "handlers/random/random_source.h"

#include "common/os_entropy.h"
#include "common/uuid.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace theater::handlers {
namespace {

// Bytes per OpenSSL call: its lengths are ints, and a bounded chunk keeps that safe.
constexpr size_t kChunk = size_t{1} << 20;

// Prefixes the key derivation so keys made here never collide with another use of SHA-256
// over the same seed and id; bump it if the derivation ever changes (seeded sequences change).
constexpr std::string_view kKeyDomain = "theater:simple/random/v1";

// A non-negative integer from a JSON value. TOML integers arrive as signed JSON numbers, so
// both signed and unsigned representations are accepted.
Result<uint64_t> NonNegativeInteger(const std::string& key, const nlohmann::json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    if (v >= 0) return static_cast<uint64_t>(v);
  }
  return InvalidArgument(key + ": must be a non-negative integer");
}

class OsEntropySource final : public RandomSource {
 public:
  Status Fill(std::span<uint8_t> out) override { return FillOsEntropy(out); }
};

// The ChaCha20 keystream: encrypting zeros yields it, and the EVP context keeps the position
// between calls, so consecutive Fill()s continue one stream.
class ChaChaSource final : public RandomSource {
 public:
  ~ChaChaSource() override { EVP_CIPHER_CTX_free(ctx_); }

  static Result<std::unique_ptr<RandomSource>> Create(const std::array<uint8_t, 32>& key) {
    auto source = std::unique_ptr<ChaChaSource>(new ChaChaSource());
    source->ctx_ = EVP_CIPHER_CTX_new();
    // 4-byte block counter then 12-byte nonce, all zero: each key is used for one stream only.
    std::array<uint8_t, 16> iv{};
    if (source->ctx_ == nullptr ||
        EVP_EncryptInit_ex(source->ctx_, EVP_chacha20(), nullptr, key.data(), iv.data()) != 1) {
      return InternalError("cannot initialise the ChaCha20 random generator");
    }
    return std::unique_ptr<RandomSource>(std::move(source));
  }

  Status Fill(std::span<uint8_t> out) override {
    std::fill(out.begin(), out.end(), uint8_t{0});
    for (size_t done = 0; done < out.size();) {
      size_t n = std::min(kChunk, out.size() - done);
      int written = 0;
      if (EVP_EncryptUpdate(ctx_, out.data() + done, &written, out.data() + done,
                            static_cast<int>(n)) != 1 ||
          written != static_cast<int>(n)) {
        return InternalError("the ChaCha20 random generator failed");
      }
      done += n;
    }
    return Status::Ok();
  }

 private:
  ChaChaSource() = default;
  EVP_CIPHER_CTX* ctx_ = nullptr;
};

}  // namespace

Result<RandomConfig> ParseRandomConfig(const nlohmann::json& config) {
  RandomConfig out;
  if (!config.is_object()) return InvalidArgument("config: must be a table");
  for (const auto& [key, value] : config.items()) {
    if (key == "seed") {
      THEATER_ASSIGN_OR_RETURN(out.seed, NonNegativeInteger(key, value));
    } else if (key == "max_bytes") {
      THEATER_ASSIGN_OR_RETURN(out.limits.max_bytes, NonNegativeInteger(key, value));
    } else if (key == "max_int") {
      THEATER_ASSIGN_OR_RETURN(out.limits.max_int, NonNegativeInteger(key, value));
    } else if (key == "allow_crypto_secure") {
      if (!value.is_boolean()) return InvalidArgument(key + ": must be a boolean");
      out.limits.allow_crypto_secure = value.get<bool>();
    } else {
      return InvalidArgument("unknown key '" + key + "'");
    }
  }
  return out;
}

Status CheckRandomBytesRequest(const EffectivePermissions& actor, const RandomPermissions& own,
                               uint64_t length) {
  THEATER_RETURN_IF_ERROR(CheckRandomBytes(actor, length));
  THEATER_RETURN_IF_ERROR(CheckRandomBytes(&own, length));
  if (length > kRandomBytesHardCap) {
    return ResourceExhausted("Requested " + std::to_string(length) +
                             " bytes exceeds the limit of " + std::to_string(kRandomBytesHardCap) +
                             " bytes per call");
  }
  return Status::Ok();
}

Status CheckRandomRangeRequest(const EffectivePermissions& actor, const RandomPermissions& own,
                               uint64_t min, uint64_t max) {
  if (min >= max) {
    return InvalidArgument("Invalid range: min (" + std::to_string(min) + ") >= max (" +
                           std::to_string(max) + ")");
  }
  // Without a random permission at all the permission's own denial is the clearer message.
  const RandomPermissions* granted = actor.Get<RandomPermissions>(kRandomHandler);
  if (granted == nullptr) return CheckRandomInt(granted, max);
  uint64_t limit = std::min(granted->max_int, own.max_int);
  if (max > limit) {
    return PermissionDenied("Requested max value (" + std::to_string(max) +
                            ") exceeds configured maximum (" + std::to_string(limit) + ")");
  }
  return Status::Ok();
}

std::unique_ptr<RandomSource> RandomSource::OsEntropy() {
  return std::make_unique<OsEntropySource>();
}

Result<std::unique_ptr<RandomSource>> RandomSource::Seeded(uint64_t seed,
                                                           std::string_view actor_id) {
  std::array<uint8_t, 8> seed_bytes;
  for (size_t i = 0; i < seed_bytes.size(); ++i)
    seed_bytes[i] = static_cast<uint8_t>(seed >> (8 * i));
  std::array<uint8_t, 32> key{};
  unsigned int key_len = 0;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  bool ok = md != nullptr && EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(md, kKeyDomain.data(), kKeyDomain.size()) == 1 &&
            EVP_DigestUpdate(md, seed_bytes.data(), seed_bytes.size()) == 1 &&
            EVP_DigestUpdate(md, actor_id.data(), actor_id.size()) == 1 &&
            EVP_DigestFinal_ex(md, key.data(), &key_len) == 1 && key_len == key.size();
  EVP_MD_CTX_free(md);
  if (!ok) return InternalError("cannot derive the seeded random generator's key");
  auto source = ChaChaSource::Create(key);
  OPENSSL_cleanse(key.data(), key.size());
  return source;
}

Result<std::unique_ptr<RandomSource>> RandomSource::KeyedFromOsEntropy() {
  std::array<uint8_t, 32> key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return InternalError("the OS random number generator failed");
  }
  auto source = ChaChaSource::Create(key);
  OPENSSL_cleanse(key.data(), key.size());
  return source;
}

Result<uint64_t> RandomSource::NextU64() {
  std::array<uint8_t, 8> bytes;
  THEATER_RETURN_IF_ERROR(Fill(bytes));
  uint64_t v = 0;
  for (size_t i = 0; i < bytes.size(); ++i) v |= uint64_t{bytes[i]} << (8 * i);
  return v;
}

Result<uint64_t> RandomSource::Range(uint64_t min, uint64_t max) {
  if (min >= max) {
    return InvalidArgument("Invalid range: min (" + std::to_string(min) + ") >= max (" +
                           std::to_string(max) + ")");
  }
  uint64_t span = max - min;
  // 2^64 mod span: draws below it are rejected, so the accepted ones, [threshold, 2^64), number
  // an exact multiple of span and `x % span` is uniform. Fewer than half the draws are rejected.
  uint64_t threshold = (0 - span) % span;
  while (true) {
    THEATER_ASSIGN_OR_RETURN(uint64_t x, NextU64());
    if (x >= threshold) return min + x % span;
  }
}

Result<double> RandomSource::Float() {
  THEATER_ASSIGN_OR_RETURN(uint64_t x, NextU64());
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

Result<std::string> RandomSource::Uuid() {
  std::array<uint8_t, 16> b;
  THEATER_RETURN_IF_ERROR(Fill(b));
  return FormatUuidV4(b);
}

}  // namespace theater::handlers
