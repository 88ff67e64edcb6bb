// Theater: a WebAssembly actor runtime.
//
// The first event of an actor's chain names the actor (docs/chain-format.md, "The first event"),
// so that one actor's chain cannot be presented as another's: every actor of one manifest would
// otherwise start with the same event, and so the same hash.
#include <algorithm>

#include "theater/chain.h"

namespace theater::chain {
namespace {

constexpr std::string_view kActorLoad = "actor-load";
constexpr std::string_view kPrefix = "actor ";
constexpr std::string_view kLimits = ", limits ";
constexpr std::string_view kLoads = "loads ";
constexpr std::string_view kComponent = "component sha256:";
constexpr size_t kSha256HexDigits = 64;

}  // namespace

std::string ActorLoadMessage(std::string_view actor_id, std::string_view name,
                             std::string_view version, std::string_view module_sha256,
                             const std::optional<RecordedLimits>& limits) {
  std::string message(kPrefix);
  message.append(actor_id).append(" loads ").append(name).append(" ").append(version);
  message.append(", ").append(kComponent).append(module_sha256);
  if (limits) {
    message.append(kLimits)
        .append("memory ")
        .append(std::to_string(limits->memory_bytes))
        .append(" B, stack ")
        .append(std::to_string(limits->stack_bytes))
        .append(" B, init ")
        .append(std::to_string(limits->init_deadline_ms))
        .append(" ms, call ")
        .append(std::to_string(limits->call_deadline_ms))
        .append(" ms");
  }
  return message;
}

std::optional<RecordedLimits> ParseRecordedLimits(std::string_view message) {
  const size_t at = message.rfind(kLimits);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = message.substr(at + kLimits.size());
  // "<label> <digits> <unit>" four times, separated by ", ".
  auto field = [&](std::string_view label, std::string_view unit) -> std::optional<uint64_t> {
    if (!rest.starts_with(label) || rest.size() <= label.size() || rest[label.size()] != ' ') {
      return std::nullopt;
    }
    rest.remove_prefix(label.size() + 1);
    uint64_t value = 0;
    size_t digits = 0;
    while (digits < rest.size() && digits < 19 && rest[digits] >= '0' && rest[digits] <= '9') {
      value = value * 10 + static_cast<uint64_t>(rest[digits] - '0');
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    rest.remove_prefix(digits);
    if (!rest.starts_with(" ") || !rest.substr(1).starts_with(unit)) return std::nullopt;
    rest.remove_prefix(1 + unit.size());
    if (rest.starts_with(", ")) rest.remove_prefix(2);
    return value;
  };
  RecordedLimits limits;
  std::optional<uint64_t> memory = field("memory", "B"), stack = field("stack", "B"),
                          init = field("init", "ms"), call = field("call", "ms");
  if (!memory || !stack || !init || !call || !rest.empty()) return std::nullopt;
  limits.memory_bytes = *memory;
  limits.stack_bytes = *stack;
  limits.init_deadline_ms = *init;
  limits.call_deadline_ms = *call;
  return limits;
}

std::optional<std::string> ModuleNamedIn(std::string_view message) {
  const size_t at = message.find(kComponent);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view hex = message.substr(at + kComponent.size(), kSha256HexDigits);
  if (hex.size() != kSha256HexDigits ||
      hex.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return std::nullopt;
  }
  return std::string(hex);
}

std::optional<ActorLoad> ParseActorLoadMessage(std::string_view message) {
  ActorLoad load;
  std::optional<std::string> sha = ModuleNamedIn(message);
  if (!sha) return std::nullopt;
  load.module_sha256 = std::move(*sha);
  load.limits = ParseRecordedLimits(message);
  // "actor <id> loads <name> <version>, component ...": the id, then the name (which may hold
  // spaces) before the last space ahead of ", component".
  std::string_view head = message.substr(0, message.find(", component"));
  if (head.starts_with(kPrefix)) {
    head.remove_prefix(kPrefix.size());
    load.actor_id = std::string(head.substr(0, head.find(' ')));
    head.remove_prefix(std::min(head.size(), load.actor_id.size() + 1));
  }
  if (head.starts_with(kLoads)) {
    head.remove_prefix(kLoads.size());
    load.name = std::string(head.substr(0, head.rfind(' ')));
  }
  return load;
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
