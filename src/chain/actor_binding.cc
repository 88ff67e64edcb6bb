// Theater: a WebAssembly actor runtime.
//
// The first event of an actor's chain names the actor (docs/chain-format.md, "The first event"),
// so that one actor's chain cannot be presented as another's: every actor of one manifest would
// otherwise start with the same event, and so the same hash.
#include "theater/chain.h"

namespace theater::chain {
namespace {

constexpr std::string_view kActorLoad = "actor-load";
constexpr std::string_view kPrefix = "actor ";

}  // namespace

std::string ActorLoadMessage(std::string_view actor_id, std::string_view name,
                             std::string_view version, std::string_view module_sha256) {
  std::string message(kPrefix);
  message.append(actor_id).append(" loads ").append(name).append(" ").append(version);
  message.append(", component sha256:").append(module_sha256);
  return message;
}

Status VerifyActorBinding(std::span<const Event> events, size_t first_index,
                          std::string_view actor_id) {
  // A tail whose first events were dropped (retention) no longer holds the binding.
  if (first_index != 0 || events.empty()) return Status::Ok();
  const Event& first = events.front();
  Result<Payload> payload = DecodePayload(first.payload);
  const Lifecycle* load = payload.ok() ? std::get_if<Lifecycle>(&*payload) : nullptr;
  if (load == nullptr || load->kind != kActorLoad) {
    return ValidationError("event #0 is not the actor-load event that names the chain's actor");
  }
  // Chains recorded before the first event named its actor: nothing to compare.
  if (load->message.rfind(kPrefix, 0) != 0) return Status::Ok();
  std::string_view rest = std::string_view(load->message).substr(kPrefix.size());
  std::string_view bound = rest.substr(0, rest.find(' '));
  if (bound != actor_id) {
    return ValidationError("event #0 binds this chain to actor " + std::string(bound) +
                           ", not to actor " + std::string(actor_id));
  }
  return Status::Ok();
}

}  // namespace theater::chain
