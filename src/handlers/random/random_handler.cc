// Theater: a WebAssembly actor runtime.
//
// The random handler: theater:simple/random (random-bytes, random-range, random-float,
// generate-uuid). Each actor's instance owns its own RandomSource (random_source.h): the OS
// CSPRNG, or — with a configured `seed` — a ChaCha20 stream keyed by the seed and the actor's
// id, so a seeded actor's sequence is reproducible yet differs from every other actor's. Every
// call and its result are recorded in the actor's chain by the actor host, like any host call.
//
// Requests beyond the actor's random permission, the handler's own limits or the 16 MiB hard
// cap are refused with the function's `err` value, not a trap: the guest can recover.
//
// Config (`[[handler]] type = "random"`): `seed`, `max_bytes`, `max_int`, `allow_crypto_secure`
// (docs/handlers.md).
//
// Thread-safety: one instance per actor; its host functions run on the actor's fiber one at a
// time, so the generator needs no lock.
#include "handlers/random/random_handler.h"
#include "handlers/random/random_permissions.h"
#include "handlers/random/random_source.h"

namespace theater::handlers {
namespace {

using abi::Value;

class RandomHandler final : public Handler {
 public:
  RandomHandler() = default;
  explicit RandomHandler(RandomConfig config) : config_(std::move(config)) {}

  std::string_view name() const override { return "random"; }
  std::optional<std::string> imports() const override { return "theater:simple/random"; }
  std::optional<std::string> exports() const override { return std::nullopt; }
  const PermissionRules* permission_rules() const override { return &RandomPermissionRules(); }

  Result<std::unique_ptr<Handler>> CreateInstance(const HandlerConfig& config) const override {
    THEATER_ASSIGN_OR_RETURN(RandomConfig parsed, ParseRandomConfig(config.config));
    return std::unique_ptr<Handler>(new RandomHandler(std::move(parsed)));
  }

  Status SetupHostFunctions(ActorContext& actor, HostFunctions& functions) override {
    THEATER_RETURN_IF_ERROR(CreateSource(actor));
    THEATER_RETURN_IF_ERROR(functions.Add(
        "random", "random-bytes", [this](ActorContext& actor, HostArgs args) -> HostResults {
          uint64_t length = args[0].as_u64();
          Status allowed =
              CheckRandomBytesRequest(actor.permissions(), config_.limits, length);
          if (!allowed.ok()) return ErrValue(allowed.message());
          std::vector<uint8_t> bytes(length);
          if (Status filled = source_->Fill(bytes); !filled.ok()) {
            return ErrValue(filled.message());
          }
          return std::vector<Value>{Value::Ok(Value::Bytes(std::move(bytes)))};
        }));
    THEATER_RETURN_IF_ERROR(functions.Add(
        "random", "random-range", [this](ActorContext& actor, HostArgs args) -> HostResults {
          uint64_t min = args[0].as_u64();
          uint64_t max = args[1].as_u64();
          Status allowed =
              CheckRandomRangeRequest(actor.permissions(), config_.limits, min, max);
          if (!allowed.ok()) return ErrValue(allowed.message());
          Result<uint64_t> value = source_->Range(min, max);
          if (!value.ok()) return ErrValue(value.status().message());
          return std::vector<Value>{Value::Ok(Value::U64(*value))};
        }));
    THEATER_RETURN_IF_ERROR(
        functions.Add("random", "random-float", [this](ActorContext&, HostArgs) -> HostResults {
          Result<double> value = source_->Float();
          if (!value.ok()) return ErrValue(value.status().message());
          return std::vector<Value>{Value::Ok(Value::F64(*value))};
        }));
    return functions.Add("random", "generate-uuid", [this](ActorContext&, HostArgs) -> HostResults {
      Result<std::string> uuid = source_->Uuid();
      if (!uuid.ok()) return ErrValue(uuid.status().message());
      return std::vector<Value>{Value::Ok(Value::String(std::move(*uuid)))};
    });
  }

 private:
  // The actor's generator: seeded (reproducible), the OS CSPRNG, or — when neither the actor's
  // permission nor this handler's config allows cryptographically secure randomness — a stream
  // keyed once from the OS, so the actor never draws from the CSPRNG directly.
  Status CreateSource(const ActorContext& actor) {
    if (config_.seed) {
      THEATER_ASSIGN_OR_RETURN(source_, RandomSource::Seeded(*config_.seed, actor.id()));
      return Status::Ok();
    }
    if (config_.limits.allow_crypto_secure && CheckRandomCryptoSecure(actor.permissions()).ok()) {
      source_ = RandomSource::OsEntropy();
      return Status::Ok();
    }
    THEATER_ASSIGN_OR_RETURN(source_, RandomSource::KeyedFromOsEntropy());
    return Status::Ok();
  }

  RandomConfig config_;
  std::unique_ptr<RandomSource> source_;
};

}  // namespace

std::unique_ptr<Handler> NewRandomHandler() {
  return std::make_unique<RandomHandler>();
}

}  // namespace theater::handlers
